"""A newcomer's whole journey on a simulated machine: fresh-rtx3060 from no driver to a container
that ran nvidia-smi, layer by layer, through the wizard (Pilot) and through `gpuwiz apply`."""

from __future__ import annotations

import asyncio

import pytest

from gpuwiz.app import GpuwizApp
from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.planners.registry import build_plan
from gpuwiz.backends.runs.executor import Executor, RunStatus
from gpuwiz.cli import main
from gpuwiz.screens.run import RunScreen


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def fresh() -> ProfileHost:
    return ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}), simulate_steps=True)


def statuses(host) -> dict[Layer, Status]:
    return {r.layer: r.status for r in run_doctor(host).layers}


def test_the_executor_walks_every_layer():
    host = fresh()
    before = statuses(host)
    assert before[Layer.DRIVER] is Status.FAIL and before[Layer.RUNTIME] is Status.FAIL
    outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
    assert outcome.status is RunStatus.REBOOT and host.applied == ["driver"]
    assert statuses(host)[Layer.DRIVER] is Status.OK  # after the (simulated) reboot
    outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
    assert outcome.status is RunStatus.DONE and host.applied == ["driver", "toolkit", "runtime"]
    after = statuses(host)
    assert after[Layer.DRIVER] is Status.OK and after[Layer.TOOLKIT] is Status.OK and after[Layer.RUNTIME] is Status.OK
    assert '"nvidia"' in host.read_text("/etc/docker/daemon.json")
    assert not build_plan(run_doctor(host), {}).steps  # nothing left to do


def test_without_simulation_a_profile_runs_only_what_it_recorded():
    host = ProfileHost(load_profile("fresh-rtx3060", {"HOME": "/nonexistent"}))
    outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
    assert outcome.status is RunStatus.FAILED and "not recorded" in outcome.failure and host.applied == []


def test_apply_goes_all_the_way_on_a_simulated_machine(capsys):
    assert main(["--profile", "fresh-rtx3060", "apply", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "rebooted" in out and "all 15 steps done" in out


def test_the_wizard_walks_every_layer():
    host = fresh()
    app = GpuwizApp(host=host, profile_name="fresh-rtx3060")

    async def run_layer(pilot, key: str) -> RunStatus:
        await pilot.press(key, "x", "y")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)
        screen = pilot.app.screen
        assert isinstance(screen, RunScreen)
        status = screen.outcome.status
        await pilot.press("q")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)
        if status is RunStatus.REBOOT:  # as after a real reboot: go on with the next layer?
            assert "Go on with" in pilot.app.screen.question
            await pilot.press("n")
            await pilot.pause()
        return status

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            layers = pilot.app.screen
            assert layers.report.layer(Layer.DRIVER).status is Status.FAIL
            assert await run_layer(pilot, "2") is RunStatus.REBOOT
            assert layers.report.layer(Layer.DRIVER).status is Status.OK
            assert await run_layer(pilot, "3") is RunStatus.DONE
            assert layers.report.layer(Layer.TOOLKIT).status is Status.OK
            assert await run_layer(pilot, "4") is RunStatus.DONE
            assert layers.report.layer(Layer.RUNTIME).status is Status.OK
            assert not layers.plan.steps

    asyncio.run(go())


def test_homelab_ready_has_nothing_to_run():
    host = ProfileHost(load_profile("homelab-ready", {"HOME": "/nonexistent"}), simulate_steps=True)
    app = GpuwizApp(host=host, profile_name="homelab-ready")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            for key in "12345":
                await pilot.press(key, "x")
                await pilot.pause()
                assert pilot.app.screen.__class__.__name__ == "LayersScreen"  # no confirmation: nothing to run
            assert not host.commands or all(c.argv[0] != "apt-get" for c in host.commands)

    asyncio.run(go())


