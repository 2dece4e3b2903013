"""`gpuwiz exporter`: the Prometheus endpoint's command line (the serving is backends/exporter)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any, Callable

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    exporter = command(sub, "exporter", help="serve /metrics for Prometheus (dcgm-exporter's metric names) from NVML")
    exporter.add_argument(
        "--listen",
        default="127.0.0.1:9835",
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:9835, loopback only; 0.0.0.0:9835 for every interface)",
    )


def cmd_exporter(args: argparse.Namespace, env: dict[str, str], host_for: Callable[..., tuple[Any, str | None]]) -> int:
    from gpuwiz.backends.exporter.http_server import parse_listen, registry_for, serve
    from gpuwiz.backends.nvml.sampler import NvmlSampler

    try:
        listen = parse_listen(args.listen)
    except ValueError as exc:
        print(f"gpuwiz: error: --listen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="gpuwiz exporter: %(message)s", stream=sys.stderr)
    host, profile = host_for(args, env, live=True)
    hostname = (host.read_text("/proc/sys/kernel/hostname") or "").strip() or (profile or "")
    sampler = NvmlSampler(host.nvml(), process_info=host.process_info, hostname=hostname)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        print(f"gpuwiz exporter: serving http://{args.listen}/metrics", file=sys.stderr, flush=True)
        serve(listen, registry_for(sampler.sample), stop)
    except OSError as exc:
        print(f"gpuwiz: error: --listen {args.listen}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    finally:
        sampler.close()
    return EXIT_OK
