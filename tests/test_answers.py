"""Answers files: written commented with tomlkit, read back to the same plan; the wizard saves one."""

from __future__ import annotations

import asyncio

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.planners.registry import build_plan, offered_choices
from gpuwiz.backends.runs.answers import answers_text, load_answers
from gpuwiz.backends.runs.plan_summary import render_text
from gpuwiz.cli import main


def report_of(profile: str):
    return run_doctor(ProfileHost(load_profile(profile, {"HOME": "/nonexistent"})))


def test_round_trip_gives_the_same_plan(tmp_path):
    report = report_of("fresh-rtx3060")
    choices = offered_choices(report)
    picks = {
        "driver.method": "cuda-repo",
        "driver.branch": "580",
        "runtime.install": "containerd",
        "runtime.cdi": "yes",
    }
    text = answers_text(choices, picks, machine="fresh-rtx3060")
    assert "# Driver branch:" in text and "recommended here:" in text
    path = tmp_path / "answers.toml"
    path.write_text(text)
    loaded = load_answers(str(path))
    assert {k: loaded[k] for k in picks} == picks
    assert build_plan(report, loaded, source=str(path)).steps == build_plan(report, picks, source="x").steps


def test_saved_file_drives_plan_and_apply_dry_run_alike(tmp_path, capsys):
    report = report_of("fresh-rtx3060")
    path = tmp_path / "answers.toml"
    path.write_text(answers_text(offered_choices(report), {"driver.branch": "535"}))
    assert main(["--profile", "fresh-rtx3060", "plan", "--answers", str(path)]) == 0
    planned = capsys.readouterr().out
    assert main(["--profile", "fresh-rtx3060", "apply", "--answers", str(path), "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith(planned)
    assert planned == render_text(build_plan(report, load_answers(str(path)), source=str(path)))


def test_a_bad_answers_file_for_the_wizard_is_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[driver]\nflavor = 'open'\n")
    assert main(["--profile", "fresh-rtx3060", "--answers", str(path)]) == 2
    assert "driver.flavor" in capsys.readouterr().err


def test_the_wizard_saves_and_loads_answers(tmp_path):
    target = tmp_path / "node-answers.toml"
    host = ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}))
    app = GpuwizApp(host=host, profile_name="fresh-rtx3060", answers={"runtime.cdi": "yes"}, answers_source="a.toml")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            assert pilot.app.screen.picks == {"runtime.cdi": "yes"}
            await pilot.press("a")
            await pilot.pause()
            field = pilot.app.screen.query_one("#save-path")
            field.value = str(target)
            await pilot.press("enter")
            await pilot.pause()

    asyncio.run(go())
    loaded = load_answers(str(target))
    assert loaded["runtime.cdi"] == "yes" and loaded["driver.method"] == "ubuntu-drivers"


def test_next_node_answers_carry_this_nodes_state(capsys, tmp_path):
    """`plan --format answers` on a cluster node: the next node gets the same driver branch, module
    flavour, toolkit version, CDI setting and GPU stack, even though none is a choice here."""
    assert main(["--profile", "homelab-ready", "plan", "--format", "answers"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "next.toml"
    path.write_text(text)
    loaded = load_answers(str(path))
    assert loaded["driver.branch"] == "535" and loaded["driver.flavour"] == "proprietary"
    # what this node runs, not the recommendation: its containerd says enable_cdi = false
    assert loaded["toolkit.version"] == "1.14.3-1" and loaded["runtime.cdi"] == "no"
    assert loaded["runtime.install"] == "containerd" and loaded["driver.method"] == "ubuntu-drivers"
    assert loaded["k8s.stack"] == "gpu-operator"
    # on a fresh node the same file plans that branch
    assert main(["--profile", "fresh-rtx3060", "plan", "--answers", str(path)]) == 0
    assert "nvidia-driver-535" in capsys.readouterr().out


def test_the_k8s_screen_shows_the_next_node_line():
    host = ProfileHost(load_profile("k3s-node", {"HOME": "/nonexistent"}))
    app = GpuwizApp(host=host, profile_name="k3s-node")

    async def go():
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.press("5")
            await pilot.pause()
            from rich.console import Console

            console = Console(width=100, record=True, file=open("/dev/null", "w"))
            console.print(pilot.app.screen.query_one("#plan-view").content)
            text = console.export_text()
            assert "The next GPU node" in text and "gpuwiz apply --answers gpuwiz-answers.toml" in text
            assert "[driver]" in text

    asyncio.run(go())


def save_with_a(tmp_path, target, *, answer: str | None = None) -> list[str]:
    """`a`, the path, Enter (and `answer` to the overwrite question); the notices shown."""
    host = ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}))
    app = GpuwizApp(host=host, profile_name="fresh-rtx3060", user_env={"XDG_STATE_HOME": str(tmp_path / "state")})
    seen: list[str] = []

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            pilot.app.screen.query_one("#save-path").value = str(target)
            await pilot.press("enter")
            await pilot.pause()
            if answer is not None:
                question = pilot.app.screen
                assert question.__class__.__name__ == "ConfirmScreen", "no question before overwriting"
                assert f"{target} exists" in question.question
                await pilot.press(answer)
                await pilot.pause()
            else:
                assert pilot.app.screen.__class__.__name__ == "LayersScreen"
            seen.extend(str(n.message) for n in pilot.app._notifications)

    asyncio.run(go())
    return seen


def test_saving_over_an_existing_file_asks_first_and_keeps_a_backup_with_its_directory(tmp_path):
    target = tmp_path / "nodes" / "gpu-answers.toml"
    target.parent.mkdir()
    save_with_a(tmp_path, target)
    first = target.read_text()
    target.write_text("# my own notes\n")
    save_with_a(tmp_path, target, answer="n")  # No: the file stays as it is
    assert target.read_text() == "# my own notes\n"
    said = save_with_a(tmp_path, target, answer="y")
    assert target.read_text() == first
    backups = list((tmp_path / "state" / "gpuwiz" / "backups").rglob("gpu-answers.toml"))
    assert len(backups) == 1 and backups[0].read_text() == "# my own notes\n"
    assert str(target.parent).lstrip("/") in str(backups[0])  # the backup keeps the file's directory
    assert any(str(backups[0]) in n for n in said)


def test_a_relative_answers_path_keeps_its_directory_in_the_backup(tmp_path, monkeypatch):
    from pathlib import Path

    from gpuwiz.backends.runs.answers import save_answers

    monkeypatch.chdir(tmp_path)
    Path("gpuwiz-answers.toml").write_text("old\n")
    result = save_answers(Path("gpuwiz-answers.toml"), "new\n", tmp_path / "backups")
    assert result.backup and result.backup.endswith(f"{str(tmp_path).lstrip('/')}/gpuwiz-answers.toml")
    assert Path(result.backup).read_text() == "old\n"