def test_the_k8s_layer_of_a_cluster_node_turns_green():
    """k8s-no-gpu-support: RuntimeClass, node label, device plugin by helm, allocatable GPUs and the
    test Job — acted out, then the cluster is what its [after.k8s] records say."""
    host = ProfileHost(load_profile("k8s-no-gpu-support", {"HOME": "/nonexistent"}), simulate_steps=True)
    assert statuses(host)[Layer.K8S] is Status.FAIL
    outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
    assert outcome.status is RunStatus.DONE and host.applied == ["k8s"]
    assert statuses(host)[Layer.K8S] is Status.OK
    assert host.read_text("/var/lib/gpuwiz/k8s/runtimeclass.json")  # the manifest the step wrote
    assert not build_plan(run_doctor(host), {}).steps


def walk(name: str) -> tuple[ProfileHost, set[Layer]]:
    """Run the recommended plan on a simulated profile until nothing is left (a reboot comes back at once)."""
    host = ProfileHost(load_profile(name, {"HOME": "/nonexistent"}), simulate_steps=True)
    ran: set[Layer] = set()
    for _ in range(5):
        plan = build_plan(run_doctor(host), {})
        if not plan.steps:
            break
        ran |= {s.layer for s in plan.steps}
        person = lambda argv, root: host.run_attached(argv, root=root)  # noqa: E731 — answers mokutil's prompt
        outcome = Executor(host, plan, emit=lambda e: None, interactive=person).run()
        assert outcome.status in (RunStatus.DONE, RunStatus.REBOOT), f"{name}: {outcome.failure}"
    return host, ran


# Profiles whose [after.LAYER] records say what the machine is once each planned layer has run.
WALKS = [
    "fresh-rtx3060",
    "k8s-no-gpu-support",
    "laptop-mx150",
    "vm-bar1",
    "blackwell-proprietary",
    "secureboot-unenrolled-mok",
    "headers-missing-after-kernel-update",
    "mismatch-after-upgrade",
    "rocky9-l4",  # held by dnf versionlock, which the probe reads
]


@pytest.mark.parametrize("name", WALKS)
def test_a_simulated_walk_turns_every_layer_it_ran_green(name):
    host, ran = walk(name)
    assert ran, f"{name}: nothing to run"
    after = statuses(host)
    assert {layer: after[layer] for layer in ran} == dict.fromkeys(ran, Status.OK)
    assert not build_plan(run_doctor(host), {}).steps, "a plan is left after the walk"


def test_a_profile_without_after_records_says_so_after_a_run():
    """The checks see the simulated machine unchanged: the run screen must not let that pass for a fix."""
    host = ProfileHost(load_profile("vm-bar1", {"HOME": "/nonexistent"}), simulate_steps=True)
    assert not host.records_after("runtime")
    app = GpuwizApp(host=host, profile_name="vm-bar1")

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.press("4", "x", "y")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.1)
            status = str(pilot.app.screen.query_one("#run-status").render())
            assert "records nothing else" in status and "[after.runtime]" in status

    asyncio.run(go())


# Green already, or green after their walk: a node worth copying.
MODELS = [*WALKS, "homelab-ready", "k3s-node", "dgx-h100x8", "a100-mig"]


def saved_answers(host: ProfileHost, tmp_path) -> tuple[str, dict[str, str]]:
    """What `a` in the wizard (and `plan --format answers`) saves on this node, and it read back."""
    from gpuwiz.backends.planners.node_state import same_state
    from gpuwiz.backends.planners.registry import offered_choices
    from gpuwiz.backends.runs.answers import answers_text, load_answers

    report = run_doctor(host)
    path = tmp_path / "answers.toml"
    path.write_text(answers_text(offered_choices(report), {}, machine=host.profile.name, as_here=same_state(report)))
    return str(path), load_answers(str(path))


