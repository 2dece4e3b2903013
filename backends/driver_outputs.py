"""Pure parsers of the driver layer's evidence: ubuntu-drivers, nvidia-detect, dkms, kernel log, Secure Boot.

Text (or bytes) in, frozen data out. None of them raises on odd input: each returns what it could read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------- ubuntu-drivers


@dataclass(frozen=True)
class DriverPackage:
    """One `driver   : nvidia-driver-535 - distro non-free recommended` line."""

    package: str
    from_distro: bool | None  # "distro" (Ubuntu archive) vs "third-party" (e.g. a PPA); None when neither is said
    free: bool | None
    builtin: bool = False
    recommended: bool = False

    @property
    def is_open(self) -> bool:
        return self.package.endswith("-open")

    @property
    def is_server(self) -> bool:
        return "-server" in self.package


@dataclass(frozen=True)
class UbuntuDriversDevice:
    sysfs_path: str  # "/sys/devices/pci0000:00/0000:00:03.1/0000:09:00.0"; "" when the header line was not captured
    modalias: str = ""
    vendor: str = ""
    model: str = ""  # absent when pci.ids does not know the card yet (new GPUs)
    drivers: tuple[DriverPackage, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # other "key : value" lines, e.g. manual_install

    @property
    def pci_address(self) -> str | None:
        m = re.search(r"([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])$", self.sysfs_path)
        return m.group(1).lower() if m else None

    @property
    def pci_id(self) -> str | None:
        """ "10de:2504" from `pci:v000010DEd00002504sv...`."""
        m = re.match(r"pci:v0000([0-9A-Fa-f]{4})d0000([0-9A-Fa-f]{4})", self.modalias)
        return f"{m.group(1)}:{m.group(2)}".lower() if m else None

    @property
    def recommended(self) -> DriverPackage | None:
        return next((d for d in self.drivers if d.recommended), None)


_UD_HEADER = re.compile(r"^==\s*(.*?)\s*==$")
_UD_FIELD = re.compile(r"^([a-z_]+)\s*:\s(.*)$")
_UD_DRIVER = re.compile(r"^(\S+)\s+-\s*(.*)$")


def _driver_package(value: str) -> DriverPackage | None:
    m = _UD_DRIVER.match(value.strip())
    if not m:
        return None
    tags = m.group(2).split()
    from_distro = True if "distro" in tags else False if "third-party" in tags else None
    free = False if "non-free" in tags else True if "free" in tags else None
    return DriverPackage(m.group(1), from_distro, free, "builtin" in tags, "recommended" in tags)


def parse_ubuntu_drivers_devices(text: str) -> tuple[UbuntuDriversDevice, ...]:
    """`ubuntu-drivers devices`; tolerates 24.04's "udevadm hwdb is deprecated" and "ERROR:root:..." noise."""
    devices: list[UbuntuDriversDevice] = []
    path: str | None = None
    fields: dict[str, str] = {}
    drivers: list[DriverPackage] = []
    extra: list[tuple[str, str]] = []

    def flush() -> None:
        if path is not None or fields or drivers:
            devices.append(
                UbuntuDriversDevice(
                    sysfs_path=path or "",
                    modalias=fields.get("modalias", ""),
                    vendor=fields.get("vendor", ""),
                    model=fields.get("model", ""),
                    drivers=tuple(drivers),
                    extra=tuple(extra),
                )
            )

    for raw in text.splitlines():
        line = raw.strip()
        header = _UD_HEADER.match(line)
        if header:
            flush()
            path, fields, drivers, extra = header.group(1), {}, [], []
            continue
        m = _UD_FIELD.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "driver":
            pkg = _driver_package(value)
            if pkg:
                drivers.append(pkg)
        elif key in ("modalias", "vendor", "model"):
            # Captures quoted without the "== path ==" line: a second modalias starts the next device.
            if key == "modalias" and "modalias" in fields:
                flush()
                path, fields, drivers, extra = None, {}, [], []
            fields[key] = value
        else:
            extra.append((key, value))
    flush()
    return tuple(devices)


