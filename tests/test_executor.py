"""The executor, its log, the run state, rollback and `gpuwiz apply` / `gpuwiz rollback`."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import replace

import pytest

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.runs.executor import EventKind, Executor, RunStatus
from gpuwiz.backends.runs.plan import FileEdit, Guard, Plan, Step
from gpuwiz.backends.runs.rollback import apply_rollback, rollback_actions
from gpuwiz.backends.runs.run_log import RunLog, redact_secrets
from gpuwiz.backends.runs.run_state import RunState, files_of, load_state, save_state, state_path
from gpuwiz.cli import main

PY = sys.executable


def sh(script: str, **kw) -> Step:
    return Step(
        id=kw.pop("id", "test.sh"),
        title=kw.pop("title", script[:30]),
        layer=Layer.DRIVER,
        argv=(PY, "-c", script),
        needs_root=False,
        **kw,
    )


def edit_step(path, new, old=None, **kw) -> Step:
    return Step(
        id=kw.pop("id", "test.edit"),
        title=f"write {path}",
        layer=Layer.RUNTIME,
        edit=FileEdit(str(path), new, old),
        needs_root=False,
        **kw,
    )


def run(plan: Plan, host=None, **kw):
    events = []
    executor = Executor(host or RealHost(), plan, emit=events.append, **kw)
    return executor.run(), events


def kinds(events) -> list[tuple[str, int]]:
    return [(e.kind.value, e.index) for e in events if e.kind is not EventKind.OUTPUT]


def test_steps_run_in_order_and_stream_their_output(tmp_path):
    plan = Plan((sh("print('one'); print('two')"), edit_step(tmp_path / "a.conf", "x = 1\n")))
    outcome, events = run(plan)
    assert outcome.status is RunStatus.DONE and outcome.next_index == 2
    assert [e.text for e in events if e.kind is EventKind.OUTPUT and e.index == 0] == ["one", "two"]
    wrote = [e.text for e in events if e.kind is EventKind.OUTPUT and e.index == 1]
    assert wrote == [f"wrote {tmp_path / 'a.conf'} (6 bytes, a new file)"]  # never a silent step
    assert kinds(events) == [("started", 0), ("finished", 0), ("started", 1), ("finished", 1)]
    assert (tmp_path / "a.conf").read_text() == "x = 1\n"
    assert outcome.writes[0].backup is None  # a new file


def test_a_failure_stops_the_run_and_a_retry_goes_on_from_there(tmp_path):
    flag = tmp_path / "fixed"
    plan = Plan(
        (
            sh("print('first')"),
            sh(f"import os, sys; sys.exit(0 if os.path.exists({str(flag)!r}) else 3)", id="test.fails"),
            edit_step(tmp_path / "after.conf", "done\n"),
        )
    )
    events: list = []
    executor = Executor(RealHost(), plan, emit=events.append)
    outcome = executor.run()
    assert outcome.status is RunStatus.FAILED and outcome.next_index == 1
    assert "exited 3" in outcome.failure
    assert not (tmp_path / "after.conf").exists()
    flag.write_text("")
    events.clear()
    outcome = executor.run(outcome.next_index)  # Retry
    assert outcome.status is RunStatus.DONE
    assert kinds(events)[0] == ("started", 1)


def test_skip_goes_past_a_failed_step(tmp_path):
    plan = Plan((sh("import sys; sys.exit(1)"), edit_step(tmp_path / "b.conf", "b\n")))
    events: list = []
    executor = Executor(RealHost(), plan, emit=events.append)
    assert executor.run().status is RunStatus.FAILED
    outcome = executor.run(0, skip_first=True)
    assert outcome.status is RunStatus.DONE and (tmp_path / "b.conf").exists()
    assert ("skipped", 0) in kinds(events)


def test_steps_check_before_they_act(tmp_path):
    target = tmp_path / "c.conf"
    target.write_text("already\n")
    plan = Plan(
        (
            sh("raise SystemExit('must not run')", skip_if=Guard((PY, "-c", "pass"))),
            edit_step(target, "already\n", "already\n"),
        )
    )
    outcome, events = run(plan)
    assert outcome.status is RunStatus.DONE and not outcome.writes
    assert kinds(events) == [("started", 0), ("skipped", 0), ("started", 1), ("skipped", 1)]


@pytest.mark.parametrize(
    "prints, done",
    [
        ("print('installed'); print('installed')", True),
        ("print('installed'); print('config-files')", False),
        ("import sys; print('installed'); print('dpkg-query: no packages found matching x', file=sys.stderr)", False),
        ("pass", False),  # exits 0 but says nothing
        ("print('installed'); raise SystemExit(1)", False),
    ],
)
def test_a_guard_that_reads_output(prints, done):
    guard = Guard((PY, "-c", prints), every_line="installed")
    outcome, events = run(Plan((sh("print('acted')", skip_if=guard),)))
    assert outcome.status is RunStatus.DONE
    assert (("skipped", 0) in kinds(events)) is done
    assert any(e.text == "acted" for e in events) is not done


def test_a_file_changed_since_the_plan_is_not_overwritten(tmp_path):
    target = tmp_path / "d.conf"
    target.write_text("someone edited this\n")
    outcome, _ = run(Plan((edit_step(target, "new\n", "what the plan saw\n"),)))
    assert outcome.status is RunStatus.FAILED and "changed since the plan" in outcome.failure
    assert target.read_text() == "someone edited this\n"


def test_a_reboot_step_stops_the_run_after_it(tmp_path):
    plan = Plan((sh("pass", reboot=True), sh("raise SystemExit(1)")))
    outcome, _ = run(plan)
    assert outcome.status is RunStatus.REBOOT and outcome.next_index == 1


def test_cancel_stops_between_steps():
    plan = Plan((sh("pass"), sh("pass")))
    events: list = []
    executor = Executor(RealHost(), plan, emit=events.append)

    def emit(event):
        events.append(event)
        if event.kind is EventKind.FINISHED:
            executor.cancel()

    executor.emit = emit
    outcome = executor.run()
    assert outcome.status is RunStatus.CANCELLED and outcome.next_index == 1


def test_cancel_lets_the_running_step_finish_and_abort_stops_it(tmp_path):
    """Cancel during a step: the step (think dpkg) ends by itself, the next one never starts.
    Abort (a second Cancel): the running command is terminated."""
    import threading

    marker = tmp_path / "finished"
    step = sh(f"import time, pathlib; print('go', flush=True); time.sleep(1); pathlib.Path({str(marker)!r}).touch()")
    for stop, finished in (("cancel", True), ("abort", False)):
        marker.unlink(missing_ok=True)
        executor = Executor(RealHost(), Plan((step, sh("raise SystemExit(9)"))), emit=lambda e: None)

        def emit(event, stop=stop, executor=executor):
            if event.kind is EventKind.OUTPUT:
                threading.Thread(target=getattr(executor, stop)).start()

        executor.emit = emit
        outcome = executor.run()
        assert outcome.status is RunStatus.CANCELLED, stop
        assert marker.exists() is finished, stop
        assert outcome.next_index == (1 if finished else 0), stop


def test_interactive_steps_get_the_terminal_or_say_what_to_run():
    step = sh("pass", interactive=True)
    outcome, _ = run(Plan((step,)))
    assert outcome.status is RunStatus.FAILED and "asks at the terminal" in outcome.failure
    seen = []
    outcome, _ = run(Plan((step,)), interactive=lambda argv, root: seen.append(argv) or 0)
    assert outcome.status is RunStatus.DONE and seen == [step.argv]


def test_existing_files_are_backed_up_mode_kept_and_rolled_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = dict(os.environ)
    target = tmp_path / "daemon.json"
    target.write_text("{}\n")
    target.chmod(0o600)
    created = tmp_path / "new.d" / "99-nvidia.toml"
    host = RealHost(env)
    plan = Plan((edit_step(target, '{"a": 1}\n', "{}\n"), edit_step(created, "x\n", id="test.new")))
    outcome, _ = run(plan, host)
    assert target.read_text() == '{"a": 1}\n' and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert outcome.writes[0].backup and open(outcome.writes[0].backup).read() == "{}\n"
    state = RunState("done", 2, ("test.edit", "test.new"), files=files_of(outcome.writes))
    save_state(env, state)
    assert replace(load_state(env), started="") == state
    actions = rollback_actions(host, state)
    assert [a.describe().split()[0] for a in actions] == ["remove", "restore"]
    lines = apply_rollback(host, actions)
    assert target.read_text() == "{}\n" and not created.exists()
    assert lines[0].startswith("removed") and lines[1] == f"restored {target}"


def test_rollback_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = dict(os.environ)
    assert main(["rollback"]) == 0
    assert "nothing to roll back" in capsys.readouterr().out
    target = tmp_path / "config.toml"
    target.write_text("old\n")
    outcome, _ = run(Plan((edit_step(target, "new\n", "old\n"),)), RealHost(env))
    save_state(env, RunState("done", 1, ("test.edit",), files=files_of(outcome.writes)))
    assert main(["rollback", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"restore {target}" in out and target.read_text() == "new\n"
    assert main(["rollback"]) == 0
    assert f"restored {target}" in capsys.readouterr().out and target.read_text() == "old\n"


def test_a_broken_state_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    env = dict(os.environ)
    path = state_path(env)
    path.parent.mkdir(parents=True)
    path.write_text("format = 1\n[last_run\n")
    with pytest.raises(InputError) as err:
        load_state(env)
    assert "state.toml:2" in str(err.value)


def test_the_log_never_holds_a_password_or_token(tmp_path):
    log = RunLog(tmp_path / "run.log", secrets=("hunter2-sudo",))
    lines = [
        "password: hunter2-sudo",
        "Authorization: Bearer abcdefghijklmnop1234",
        'token = "s3cr3t-value"',
        "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----",
    ]
    # the command prints them; its argv carries them reversed, so only the output can leak them
    script = f"for line in {[line[::-1] for line in lines]!r}: print(line[::-1])"
    outcome, _ = run(Plan((sh(script),)), log=log)
    log.close()
    text = (tmp_path / "run.log").read_text()
    assert outcome.status is RunStatus.DONE
    for secret in ("hunter2-sudo", "abcdefghijklmnop1234", "s3cr3t-value", "MIIEv"):
        assert secret not in text
    assert "REDACTED" in text and "exit 0" in text
    assert stat.S_IMODE((tmp_path / "run.log").stat().st_mode) == 0o600
    assert redact_secrets("sudo password is pw123", ("pw123",)) == "sudo password is REDACTED"


def test_a_sudo_password_given_on_stdin_is_not_logged(tmp_path):
    """The password travels as stdin; the executor logs argv and output, never input."""
    log = RunLog(tmp_path / "run.log")
    host = ProfileHost(load_profile("laptop-mx150", {}))
    step = Step(id="t", title="t", layer=Layer.DRIVER, argv=("nvidia-smi", "-L"), needs_root=False)
    Executor(host, Plan((step,)), emit=lambda e: None, log=log).run()
    log.close()
    assert "GeForce MX150" in (tmp_path / "run.log").read_text()


def test_apply_dry_run_shows_the_plans_steps(tmp_path, capsys):
    answers = tmp_path / "answers.toml"
    answers.write_text('[driver]\nbranch = "535"\n')
    assert main(["--profile", "fresh-rtx3060", "plan", "--answers", str(answers)]) == 0
    planned = capsys.readouterr().out
    assert main(["--profile", "fresh-rtx3060", "apply", "--answers", str(answers), "--dry-run"]) == 0
    applied = capsys.readouterr().out
    assert applied.startswith(planned) and applied.endswith("dry run: nothing was changed\n")


def test_apply_needs_yes_without_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["--profile", "fresh-rtx3060", "apply"]) == 2
    assert "--yes" in capsys.readouterr().err


def test_apply_on_a_healthy_machine_does_nothing(capsys):
    assert main(["--profile", "homelab-ready", "apply", "--yes"]) == 0
    assert "No steps to run" in capsys.readouterr().out
