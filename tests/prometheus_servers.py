"""Real processes for the Prometheus tests: `gpuwiz exporter`s on profiles and a Debian prometheus."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

GPUWIZ = [sys.executable, "-m", "gpuwiz"]
HAVE_PROMETHEUS = shutil.which("prometheus") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Exporter:
    def __init__(self, profile: str):
        self.profile = profile
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*GPUWIZ, "exporter", "--profile", profile, "--listen", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return err


@contextmanager
def exporters(*profiles: str) -> Iterator[dict[str, Exporter]]:
    started = {name: Exporter(name) for name in profiles}
    try:
        for e in started.values():
            wait_for(e.url)
        yield started
    finally:
        for e in started.values():
            e.stop()


@contextmanager
def prometheus(targets: list[str], data: Path) -> Iterator[str]:
    """A real Prometheus scraping `targets` every second on loopback; yields its URL."""
    port = free_port()
    config = data / "prometheus.yml"
    listed = ", ".join(f"'{t}'" for t in targets)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: gpuwiz\n    static_configs:\n      - targets: [{listed}]\n"
    )
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def query(url: str, promql: str) -> list[dict]:
    return json.loads(wait_for(f"{url}/api/v1/query?query={urllib.parse.quote(promql)}"))["data"]["result"]


def wait_for_series(url: str, promql: str, count: int, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        result = query(url, promql)
        if len(result) >= count or time.monotonic() > deadline:
            return result
        time.sleep(0.5)