@dataclass(frozen=True)
class UbuntuDriversPackage:
    """One line of `ubuntu-drivers list [--gpgpu|--recommended]`."""

    package: str
    kernel_modules: str | None  # linux-modules-nvidia-535-generic-hwe-22.04 (precompiled, signed) or nvidia-dkms-545

    @property
    def modules_are_dkms(self) -> bool:
        return bool(self.kernel_modules) and "dkms" in (self.kernel_modules or "")


_PKG_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")
_UD_LIST = re.compile(r"^(\S+),\s*\(kernel modules provided by\s*([^)]*)\)$")


def parse_ubuntu_drivers_list(text: str) -> tuple[UbuntuDriversPackage, ...]:
    out: list[UbuntuDriversPackage] = []
    for raw in text.splitlines():
        line = raw.strip()
        m = _UD_LIST.match(line)
        if m:
            if _PKG_NAME.match(m.group(1)):
                out.append(UbuntuDriversPackage(m.group(1), m.group(2).strip() or None))
            continue
        words = line.split()
        # `--recommended` prints "package modules-package"; anything longer is prose (warnings, errors).
        if 1 <= len(words) <= 2 and all(_PKG_NAME.match(w) for w in words):
            out.append(UbuntuDriversPackage(words[0], words[1] if len(words) == 2 else None))
    return tuple(out)


# ----------------------------------------------------------------------------------------------- nvidia-detect


@dataclass(frozen=True)
class NvidiaDetectCard:
    name: str  # "NVIDIA Corporation GP104 [GeForce GTX 1080] (rev a1)"; "" in old outputs without "Checking card:"
    package: str | None  # the recommended package, e.g. nvidia-driver, nvidia-legacy-390xx-driver
    legacy: bool  # only a legacy or Tesla branch drives it
    supported: bool | None  # False: no driver in any current Debian suite; None: nvidia-detect could not tell
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class NvidiaDetectResult:
    gpus: tuple[str, ...]  # the lspci -nn lines under "Detected NVIDIA GPUs:"
    cards: tuple[NvidiaDetectCard, ...]
    no_gpu: bool = False

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.package for c in self.cards if c.package))

    @property
    def legacy(self) -> bool:
        return any(c.legacy for c in self.cards)


_ND_START = re.compile(r"^(?:Checking card:\s*(.*)|Checking driver support for PCI ID \[(.*)\])$")
_ND_SENTENCE = re.compile(r"^(?:Your card |Uh oh\. |Oops\. |It is recommended to install the|package\.$)")
_ND_SERIES = re.compile(r"only supported (?:by|up to) the (.+?) drivers? series")


def _nvidia_detect_card(name: str, lines: list[str]) -> NvidiaDetectCard:
    package = None
    messages: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("It is recommended to install the"):
            package = next((nxt.split()[0] for nxt in lines[i + 1 :] if nxt and nxt != "package."), None)
        elif line and line != "package." and line != package:
            messages.append(line)
    said = " ".join(messages)
    legacy = bool(_ND_SERIES.search(said)) or bool(package and package.split(":")[0] != "nvidia-driver")
    if package:
        supported: bool | None = True
    elif "not supported by any driver" in said or "not in any current Debian suite" in said:
        supported = False
    else:
        supported = None  # e.g. "Uh oh. Failed to identify your Debian suite." (Kali, Ubuntu)
    return NvidiaDetectCard(name, package, legacy, supported, tuple(messages))


def parse_nvidia_detect(text: str) -> NvidiaDetectResult:
    """Debian's `nvidia-detect` (all releases since jessie, one "Checking card:" block per GPU since stretch)."""
    lines = [line.strip() for line in text.splitlines()]
    gpus: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    in_list = expect_package = False
    for line in lines:
        start = _ND_START.match(line)
        if line == "Detected NVIDIA GPUs:":
            in_list = True
        elif start:
            in_list = False
            blocks.append(((start.group(1) or start.group(2) or "").strip(), []))
        elif in_list and re.match(r"^[0-9a-fA-F:.]+ .*\[10de:[0-9a-fA-F]{4}\]", line):
            gpus.append(line)
        elif _ND_SENTENCE.match(line) or (expect_package and line):
            in_list = False
            if not blocks:
                blocks.append(("", []))  # jessie-era output: the verdict follows the lspci line directly
            blocks[-1][1].append(line)
        if line:
            expect_package = line.startswith("It is recommended to install the")
    cards = tuple(_nvidia_detect_card(name, body) for name, body in blocks)
    return NvidiaDetectResult(tuple(gpus), cards, no_gpu="No NVIDIA GPU detected." in lines)


