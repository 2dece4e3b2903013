"""Machine profiles: TOML files that stand in for a machine (format in docs/profiles.md).

Loading validates every key: unknown keys and wrong types are errors naming the file, the
line and the key, because a typo in a profile should never silently change what it simulates.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.gpu_records import THROTTLE_REASONS, GpuProcessRecord, GpuRecord, MigDeviceRecord, NvmlRecord
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

PROFILE_FORMAT = 1
SHIPPED_DIR = Path(__file__).parent.parent / "profile_data"
SUDO_MODES = ("password", "passwordless", "none")
PROCESS_TYPES = ("C", "G", "C+G")
COMPUTE_MODES = ("Default", "Exclusive_Thread", "Prohibited", "Exclusive_Process")
# NVML's own error names (pynvml NVMLError_<Name>) a profile may use for [nvml] init_error.
NVML_INIT_ERRORS = (
    "DriverNotLoaded",
    "LibraryNotFound",
    "NoPermission",
    "Unknown",
    "LibRmVersionMismatch",
    "Uninitialized",
    "InsufficientPower",
    "GpuIsLost",
)


@dataclass(frozen=True)
class CommandAnswer:
    stdout: str = ""
    stderr: str = ""
    returncode: int = 0


@dataclass(frozen=True)
class ProfileHostProcess:
    """A PID as psutil sees it on the profiled machine."""

    user: str
    cmdline: tuple[str, ...]
    cpu_percent: float = 0.0
    rss_mib: float = 0.0
    elapsed_s: float = 0.0  # how long it has been running when the profile's clock starts
    ppid: int | None = None


@dataclass(frozen=True)
class ProfileOverlay:
    """What a simulated machine looks like once a layer's plan has run (and, for the driver, after
    the reboot): replaces or adds these records. See docs/profiles.md, `[after.LAYER]`."""

    executables: tuple[str, ...] = ()  # added to the machine's
    files: Mapping[str, str] = field(default_factory=dict)
    remove_files: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, CommandAnswer] = field(default_factory=dict)
    nvml: NvmlRecord | None = None
    processes: Mapping[int, ProfileHostProcess] = field(default_factory=dict)


@dataclass(frozen=True)
class MachineProfile:
    path: str
    name: str
    summary: str
    user: str = "root"
    sudo: str = "none"
    executables: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, CommandAnswer] = field(default_factory=dict)
    nvml: NvmlRecord | None = None
    processes: Mapping[int, ProfileHostProcess] = field(default_factory=dict)
    after: Mapping[str, ProfileOverlay] = field(default_factory=dict)  # layer value -> overlay


# --- validation ---------------------------------------------------------------------------

# key -> (accepted python types, required)
_Spec = Mapping[str, tuple[tuple[type, ...], bool]]
_STR = (str,)
_INT = (int,)
_NUM = (int, float)
_BOOL = (bool,)

_MACHINE: _Spec = {
    "format": (_INT, True),
    "name": (_STR, True),
    "summary": (_STR, True),
    "user": (_STR, False),
    "sudo": (_STR, False),
    "executables": ((list,), False),
}
_COMMAND: _Spec = {"stdout": (_STR, False), "stderr": (_STR, False), "returncode": (_INT, False)}
_NVML: _Spec = {
    "init_error": (_STR, False),
    "driver_version": (_STR, False),
    "cuda_driver_version": (_INT, False),
    "gpus": ((list,), False),
}
_GPU: _Spec = {
    "name": (_STR, True),
    "pci_bus_id": (_STR, True),
    "memory_total_mib": (_INT, True),
    "uuid": (_STR, False),
    "serial": (_STR, False),
    "minor_number": (_INT, False),
    "memory_used_mib": (_INT, False),
    "utilization_gpu": (_INT, False),
    "utilization_memory": (_INT, False),
    "temperature_c": (_INT, False),
    "fan_percent": (_INT, False),
    "power_draw_w": (_NUM, False),
    "power_limit_w": (_NUM, False),
    "pstate": (_INT, False),
    "persistence_mode": (_BOOL, False),
    "display_active": (_BOOL, False),
    "ecc_mode": (_BOOL, False),
    "ecc_uncorrected_volatile": (_INT, False),
    "compute_mode": (_STR, False),
    "mig_mode": (_BOOL, False),
    "clocks_sm_mhz": (_INT, False),
    "clocks_mem_mhz": (_INT, False),
    "clocks_max_sm_mhz": (_INT, False),
    "clocks_max_mem_mhz": (_INT, False),
    "temperature_slowdown_c": (_INT, False),
    "encoder_util": (_INT, False),
    "decoder_util": (_INT, False),
    "pcie_tx_kbs": (_INT, False),
    "pcie_rx_kbs": (_INT, False),
    "bar1_total_mib": (_INT, False),
    "bar1_used_mib": (_INT, False),
    "throttle_reasons": ((list,), False),
    "mig_devices": ((list,), False),
    "processes": ((list,), False),
}
_GPU_PROCESS: _Spec = {
    "pid": (_INT, True),
    "type": (_STR, False),
    "used_memory_mib": (_INT, False),
    "gpu_instance_id": (_INT, False),
    "compute_instance_id": (_INT, False),
    "sm_util": (_INT, False),
    "mem_util": (_INT, False),
    "enc_util": (_INT, False),
    "dec_util": (_INT, False),
}
_MIG_DEVICE: _Spec = {
    "gpu_instance_id": (_INT, True),
    "compute_instance_id": (_INT, True),
    "memory_total_mib": (_INT, True),
    "name": (_STR, False),
    "uuid": (_STR, False),
    "memory_used_mib": (_INT, False),
    "sm_count": (_INT, False),
    "bar1_total_mib": (_INT, False),
    "bar1_used_mib": (_INT, False),
    "ce_count": (_INT, False),
    "enc_count": (_INT, False),
    "dec_count": (_INT, False),
    "ofa_count": (_INT, False),
    "jpg_count": (_INT, False),
}
_HOST_PROCESS: _Spec = {
    "user": (_STR, True),
    "cmdline": ((list,), True),
    "cpu_percent": (_NUM, False),
    "rss_mib": (_NUM, False),
    "elapsed_s": (_NUM, False),
    "ppid": (_INT, False),
}
_TOP: _Spec = {
    "machine": ((dict,), True),
    "env": ((dict,), False),
    "files": ((dict,), False),
    "links": ((dict,), False),
    "commands": ((dict,), False),
    "nvml": ((dict,), False),
    "processes": ((dict,), False),
    "after": ((dict,), False),
}
_OVERLAY: _Spec = {
    "executables": ((list,), False),
    "files": ((dict,), False),
    "remove_files": ((list,), False),
    "links": ((dict,), False),
    "commands": ((dict,), False),
    "nvml": ((dict,), False),
    "processes": ((dict,), False),
}
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


class _Validator:
    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str) -> int | None:
        """Best-effort line of the last component of a dotted key (for the error message)."""
        last = key.rsplit(".", 1)[-1]
        last = re.sub(r"\[\d+\]$", "", last).strip('"')
        pattern = re.compile(r'^\s*(\[+\s*)?(.*[."])?' + re.escape(last) + r'("|\s*[=\].])')
        for number, line in enumerate(self.lines, 1):
            if pattern.search(line):
                return number
        return None

    def fail(self, key: str, message: str) -> InputError:
        return InputError(self.path, message, line=self.line_of(key), key=key)

    def table(self, data: Any, spec: _Spec, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a table")
        for key, value in data.items():
            name = f"{where}.{key}" if where else key
            if key not in spec:
                known = ", ".join(spec)
                raise self.fail(name, f"unknown key (known here: {known})")
            types, _ = spec[key]
            if isinstance(value, bool) and bool not in types:
                raise self.fail(name, f"must be {self._names(types)}, not a boolean")
            if not isinstance(value, types):
                raise self.fail(name, f"must be {self._names(types)}")
        for key, (_, required) in spec.items():
            if required and key not in data:
                raise self.fail(where or key, f"missing required key {key!r}")
        return data

    @staticmethod
    def _names(types: tuple[type, ...]) -> str:
        if types == _NUM:
            return "a number"
        return " or ".join(_TYPE_NAMES[t] for t in types)

    def str_map(self, data: dict[str, Any], where: str, *, absolute: bool = False) -> dict[str, str]:
        for key, value in data.items():
            if not isinstance(value, str):
                raise self.fail(f'{where}."{key}"', "must be a string")
            if absolute and not key.startswith("/"):
                raise self.fail(f'{where}."{key}"', "must be an absolute path")
        return dict(data)

    def choice(self, value: str, allowed: tuple[str, ...], key: str) -> str:
        if value not in allowed:
            raise self.fail(key, f"is {value!r}; expected one of {', '.join(allowed)}")
        return value


def parse_profile(text: str, path: str) -> MachineProfile:
    """Validate a profile's text; raise InputError naming file, line and key on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    v = _Validator(path, text)
    v.table(data, _TOP, "")
    machine = v.table(data["machine"], _MACHINE, "machine")
    if machine["format"] != PROFILE_FORMAT:
        raise v.fail("machine.format", f"is {machine['format']}; this gpuwiz reads format {PROFILE_FORMAT}")
    executables = machine.get("executables", [])
    if not all(isinstance(e, str) and e for e in executables):
        raise v.fail("machine.executables", "must be an array of names or absolute paths")
    user = machine.get("user", "root")
    sudo = v.choice(machine.get("sudo", "none" if user == "root" else "passwordless"), SUDO_MODES, "machine.sudo")

    commands, nvml, processes = _parse_records(v, data, "")
    after: dict[str, ProfileOverlay] = {}
    layers = ("hardware", "driver", "toolkit", "runtime", "k8s")
    for layer, overlay in data.get("after", {}).items():
        where = f"after.{layer}"
        v.choice(layer, layers, where)
        v.table(overlay, _OVERLAY, where)
        o_commands, o_nvml, o_processes = _parse_records(v, overlay, where + ".")
        added = overlay.get("executables", [])
        removed = overlay.get("remove_files", [])
        if not all(isinstance(e, str) and e for e in [*added, *removed]):
            raise v.fail(where, "executables and remove_files must be arrays of strings")
        after[layer] = ProfileOverlay(
            executables=tuple(added),
            files=v.str_map(overlay.get("files", {}), where + ".files", absolute=True),
            remove_files=tuple(removed),
            links=v.str_map(overlay.get("links", {}), where + ".links", absolute=True),
            commands=o_commands,
            nvml=o_nvml,
            processes=o_processes,
        )

    return MachineProfile(
        path=path,
        name=machine["name"],
        summary=machine["summary"],
        user=user,
        sudo=sudo,
        executables=tuple(executables),
        env=v.str_map(data.get("env", {}), "env"),
        files=v.str_map(data.get("files", {}), "files", absolute=True),
        links=v.str_map(data.get("links", {}), "links", absolute=True),
        commands=commands,
        nvml=nvml,
        processes=processes,
        after=after,
    )


