"""gpuwiz's monitor side by side with nvitop and gpustat on the same fake GPUs: CPU and first frame.

    .venv/bin/python benchmarks/monitor_vs_peers.py [--seconds 60] [--sizes 80x24,120x40]
        [--profile dgx-h100x8] [--processes 40] [--repeat 1] [--tools gpuwiz-real,...]

- nvitop and gpustat live in a venv of their own (default ~/.cache/gpuwiz-bench/peers, made on
  first use with pip: nvitop==1.7.2, gpustat==1.1.1).
- N real processes (`sleep`, default 40) stand behind the profile's GPU PIDs: the profile's
  record is rewritten with their PIDs, pickled, and benchmarks/fake_pynvml/sitecustomize.py swaps
  a FakeNvml over it into each program's `pynvml` as it is imported (values move over time the
  same way for every program: FakeNvml's motion on the monotonic clock, one seed).
- gpuwiz runs twice: `gpuwiz monitor` (the real-host path: the injected pynvml and psutil on the
  real processes) and `gpuwiz --profile P monitor` (the profile path: the profile's own
  processes, no psutil); nvitop as `nvitop -m full --interval 1`, gpustat as `gpustat -i 1`.
- Each runs in its own tmux server at each size. First frame: each program alone, from launching
  it (tmux new-session) until the pane shows a GPU's name (tmux capture-pane, polled every 10 ms;
  not from psutil's create_time: that counts from /proc/stat's whole-second `btime`, 0.8 s early
  on a VM here). CPU: all of them at once, over one window, so that the machine's other load
  weighs on each alike and the ratios hold on a busy machine. CPU: user+system
  seconds of the process tree, read from outside with psutil, over --seconds after a warm-up,
  as seconds per minute.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIM = os.path.join(ROOT, "benchmarks", "fake_pynvml")
PEERS = ("nvitop==1.7.2", "gpustat==1.1.1")
DEFAULT_PEERS_VENV = os.path.expanduser("~/.cache/gpuwiz-bench/peers")
DEMO_SEED = 1  # the seed `gpuwiz --profile` moves its GPUs with (tui/cli.py)
TOOLS = ("gpuwiz-profile", "gpuwiz-real", "nvitop", "gpustat")


@dataclass(frozen=True)
class Run:
    tool: str
    size: tuple[int, int]
    first_frame_s: float | None
    cpu_per_min: float | None


# --- set-up ----------------------------------------------------------------------------------


def ensure_peers(venv: str) -> str:
    """The peers' venv, made (or completed) with pip; returns its bin folder."""
    bin_dir = os.path.join(venv, "bin")
    python = os.path.join(bin_dir, "python")
    wanted = {p.split("==")[0]: p.split("==")[1] for p in PEERS}
    if os.path.exists(python):
        probe = "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in %r}))" % list(wanted)
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True)
        if out.returncode == 0 and json.loads(out.stdout) == wanted:
            return bin_dir
    else:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *PEERS], check=True)
    return bin_dir


def compile_bytecode(python: str, folders: Sequence[str]) -> None:
    """What an installed program has: .pyc files (PYTHONDONTWRITEBYTECODE would leave each start compiling)."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", *folders], env=clean_env(), capture_output=True)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def site_packages(python: str) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def spawn_sleepers(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["sleep", "86400"], stdin=subprocess.DEVNULL) for _ in range(count)]


def remapped_record(record: Any, pids: Sequence[int]) -> Any:
    """The profile's NVML record with each distinct GPU PID replaced by a real one (in order, cycling)."""
    order: dict[int, int] = {}
    for gpu in record.gpus:
        for p in gpu.processes:
            order.setdefault(p.pid, pids[len(order) % len(pids)])
    gpus = tuple(
        replace(gpu, processes=tuple(replace(p, pid=order[p.pid]) for p in gpu.processes)) for gpu in record.gpus
    )
    return replace(record, gpus=gpus)


def write_settings(profile: str, pids: Sequence[int], folder: str) -> str:
    sys.path.insert(0, ROOT)
    from gpuwiz.backends.machine.profiles import load_profile

    record = load_profile(profile, {}).nvml
    path = os.path.join(folder, "fake.pickle")
    with open(path, "wb") as f:
        pickle.dump({"record": remapped_record(record, pids), "seed": DEMO_SEED}, f)
    return path


def commands(profile: str, peers_bin: str) -> dict[str, list[str]]:
    gpuwiz = os.path.join(os.path.dirname(sys.executable), "gpuwiz")
    return {
        "gpuwiz-profile": [gpuwiz, "--profile", profile, "monitor"],
        "gpuwiz-real": [gpuwiz, "monitor"],
        "nvitop": [os.path.join(peers_bin, "nvitop"), "-m", "full", "--interval", "1"],
        "gpustat": [os.path.join(peers_bin, "gpustat"), "-i", "1"],
    }


# --- measuring -------------------------------------------------------------------------------


def tree_cpu(proc: Any) -> float:
    """user+system seconds of a process and its live descendants (and the children they reaped)."""
    import psutil

    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass(frozen=True)
class Pane:
    """One program running alone in its own tmux server (socket in the run's temp folder)."""

    tool: str
    tmux: tuple[str, ...]
    proc: Any  # psutil.Process of the pane's program
    launched: float

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout


def start(tool: str, argv: list[str], size: tuple[int, int], env: dict[str, str], folder: str) -> Pane:
    import psutil

    tmux = ("tmux", "-S", os.path.join(folder, f"tmux-{tool}"), "-f", "/dev/null")
    exports = " ".join(f"{k}={v!r}" for k, v in env.items())
    launched = time.time()
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), f"exec env {exports} {' '.join(argv)}"],
        check=True,
        env=clean_env(),
    )
    out = subprocess.run([*tmux, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True, check=True)
    return Pane(tool, tmux, psutil.Process(int(out.stdout.split()[0])), launched)


def stop(pane: Pane) -> None:
    subprocess.run([*pane.tmux, "kill-server"], capture_output=True)


def first_frame(pane: Pane, marker: str, timeout: float = 30) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if marker in pane.screen():
            return time.time() - pane.launched
        time.sleep(0.01)
    print(f"  {pane.tool}: no '{marker}' on screen:\n{pane.screen()}", file=sys.stderr)
    return None


def measure_size(
    argvs: dict[str, list[str]], size: tuple[int, int], env: dict[str, str], folder: str, args: argparse.Namespace
) -> list[Run]:
    """First frames one program at a time (each alone on the CPUs); then CPU with all of them
    running at once over the same window, so that whatever else the machine does then weighs on
    every program alike (each uses a few % of one core: they hardly disturb one another)."""
    frames = {}
    for tool, argv in argvs.items():
        pane = start(tool, argv, size, env, folder)
        try:
            frames[tool] = first_frame(pane, args.marker)
        finally:
            stop(pane)
    panes = [start(tool, argv, size, env, folder) for tool, argv in argvs.items()]
    try:
        for pane in panes:
            first_frame(pane, args.marker)
        time.sleep(args.warmup)
        before = {p.tool: tree_cpu(p.proc) for p in panes}
        time.sleep(args.seconds)
        used = {p.tool: tree_cpu(p.proc) - before[p.tool] for p in panes}
        alive = {p.tool: p.proc.is_running() and p.proc.status() != "zombie" for p in panes}
    finally:
        for pane in panes:
            stop(pane)
    return [Run(tool, size, frames[tool], used[tool] * 60 / args.seconds if alive[tool] else None) for tool in argvs]


# --- report ----------------------------------------------------------------------------------


def _spread(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def report(runs: list[Run], sizes: list[tuple[int, int]], tools: Sequence[str]) -> list[str]:
    def values(tool: str, size: tuple[int, int], field: str) -> list[float]:
        return [getattr(r, field) for r in runs if r.tool == tool and r.size == size and getattr(r, field) is not None]

    labels = [f"{w}x{h}" for w, h in sizes]
    lines = ["CPU seconds per minute at 1 Hz (median, range over repeats)"]
    lines.append(f"{'':22}" + "".join(f"{label:>24}" for label in labels))
    for tool in tools:
        lines.append(f"{tool:22}" + "".join(f"{_spread(values(tool, s, 'cpu_per_min')):>24}" for s in sizes))
    if "nvitop" in tools:
        for tool in (t for t in tools if t.startswith("gpuwiz")):
            cells = []
            for s in sizes:
                mine, theirs = values(tool, s, "cpu_per_min"), values("nvitop", s, "cpu_per_min")
                cells.append(f"{statistics.median(mine) / statistics.median(theirs):.2f}" if mine and theirs else "—")
            lines.append(f"{tool + '/nvitop':22}" + "".join(f"{c:>24}" for c in cells))
    lines.append("")
    lines.append("first frame with GPU data, s after launch (median, range)")
    for tool in tools:
        lines.append(f"{tool:22}" + "".join(f"{_spread(values(tool, s, 'first_frame_s')):>24}" for s in sizes))
    return lines


def textual_import_s(runs: int = 5) -> float:
    """Wall time from launching `python -c "import textual.app"` until the import is done."""
    code = "import time; import textual.app; print(time.time())"
    times = []
    for _ in range(runs):
        launched = time.time()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env())
        times.append(float(out.stdout) - launched)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--sizes", default="80x24,120x40")
    parser.add_argument("--profile", default="dgx-h100x8")
    parser.add_argument("--processes", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--peers-venv", default=DEFAULT_PEERS_VENV)
    parser.add_argument("--marker", default="H100", help="text that shows a frame with GPU data")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed")
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    tools = [t for t in args.tools.split(",") if t]
    peers_bin = ensure_peers(args.peers_venv)
    peers_python = os.path.join(peers_bin, "python")
    compile_bytecode(peers_python, [site_packages(peers_python)])
    folders = ("tui", "backends", os.path.join("benchmarks", "fake_pynvml"))
    compile_bytecode(sys.executable, [site_packages(sys.executable), *(os.path.join(ROOT, f) for f in folders)])
    sleepers = spawn_sleepers(args.processes)
    runs: list[Run] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the sleepers and tmux servers go too
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = write_settings(args.profile, [p.pid for p in sleepers], folder)
            env = {"PYTHONPATH": SHIM, "GPUWIZ_BENCH_FAKE": settings, "GPUWIZ_BENCH_ROOT": ROOT}
            argvs = {tool: argv for tool, argv in commands(args.profile, peers_bin).items() if tool in tools}
            for n in range(args.repeat):
                for size in sizes:
                    for run in measure_size(argvs, size, env, folder, args):
                        runs.append(run)
                        print(f"  [{n + 1}/{args.repeat}] {run}", file=sys.stderr, flush=True)
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
    print(
        f"{args.profile}: {args.processes} real processes behind its GPU PIDs, {args.seconds:g} s measured "
        f"after {args.warmup:g} s, {args.repeat} repeat(s)"
    )
    print("\n".join(report(runs, sizes, tools)))
    print(f"import textual.app alone: {textual_import_s():.2f} s (the floor of a Textual app's first frame)")


if __name__ == "__main__":
    main()
