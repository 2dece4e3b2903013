"""Wall time of the commands people type most, median of N runs (default 10).

    python benchmarks/startup.py [N]

Targets (issue #2, this 2-core machine): `gpuwiz --help` under 0.3 s, `gpuwiz doctor` under 1 s.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["--help"],
    ["doctor"],
    ["doctor", "--json"],
    ["doctor", "--profile", "dgx-h100x8"],
    ["doctor", "--profile", "homelab-ready"],
    ["plan", "--format", "sh"],
]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    exe = shutil.which("gpuwiz") or sys.exit("gpuwiz is not on PATH (activate the venv)")
    print(f"{'command':40} {'median s':>9} {'min s':>7}  ({runs} runs)")
    for args in COMMANDS:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        print(f"{'gpuwiz ' + ' '.join(args):40} {statistics.median(times):9.3f} {min(times):7.3f}")


if __name__ == "__main__":
    main()
