"""Stress RealHost.run (sh) from several threads while other threads hold locks (logging).

On Python >= 3.12 sh's fork in a multi-threaded process warns about deadlocks; this script is
the evidence that none occurs in practice: run it with a duration in seconds and it prints how
many commands ran and any that failed. Usage: python benchmarks/sh_threads_stress.py 40
"""

import logging
import sys
import threading
import time
import warnings

warnings.simplefilter("ignore")
from gpuwiz.backends.machine.host import RealHost

logging.basicConfig(filename="/dev/null", level=logging.DEBUG)
h = RealHost()
stop = time.time() + float(sys.argv[1])
count = [0]


def spam():
    log = logging.getLogger("x")
    while time.time() < stop:
        log.debug("x" * 100)


def runner():
    while time.time() < stop:
        r = h.run(["true"], timeout=20)
        if r.returncode != 0:
            print("rc", r.returncode, r.stderr[:200], flush=True)
        count[0] += 1


ts = [threading.Thread(target=spam) for _ in range(2)] + [threading.Thread(target=runner) for _ in range(6)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("runs", count[0])
