"""Running ansible-playbook for `gpuwiz fleet apply` and reading its events (callback gpuwiz_events)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from gpuwiz.backends.fleet import ANSIBLE_DIR

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REBOOT = 0, 1, 2, 4
MISSING = "fleet apply needs Ansible (ansible-playbook was not found): pip install 'gpuwiz[fleet]'"
PACKAGED_PLAYBOOK = ANSIBLE_DIR / "playbook.yml"
CALLBACKS = ANSIBLE_DIR / "callback_plugins"


@dataclass(frozen=True)
class FleetRun:
    inventory: Path
    playbook: Path
    results_dir: Path
    answers: Path | None = None
    limit: str = ""
    forks: int = 5
    check: bool = False


@dataclass(frozen=True)
class Event:
    kind: str  # play, task, ok, changed, failed, skipped, unreachable, ignored, stats, text
    host: str = ""
    task: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


def find_ansible_playbook(env: Mapping[str, str]) -> str | None:
    """The ansible-playbook beside this Python (`pip install 'gpuwiz[fleet]'` puts it there), else on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    if beside.is_file():
        return str(beside)
    return shutil.which("ansible-playbook", path=env.get("PATH"))


def playbook_for(inventory: Path) -> Path:
    """The playbook `fleet init` wrote beside the inventory (it may have been edited), else the packaged one."""
    beside = (inventory if inventory.is_dir() else inventory.parent) / "playbook.yml"
    return beside if beside.is_file() else PACKAGED_PLAYBOOK


def results_dir_for(inventory: Path) -> Path:
    """Where the playbook keeps each node's reports: results/ beside the inventory (its inventory_dir)."""
    return (inventory if inventory.is_dir() else inventory.parent).resolve() / "results"


def playbook_argv(ansible_playbook: str, run: FleetRun) -> list[str]:
    argv = [ansible_playbook, "-i", str(run.inventory), str(run.playbook), "--forks", str(run.forks)]
    argv += ["-e", json.dumps({"gpuwiz_results_dir": str(run.results_dir)})]
    if run.answers is not None:
        argv += ["-e", json.dumps({"gpuwiz_answers": str(run.answers.resolve())})]
    if run.limit:
        argv += ["--limit", run.limit]
    if run.check:
        argv.append("--check")
    return argv


def playbook_env(env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment (ANSIBLE_* settings included) plus gpuwiz's event callback."""
    out = dict(env)
    plugins = [str(CALLBACKS), *filter(None, out.get("ANSIBLE_CALLBACK_PLUGINS", "").split(":"))]
    out.update(
        ANSIBLE_CALLBACK_PLUGINS=":".join(plugins),
        ANSIBLE_STDOUT_CALLBACK="gpuwiz_events",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PYTHONUNBUFFERED="1",
    )
    return out


def parse_event(line: str) -> Event:
    """One line of the playbook's output: a gpuwiz_events object, or Ansible's own text (a warning)."""
    try:
        data = json.loads(line)
    except ValueError:
        return Event("text", data={"text": line.rstrip("\n")})
    if not isinstance(data, dict) or "event" not in data:
        return Event("text", data={"text": line.rstrip("\n")})
    kind = str(data.pop("event"))
    host = str(data.pop("host", ""))
    task = str(data.pop("task", data.get("name", ""))).split(" : ", 1)[-1]  # "ROLE : Task" -> "Task"
    return Event(kind, host, task, data)


def run_playbook(argv: Sequence[str], env: Mapping[str, str]) -> Iterator[Event]:
    """ansible-playbook's events as they come; its exit status last, as Event("exit", data={"rc": N})."""
    with subprocess.Popen(
        list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip():
                yield parse_event(line)
        rc = proc.wait()
    yield Event("exit", data={"rc": rc})


@dataclass
class Tally:
    """What the events said, node by node: the recap and each node's gpuwiz outcome."""

    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    recap: dict[str, Mapping[str, int]] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    rc: int | None = None

    def add(self, event: Event) -> None:
        if "outcome" in event.data:
            self.outcomes[event.host] = str(event.data["outcome"])
        if event.kind == "failed":
            self.failures[event.host] = str(event.data.get("msg", ""))
        elif event.kind == "unreachable":
            self.unreachable.add(event.host)
            self.failures[event.host] = str(event.data.get("msg", "unreachable"))
        elif event.kind == "stats":
            self.recap = dict(event.data.get("hosts", {}))  # type: ignore[arg-type]
        elif event.kind == "exit":
            self.rc = int(event.data["rc"])  # type: ignore[arg-type]

    def exit_code(self) -> int:
        """0 every node green, 1 a node failed (or Ansible itself did), 4 a node waits for a reboot."""
        if self.failures or any(s.get("failures") or s.get("unreachable") for s in self.recap.values()):
            return EXIT_FAILED
        if self.rc not in (0, None) or not self.recap:
            return EXIT_FAILED
        if any(o == "reboot-pending" for o in self.outcomes.values()):
            return EXIT_REBOOT
        return EXIT_OK


def recap_lines(recap: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The PLAY RECAP as ansible-playbook's default output prints it."""
    if not recap:
        return []
    width = max(len(h) for h in recap)
    keys = (("ok", "ok"), ("changed", "changed"), ("unreachable", "unreachable"), ("failed", "failures"))
    keys += (("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored"))
    lines = ["PLAY RECAP " + "*" * 69]
    for host, stats in recap.items():
        counts = "  ".join(f"{label}={stats.get(key, 0):<4}" for label, key in keys)
        lines.append(f"{host:<{width}} : {counts}".rstrip())
    return lines