def _parse_records(
    v: _Validator, data: Any, prefix: str
) -> tuple[dict[str, CommandAnswer], NvmlRecord | None, dict[int, ProfileHostProcess]]:
    """The commands, NVML and processes of a profile (prefix "") or of an overlay ("after.driver.")."""
    commands: dict[str, CommandAnswer] = {}
    for key, answer in data.get("commands", {}).items():
        where = f'{prefix}commands."{key}"'
        v.table(answer, _COMMAND, where)
        commands[key] = CommandAnswer(answer.get("stdout", ""), answer.get("stderr", ""), answer.get("returncode", 0))

    nvml = _parse_nvml(v, data["nvml"]) if "nvml" in data else None

    processes: dict[int, ProfileHostProcess] = {}
    for key, proc in data.get("processes", {}).items():
        where = f"{prefix}processes.{key}"
        if not key.isdigit():
            raise v.fail(where, "must be a PID (digits)")
        v.table(proc, _HOST_PROCESS, where)
        if not all(isinstance(a, str) for a in proc["cmdline"]):
            raise v.fail(f"{where}.cmdline", "must be an array of strings")
        processes[int(key)] = ProfileHostProcess(
            proc["user"],
            tuple(proc["cmdline"]),
            float(proc.get("cpu_percent", 0.0)),
            float(proc.get("rss_mib", 0.0)),
            float(proc.get("elapsed_s", 0.0)),
            proc.get("ppid"),
        )
    return commands, nvml, processes


