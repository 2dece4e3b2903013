"""`gpuwiz fleet init DIR`: the fleet folder (inventory, playbook and role, answers file, README)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpuwiz.backends.fleet import ANSIBLE_DIR
from gpuwiz.backends.fleet.inventory import EXAMPLE_INVENTORY, demo_inventory, demo_nodes, with_exporter

ANSIBLE_CFG = """\
# Settings for running this folder with plain ansible-playbook (gpuwiz fleet apply sets its own).
[defaults]
inventory = inventory.yml
retry_files_enabled = False
forks = 10
"""


@dataclass(frozen=True)
class FleetFolder:
    folder: Path
    answers_text: str  # this node's answers file (gpuwiz plan --format answers)
    answers_from: str  # where it came from: "this machine" or a profile
    demo: bool = False
    python: str = ""  # the demo nodes' interpreter and gpuwiz
    gpuwiz_bin: str = ""
    exporter: str = ""  # HOST:PORT: each real node serves /metrics there (gpuwiz exporter, systemd)


def readme(f: FleetFolder) -> str:
    what = (
        "three simulated nodes on this machine (profiles fresh-rtx3060, rocky9-l4, k8s-no-gpu-support); "
        "nothing on this machine changes"
        if f.demo
        else "your GPU nodes: edit inventory.yml (hosts, ansible_user, how gpuwiz is installed)"
    )
    return f"""# gpuwiz fleet

Ansible is the engine (inventory, SSH, parallel forks, reboots); gpuwiz decides on each node what
that node needs. This folder provisions {what}.

- `inventory.yml`: the nodes{" (inventory.example.yml: real nodes over SSH)" if f.demo else ""}
- `answers.toml`: the choices every node gets, saved on {f.answers_from} (`gpuwiz help answers`)
- `playbook.yml`, `roles/gpuwiz/`: per node, install gpuwiz, `gpuwiz apply --answers ... --yes`,
  reboot when it exits 4 and run it again (bounded), fail the node with gpuwiz's output when it exits
  1 (the others go on), collect `gpuwiz doctor --json` into `results/`

```sh
gpuwiz fleet apply -i inventory.yml            # or: ansible-playbook -i inventory.yml playbook.yml
gpuwiz fleet status -i inventory.yml           # node x layer marks from results/
gpuwiz fleet apply -i inventory.yml --check    # the plans only, nothing changed
```

`gpuwiz fleet apply` exits 0 when every node is green, 1 when a node failed, 4 when a node waits for
a reboot, 2 on bad usage. Reference: `gpuwiz help fleet`.
"""


def write_fleet_folder(f: FleetFolder) -> list[Path]:
    """Write the folder; refuse (FileExistsError) when one of its files is there already."""
    files: dict[str, str] = {
        "inventory.yml": (
            demo_inventory(demo_nodes(), python=f.python, gpuwiz_bin=f.gpuwiz_bin)
            if f.demo
            else with_exporter(EXAMPLE_INVENTORY, f.exporter)
            if f.exporter
            else EXAMPLE_INVENTORY
        ),
        "answers.toml": f.answers_text,
        "README.md": readme(f),
        "ansible.cfg": ANSIBLE_CFG,
    }
    if f.demo:
        files["inventory.example.yml"] = EXAMPLE_INVENTORY
    role_files = {
        str(p.relative_to(ANSIBLE_DIR)): p.read_text(encoding="utf-8") for p in sorted(ANSIBLE_DIR.rglob("*.yml"))
    }
    files.update(role_files)
    taken = [name for name in files if (f.folder / name).exists()]
    if taken:
        raise FileExistsError(f"{f.folder}: {', '.join(taken)} exist already; choose an empty folder")
    written = []
    for name, text in files.items():
        path = f.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
