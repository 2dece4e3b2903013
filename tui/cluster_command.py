"""`gpuwiz monitor --prometheus URL`: the cluster view's command line (--once, --json, the screen)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_cluster(args: argparse.Namespace, run_app: Callable[[Any], int]) -> int:
    from gpuwiz.backends.prometheus.cluster import read_cluster
    from gpuwiz.backends.prometheus.http_api import check_url

    try:
        url = check_url(args.prometheus)
    except ValueError as exc:
        print(f"gpuwiz: error: --prometheus: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.once or args.json:
        reading = read_cluster(url, time.time())
        if args.json:
            print(json.dumps(cluster_document(reading), indent=2))
        else:
            from rich.console import Console

            from .cluster_view import ClusterOptions, render

            console = Console(highlight=False, soft_wrap=False)
            width = console.width if console.is_terminal else int(os.environ.get("COLUMNS", "") or 0) or 100
            unicode = not args.no_unicode and console.encoding.lower().startswith("utf")
            for line in render(reading, ClusterOptions(width=width, unicode=unicode, live=False)):
                console.print(line, crop=False, overflow="ignore", no_wrap=True)
        return EXIT_FAILED if reading.error else EXIT_OK
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("gpuwiz: the cluster view needs a terminal; without one use --once or --json", file=sys.stderr)
        return EXIT_USAGE
    from .screens.cluster import ClusterConfig

    return run_app(ClusterConfig(url=url, interval=max(args.interval, 1.0), unicode=not args.no_unicode))


def cluster_document(reading) -> dict[str, Any]:
    """`monitor --prometheus URL --json`: format 1; N/A is null, units in key names."""
    return {
        "format": 1,
        "prometheus": reading.url,
        "error": reading.error,
        "nodes": [
            {
                "name": n.name,
                "instances": list(n.instances),
                "down": n.down,
                "nvml_error": n.nvml_error,
                "gpus": [
                    {
                        "index": g.index,
                        "uuid": g.uuid,
                        "name": g.model,
                        "utilization_gpu_percent": g.util,
                        "memory_used_mib": g.fb_used,
                        "memory_total_mib": g.fb_total,
                        "temperature_c": g.temp,
                        "power_draw_w": g.power,
                    }
                    for g in n.gpus
                ],
            }
            for n in reading.nodes
        ],
    }
