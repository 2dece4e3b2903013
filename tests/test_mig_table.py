"""BAR1 and the MIG devices as nvidia-smi prints them: memory, BAR1, SMs, the shared engines."""

from __future__ import annotations

from types import SimpleNamespace

import pynvml

from gpuwiz.backends.nvml.history import History
from gpuwiz.backends.nvml.monitor_json import monitor_document
from gpuwiz.backends.nvml.sampler import NvmlSampler, _Gpu
from gpuwiz.monitor_view import ViewOptions, render


def sample_of(profile_host, name):
    host = profile_host(name)
    return NvmlSampler(host.nvml(), process_info=host.process_info).sample()


def test_a100_mig_devices_carry_bar1_and_their_engines(profile_host):
    sample = sample_of(profile_host, "a100-mig")
    gpu = sample.nvml.gpus[0]
    assert (gpu.bar1_used_mib, gpu.bar1_total_mib) == (3, 131072)
    by_gi = {m.gpu_instance_id: m for m in gpu.mig_devices}
    assert (by_gi[2].ce_count, by_gi[2].dec_count, by_gi[2].bar1_total_mib) == (3, 2, 65535)
    assert (by_gi[9].ce_count, by_gi[9].dec_count, by_gi[9].bar1_total_mib) == (1, 0, 16383)
    doc = monitor_document(sample)["gpus"][0]
    assert doc["bar1_total_mib"] == 131072 and doc["mig_devices"][1]["copy_engines"] == 2


def test_the_mig_rows_at_80_columns(profile_host):
    sample = sample_of(profile_host, "a100-mig")
    history = History()
    history.add(sample)
    lines = [line.plain for line in render(sample, history, ViewOptions(width=80, graphs=False, live=False))]
    assert any("BAR1 0/65535MiB  Shared CE 3 ENC 0 DEC 2 OFA 0 JPG 0" in line for line in lines)
    assert all(len(line) <= 80 for line in lines)
    wide = [line.plain for line in render(sample, history, ViewOptions(width=160, graphs=False, live=False))]
    assert any("BAR1 3/131072MiB" in line for line in wide)


def test_engines_are_found_by_profile_id_not_index():
    """NVML's GPU instance profile info is asked by profile index; a GPU instance names its profile by ID."""

    class Nvml:
        NVMLError = pynvml.NVMLError
        NVML_GPU_INSTANCE_PROFILE_COUNT = 8

        def nvmlDeviceGetGpuInstanceProfileInfo(self, handle, index):
            if index not in (0, 2):
                raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
            return SimpleNamespace(
                id={0: 19, 2: 9}[index],
                copyEngineCount={0: 1, 2: 3}[index],
                encoderCount=0,
                decoderCount={0: 0, 2: 2}[index],
                ofaCount=0,
                jpegCount=0,
            )

    sampler = NvmlSampler(Nvml())
    engines = sampler._engines(_Gpu(handle=object(), static=None))
    assert engines == {19: (1, 0, 0, 0, 0), 9: (3, 0, 2, 0, 0)}


def test_profiles_without_bar1_show_none(profile_host):
    sample = sample_of(profile_host, "homelab-ready")
    assert sample.nvml.gpus[0].bar1_total_mib is None
    history = History()
    history.add(sample)
    assert not any("BAR1" in line.plain for line in render(sample, history, ViewOptions(width=160, live=False)))
