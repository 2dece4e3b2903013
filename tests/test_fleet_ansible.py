"""gpuwiz fleet through the real ansible-playbook: three simulated nodes at once (forks 3), one made to fail.

The failing node is k8s-no-gpu-support with its user changed to one without sudo: `gpuwiz apply`
exits 1 there ("these steps need root and there is no sudo here"), as on a node Ansible reaches
without a way to become root; the other two go on to their end state.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from gpuwiz.backends.fleet.runner import find_ansible_playbook
from gpuwiz.backends.machine.profiles import resolve_profile
from gpuwiz.cli import main

pytestmark = pytest.mark.skipif(find_ansible_playbook(dict(os.environ)) is None, reason="ansible-core not installed")


def hermetic(tmp: Path, monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("ANSIBLE_")]:
        monkeypatch.delenv(key)
    for key, value in {
        "ANSIBLE_HOME": tmp / "ansible-home",
        "ANSIBLE_LOCAL_TEMP": tmp / "ansible-local",
        "ANSIBLE_REMOTE_TEMP": tmp / "ansible-remote",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_CONFIG": tmp / "no-ansible.cfg",  # never the developer's ~/.ansible.cfg
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp / "controller-state"))
    # the nodes run gpuwiz from this test's venv: put its bin first for ansible-playbook too
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    monkeypatch = pytest.MonkeyPatch()
    hermetic(tmp, monkeypatch)
    try:
        assert main(["fleet", "init", str(tmp / "demo"), "--demo"]) == 0
        inventory = tmp / "demo" / "inventory.yml"
        no_root = tmp / "no-root.toml"
        text = resolve_profile("k8s-no-gpu-support", {}).read_text()
        no_root.write_text(text.replace('user = "root"\n', 'user = "alice"\nsudo = "none"\n', 1))
        inventory.write_text(inventory.read_text().replace('"k8s-no-gpu-support"', json.dumps(str(no_root))))
        yield tmp / "demo", inventory
    finally:
        monkeypatch.undo()


def fleet_apply(inventory: Path, capsys) -> tuple[int, str, float]:
    started = time.monotonic()
    code = main(["fleet", "apply", "-i", str(inventory), "--forks", "3", "--yes"])
    out = capsys.readouterr().out
    return code, out, time.monotonic() - started


def test_three_nodes_at_once_one_fails_the_others_go_on(fleet, capsys):
    folder, inventory = fleet
    code, out, seconds = fleet_apply(inventory, capsys)
    print(out, f"\n({seconds:.1f} s)", file=sys.stderr)
    assert code == 1, out
    assert "node3  FAILED: Fail this node with gpuwiz's own output" in out
    assert "there is no sudo here" in out  # gpuwiz's own words, from the node
    recap = {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}
    assert "failed=0" in recap["node1"] and "failed=0" in recap["node2"] and "failed=1" in recap["node3"]
    results = folder / "results"
    runs = {n: json.loads((results / f"{n}.run.json").read_text()) for n in ("node1", "node2", "node3")}
    assert [runs[n]["outcome"] for n in ("node1", "node2", "node3")] == ["done", "done", "failed"]
    assert "there is no sudo here" in runs["node3"]["output"]
    for node in ("node1", "node2"):
        doctor = json.loads((results / f"{node}.doctor.json").read_text())
        assert all(layer["status"] in ("ok", "skip") for layer in doctor["layers"]), node
    table = [line.split() for line in out.splitlines() if line.startswith("node") and " : " not in line]
    assert table[1][:6] == ["node1", "✓", "✓", "✓", "✓", "-"]
    assert table[2][:6] == ["node2", "✓", "✓", "✓", "✓", "-"]
    assert table[3][:6] == ["node3", "✓", "✓", "✓", "✓", "✗"] and "failed" in table[3]

    assert main(["fleet", "status", "-i", str(inventory), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [n["outcome"] for n in doc["nodes"]] == ["done", "done", "failed"]
    assert doc["nodes"][2]["layers"]["k8s"] == "fail"


def test_a_second_run_changes_nothing_on_a_green_node_and_the_fixed_node_comes_green(fleet, capsys):
    folder, inventory = fleet
    machine = folder / "nodes" / "node3" / "machine.toml"  # the fix: node3's user gets sudo
    machine.write_text(machine.read_text().replace('sudo = "none"', 'sudo = "passwordless"', 1))
    code, out, seconds = fleet_apply(inventory, capsys)
    print(out, f"\n({seconds:.1f} s)", file=sys.stderr)
    assert code == 0, out
    recap = {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}
    # provisioned by the first run: nothing changes (rocky9-l4 at most proves podman sees the GPU again)
    assert "changed=0" in recap["node1"] and "changed=0" in recap["node2"], recap
    assert "node1  plan: 0 step(s)" in out
    assert "failed=0" in recap["node3"] and "changed=0" not in recap["node3"]
    assert main(["fleet", "status", "-i", str(inventory)]) == 0
    status = capsys.readouterr().out
    assert "node3  ✓         ✓         ✓         ✓         ✓         done" in status


def test_the_playbook_passes_ansible_lint_production(tmp_path):
    """ansible-lint is heavy (not in the test extra): run it when it is installed."""
    import subprocess

    from gpuwiz.backends.fleet import ANSIBLE_DIR

    lint = shutil.which("ansible-lint")
    if lint is None:
        pytest.skip("ansible-lint not installed")
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path), "NO_COLOR": "1"}
    done = subprocess.run(
        [lint, "--profile", "production", "--offline", "playbook.yml"],
        cwd=ANSIBLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
