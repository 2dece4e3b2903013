"""What `sh` (the product card's way to run commands) costs against subprocess: import and per command.

Run: .venv/bin/python benchmarks/sh_cost.py [RUNS]
"""

from __future__ import annotations

import subprocess
import sys
import time


def per_run(fn, runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    start = time.perf_counter()
    import sh

    imported = (time.perf_counter() - start) * 1000
    via_sh = per_run(lambda: sh.true(), runs)
    via_subprocess = per_run(lambda: subprocess.run(["true"], check=True), runs)
    print(f"sh {sh.__version__}: import {imported:.0f} ms")
    print(f"per command ({runs} runs of `true`): sh {via_sh:.2f} ms, subprocess.run {via_subprocess:.2f} ms")
    print(f"a doctor run of ~40 commands: {40 * (via_sh - via_subprocess):.0f} ms more through sh")


if __name__ == "__main__":
    main()
