"""How far an `apt-get install` has come, from the status lines apt writes for front-ends.

The apt steps run apt-get with `-o APT::Status-Fd=1` (apt.STATUS_FD), so among apt's and dpkg's
ordinary output on stdout come lines made to be read by programs (apt's doc/progress-reporting.md
and apt-pkg/install-progress.cc; real ones in tests/data/apt/apt-get-install.status-fd*.txt):

    dlstatus:2:33.1559:Retrieving file 2 of 3
    pmstatus:gpuwiz-demo-base:7.6923:Unpacking gpuwiz-demo-base (amd64)
    pmerror:/var/cache/apt/archives/x_1.0_all.deb:20.0000:trying to overwrite '/usr/…', which is …
    pmconffile:/etc/x.conf:40.0000:'/etc/x.conf' '/etc/x.conf.dpkg-new' 1 1

The percentages are apt's own: of the downloads (dlstatus) and of dpkg's steps (pmstatus).
`ubuntu-drivers install` runs apt-get itself without the option; for it (and only while no status
line came) the ordinary lines still tell: the summary, "Get:N", "Unpacking", "Setting up".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the subject may hold a colon (a .deb's path), the percentage never does
STATUS = re.compile(
    r"^(?P<kind>dlstatus|pmstatus|pmerror|pmconffile):(?P<subject>.*?):(?P<percent>\d+(?:\.\d+)?):(?P<text>.*)$"
)
DOWNLOAD_SHARE = 1 / 3  # downloads are the first third of the bar, dpkg's steps the rest

SUMMARY = re.compile(r"^(\d+) upgraded, (\d+) newly installed, (\d+) to remove")
GET = re.compile(r"^Get:(\d+) ")


@dataclass(frozen=True)
class StatusLine:
    kind: str  # dlstatus, pmstatus, pmerror or pmconffile
    subject: str  # files done (dlstatus), a package (pmstatus), a .deb or package (pmerror), a conffile
    percent: float  # 0..100 of the downloads (dlstatus) or of dpkg's work (the others)
    text: str  # apt's words: "Unpacking nvidia-driver (amd64)", an error, the conffile pair


def parse_status_line(line: str) -> StatusLine | None:
    """One APT::Status-Fd line, or None for any other line."""
    m = STATUS.match(line.rstrip("\r\n"))
    if m is None:
        return None
    return StatusLine(m["kind"], m["subject"], float(m["percent"]), m["text"])


def status_note(status: StatusLine) -> str | None:
    """What a person should see of a status line: dpkg's errors and conffile questions; None for progress."""
    if status.kind == "pmerror":
        return f"dpkg failed on {status.subject}: {status.text}"
    if status.kind == "pmconffile":
        return f"dpkg asks what to do about the changed configuration file {status.subject}"
    return None


@dataclass
class AptProgress:
    """Fed every output line of one step; `fraction` and `label` say how far apt is."""

    download: float | None = None  # percent, from dlstatus
    install: float | None = None  # percent, from pmstatus
    action: str = ""  # apt's words for the latest status
    # without status lines (ubuntu-drivers): counted from apt's and dpkg's ordinary output
    packages: int = 0  # to install or upgrade (from the summary line)
    fetched: int = 0
    unpacked: int = 0
    set_up: int = 0

    def feed(self, line: str) -> str | None:
        """Take one line; return what to show of it (the line, a note for pmerror/pmconffile, or None)."""
        status = parse_status_line(line)
        if status is None:
            if self.download is None and self.install is None:
                self._count(line)
            return line
        if status.kind == "dlstatus":
            self.download = status.percent
        else:
            self.install = status.percent
        if status.kind != "pmerror":
            self.action = status.text
        return status_note(status)

    def _count(self, line: str) -> None:
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
        """0..1 once apt has said how far it is; None before (or for other commands)."""
        if self.install is not None:
            return min(1.0, DOWNLOAD_SHARE + (1 - DOWNLOAD_SHARE) * self.install / 100)
        if self.download is not None:
            return min(1.0, DOWNLOAD_SHARE * self.download / 100)
        if not self.packages:
            return None
        total = 3 * self.packages
        return min(1.0, (min(self.fetched, self.packages) + self.unpacked + self.set_up) / total)

    @property
    def label(self) -> str:
        if self.download is not None or self.install is not None:
            return self.action
        if not self.packages:
            return ""
        if self.set_up:
            return f"setting up {self.set_up}/{self.packages} packages"
        if self.unpacked:
            return f"unpacking {self.unpacked}/{self.packages} packages"
        return f"downloading {min(self.fetched, self.packages)}/{self.packages} packages"
