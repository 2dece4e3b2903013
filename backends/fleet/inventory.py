"""The fleet folder's inventories: the demo's simulated nodes, an example for real ones, and reading one back."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

DEMO_PROFILES = ("fresh-rtx3060", "rocky9-l4", "k8s-no-gpu-support")


@dataclass(frozen=True)
class SimulatedNode:
    name: str
    profile: str


def demo_nodes(profiles: Sequence[str] = DEMO_PROFILES) -> list[SimulatedNode]:
    return [SimulatedNode(f"node{i}", p) for i, p in enumerate(profiles, start=1)]


def _yaml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


def demo_inventory(nodes: Sequence[SimulatedNode], *, python: str, gpuwiz_bin: str) -> str:
    """Simulated nodes on this machine: each runs gpuwiz locally on its own profile and state."""
    lines = [
        "# gpuwiz fleet demo: simulated nodes on this machine (ansible_connection: local), each a machine",
        "# profile (gpuwiz profile list) with its own state under nodes/NAME/. Nothing on this machine changes.",
        "#   gpuwiz fleet apply -i inventory.yml    then    gpuwiz fleet status -i inventory.yml",
        "all:",
        "  vars:",
        "    ansible_connection: local",
        f"    ansible_python_interpreter: {_yaml(python)}",
        "    gpuwiz_install: present",
        f"    gpuwiz_bin: {_yaml(gpuwiz_bin)}",
        '    gpuwiz_answers: "{{ inventory_dir }}/answers.toml"',
        "  children:",
        "    gpu_nodes:",
        "      hosts:",
    ]
    for node in nodes:
        lines += [f"        {node.name}:", f"          gpuwiz_profile: {_yaml(node.profile)}"]
    return "\n".join(lines) + "\n"


EXAMPLE_INVENTORY = """\
# gpuwiz fleet: your GPU nodes. Ansible reaches them over SSH; gpuwiz decides on each one.
#   gpuwiz fleet apply -i inventory.yml --answers answers.toml
# Each node gets gpuwiz (gpuwiz_install: pypi, or wheel with gpuwiz_wheel: a wheel on this
# controller), runs `gpuwiz apply --answers ... --yes` as root (become), reboots when gpuwiz asks
# (at most gpuwiz_max_reboots times) and reports `gpuwiz doctor --json` into results/.
all:
  vars:
    ansible_user: admin                # who Ansible logs in as; it needs sudo
    ansible_python_interpreter: /usr/bin/python3
    gpuwiz_install: pypi               # pypi | wheel (gpuwiz_wheel: dist/gpuwiz-VERSION-py3-none-any.whl) | present
    gpuwiz_answers: "{{ inventory_dir }}/answers.toml"
    gpuwiz_max_reboots: 2
    gpuwiz_exporter: false             # true: gpuwiz exporter as a systemd service (Prometheus /metrics)
    gpuwiz_exporter_listen: "0.0.0.0:9835"
  children:
    gpu_nodes:
      hosts:
        gpu-node-1:
          ansible_host: 192.0.2.11
        gpu-node-2:
          ansible_host: 192.0.2.12
        gpu-node-3:
          ansible_host: 192.0.2.13
"""


def with_exporter(inventory: str, listen: str) -> str:
    """The example inventory with the exporter service asked for (fleet init --exporter)."""
    return inventory.replace("    gpuwiz_exporter: false ", "    gpuwiz_exporter: true  ", 1).replace(
        '    gpuwiz_exporter_listen: "0.0.0.0:9835"', f"    gpuwiz_exporter_listen: {_yaml(listen)}", 1
    )


def inventory_hosts(ansible_inventory: str, inventory: Path, env: Mapping[str, str], limit: str = "") -> list[str]:
    """The inventory's hosts as Ansible reads it (any format it takes): `ansible-inventory --list`."""
    argv = [ansible_inventory, "-i", str(inventory), "--list"]
    if limit:
        argv += ["--limit", limit]
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise ValueError((done.stderr or done.stdout).strip().splitlines()[-1:] or ["ansible-inventory failed"])
    return hosts_of(json.loads(done.stdout))


def hosts_of(listing: Mapping[str, object]) -> list[str]:
    """Every host in `ansible-inventory --list`'s JSON, in inventory order."""
    found: list[str] = []
    meta = listing.get("_meta", {})
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else {}

    def walk(group: str, seen: set[str]) -> None:
        if group in seen:
            return
        seen.add(group)
        entry = listing.get(group, {})
        if not isinstance(entry, dict):
            return
        for host in entry.get("hosts", []):
            if host not in found:
                found.append(host)
        for child in entry.get("children", []):
            walk(child, seen)

    walk("all", set())
    found += [h for h in hostvars if h not in found]
    return found
