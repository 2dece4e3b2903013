"""gpuwiz fleet without Ansible: the simulated node's saved machine, the status table, the folder, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.fleet import runner
from gpuwiz.backends.fleet.inventory import demo_inventory, demo_nodes, hosts_of
from gpuwiz.backends.fleet.runner import Event, Tally, parse_event, recap_lines
from gpuwiz.backends.fleet.scaffold import FleetFolder, write_fleet_folder
from gpuwiz.backends.fleet.simulated import machine_after_run
from gpuwiz.backends.fleet.status import fleet_status, status_document, status_exit_code, status_table
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile, parse_profile, resolve_profile
from gpuwiz.backends.planners.registry import build_plan
from gpuwiz.backends.runs.executor import Executor, RunStatus
from gpuwiz.cli import main

ENV = {"HOME": "/nonexistent"}


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def statuses(host) -> dict[str, str]:
    return {r.layer.value: r.status.value for r in run_doctor(host).layers}


@pytest.mark.parametrize("name", ["fresh-rtx3060", "k8s-no-gpu-support", "rocky9-l4"])
def test_the_saved_machine_is_the_one_the_run_left(name):
    host = ProfileHost(load_profile(name, ENV), simulate_steps=True)
    for _ in range(3):  # the driver's reboot stops a run; the simulated machine is rebooted by then
        outcome = Executor(host, build_plan(run_doctor(host), {}), emit=lambda e: None).run()
        if outcome.status is RunStatus.DONE:
            break
    written = {w.path: host.read_text(w.path) for w in host.writes}
    text = machine_after_run(resolve_profile(name, ENV).read_text(), host.applied, written, f"{name}.toml")
    saved = ProfileHost(parse_profile(text, f"{name}.toml"))
    assert statuses(saved) == statuses(host)
    assert [s.id for s in build_plan(run_doctor(saved), {}).steps] == [
        s.id for s in build_plan(run_doctor(host), {}).steps
    ]
    for path in written:
        assert saved.read_text(path) == host.read_text(path)
    assert not set(host.applied) & set(saved.profile.after)  # folded in, gone from [after]


def test_node_apply_saves_the_simulated_node_and_a_second_run_has_nothing_to_do(tmp_path, capsys):
    machine = tmp_path / "machine.toml"
    machine.write_text(resolve_profile("fresh-rtx3060", ENV).read_text())
    assert main(["--profile", str(machine), "fleet", "node-apply", "--yes"]) == 0
    assert main(["--profile", str(machine), "doctor", "--json"]) == 0
    capsys.readouterr()
    assert main(["--profile", str(machine), "plan", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == []
    assert main(["--profile", str(machine), "fleet", "node-apply", "--yes"]) == 0
    assert "there is nothing to change" in capsys.readouterr().out


def test_node_apply_fails_a_node_without_root(tmp_path, capsys):
    machine = tmp_path / "machine.toml"
    text = resolve_profile("k8s-no-gpu-support", ENV).read_text()
    machine.write_text(text.replace('user = "root"\n', 'user = "alice"\nsudo = "none"\n', 1))
    assert main(["--profile", str(machine), "fleet", "node-apply", "--yes"]) == 1
    assert "there is no sudo here" in capsys.readouterr().err


def test_node_apply_needs_a_profile_file_and_yes(capsys):
    assert main(["fleet", "node-apply", "--yes"]) == 2
    assert main(["--profile", "fresh-rtx3060", "fleet", "node-apply"]) == 2


def report(tmp_path: Path, node: str, layers: dict[str, str], outcome: str, code: int | str = 0) -> None:
    doc = {
        "format": 1,
        "profile": "p",
        "layers": [{"layer": k, "status": v, "findings": []} for k, v in layers.items()],
    }
    (tmp_path / f"{node}.doctor.json").write_text(json.dumps(doc))
    run = {"format": 1, "node": node, "outcome": outcome, "exit_code": code, "output": "", "profile": "p"}
    (tmp_path / f"{node}.run.json").write_text(json.dumps(run))


GREEN = {"hardware": "ok", "driver": "ok", "toolkit": "ok", "runtime": "ok", "k8s": "skip"}


def test_the_status_table_and_its_exit_codes(tmp_path):
    report(tmp_path, "a", GREEN, "done", "0")
    report(tmp_path, "b", {**GREEN, "driver": "fail"}, "failed", 1)
    both = fleet_status(tmp_path, ["a", "b", "c"])
    lines = status_table(both)
    assert lines[0].split() == ["node", "hardware", "driver", "toolkit", "runtime", "k8s", "last", "run"]
    assert lines[1].split()[:6] == ["a", "✓", "✓", "✓", "✓", "-"] and "done" in lines[1]
    assert lines[2].split()[:3] == ["b", "✓", "✗"] and "failed (exit 1)" in lines[2]
    assert lines[3].split()[:2] == ["c", "?"] and "never" in lines[3]
    assert "x" in status_table(both, unicode=False)[2].split()
    assert status_exit_code(both) == 1
    assert status_exit_code(fleet_status(tmp_path, ["a"])) == 0
    report(tmp_path, "r", GREEN, "reboot-pending", 4)
    assert status_exit_code(fleet_status(tmp_path, ["a", "r"])) == 4
    doc = status_document(fleet_status(tmp_path, ["a", "b"]))
    assert doc["nodes"][0]["exit_code"] == 0 and doc["nodes"][1]["layers"]["driver"] == "fail"


def test_events_tally_and_recap():
    tally = Tally()
    for line in (
        '{"event": "ok", "host": "n1", "task": "gpuwiz : Report the outcome", "outcome": "done"}',
        '{"event": "ok", "host": "n2", "task": "gpuwiz : Report the outcome", "outcome": "reboot-pending"}',
        '{"event": "stats", "hosts": {"n1": {"ok": 3, "changed": 1}, "n2": {"ok": 3}}}',
        "[WARNING]: something Ansible says",
    ):
        tally.add(parse_event(line))
    tally.add(Event("exit", data={"rc": 0}))
    assert parse_event('{"event": "ok", "host": "n1", "task": "gpuwiz : Plan"}').task == "Plan"
    assert parse_event("[WARNING]: x").kind == "text"
    assert tally.exit_code() == 4
    assert recap_lines(tally.recap)[1].split()[:3] == ["n1", ":", "ok=3"]
    tally.add(parse_event('{"event": "failed", "host": "n3", "task": "Fail", "msg": "gpuwiz said no"}'))
    assert tally.exit_code() == 1 and tally.failures["n3"] == "gpuwiz said no"


def test_hosts_of_an_inventory_listing():
    listing = {
        "_meta": {"hostvars": {"a": {}, "b": {}, "c": {}}},
        "all": {"children": ["ungrouped", "gpu"]},
        "gpu": {"hosts": ["b", "a"]},
        "ungrouped": {"hosts": ["c"]},
    }
    assert hosts_of(listing) == ["c", "b", "a"]


def test_the_fleet_folder(tmp_path):
    pytest.importorskip("yaml")
    import yaml

    folder = FleetFolder(tmp_path / "f", "[driver]\n", "profile x", demo=True, python="/py", gpuwiz_bin="/bin/gpuwiz")
    written = write_fleet_folder(folder)
    names = {str(p.relative_to(tmp_path / "f")) for p in written}
    assert {"inventory.yml", "inventory.example.yml", "answers.toml", "README.md", "playbook.yml"} <= names
    assert "roles/gpuwiz/tasks/main.yml" in names
    inventory = yaml.safe_load((tmp_path / "f" / "inventory.yml").read_text())
    hosts = inventory["all"]["children"]["gpu_nodes"]["hosts"]
    assert {h: v["gpuwiz_profile"] for h, v in hosts.items()} == {
        "node1": "fresh-rtx3060",
        "node2": "rocky9-l4",
        "node3": "k8s-no-gpu-support",
    }
    assert inventory["all"]["vars"]["ansible_connection"] == "local"
    yaml.safe_load((tmp_path / "f" / "inventory.example.yml").read_text())
    with pytest.raises(FileExistsError):
        write_fleet_folder(folder)
    assert demo_inventory(demo_nodes(["a"]), python="/p", gpuwiz_bin="g").count("gpuwiz_profile") == 1


def test_fleet_init_demo_on_the_command_line(tmp_path, capsys):
    assert main(["fleet", "init", str(tmp_path / "demo"), "--demo"]) == 0
    assert "Saved on profile fresh-rtx3060" in (tmp_path / "demo" / "answers.toml").read_text()
    assert main(["fleet", "init", str(tmp_path / "demo"), "--demo"]) == 2
    assert "exist already" in capsys.readouterr().err


def test_fleet_apply_without_ansible_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    assert main(["fleet", "init", str(tmp_path / "demo"), "--demo"]) == 0
    monkeypatch.setattr(runner, "find_ansible_playbook", lambda env: None)
    assert main(["fleet", "apply", "-i", str(tmp_path / "demo" / "inventory.yml"), "--yes"]) == 2
    assert "pip install 'gpuwiz[fleet]'" in capsys.readouterr().err


def test_fleet_usage_errors(tmp_path, capsys):
    assert main(["fleet", "apply", "-i", str(tmp_path / "none.yml"), "--yes"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["fleet", "apply"])
    assert exc.value.code == 2
    assert main(["help", "fleet"]) == 0
    assert "gpuwiz fleet" in capsys.readouterr().out


def test_fleet_init_exporter_asks_for_the_service_on_real_nodes(tmp_path, capsys):
    """--exporter: the inventory turns on the role's gpuwiz-exporter unit (systemd); the playbook parses."""
    import shutil
    import subprocess

    folder = tmp_path / "fleet"
    assert main(["fleet", "init", str(folder), "--exporter", "0.0.0.0:9400"]) == 0
    inventory = (folder / "inventory.yml").read_text()
    assert "gpuwiz_exporter: true" in inventory and 'gpuwiz_exporter_listen: "0.0.0.0:9400"' in inventory
    unit = (folder / "roles" / "gpuwiz" / "tasks" / "exporter.yml").read_text()
    assert "ExecStart={{ gpuwiz_bin }} exporter --listen {{ gpuwiz_exporter_listen }}" in unit
    main_tasks = (folder / "roles" / "gpuwiz" / "tasks" / "main.yml").read_text()
    assert "gpuwiz_exporter | bool and gpuwiz_profile | length == 0" in main_tasks  # never on a simulated node
    import sys

    beside = Path(sys.executable).parent / "ansible-playbook"  # the venv's, from the test extra
    playbook = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if playbook:
        checked = subprocess.run(
            [playbook, "--syntax-check", "-i", "inventory.yml", "playbook.yml"],
            cwd=folder,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "ANSIBLE_HOME": str(tmp_path / "ah"), "HOME": str(tmp_path)},
        )
        assert checked.returncode == 0, checked.stderr
    assert main(["fleet", "init", str(tmp_path / "other"), "--exporter", "nowhere"]) == 2
    assert "--exporter" in capsys.readouterr().err
