"""Plan model and its renderings; the sh rendering is run for real in a temp dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from gpuwiz.backends.findings import Layer
from gpuwiz.backends.runs.plan import (
    FileEdit,
    Guard,
    Plan,
    PlanNote,
    Step,
    plan_document,
    render_sh,
)
from gpuwiz.backends.runs.plan_summary import render_text


def _plan(tmp_path, *, root=False):
    target = tmp_path / "etc" / "daemon.json"
    return Plan(
        (
            Step(
                "toolkit.install",
                "Install the toolkit",
                Layer.TOOLKIT,
                argv=("touch", str(tmp_path / "installed")),
                skip_if=Guard(("test", "-e", str(tmp_path / "installed"))),
                needs_root=root,
                why="containers need nvidia-container-runtime",
            ),
            Step(
                "runtime.docker-config",
                "Add the nvidia runtime to daemon.json",
                Layer.RUNTIME,
                edit=FileEdit(str(target), '{\n  "runtimes": {"nvidia": {}}\n}\nGPUWIZ_EOF_0\n', old_text="{}\n"),
                needs_root=root,
            ),
            Step(
                "driver.reboot-note", "Load the new module", Layer.DRIVER, argv=("true",), needs_root=root, reboot=True
            ),
        )
    )


def test_step_needs_exactly_one_action():
    with pytest.raises(ValueError):
        Step("x", "x", Layer.DRIVER)
    with pytest.raises(ValueError):
        Step("x", "x", Layer.DRIVER, argv=("true",), edit=FileEdit("/x", ""))
    with pytest.raises(TypeError):  # an argv alone is no guard any more
        Step("x", "x", Layer.DRIVER, argv=("true",), skip_if=("true",))


def test_empty_plan_says_nothing_to_do():
    plan = Plan((), (PlanNote(None, "Every layer is healthy."),))
    assert render_text(plan).startswith("No steps to run.")
    assert "no steps to run" in render_sh(plan)
    assert plan_document(plan, profile=None)["steps"] == []


def test_text_shows_commands_diffs_and_reboot(tmp_path):
    text = render_text(_plan(tmp_path))
    assert f"   skipped when: test -e {tmp_path}/installed succeeds\n" in text
    assert f"$ touch {tmp_path}/installed" in text
    assert '+  "runtimes": {"nvidia": {}}' in text
    assert "then: reboot" in text


def test_json_document(tmp_path):
    doc = plan_document(_plan(tmp_path), profile="x")
    assert doc["format"] == 2 and doc["needs_reboot"] is True
    assert doc["steps"][0]["layer"] == "toolkit"
    assert doc["steps"][0]["skip_if"] == {"argv": ["test", "-e", str(tmp_path / "installed")], "every_line": None}
    assert doc["steps"][1]["skip_if"] is None
    assert doc["steps"][1]["edit"]["diff"].startswith("---")
    json.dumps(doc)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_sh_script_runs_guards_and_edits(tmp_path):
    (tmp_path / "etc").mkdir()
    target = tmp_path / "etc" / "daemon.json"
    target.write_text("{}\n")
    target.chmod(0o640)
    script = tmp_path / "plan.sh"
    script.write_text(render_sh(_plan(tmp_path)))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    first = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "installed").exists()
    assert target.read_text() == '{\n  "runtimes": {"nvidia": {}}\n}\nGPUWIZ_EOF_0\n'
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    backups = list((tmp_path / "state" / "gpuwiz" / "backups").rglob("daemon.json"))
    assert len(backups) == 1 and backups[0].read_text() == "{}\n"
    assert "reboot is needed" in first.stdout
    # a second run changes nothing: the guard holds and the file is already right
    (tmp_path / "installed").write_text("keep")
    second = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert second.returncode == 0
    assert (tmp_path / "installed").read_text() == "keep"
    assert len(list((tmp_path / "state").rglob("daemon.json"))) == 1


def test_sh_script_refuses_without_root_when_needed(tmp_path):
    text = render_sh(_plan(tmp_path, root=True))
    assert 'if [ "$(id -u)" -ne 0 ]' in text
    assert subprocess.run(["bash", "-n", "-c", text]).returncode == 0


def test_sh_keeps_a_missing_final_newline(tmp_path):
    target = tmp_path / "f"
    plan = Plan((Step("x", "x", Layer.RUNTIME, edit=FileEdit(str(target), "no newline"), needs_root=False),))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    subprocess.run(["bash", "-c", render_sh(plan)], check=True, env=env)
    assert target.read_text() == "no newline"


def test_sh_handles_paths_with_spaces(tmp_path):
    target = tmp_path / "dir with space" / "a file.conf"
    target.parent.mkdir()
    target.write_text("old\n")
    plan = Plan((Step("x", "x", Layer.RUNTIME, edit=FileEdit(str(target), "new\n", "old\n"), needs_root=False),))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    subprocess.run(["bash", "-c", render_sh(plan)], check=True, env=env)
    assert target.read_text() == "new\n"
    assert [p.read_text() for p in (tmp_path / "state").rglob("a file.conf")] == ["old\n"]


def _dpkg_guarded(tmp_path, guard: Guard) -> Plan:
    return Plan((Step("x", "x", Layer.DRIVER, argv=("touch", str(tmp_path / "ran")), skip_if=guard, needs_root=False),))


def test_a_guard_that_reads_output_in_text_and_sh(tmp_path):
    guard = Guard(("dpkg-query", "-W", "-f", r"${db:Status-Status}\n", "nvidia-driver", "libcuda1"), "installed")
    text = render_text(_dpkg_guarded(tmp_path, guard)).splitlines()
    assert (
        r"""   skipped when: dpkg-query -W -f '${db:Status-Status}\n' nvidia-driver libcuda1 prints only "installed" lines"""
        in text
    )
    sh = render_sh(_dpkg_guarded(tmp_path, guard)).splitlines()
    assert (
        r"""if [ "$(dpkg-query -W -f '${db:Status-Status}\n' nvidia-driver libcuda1 2>&1 | sort -u)" != installed ]; then"""
        in sh
    )
    held = Guard(("dpkg-query", "-W", "-f", r"${db:Status-Want} ${db:Status-Status}\n", "x"), "hold installed")
    assert """2>&1 | sort -u)" != 'hold installed' ]; then""" in render_sh(_dpkg_guarded(tmp_path, held))


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "prints, skipped",
    [
        ("printf 'installed\\ninstalled\\n'", True),
        ("printf 'installed\\nconfig-files\\n'", False),
        ("printf 'installed\\n'; echo 'dpkg-query: no packages found matching x' >&2; exit 1", False),
        ("true", False),
    ],
)
def test_sh_guard_that_reads_output_runs_under_set_e(tmp_path, prints, skipped):
    plan = _dpkg_guarded(tmp_path, Guard(("sh", "-c", prints), "installed"))
    done = subprocess.run(["bash", "-c", render_sh(plan)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ran").exists() is not skipped
