"""`gpuwiz profile capture`: record exactly what the probes read on this machine as a profile.

A RecordingHost wraps the real Host while every probe runs (all layers, even without a GPU),
then the recorded files, links, commands, NVML and psutil answers are redacted and written
as a profile that replays through ProfileHost.
"""

from __future__ import annotations

import json
import time
from dataclasses import fields
from typing import Any

import tomlkit

from gpuwiz.backends import __version__
from gpuwiz.backends.gpu_records import GpuRecord, NvmlRecord
from gpuwiz.backends.machine.host import CommandResult, Host
from gpuwiz.backends.machine.profiles import PROFILE_FORMAT
from gpuwiz.backends.machine.recording import RecordingHost
from gpuwiz.backends.machine.redact import Redactor, without_secret_fields
from gpuwiz.backends.nvml.sampler import read_nvml
from gpuwiz.backends.probes.k8s import api_fields, api_resource


def _structured(result: CommandResult) -> str:
    """`kubectl … -o json` output cut down to the fields the k8s probe reads (api_fields), redacted
    by its structure as a second net (env values, Secrets, kubectl's copies of whole objects), then
    printed as kubectl prints it."""
    stdout = result.stdout
    if not stdout.lstrip().startswith(("{", "[")):
        return stdout
    try:
        document = json.loads(stdout)
    except ValueError:
        return stdout
    resource = api_resource(result.argv)
    if resource is not None:
        document = api_fields(resource, document)
    return json.dumps(without_secret_fields(document), indent=4) + "\n"


def _ml(text: str) -> Any:
    return tomlkit.string(text, multiline="\n" in text)


def _gpu_table(gpu: GpuRecord, r: Redactor) -> Any:
    table = tomlkit.table()
    for f in fields(GpuRecord):
        value = getattr(gpu, f.name)
        if value is None or f.name in ("processes", "mig_devices"):
            continue
        if f.name == "serial":
            value = "0" * len(value)
        elif isinstance(value, str):
            value = r.text(value)
        elif isinstance(value, tuple):
            value = list(value)
        table.add(f.name, value)
    if gpu.mig_devices:
        migs = tomlkit.aot()
        for m in gpu.mig_devices:
            migs.append(_plain_table(m, r))
        table.add("mig_devices", migs)
    if gpu.processes:
        procs = tomlkit.aot()
        for p in gpu.processes:
            procs.append(_plain_table(p, r))
        table.add("processes", procs)
    return table


def _plain_table(record: Any, r: Redactor) -> Any:
    """A record of plain fields as a TOML table: None left out (NotSupported), strings redacted."""
    table = tomlkit.table()
    for f in fields(record):
        value = getattr(record, f.name)
        if value is not None:
            table.add(f.name, r.text(value) if isinstance(value, str) else value)
    return table


def capture_profile(host: Host, *, name: str = "captured") -> str:
    """Probe every layer through a RecordingHost and return the redacted profile's TOML text."""
    from gpuwiz.backends.probes import probe_all

    rec = RecordingHost(host)
    facts = probe_all(rec, stop_without_gpu=False)
    nvml: NvmlRecord = read_nvml(rec.nvml(), with_processes=True)
    for gpu in nvml.gpus:
        for p in gpu.processes:
            rec.process_info(p.pid)

    r = Redactor(serials=[g.serial for g in nvml.gpus if g.serial])
    for path in ("/proc/sys/kernel/hostname", "/etc/hostname"):
        if path in rec.files:
            r.add_hostname(rec.files[path].strip())
            r.add_hostname(rec.files[path].strip().split(".")[0])
    for node in facts.k8s.nodes if facts.k8s else ():
        r.add_hostname(node.name)

    doc = tomlkit.document()
    doc.add(
        tomlkit.comment(
            f"Captured by gpuwiz {__version__} on {time.strftime('%Y-%m-%d')} with `gpuwiz profile capture`."
        )
    )
    doc.add(tomlkit.comment("Redacted: hostnames, serial numbers, UUIDs, MAC addresses, tokens, keys, certificates."))
    summary = facts.hardware.os.pretty_name if facts.hardware.os else "Linux"
    gpus = ", ".join(g.name or g.pci_id for g in facts.hardware.nvidia_gpus) or "no NVIDIA GPU"
    machine = tomlkit.table()
    machine.add("format", PROFILE_FORMAT)
    machine.add("name", name)
    machine.add("summary", f"captured: {summary}, {gpus}")
    machine.add("user", "root" if host.user == "root" else "user")
    if host.user != "root":
        machine.add("sudo", "none")
    machine.add("executables", sorted(set(rec.executables.values())))
    doc.add("machine", machine)

    if rec.env_seen:
        env = tomlkit.table()
        for key, value in sorted(rec.env_seen.items()):
            env.add(key, r.text(value))
        doc.add("env", env)
    files = tomlkit.table()
    for path, text in sorted(rec.files.items()):
        files.add(r.text(path), _ml(r.text(text)))
    doc.add("files", files)
    if rec.links:
        links = tomlkit.table()
        for path, target in sorted(rec.links.items()):
            links.add(path, target)
        doc.add("links", links)

    commands = tomlkit.table(is_super_table=True)
    for key, result in sorted(rec.commands.items()):
        t = tomlkit.table()
        t.add("stdout", _ml(r.text(_structured(result))))
        if result.stderr:
            t.add("stderr", _ml(r.text(result.stderr)))
        t.add("returncode", result.returncode)
        commands.add(r.text(key), t)
    doc.add("commands", commands)

    if nvml.init_error != "LibraryNotFound":
        table = tomlkit.table()
        if nvml.init_error:
            table.add("init_error", nvml.init_error)
        if nvml.driver_version:
            table.add("driver_version", nvml.driver_version)
        if nvml.cuda_driver_version:
            table.add("cuda_driver_version", nvml.cuda_driver_version)
        if nvml.gpus:
            aot = tomlkit.aot()
            for gpu in nvml.gpus:
                aot.append(_gpu_table(gpu, r))
            table.add("gpus", aot)
        doc.add("nvml", table)

    if rec.processes:
        procs = tomlkit.table(is_super_table=True)
        for pid, info in sorted(rec.processes.items()):
            t = tomlkit.table()
            t.add("user", info.user)
            t.add("cmdline", [r.text(a) for a in info.cmdline])
            t.add("cpu_percent", round(info.cpu_percent, 1))
            t.add("rss_mib", round(info.rss_mib, 1))
            if info.elapsed_s is not None:
                t.add("elapsed_s", round(info.elapsed_s))
            procs.add(str(pid), t)
        doc.add("processes", procs)
    return tomlkit.dumps(doc)
