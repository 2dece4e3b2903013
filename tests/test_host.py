"""RealHost: argv only, timeouts, missing executables as results, atomic writes with backups."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from gpuwiz.backends.machine.host import RC_NOT_FOUND, RC_TIMEOUT, RealHost


@pytest.fixture
def host(tmp_path):
    return RealHost(env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})


def test_run_returns_output_and_code(host):
    result = host.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_argv_is_never_a_shell_string(host):
    result = host.run(["echo", "$HOME; rm -rf /"])
    assert result.stdout == "$HOME; rm -rf /\n"


def test_missing_executable_is_a_result(host):
    result = host.run(["gpuwiz-no-such-tool", "--version"])
    assert result.returncode == RC_NOT_FOUND and result.not_found
    assert "command not found" in result.stderr


def test_timeout_is_a_result(host):
    result = host.run(["sleep", "5"], timeout=0.3)
    assert result.returncode == RC_TIMEOUT
    assert "timed out" in result.stderr


def test_non_utf8_output_is_replaced(host):
    result = host.run(["printf", "caf\\351\\n"])
    assert result.stdout == "caf\ufffd\n"


def test_input_is_passed(host):
    assert host.run(["cat"], input="hello").stdout == "hello"


def test_child_does_not_share_our_session(host):
    sid = host.run(["sh", "-c", "ps -o sid= -p $$"]).stdout.strip()
    if not sid:
        pytest.skip("ps cannot report the session id here")
    assert int(sid) != os.getsid(0)


def test_run_from_worker_threads(host):
    """The TUI runs probes on worker threads while its own threads run (sh forks from Python)."""
    results = []
    stop = threading.Event()
    busy = [threading.Thread(target=stop.wait) for _ in range(3)]
    for t in busy:
        t.start()
    workers = [threading.Thread(target=lambda: results.append(host.run(["echo", "x"], timeout=10))) for _ in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=30)
    stop.set()
    for t in busy:
        t.join()
    assert [r.stdout for r in results] == ["x\n"] * 8


def test_read_missing_and_directory(host, tmp_path):
    assert host.read_text(str(tmp_path / "nope")) is None
    assert host.read_text(str(tmp_path)) is None


def test_write_is_atomic_keeps_mode_and_backs_up(host, tmp_path):
    target = tmp_path / "etc" / "daemon.json"
    target.parent.mkdir()
    target.write_text('{"old": true}\n')
    target.chmod(0o600)
    result = host.write_text(str(target), '{"new": true}\n')
    assert target.read_text() == '{"new": true}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert result.backup and open(result.backup).read() == '{"old": true}\n'
    assert str(tmp_path / "state" / "gpuwiz" / "backups") in result.backup
    assert [p.name for p in target.parent.iterdir()] == ["daemon.json"]  # no temp file left


def test_write_new_file_has_no_backup(host, tmp_path):
    result = host.write_text(str(tmp_path / "new.toml"), "x = 1\n")
    assert result.backup is None
    assert stat.S_IMODE((tmp_path / "new.toml").stat().st_mode) == 0o644


def test_two_writes_in_one_second_keep_both_backups(host, tmp_path):
    target = tmp_path / "f"
    target.write_text("1")
    first = host.write_text(str(target), "2").backup
    second = host.write_text(str(target), "3").backup
    assert first != second
    assert open(first).read() == "1" and open(second).read() == "2"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_write_keeps_owner(host, tmp_path):
    target = tmp_path / "owned"
    target.write_text("a")
    os.chown(target, 1234, 1234)
    host.write_text(str(target), "b")
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (1234, 1234)


def test_which_finds_sbin_tools_outside_path(tmp_path):
    sbin = "/usr/sbin"
    if not os.path.exists(f"{sbin}/ldconfig"):
        pytest.skip("no /usr/sbin/ldconfig here")
    host = RealHost(env={"PATH": "/usr/bin:/bin"})
    assert host.which("ldconfig") in (f"{sbin}/ldconfig", "/sbin/ldconfig")


def test_terminate_running_stops_a_command_in_another_thread(host):
    import time

    results = []
    worker = threading.Thread(target=lambda: results.append(host.run(["sleep", "30"], timeout=60)))
    start = time.monotonic()
    worker.start()
    time.sleep(0.5)
    host.terminate_running()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert time.monotonic() - start < 10
    assert results[0].returncode == 128 + 15


def test_commands_run_in_the_c_locale(host):
    assert host.run(["sh", "-c", "echo $LC_ALL"]).stdout == "C\n"


def test_commands_do_not_get_a_terminal(host):
    """A pty on stdout makes journalctl start a pager and apt draw progress bars into the output."""
    assert host.run(["sh", "-c", "test -t 1 && echo tty || echo pipe"]).stdout == "pipe\n"
