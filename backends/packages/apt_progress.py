"""How far an `apt-get install` has come, read from its ordinary output.

apt says up front how many packages it will touch ("3 upgraded, 42 newly installed, 0 to remove
and 5 not upgraded."), then prints "Get:N …" per download, "Unpacking pkg …" and "Setting up pkg …"
per package. Downloads are the first half of the work, unpacking and setting up the second;
`ubuntu-drivers install` and `apt-get` print the same lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUMMARY = re.compile(r"^(\d+) upgraded, (\d+) newly installed, (\d+) to remove")
GET = re.compile(r"^Get:(\d+) ")
DOWNLOADS = re.compile(r"^Need to get ")


@dataclass
class AptProgress:
    packages: int = 0  # to install or upgrade (from the summary line)
    fetched: int = 0
    unpacked: int = 0
    set_up: int = 0

    def feed(self, line: str) -> None:
        m = SUMMARY.match(line)
        if m:
            self.packages = int(m.group(1)) + int(m.group(2))
            return
        m = GET.match(line)
        if m:
            self.fetched = max(self.fetched, int(m.group(1)))
        elif line.startswith("Unpacking "):
            self.unpacked += 1
        elif line.startswith("Setting up "):
            self.set_up += 1

    @property
    def fraction(self) -> float | None:
        """0..1 once apt has said how many packages; None before (or for other commands)."""
        if not self.packages:
            return None
        total = 3 * self.packages
        return min(1.0, (min(self.fetched, self.packages) + self.unpacked + self.set_up) / total)

    @property
    def label(self) -> str:
        if not self.packages:
            return ""
        if self.set_up:
            return f"setting up {self.set_up}/{self.packages} packages"
        if self.unpacked:
            return f"unpacking {self.unpacked}/{self.packages} packages"
        return f"downloading {min(self.fetched, self.packages)}/{self.packages} packages"