def _parse_nvml(v: _Validator, data: Any) -> NvmlRecord:
    v.table(data, _NVML, "nvml")
    init_error = data.get("init_error")
    if init_error is not None:
        v.choice(init_error, NVML_INIT_ERRORS, "nvml.init_error")
    gpus = []
    for i, gpu in enumerate(data.get("gpus", [])):
        where = f"nvml.gpus[{i}]"
        v.table(gpu, _GPU, where)
        if "compute_mode" in gpu:
            v.choice(gpu["compute_mode"], COMPUTE_MODES, f"{where}.compute_mode")
        procs = []
        for j, proc in enumerate(gpu.get("processes", [])):
            pwhere = f"{where}.processes[{j}]"
            v.table(proc, _GPU_PROCESS, pwhere)
            v.choice(proc.get("type", "C"), PROCESS_TYPES, f"{pwhere}.type")
            procs.append(GpuProcessRecord(**{"type": "C", **proc}))
        migs = []
        for j, mig in enumerate(gpu.get("mig_devices", [])):
            v.table(mig, _MIG_DEVICE, f"{where}.mig_devices[{j}]")
            migs.append(MigDeviceRecord(**mig))
        reasons = gpu.get("throttle_reasons")
        if reasons is not None:
            for reason in reasons:
                v.choice(reason, tuple(THROTTLE_REASONS), f"{where}.throttle_reasons")
        fields = {k: val for k, val in gpu.items() if k not in ("processes", "mig_devices", "throttle_reasons")}
        if reasons is not None:
            fields["throttle_reasons"] = tuple(reasons)
        for k in ("power_draw_w", "power_limit_w"):
            if k in fields:
                fields[k] = float(fields[k])
        gpus.append(GpuRecord(**fields, mig_devices=tuple(migs), processes=tuple(procs)))
    if init_error and gpus:
        raise v.fail("nvml.init_error", "NVML that fails to initialise lists no gpus; remove one of them")
    return NvmlRecord(init_error, data.get("driver_version"), data.get("cuda_driver_version"), tuple(gpus))


