"""What the monitor costs: CPU per minute at 1 Hz, time to first frame, one NVML sample per GPU.

    python benchmarks/monitor_cpu.py [--seconds 60] [--profile dgx-h100x8] [--size 160x50] [--tmux]

1. CPU: `gpuwiz monitor` on the profile, headless (Textual's headless driver: everything but the
   terminal writes), for --seconds after a 5 s warm-up; user+system CPU time of the process,
   as % of one core. With --tmux also the real program in a real terminal (tmux), measured
   from outside with psutil — terminal output included.
2. First frame: from the process's start to the first frame with GPU data, against
   `import textual.app` alone in a fresh interpreter (the floor every Textual app pays).
3. One sample: NvmlSampler.sample() over the profile's fake NVML (+ psutil lookups answered by
   the profile), per GPU. Real NVML calls cost more; PCIe throughput is a 20 ms driver window.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, ROOT)
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.app import GpuwizApp
from gpuwiz.screens.monitor import MonitorConfig, MonitorScreen

profile, seconds, width, height, interval = PROFILE, SECONDS, WIDTH, HEIGHT, INTERVAL
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
born = float(os.environ["GPUWIZ_BENCH_LAUNCHED"])  # psutil's create_time counts from a whole-second btime
result = {}
original = MonitorScreen._show
def show(self, lines):
    if "first_frame_s" not in result and self.sample is not None:
        result["first_frame_s"] = time.time() - born
        self.app.set_timer(5, start)
    original(self, lines)
MonitorScreen._show = show
loaded = load_profile(profile, {})
app = GpuwizApp(ProfileHost(loaded, motion=(1, time.monotonic)), loaded.name,
                monitor=MonitorConfig(interval=interval, standalone=True))
def start():
    result["cpu0"], result["t0"] = cpu(), time.monotonic()
    app.set_timer(seconds, stop)
def stop():
    result["cpu_s"] = cpu() - result.pop("cpu0")
    result["wall_s"] = time.monotonic() - result.pop("t0")
    app.exit()
app.run(headless=True, size=(width, height))
print(json.dumps(result))
"""


def headless(profile: str, seconds: float, width: int, height: int, interval: float = 1.0) -> dict:
    code = (
        CHILD.replace("ROOT", repr(ROOT))
        .replace("INTERVAL", repr(interval))
        .replace("PROFILE", repr(profile))
        .replace("SECONDS", repr(seconds))
        .replace("WIDTH", str(width))
        .replace("HEIGHT", str(height))
    )
    env = dict(os.environ, GPUWIZ_BENCH_LAUNCHED=repr(time.time()))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def textual_import_s(runs: int = 5) -> float:
    code = "import time; import textual.app; print(time.time())"
    times = []
    for _ in range(runs):
        launched = time.time()
        times.append(
            float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout) - launched
        )
    return statistics.median(times)


def in_tmux(profile: str, seconds: float, width: int, height: int) -> float | None:
    import psutil

    if not shutil.which("tmux"):
        return None
    gpuwiz = os.path.join(os.path.dirname(sys.executable), "gpuwiz")
    session = f"gpuwiz-bench-{os.getpid()}"
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(width),
            "-y",
            str(height),
            f"{gpuwiz} --profile {profile} monitor",
        ],
        check=True,
    )
    try:
        time.sleep(5)
        pane_pid = int(
            subprocess.run(
                ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        proc = psutil.Process(pane_pid)
        before = sum(proc.cpu_times()[:2])
        time.sleep(seconds)
        return sum(proc.cpu_times()[:2]) - before
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def sample_cost(profile: str, runs: int = 200) -> tuple[float, int]:
    sys.path.insert(0, ROOT)
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.backends.nvml.sampler import NvmlSampler

    host = ProfileHost(load_profile(profile, {}), motion=(1, time.monotonic))
    sampler = NvmlSampler(host.nvml(), process_info=host.process_info)
    sample = sampler.sample()
    start = time.perf_counter()
    for _ in range(runs):
        sampler.sample()
    per_sample = (time.perf_counter() - start) / runs
    return per_sample, len(sample.nvml.gpus)


def frame_cost(profile: str, width: int, height: int, runs: int = 50) -> tuple[float, float]:
    """ms per frame for monitor_view.render and for turning its lines into Strips (LinesView)."""
    sys.path.insert(0, ROOT)
    from rich.console import Console
    from rich.style import Style
    from textual.strip import Strip

    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.backends.nvml.history import History
    from gpuwiz.backends.nvml.sampler import NvmlSampler
    from gpuwiz.monitor_view import ViewOptions, render
    from gpuwiz.widgets.lines_view import _plain_runs

    t = [0.0]
    host = ProfileHost(load_profile(profile, {}), motion=(1, lambda: t[0]))
    sampler = NvmlSampler(host.nvml(), process_info=host.process_info)
    history = History()
    for n in range(120):
        t[0] = float(n)
        history.add(sampler.sample())
    sample = sampler.sample()
    opts = ViewOptions(width=width, height=height - 2)
    start = time.perf_counter()
    for _ in range(runs):
        lines = render(sample, history, opts)
    render_ms = (time.perf_counter() - start) / runs * 1000
    console = Console(width=width, color_system="truecolor", force_terminal=True)
    base = Style(color="white", bgcolor="black")
    start = time.perf_counter()
    for _ in range(runs):
        for line in lines:
            segments = _plain_runs(line, console, base) or list(line.render(console, end=""))
            Strip(segments).crop_extend(0, width, base)
    return render_ms, (time.perf_counter() - start) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--profile", default="dgx-h100x8")
    parser.add_argument("--size", default="160x50")
    parser.add_argument("--tmux", action="store_true")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    result = headless(args.profile, args.seconds, width, height)
    share = 100 * result["cpu_s"] / result["wall_s"]
    print(f"profile {args.profile}, {width}x{height}, 1 s interval, {result['wall_s']:.0f} s measured")
    print(f"headless CPU: {result['cpu_s'] * 60 / result['wall_s']:.2f} s per minute = {share:.2f} % of one core")
    idle = headless(args.profile, args.seconds, width, height, interval=3600)
    floor = 100 * idle["cpu_s"] / idle["wall_s"]
    print(f"  the same screen standing still (one frame, then idle Textual): {floor:.2f} %")
    render_ms, strips_ms = frame_cost(args.profile, width, height)
    print(
        f"  per frame: building the lines {render_ms:.2f} ms, lines to Strips {strips_ms:.2f} ms; "
        "the rest of the frame is Textual's compositor"
    )
    floor = textual_import_s()
    print(
        f"first frame: {result['first_frame_s']:.3f} s after process start "
        f"(import textual.app alone: {floor:.3f} s; difference {result['first_frame_s'] - floor:.3f} s)"
    )
    per_sample, gpus = sample_cost(args.profile)
    print(
        f"one sample: {per_sample * 1000:.2f} ms for {gpus} GPUs = {per_sample * 1000 / max(1, gpus):.3f} ms per GPU "
        "(fake NVML + profile psutil)"
    )
    if args.tmux:
        used = in_tmux(args.profile, args.seconds, width, height)
        if used is not None:
            print(
                f"in tmux (real terminal output): {used * 60 / args.seconds:.2f} s per minute = "
                f"{100 * used / args.seconds:.2f} % of one core"
            )


if __name__ == "__main__":
    main()
