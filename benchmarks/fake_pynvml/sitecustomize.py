"""Swaps a profile's FakeNvml into `pynvml` for whatever Python program starts with this on PYTHONPATH.

benchmarks/monitor_vs_peers.py puts this folder on PYTHONPATH, so gpuwiz (the real-host path),
nvitop and gpustat all import the same fake: the real nvidia-ml-py module loads as usual (its
exception classes, constants and structs), then each `nvml*` function FakeNvml answers replaces
the module's own. Functions the fake lacks answer NotSupported (as a card without that sensor
would; FunctionNotFound makes nvitop log an error on the screen).
Nothing happens until the program imports `pynvml`, so start-up before that costs what it costs.

nvitop's `nvitop.api.libnvml` re-implements a few calls through ctypes function pointers
(memory info, running processes, temperature, field values, driver model); once it is imported
those are pointed back at the fake too.

GPUWIZ_BENCH_FAKE names a pickle, {"record": NvmlRecord, "seed": int}; GPUWIZ_BENCH_ROOT the checkout.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types

TYPE_CHECKING = False  # `typing` costs ~4 ms at start-up, before the program's own imports
if TYPE_CHECKING:
    from typing import Any

SETTINGS = os.environ.get("GPUWIZ_BENCH_FAKE")


class Handle(types.SimpleNamespace):
    """FakeNvml's handles, hashable by identity like ctypes pointers (nvitop keys caches by them)."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__


def _gpuwiz_importable(root: str) -> None:
    """The checkout's modules without installing it: `gpuwiz` maps to tui/, `gpuwiz.backends` to backends/."""
    import importlib.util

    if importlib.util.find_spec("gpuwiz") is not None:
        return
    for name, folder in (("gpuwiz", "tui"), ("gpuwiz.backends", "backends")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, folder)]
        sys.modules[name] = module


def _dropping_extras(fn: Any) -> Any:
    def call(*args: Any, **_kwargs: Any) -> Any:  # nvidia-ml-py's `version=` keywords
        return fn(*args)

    return call


def _handles(fn: Any) -> Any:
    def call(*args: Any) -> Any:
        return Handle(**vars(fn(*args)))

    return call


def patch(pynvml: Any, settings: dict[str, Any]) -> None:
    import time

    from gpuwiz.backends.nvml.fake import FakeNvml

    fake = FakeNvml(settings["record"], motion=(settings["seed"], time.monotonic))
    names = [n for n in dir(fake) if n.startswith("nvml")]
    for name in names:
        setattr(pynvml, name, _dropping_extras(getattr(fake, name)))
    pynvml.nvmlDeviceGetHandleByIndex = _handles(fake.nvmlDeviceGetHandleByIndex)
    pynvml.nvmlDeviceGetMigDeviceHandleByIndex = _handles(fake.nvmlDeviceGetMigDeviceHandleByIndex)
    pynvml.nvmlInitWithFlags = lambda _flags=0: fake.nvmlInit()
    pynvml.nvmlDeviceGetComputeRunningProcesses = fake.nvmlDeviceGetComputeRunningProcesses_v3
    pynvml.nvmlDeviceGetGraphicsRunningProcesses = fake.nvmlDeviceGetGraphicsRunningProcesses_v3
    pynvml.nvmlDeviceGetIndex = lambda h: h.index
    pynvml.nvmlDeviceGetPowerManagementLimit = fake.nvmlDeviceGetEnforcedPowerLimit
    pynvml.nvmlSystemGetNVMLVersion = lambda: fake.nvmlSystemGetDriverVersion()
    known = set(names)

    def function_pointer(name: str) -> Any:
        if name in known:
            return getattr(fake, name)
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    pynvml._nvmlGetFunctionPointer = function_pointer


def patch_nvitop(libnvml: Any) -> None:
    import pynvml

    def unsupported(*_args: Any, **_kwargs: Any) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    for name in (
        "nvmlDeviceGetComputeRunningProcesses",
        "nvmlDeviceGetGraphicsRunningProcesses",
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetTemperature",
    ):
        setattr(libnvml, name, getattr(pynvml, name))
    libnvml.nvmlDeviceGetMPSComputeRunningProcesses = lambda _h: []
    for name in ("nvmlDeviceGetFieldValues", "nvmlDeviceGetDriverModel", "nvmlDeviceGetCurrentDriverModel"):
        setattr(libnvml, name, unsupported)
    libnvml.nvmlDeviceGetPendingDriverModel = unsupported


class _PatchingLoader:  # importlib.abc costs ~10 ms at every start: a duck-typed loader
    def __init__(self, real: Any, name: str, settings_path: str):
        self.real = real
        self.name = name
        self.settings_path = settings_path

    def create_module(self, spec: Any) -> Any:
        return self.real.create_module(spec)

    def exec_module(self, module: Any) -> None:
        import pickle

        self.real.exec_module(module)
        if self.name != "pynvml":
            patch_nvitop(module)
            return
        with open(self.settings_path, "rb") as f:
            raw = f.read()
        root = os.environ.get("GPUWIZ_BENCH_ROOT", "")
        _gpuwiz_importable(root)
        patch(module, pickle.loads(raw))


class _Finder:
    def __init__(self, settings_path: str):
        self.settings_path = settings_path

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in ("pynvml", "nvitop.api.libnvml"):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader, name, self.settings_path)
        return spec


if SETTINGS:
    sys.meta_path.insert(0, _Finder(SETTINGS))
