"""ProcessTable: /proc read the way psutil reads it, one stat read per PID per frame."""

from __future__ import annotations

import os

from gpuwiz.backends.machine.processes import (
    RENAME_S,
    ProcessTable,
    parse_boot_time,
    parse_cmdline,
    parse_real_uid,
    parse_stat,
)


def _stat(comm: str = "python3", state: str = "S", utime: int = 100, stime: int = 20, start: int = 5000) -> bytes:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    # cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
    fields = [state, "1", "1", "1", "0", "-1", "0", "0", "0", "0", "0", str(utime), str(stime)]
    fields += ["0", "0", "20", "0", "4", "0", str(start), "123456", "2048", "0"]
    return f"4242 ({comm}) {' '.join(fields)}\n".encode()


def test_parse_stat_takes_comm_up_to_the_last_parenthesis():
    stat = parse_stat(_stat(comm="a) (b c"))
    assert stat is not None
    assert (stat.comm, stat.zombie, stat.cpu_ticks, stat.start_ticks, stat.rss_pages) == (
        b"a) (b c",
        False,
        120,
        5000,
        2048,
    )
    assert parse_stat(_stat(state="Z")).zombie
    assert parse_stat(b"garbage") is None


def test_parse_cmdline_as_psutil():
    assert parse_cmdline(b"python3\x00train.py\x00--lr\x000.1\x00") == ("python3", "train.py", "--lr", "0.1")
    assert parse_cmdline(b"chrome --type=renderer --lang") == ("chrome", "--type=renderer", "--lang")
    assert parse_cmdline(b"ray::Worker idle\x00") == ("ray::Worker", "idle")  # setproctitle with spaces
    assert parse_cmdline(b"") == ()


def test_parse_uid_and_boot_time():
    assert parse_real_uid(b"Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t0\n") == 1000
    assert parse_real_uid(b"Name:\tx\n") is None
    assert parse_boot_time(b"cpu  1 2 3\nbtime 1700000000\nprocesses 9\n") == 1700000000.0


class _Proc:
    """A fake /proc for one PID whose files a test changes between looks."""

    def __init__(self) -> None:
        self.files = {
            "/proc/stat": b"btime 1000\n",
            "/proc/4242/stat": _stat(),
            "/proc/4242/cmdline": b"python3\x00train.py\x00",
            "/proc/4242/status": f"Uid:\t{os.getuid()}\t0\t0\t0\n".encode(),
        }
        self.reads: list[str] = []

    def read(self, path: str) -> bytes:
        self.reads.append(path)
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]


def test_one_stat_read_per_look_and_cpu_since_the_previous_one():
    proc, t, ticks = _Proc(), [0.0], os.sysconf("SC_CLK_TCK")
    table = ProcessTable(read=proc.read, clock=lambda: t[0], wall_clock=lambda: 1000 + 5000 / ticks + 7)
    first = table.info(4242)
    assert first is not None and first.cmdline == ("python3", "train.py") and first.cpu_percent == 0.0
    assert first.rss_mib == 2048 * os.sysconf("SC_PAGE_SIZE") / 2**20
    assert abs(first.elapsed_s - 7) < 1e-6
    proc.reads.clear()
    t[0] = 2.0
    proc.files["/proc/4242/stat"] = _stat(utime=100 + ticks, stime=20)  # one CPU-second in two seconds
    second = table.info(4242)
    assert second is not None and second.cpu_percent == 50.0
    assert proc.reads == ["/proc/4242/stat"]


def test_a_retitled_process_is_seen_within_rename_s_and_a_reused_pid_at_once():
    proc, t = _Proc(), [0.0]
    table = ProcessTable(read=proc.read, clock=lambda: t[0])
    table.info(4242)
    proc.files["/proc/4242/cmdline"] = b"vllm-worker\x00"
    t[0] = RENAME_S - 1
    assert table.info(4242).cmdline == ("python3", "train.py")
    t[0] = RENAME_S
    assert table.info(4242).cmdline == ("vllm-worker",)
    proc.files["/proc/4242/stat"] = _stat(start=9000, utime=0, stime=0)  # another process, same PID
    proc.files["/proc/4242/cmdline"] = b"sleep\x0060\x00"
    reused = table.info(4242)
    assert reused.cmdline == ("sleep", "60") and reused.cpu_percent == 0.0


def test_gone_zombie_and_unreadable_pids_do_not_resolve():
    proc = _Proc()
    table = ProcessTable(read=proc.read)
    assert table.info(4242) is not None
    proc.files["/proc/4242/stat"] = _stat(state="Z")
    assert table.info(4242) is None
    del proc.files["/proc/4242/stat"]
    assert table.info(4242) is None

    def denied(path: str) -> bytes:
        raise PermissionError(path)

    assert ProcessTable(read=denied).info(4242) is None


def test_a_kernel_thread_is_named_by_its_comm():
    proc = _Proc()
    proc.files["/proc/4242/cmdline"] = b""
    assert ProcessTable(read=proc.read).info(4242).cmdline == ("[python3]",)
