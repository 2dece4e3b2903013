"""What the last run did, kept in `$XDG_STATE_HOME/gpuwiz/state.toml`.

It says where to resume after a reboot (the step after the one that needed it), with which
choices, and which files the run wrote and where their backups are (for `gpuwiz rollback`).
Written atomically; a state file that cannot be read is reported, never silently replaced.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import tomlkit

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.machine.host import WriteResult, atomic_write
from gpuwiz.backends.machine.logs import state_dir
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

STATE_FORMAT = 1


@dataclass(frozen=True)
class WrittenFile:
    path: str
    backup: str | None  # None: the run created the file


@dataclass(frozen=True)
class RunState:
    status: str  # RunStatus value, or "hung-up" (cancelled because the terminal went away)
    next_step: int
    steps: tuple[str, ...]  # the plan's step ids, to tell whether a resume still fits
    selections: Mapping[str, str] = field(default_factory=dict)
    files: tuple[WrittenFile, ...] = ()
    log: str = ""
    profile: str = ""
    started: str = ""
    # a run on a profile (a simulated machine): kept apart from this machine's state, and its
    # changes lived only in the gpuwiz process that made them
    simulated: bool = False

    @property
    def resumable(self) -> bool:
        """Stopped for a reboot (also after a layer's last step: the next layer is still to do), or
        because the terminal hung up before the plan's end."""
        if self.status == "reboot":
            return 0 < self.next_step <= len(self.steps)
        return self.status == "hung-up" and self.next_step < len(self.steps)


def state_path(env: Mapping[str, str], simulated_profile: str = "") -> Path:
    """This machine's state file, or a simulated machine's (never the same: trying a profile must
    not replace what `gpuwiz rollback` would put back here)."""
    if simulated_profile:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(simulated_profile).stem or "profile")
        return state_dir(env) / "simulated" / f"{safe}.toml"
    return state_dir(env) / "state.toml"


def files_of(writes: list[WriteResult]) -> tuple[WrittenFile, ...]:
    return tuple(WrittenFile(w.path, w.backup) for w in writes)


def save_state(env: Mapping[str, str], state: RunState) -> Path:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("gpuwiz: the last run (resume after a reboot, rollback). Written by gpuwiz."))
    doc.add("format", STATE_FORMAT)
    run = tomlkit.table()
    run.add("started", state.started or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    run.add("status", state.status)
    run.add("next_step", state.next_step)
    run.add("steps", list(state.steps))
    run.add("log", state.log)
    run.add("profile", state.profile)
    run.add("simulated", state.simulated)
    selections = tomlkit.table()
    for key, value in sorted(state.selections.items()):
        selections.add(key, value)
    run.add("selections", selections)
    files = tomlkit.aot()
    for f in state.files:
        t = tomlkit.table()
        t.add("path", f.path)
        t.add("backup", f.backup or "")
        files.append(t)
    run.add("files", files)
    doc.add("last_run", run)
    path = state_path(env, state.profile if state.simulated else "")
    atomic_write(path, tomlkit.dumps(doc), mode=0o600, backup_root=None)
    return path


def load_state(env: Mapping[str, str], simulated_profile: str = "") -> RunState | None:
    path = state_path(env, simulated_profile)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = tomllib.loads(text)
        run = data["last_run"]
        if data.get("format") != STATE_FORMAT:
            raise InputError(str(path), f"format {data.get('format')!r}; this gpuwiz reads {STATE_FORMAT}")
        return RunState(
            status=str(run["status"]),
            next_step=int(run["next_step"]),
            steps=tuple(str(s) for s in run["steps"]),
            selections={str(k): str(v) for k, v in run.get("selections", {}).items()},
            files=tuple(WrittenFile(str(f["path"]), str(f["backup"]) or None) for f in run.get("files", [])),
            log=str(run.get("log", "")),
            profile=str(run.get("profile", "")),
            started=str(run.get("started", "")),
            simulated=bool(run.get("simulated", False)),
        )
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), f"missing or wrong key {exc}; move the file away to start afresh") from None


def clear_state(env: Mapping[str, str]) -> None:
    try:
        state_path(env).unlink()
    except FileNotFoundError:
        pass


def record_files_run(env: Mapping[str, str], step_id: str, written: list[WriteResult], *, profile: str = "") -> Path:
    """A command that wrote files outside a plan (`runtime configure`) is a run too: rollback undoes it."""
    return save_state(
        env,
        RunState(
            status="done",
            next_step=1,
            steps=(step_id,),
            files=files_of(written),
            profile=profile,
            simulated=bool(profile),
        ),
    )
