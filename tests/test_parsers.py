"""Parsers on real captured outputs (sources named beside each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuwiz.backends.configs.containerd_config import read_runtimes
from gpuwiz.backends.parsers import (
    parse_ctk_version,
    parse_dpkg_query,
    parse_first_version,
    parse_lspci_nn,
    parse_mokutil_sb_state,
    parse_os_release,
    parse_proc_driver_version,
    parse_proc_modules,
)
from gpuwiz.backends.toml_compat import tomllib

DATA = Path(__file__).parent / "data"


def test_lspci_nn():
    # seed 002 (RTX 3060 LHR) in -nn form; H100 lines from an HGX host (research notes, 1e)
    text = (
        "00:00.0 Host bridge [0600]: Intel Corporation 8th Gen Core Processor Host Bridge/DRAM Registers [8086:3e0f] (rev 08)\n"
        "2f:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA106 [GeForce RTX 3060 Lite Hash Rate] [10de:2504] (rev a1)\n"
        "0000:1b:00.0 3D controller [0302]: NVIDIA Corporation GH100 [H100 SXM5 80GB] [10de:2330] (rev a1)\n"
    )
    names = parse_lspci_nn(text)
    assert names["0000:2f:00.0"] == "NVIDIA Corporation GA106 [GeForce RTX 3060 Lite Hash Rate]"
    assert names["0000:1b:00.0"] == "NVIDIA Corporation GH100 [H100 SXM5 80GB]"


@pytest.mark.parametrize(
    "text, version",
    [
        # seed 002, Ubuntu 22.04 PPA driver
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.154.05  Thu Dec 28 15:37:48 UTC 2023\nGCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04)\n",
            "535.154.05",
        ),
        # open kernel module form
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.172.08  Release Build  (dvs-builder@U16-I3-B03-4-3)\n",
            "570.172.08",
        ),
        ("garbage\n", None),
    ],
)
def test_proc_driver_version(text, version):
    assert parse_proc_driver_version(text) == version


def test_proc_modules():
    text = "nvidia_uvm 1511424 12 - Live 0x0000000000000000 (POE)\nnouveau 2433024 1 - Live 0x0000000000000000\n"
    assert parse_proc_modules(text) == ("nvidia_uvm", "nouveau")


def test_mokutil():
    assert parse_mokutil_sb_state("SecureBoot enabled\n") is True
    assert parse_mokutil_sb_state("SecureBoot disabled\nPlatform is in Setup Mode\n") is False
    assert parse_mokutil_sb_state("EFI variables are not supported on this system\n") is None


def test_versions():
    # nvidia-container-toolkit#60; containerd.io and Ubuntu containerd; docker-ce
    assert (
        parse_ctk_version(
            "NVIDIA Container Toolkit CLI version 1.13.0\ncommit: b7079454b5b8fed1390ce78ca5a3343748f62657\n"
        )
        == "1.13.0"
    )
    assert parse_first_version("containerd containerd.io 1.6.21 3dce8eb055cbb6872793272b4f20ed16117344f8\n") == "1.6.21"
    assert parse_first_version("containerd github.com/containerd/containerd 1.7.12 \n") == "1.7.12"
    assert parse_first_version("Docker version 24.0.4, build 3713ee1\n") == "24.0.4"


def test_dpkg_query_keeps_status():
    text = "nvidia-driver-535\t535.154.05-0ubuntu0.22.04.1\thi \nnvidia-driver\t\tun \nlibnvidia-compute-535\t535.154.05-0ubuntu0.22.04.1\tii \n"
    pkgs = parse_dpkg_query(text)
    assert [(p.name, p.installed) for p in pkgs] == [("nvidia-driver-535", True), ("libnvidia-compute-535", True)]


def test_os_release():
    info = parse_os_release(
        'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
    )
    assert (info.id, info.version_id, info.pretty_name, info.id_like) == (
        "ubuntu",
        "22.04",
        "Ubuntu 22.04.4 LTS",
        ("debian",),
    )


@pytest.mark.parametrize(
    "name, version, runtimes",
    [
        ("v2-default-containerd1.6.toml", 2, ("runc",)),
        ("v2-default-containerd1.7.toml", 2, ("runc",)),
        ("v3-default-containerd2.1.toml", 3, ("runc",)),
    ],
)
def test_containerd_default_configs(name, version, runtimes):
    """The real `containerd config default` outputs of containerd 1.6, 1.7 and 2.1."""
    got = read_runtimes(tomllib.loads((DATA / "containerd" / name).read_text()))
    assert (got.version, got.runtimes, got.default_runtime, got.cri_disabled) == (version, runtimes, "runc", False)


def test_containerd_docker_package_disables_cri():
    got = read_runtimes(tomllib.loads('disabled_plugins = ["cri"]\n'))
    assert got.version == 1 and got.cri_disabled