BINARY_PREFIX = "base64:"


def encode_file_bytes(data: bytes) -> str:
    """A file's content as profile text: as is when it is UTF-8 text, else `base64:` + base64."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not text.startswith(BINARY_PREFIX):
        return text
    return BINARY_PREFIX + base64.b64encode(data).decode("ascii")


def decode_file_bytes(text: str | None) -> bytes | None:
    if text is None:
        return None
    if text.startswith(BINARY_PREFIX):
        return base64.b64decode(text[len(BINARY_PREFIX) :])
    return text.encode("utf-8")


# --- finding profiles -----------------------------------------------------------------------


def user_profile_dir(env: Mapping[str, str]) -> Path:
    from gpuwiz.backends.machine.logs import config_home

    return config_home(env) / "gpuwiz" / "profiles"


def is_path_reference(value: str) -> bool:
    return "/" in value or value.endswith(".toml")


def resolve_profile(value: str, env: Mapping[str, str]) -> Path:
    """A `--profile` value: a path (has a `/` or ends in .toml) or a name (user's, then shipped)."""
    if is_path_reference(value):
        path = Path(value).expanduser()
        if not path.is_file():
            raise InputError(value, "no such profile file")
        return path
    for folder in (user_profile_dir(env), SHIPPED_DIR):
        candidate = folder / f"{value}.toml"
        if candidate.is_file():
            return candidate
    names = ", ".join(name for name, _ in available_profiles(env))
    raise InputError(value, f"no profile of that name (available: {names})")


def load_profile(value: str, env: Mapping[str, str]) -> MachineProfile:
    from gpuwiz.backends.machine.input_file import read_local_input

    path = resolve_profile(value, env)
    try:
        text = read_local_input(path, what="profile", syntax="toml")
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    return parse_profile(text, str(path))


def available_profiles(env: Mapping[str, str]) -> list[tuple[str, Path]]:
    """(name, path) of every profile, user profiles shadowing shipped ones of the same name."""
    found: dict[str, Path] = {}
    for folder in (SHIPPED_DIR, user_profile_dir(env)):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return sorted(found.items())