@pytest.mark.parametrize("name", MODELS)
def test_answers_saved_on_a_node_make_the_next_node_like_it(tmp_path, name):
    """Saved on a green node, applied to fresh-rtx3060 (no driver, no runtime): the same driver
    family (method, edition, branch, flavour) and the same runtime, or a plan note saying why not."""
    host = walk(name)[0] if name in WALKS else ProfileHost(load_profile(name, {"HOME": "/nonexistent"}))
    path, saved = saved_answers(host, tmp_path)
    facts = run_doctor(host).facts
    assert "driver.branch" in saved and "driver.method" in saved, saved
    if facts.runtime and (facts.runtime.docker or facts.runtime.containerd):
        assert "runtime.install" in saved, saved
    if facts.k8s and facts.k8s.flavour == "kubeadm":
        assert saved["runtime.install"] == "containerd"  # the runtime a kubeadm node's kubelet talks to

    plan = build_plan(run_doctor(fresh()), saved, source=path)
    notes = "\n".join(n.text for n in plan.notes)
    argvs = [" ".join(s.argv) for s in plan.steps if s.argv]
    install = {"docker": "docker.io", "docker-ce": "docker-ce", "containerd": "containerd", "podman": "podman"}
    if saved.get("runtime.install") == "none":  # k3s: its own containerd comes with it
        assert not [s for s in plan.steps if s.layer is Layer.RUNTIME] and "bring their own containerd" in notes
    elif f"{path}: runtime.install" in notes:  # not offered here (Podman from a RHEL node): said
        assert any(s.layer is Layer.RUNTIME for s in plan.steps)
    elif "runtime.install" in saved:
        package = install[saved["runtime.install"]]
        assert any(a.startswith(("apt-get", "env")) and f" {package}" in a for a in argvs if "install" in a), argvs
        others = {p for k, p in install.items() if k != saved["runtime.install"] and p != "containerd"}
        assert not any(f" {p}" in a for p in others for a in argvs if "install" in a)
    driver_steps = " ".join(
        a for a, s in zip(argvs, [s for s in plan.steps if s.argv], strict=True) if s.layer is Layer.DRIVER
    )
    branch, method = saved["driver.branch"], saved["driver.method"]
    ubuntu = f"ubuntu-drivers install nvidia:{branch}" in driver_steps
    cuda = "cuda" in driver_steps and (f"-{branch}" in driver_steps or f":{branch}" in driver_steps)
    assert ubuntu or cuda or f"{path}: driver.branch" in notes, (saved, driver_steps, notes)
    if method == "ubuntu-drivers":
        flavour = "-open" if saved.get("driver.flavour") == "open" else ""
        edition = "-server" if saved.get("driver.edition") == "server" else ""
        same = f"nvidia:{branch}{flavour}{edition}" in driver_steps
    else:
        same = cuda
    assert same or "Install method NVIDIA CUDA repo:" in notes or f"{path}: driver." in notes, (
        saved,
        driver_steps,
        notes,
    )
    from gpuwiz.backends.planners.registry import check_selections, load_backends

    used, _ = check_selections(run_doctor(fresh()), saved, load_backends("planner"), source=path)
    for key, value in saved.items():  # every saved key is used as given, or a note names it
        assert used.get(key) == value or key in notes, key


def test_answers_from_a_kubeadm_node_plan_containerd_on_a_workstation(tmp_path):
    """The issue's case: saved on k8s-no-gpu-support, fresh-rtx3060 installs containerd, not Docker."""
    path, saved = saved_answers(walk("k8s-no-gpu-support")[0], tmp_path)
    plan = build_plan(run_doctor(fresh()), saved, source=path)
    titles = [s.title for s in plan.steps]
    assert "Install containerd (containerd)" in titles and not any("Docker" in t for t in titles)
    assert any("ubuntu-drivers install nvidia:535" in " ".join(s.argv or ()) for s in plan.steps)


def test_answers_from_ubuntu_serve_a_rocky_node_with_notes(tmp_path, capsys):
    """Across distributions: R535 is not in NVIDIA's RHEL 9 repository, Ubuntu's installer not on
    Rocky: the nearest branch and Rocky's method, each named in a note with the file and the key."""
    path, saved = saved_answers(walk("k8s-no-gpu-support")[0], tmp_path)
    assert main(["--profile", "rocky9-l4", "plan", "--answers", path]) == 0
    out = capsys.readouterr().out
    assert f"{path}: driver.branch = '535' is not offered on this node" in out and "planned with '570'" in out
    assert f"{path}: driver.method = 'ubuntu-drivers' is not offered" in out
    assert "nvidia-driver:570" in out