# ------------------------------------------------------------------------------------------------ dkms status


@dataclass(frozen=True)
class DkmsModule:
    module: str
    version: str
    kernel: str | None  # None when the module is only "added" (source registered, never built)
    arch: str | None
    state: str  # added, built, installed, installed-weak, broken
    notes: tuple[str, ...] = ()  # "WARNING! Diff between built and installed module!", "Original modules exist"

    @property
    def installed(self) -> bool:
        return self.state.startswith("installed")


# dkms >= 3: "nvidia/535.154.05, 6.5.0-14-generic, x86_64: installed"; dkms 2: "nvidia, 535.154.05, ...".
_DKMS = re.compile(
    r"^(?P<mod>[^\s,/]+)(?:/|, )(?P<ver>[^\s,:]+)"
    r"(?:, (?P<kernel>[^\s,]+), (?P<arch>[^\s:]+))?: (?P<state>[a-z][a-z-]*)(?P<rest>.*)$"
)


def parse_dkms_status(text: str) -> tuple[DkmsModule, ...]:
    out: list[DkmsModule] = []
    for raw in text.splitlines():
        m = _DKMS.match(raw.strip())
        if not m:
            continue  # "Error! Could not locate dkms.conf file." and similar
        rest = m.group("rest")
        notes = [n.strip() for n in re.findall(r"\(([^)]*)\)", rest)]
        if rest.strip().startswith("from "):
            notes.insert(0, rest.strip())  # installed-weak from <kernel>
        out.append(
            DkmsModule(
                m.group("mod"), m.group("ver"), m.group("kernel"), m.group("arch"), m.group("state"), tuple(notes)
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class DkmsMakeLog:
    """What a DKMS make.log says about one build: which module, for which kernel, and its first error."""

    path: str
    module: str | None  # "nvidia", "nvidia-current" (Debian)
    version: str | None
    kernel: str | None
    error: str | None  # the compiler's first "error:" line, else make's first "*** … Error N" line
    failed: bool  # the log records a failed build (an error line); False: no error was logged


# dkms 2/3: "DKMS make.log for nvidia-530.30.02 for kernel 6.5.0-41-generic (x86_64)";
# dkms 3.1+: "DKMS (dkms-3.2.1) make.log for nvidia/580.65.06 for kernel 6.15.9_1 (x86_64)".
_MAKE_LOG_HEADER = re.compile(r"make\.log for (\S+?)[-/](\d[\w.~+:-]*) for kernel (\S+)")
_GCC_ERROR = re.compile(r"\berror: ")
_MAKE_ERROR = re.compile(r"^make(?:\[\d+\])?: \*\*\* .*Error \d+")


def parse_dkms_make_log(text: str, path: str = "") -> DkmsMakeLog:
    module = version = kernel = error = make_error = None
    for raw in text.splitlines():
        line = raw.strip()
        header = _MAKE_LOG_HEADER.search(line) if module is None else None
        if header:
            module, version, kernel = header.groups()
        elif error is None and _GCC_ERROR.search(line):
            error = line
        elif make_error is None and _MAKE_ERROR.match(line):
            make_error = line
    first = error or make_error
    return DkmsMakeLog(path, module, version, kernel, first, first is not None)


@dataclass(frozen=True)
class DkmsBuildFailure:
    """A failed DKMS build as apt's terminal log records it (/var/log/apt/term.log)."""

    kernel: str
    log: str | None  # "Consult /var/lib/dkms/nvidia/580.119.02/build/make.log for more information."
    packages: tuple[str, ...]  # the packages dpkg left unconfigured because of it
    lines: tuple[str, ...]  # the error lines, verbatim


_BAD_RETURN = re.compile(r"Error! Bad return status for module build on kernel: (\S+)")
_CONSULT = re.compile(r"Consult (\S+make\.log) for more information")
_DPKG_ERROR = re.compile(r"dpkg: error processing package (\S+?)(?::\w+)? \(--configure\)")


def parse_apt_term_log(text: str) -> tuple[DkmsBuildFailure, ...]:
    """The DKMS build failures of apt's last run in term.log (each run starts with "Log started:")."""
    last = text.rsplit("Log started:", 1)[-1]
    failures: list[DkmsBuildFailure] = []
    kernel = log = None
    lines: list[str] = []
    packages: list[str] = []

    def flush() -> None:
        if kernel:
            failures.append(DkmsBuildFailure(kernel, log, tuple(dict.fromkeys(packages)), tuple(lines)))

    for raw in last.splitlines():
        line = raw.rstrip()
        bad = _BAD_RETURN.search(line)
        if bad:
            flush()
            kernel, log, lines, packages = bad.group(1), None, [line.strip()], []
            continue
        if kernel is None:
            continue
        consult = _CONSULT.search(line)
        dpkg = _DPKG_ERROR.search(line)
        if consult:
            log = consult.group(1)
            lines.append(line.strip())
        elif dpkg:
            packages.append(dpkg.group(1))
            lines.append(line.strip())
        elif "post-installation script subprocess returned error exit status" in line:
            lines.append(line.strip())
    flush()
    return tuple(failures)


# ------------------------------------------------------------------------------------------------- kernel log

BAR_INVALID = "bar-invalid"
RM_INIT_ADAPTER = "rm-init-adapter"
API_MISMATCH = "api-mismatch"
PROBE_NOT_CALLED = "probe-not-called"
PROBE_FAILED = "probe-failed"  # "The NVIDIA probe routine failed for N device(s)"
PROBE_ERROR = "probe-error"  # one device: "probe of 0000:14:00.0 failed with error -1" (any driver)
NONE_INITIALIZED = "none-initialized"
NO_DEVICES = "no-devices-probed"
ALREADY_BOUND = "already-bound"
UNSUPPORTED_GPU = "unsupported-gpu"
KEY_REJECTED = "key-rejected"
UNSIGNED_MODULE = "unsigned-module"
NOUVEAU_BOUND = "nouveau-bound"
NOVA_CORE_BOUND = "nova-core-bound"
FALLEN_OFF_BUS = "fallen-off-bus"
XID = "xid"
REQUIRES_OPEN = "requires-open-modules"  # a Blackwell GPU under the proprietary kernel module
# "RmInitAdapter: Cannot initialize GSP firmware RM" precedes the RmInitAdapter fault it explains: not a fault of
# its own (one failed init is one fault); checks look for it among the raw lines.
GSP_INIT_LINE = re.compile(r"RmInitAdapter: Cannot initialize GSP firmware RM")
GSP_WPR2 = "gsp-wpr2"  # "_kgspBootGspRm: unexpected WPR2 already up": the GPU needs a reset
FIRMWARE_LOAD = "firmware-load"  # the kernel could not load a file the module asked for (gsp*.bin)


@dataclass(frozen=True)
class KernelFault:
    kind: str
    line: str  # the raw line the message starts on
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def details(self) -> dict[str, str]:
        return dict(self.fields)

    def get(self, key: str) -> str | None:
        return self.details.get(key)


# Whatever precedes the message: syslog/journal header, "kernel:", dmesg or `dmesg -T` stamps, Talos' "kern: warning:".
_PREFIX = re.compile(
    r"^(?:\S+ +\d+ \d\d:\d\d:\d\d \S+ [^\s:]+: |\d{4}-\d\d-\d\dT\S+ \S+ [^\s:]+: )?"
    r"(?:kernel: ?)?"
    r"(?:kern: +\w+: )?"
    r"(?:\[[^\]]*\]:? ?)?"
)
_PCI = r"(?:PCI:)?([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(?:\.[0-7])?)"
_WINDOW = 6  # wrapped NVRM messages span at most five lines

# (kind, regex, field names in group order)
_SINGLE: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    (RM_INIT_ADAPTER, re.compile(r"(?:GPU " + _PCI + r": )?RmInitAdapter failed! \(([^)]*)\)"), ("pci", "code")),
    (PROBE_NOT_CALLED, re.compile(r"probe routine was not called for (\d+) device"), ("count",)),
    (PROBE_FAILED, re.compile(r"NVIDIA probe routine failed for (\d+) device"), ("count",)),
    (PROBE_ERROR, re.compile(r"^(\S+): probe of " + _PCI + r" failed with error (-?\d+)"), ("driver", "pci", "error")),
    (
        PROBE_ERROR,
        re.compile(r"^\S+ " + _PCI + r": probe with driver (\S+) failed with error (-?\d+)"),
        ("pci", "driver", "error"),
    ),
    (NONE_INITIALIZED, re.compile(r"None of the NVIDIA devices were initialized"), ()),
    (NO_DEVICES, re.compile(r"No NVIDIA (?:devices|graphics adapter) (?:probed|found)"), ()),
    (ALREADY_BOUND, re.compile(r"GPU " + _PCI + r" is already bound to (\S+?)\.?$"), ("pci", "driver")),
    (GSP_WPR2, re.compile(r"(?:(GPU\d+) )?_kgspBootGspRm: unexpected WPR2 already up"), ("gpu",)),
    (
        FIRMWARE_LOAD,
        re.compile(r"^(?:\S+ " + _PCI + r": )?Direct firmware load for (\S+) failed with error (-?\d+)"),
        ("pci", "file", "error"),
    ),
    (FIRMWARE_LOAD, re.compile(r"loading (/\S+\.bin) failed with error (-?\d+)"), ("file", "error")),
    (
        KEY_REJECTED,
        re.compile(
            r"(?:could not insert|Failed to insert module) '([^']+)': (Key was rejected by service|Required key not available)"
        ),
        ("module", "error"),
    ),
    (KEY_REJECTED, re.compile(r"Loading of (?:module with unavailable key|unsigned module) is rejected"), ()),
    (KEY_REJECTED, re.compile(r"Lockdown: ([^:]+): unsigned module loading is restricted"), ("process",)),
    (KEY_REJECTED, re.compile(r"load (\S+) failed: key was rejected by service", re.I), ("module",)),
    (
        UNSIGNED_MODULE,
        re.compile(r"^(\S+): module verification failed: signature and/or required key missing"),
        ("module",),
    ),
    (
        NOUVEAU_BOUND,
        re.compile(r"^nouveau " + _PCI + r": NVIDIA (\S+) \(([0-9a-fA-F]+)\)"),
        ("pci", "chipset", "boot0"),
    ),
    (NOUVEAU_BOUND, re.compile(r"^nouveau +\[ *DEVICE\]\[" + _PCI + r"\] Chipset: (\S+)"), ("pci", "chipset")),
    (NOUVEAU_BOUND, re.compile(r"Initialized nouveau \S+ \S+ for " + _PCI + r" on minor (\d+)"), ("pci", "minor")),
    (
        NOVA_CORE_BOUND,
        re.compile(r"^NovaCore " + _PCI + r": NVIDIA \(Chipset: (\w+), Architecture: (\w+)"),
        ("pci", "chipset", "architecture"),
    ),
    (FALLEN_OFF_BUS, re.compile(r"GPU (?:at )?" + _PCI + r":? (?:GPU )?has fallen off the bus"), ("pci",)),
)
# (kind, anchor on the message's first line, regex on the joined message, field names in group order)
_MULTI: tuple[tuple[str, re.Pattern[str], re.Pattern[str], tuple[str, ...]], ...] = (
    (
        BAR_INVALID,
        re.compile(r"PCI I/O region assigned to your NVIDIA device is invalid|^(?:NVRM: )?BAR\d+ is \S+ @ 0x"),
        re.compile(r"(BAR\d+) is (\S+) @ (0x[0-9a-fA-F]+) \(" + _PCI + r"\)"),
        ("bar", "size", "address", "pci"),
    ),
    (
        API_MISMATCH,
        re.compile(r"API mismatch:"),
        re.compile(
            r"API mismatch: the client(?: '([^']*)' \(pid (\d+)\))? has the version (\d+(?:\.\d+)+), "
            r"but this kernel module has the version (\d+(?:\.\d+)+)"
        ),
        ("client", "pid", "client_version", "kernel_version"),
    ),
    (
        FALLEN_OFF_BUS,
        re.compile(r"The NVIDIA GPU " + _PCI + r"(?: \(PCI ID: [0-9a-fA-F:]+\))?\s*$"),
        re.compile(
            r"The NVIDIA GPU " + _PCI + r" \(PCI ID: ([0-9a-fA-F:]+)\) installed in this system has fallen off the bus"
        ),
        ("pci", "pci_id"),
    ),
    (
        REQUIRES_OPEN,
        re.compile(r"The NVIDIA GPU " + _PCI + r"(?: \(PCI ID: [0-9a-fA-F:]+\))?\s*$"),
        re.compile(
            r"The NVIDIA GPU " + _PCI + r" \(PCI ID: ([0-9a-fA-F:]+)\) installed in this system requires use of the "
            r"NVIDIA open kernel modules"
        ),
        ("pci", "pci_id"),
    ),
    (
        UNSUPPORTED_GPU,
        re.compile(r"The NVIDIA GPU " + _PCI + r"(?: \(PCI ID: [0-9a-fA-F:]+\))?\s*$"),
        re.compile(
            r"The NVIDIA GPU "
            + _PCI
            + r" \(PCI ID: ([0-9a-fA-F:]+)\) installed in this system is not supported by the "
            r"NVIDIA (\S+) driver release"
        ),
        ("pci", "pci_id", "driver_version"),
    ),
    (
        UNSUPPORTED_GPU,
        re.compile(r"The NVIDIA .+ GPU installed in this system is\b"),
        re.compile(
            r"The NVIDIA (.+?) GPU installed in this system is supported through the NVIDIA (\d+)\.xx Legacy "
            r"drivers\..*?The (\d+\.\d+(?:\.\d+)?) NVIDIA driver will ignore this GPU"
        ),
        ("gpu_name", "legacy_branch", "driver_version"),
    ),
)
_XID = re.compile(r"NVRM: Xid \(" + _PCI + r"\):? (\d+),\s*(.*)$")


def _lines(log: str | Iterable[str]) -> list[str]:
    chunks = [log] if isinstance(log, str) else list(log)
    out: list[str] = []
    for chunk in chunks:
        # rsyslog writes embedded newlines as "#012", Talos as a literal "\x0a".
        out.extend(chunk.replace("#012", "\n").replace("\\x0a", "\n").splitlines())
    return out


def _body(raw: str) -> str:
    return _PREFIX.sub("", raw.strip(), count=1).strip()


def _clean(body: str) -> str:
    return re.sub(r"^NVRM:\s*", "", body)


def _fields(names: tuple[str, ...], m: re.Match[str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, value.lower() if name == "pci" else value)
        for name, value in zip(names, m.groups(), strict=True)
        if value
    )


def _xid(raw: str, m: re.Match[str]) -> KernelFault:
    pci, code, rest = m.group(1).lower(), m.group(2), m.group(3)
    fields = [("pci", pci), ("xid", code)]
    pid = re.search(r"pid=('?<?[^,]*?>?'?)(?:,|$)", rest)
    name = re.search(r"name=([^,]*)", rest)
    if pid:
        fields.append(("pid", pid.group(1).strip("'")))
    if name:
        fields.append(("name", name.group(1).strip()))
    if rest.strip():
        fields.append(("message", rest.strip()))
    return KernelFault(FALLEN_OFF_BUS if code == "79" else XID, raw, tuple(fields))


def classify_kernel_log(lines: str | Iterable[str]) -> tuple[KernelFault, ...]:
    """Driver-layer faults in dmesg / `journalctl -k` / syslog text, in the order they appear.

    Messages NVRM wraps over several lines (BAR, API mismatch, fallen off the bus) are read as one, whether the
    continuation lines carry their own timestamps (journal) or only indentation (dmesg).
    """
    raw_lines = _lines(lines)
    bodies = [_body(r) for r in raw_lines]
    faults: list[KernelFault] = []
    consumed = -1
    seen_bound: set[tuple[str, str]] = set()
    for i, (raw, body) in enumerate(zip(raw_lines, bodies, strict=True)):
        if i <= consumed or not body:
            continue
        xid = _XID.search(body)
        if xid:
            faults.append(_xid(raw, xid))
            continue
        fault = None
        for kind, anchor, whole, names in _MULTI:
            if not anchor.search(_clean(body)):
                continue
            joined = ""
            for j in range(i, min(i + _WINDOW, len(bodies))):
                joined = re.sub(r"\s+", " ", f"{joined} {_clean(bodies[j])}").strip()
                m = whole.search(joined)
                if m:
                    fault, consumed = KernelFault(kind, raw, _fields(names, m)), j
                    break
            if fault:
                break
            if kind in (BAR_INVALID, API_MISMATCH):
                fault = KernelFault(kind, raw)  # the rest of the message was cut off; the fault is still known
                break
        if fault is None:
            for kind, pattern, names in _SINGLE:
                m = pattern.search(_clean(body)) or pattern.search(body)
                if m:
                    fault = KernelFault(kind, raw, _fields(names, m))
                    break
        if fault is None and re.search(r"key was rejected by service", body, re.I):
            fault = KernelFault(KEY_REJECTED, raw)
        if fault is None:
            continue
        if fault.kind in (NOUVEAU_BOUND, NOVA_CORE_BOUND):
            key = (fault.kind, fault.get("pci") or "")
            if key in seen_bound:
                continue  # nouveau says "bound" several ways during one probe
            seen_bound.add(key)
        faults.append(fault)
    return tuple(faults)


# ------------------------------------------------------------------------------------------------ Secure Boot


def parse_secure_boot_efivar(data: bytes) -> bool | None:
    """efivarfs SecureBoot-8be4df61-...: 4 attribute bytes then the value byte; the old sysfs `data` file is 1 byte."""
    if len(data) == 5:
        value = data[4]
    elif len(data) == 1:
        value = data[0]
    else:
        return None
    return {0: False, 1: True}.get(value)


def parse_mokutil_test_key(text: str) -> bool | None:
    """`mokutil --test-key FILE`: True when the firmware or shim trusts the key, False when it does not (yet)."""
    lowered = text.lower()
    if "is already enrolled" in lowered or "is already in db" in lowered:
        return True
    # "is already in the enrollment request": imported, but nothing trusts it until the MOK manager confirms it.
    if any(s in lowered for s in ("is not enrolled", "in the enrollment request", "is blocked in")):
        return False
    return None


@dataclass(frozen=True)
class MokKey:
    fingerprint: str  # SHA-1, lower-case hex without colons; `--short` listings give only its first 10 digits
    subject: str  # "C=GB, ST=Isle of Man, ..., CN=Canonical Ltd. Master Certificate Authority" or, short, the CN

    @property
    def common_name(self) -> str:
        m = re.search(r"CN\s*=\s*([^,/]+)", self.subject)
        return m.group(1).strip() if m else self.subject


def parse_mokutil_list_enrolled(text: str) -> tuple[MokKey, ...]:
    """`mokutil --list-enrolled` (OpenSSL text per key) or `mokutil --list-enrolled --short` (one key a line)."""
    keys: list[MokKey] = []
    fingerprint: str | None = None
    subject = ""
    verbose = False

    def flush() -> None:
        if fingerprint is not None:
            keys.append(MokKey(fingerprint, subject))

    for raw in text.splitlines():
        line = raw.strip()
        fp = re.match(r"^SHA1 Fingerprint:\s*([0-9a-fA-F:]+)$", line)
        if line.startswith("[key ") or fp:
            flush()
            fingerprint, subject, verbose = (fp.group(1).replace(":", "").lower() if fp else None), "", True
        elif line.startswith("Subject:") and fingerprint is not None and not subject:
            subject = line.partition(":")[2].strip()
        elif not verbose:
            short = re.match(r"^([0-9a-f]{10}) (.+)$", line)
            if short:
                keys.append(MokKey(short.group(1), short.group(2).strip()))
    flush()
    return tuple(keys)