def test_a_value_no_node_takes_is_an_error_naming_file_and_key(tmp_path, capsys):
    path = tmp_path / "typo.toml"
    path.write_text('[runtime]\ndefault = "yse"\n')
    assert main(["--profile", "fresh-rtx3060", "plan", "--answers", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "runtime.default = 'yse'" in err and "yes, no" in err


def as_user(tmp_path, name: str, sudo: str) -> str:
    """A shipped profile whose gpuwiz runs as alice, with the given sudo (machine.user/machine.sudo)."""
    from gpuwiz.backends.machine.profiles import resolve_profile

    text = resolve_profile(name, {}).read_text()
    text = text.replace('user = "root"', f'user = "alice"\nsudo = "{sudo}"', 1)
    path = tmp_path / f"{name}-alice.toml"
    path.write_text(text)
    return str(path)


def test_a_simulated_run_asks_for_the_sudo_password_and_never_logs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    profile = load_profile(as_user(tmp_path, "laptop-mx150", "password"), {"HOME": "/nonexistent"})
    host = ProfileHost(profile, simulate_steps=True)
    assert host.sudo_mode() == "password"
    app = GpuwizApp(host=host, profile_name=profile.name)

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.press("2", "x", "y")
            await pilot.pause()
            assert pilot.app.screen.__class__.__name__ == "PasswordScreen"
            await pilot.press(*"s3cret-pw", "enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.1)
            screen = pilot.app.screen
            assert isinstance(screen, RunScreen) and screen.outcome.status is RunStatus.DONE
            status = str(screen.query_one("#run-status").render())
            log = status.split("Log: ", 1)[1].split()[0]
            return log

    log = asyncio.run(go())
    from pathlib import Path

    text = Path(log).read_text()
    assert "SIMULATED machine" in text and "(root) apt-mark hold" in text and "s3cret-pw" not in text
    assert all(c.root for c in host.commands if c.argv[:1] == ("apt-mark",) and "hold" in c.argv)


def test_without_a_password_root_steps_fail_as_sudo_would(tmp_path):
    host = ProfileHost(load_profile(as_user(tmp_path, "laptop-mx150", "password"), {}), simulate_steps=True)
    outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
    assert outcome.status is RunStatus.FAILED and "a password is required" in outcome.failure
    assert not host.set_sudo_password("") and host.set_sudo_password("pw") and host.secrets == ("pw",)
    none = ProfileHost(load_profile(as_user(tmp_path, "laptop-mx150", "none"), {}), simulate_steps=True)
    assert none.sudo_mode() == "none"


def test_apply_on_a_password_profile_prompts_and_refuses_without_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = as_user(tmp_path, "laptop-mx150", "password")
    assert main(["--profile", path, "apply", "--yes"]) == 1  # stdin is no terminal here: no prompt
    assert "sudo asks for a password" in capsys.readouterr().err
    prompts = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "pw")
    assert main(["--profile", path, "apply", "--yes"]) == 0
    assert prompts and "alice" in prompts[0]


def test_a_simulated_run_keeps_its_state_apart_and_rollback_says_why_not(tmp_path, capsys, monkeypatch):
    from gpuwiz.backends.runs.run_state import load_state, state_path

    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    assert main(["--profile", "laptop-mx150", "apply", "--yes"]) == 0
    assert "lived only in this gpuwiz process" in capsys.readouterr().out
    assert not state_path(env).exists()  # this machine's own state is untouched
    state = load_state(env, "laptop-mx150")
    assert state.simulated and state.profile == "laptop-mx150" and state.status == "done" and state.files
    assert "SIMULATED machine laptop-mx150" in open(state.log).read()
    assert main(["--profile", "laptop-mx150", "rollback"]) == 0
    assert "nothing to roll back" in capsys.readouterr().out
