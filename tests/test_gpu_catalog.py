"""GPU catalogue: real PCI device ids (pci.ids 2026.08.22, pciutils/pciids) and the driver branch they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuwiz.backends.gpu_catalog import (
    ARCHITECTURES,
    BRANCH_CUDA,
    PRE_KEPLER,
    base_chip,
    lookup,
    parse_pci_ids,
    recommend_branch,
)

SYSTEM_PCI_IDS = Path("/usr/share/misc/pci.ids")

# Real lines from pci.ids 2026.08.22: the vendor before NVIDIA, NVIDIA's section (a device without a chip code, an
# audio function, subsystem lines, a bare chip, a board code before the name), and the vendor after NVIDIA.
EXCERPT = (
    "10dd  Evans & Sutherland\n"
    "\t0100  Lightning 1200\n"
    "\t\t10dd 0023  Lightning 1200 15+16M\n"
    "10de  NVIDIA Corporation\n"
    "\t0060  nForce2 ISA Bridge\n"
    "\t0fbc  GM107 High Definition Audio Controller [GeForce 940MX]\n"
    "\t1d10  GP108M [GeForce MX150]\n"
    "\t\t17aa 225e  ThinkPad T480\n"
    "\t1d11  GP108M [GeForce MX230]\n"
    "\t2080  GA100\n"
    "\t2504  GA106 [GeForce RTX 3060 Lite Hash Rate]\n"
    "\t25ac  GA107BM / GN20-P0-R-K2 [GeForce RTX 3050 6GB Laptop GPU]\n"
    "\t2b85  GB202 [GeForce RTX 5090]\n"
    "10df  Emulex Corporation\n"
    "\t0720  OneConnect NIC (Skyhawk)\n"
    "\t\t103c 1934  FlexFabric 20Gb 2-port 650M Adapter\n"
)


def test_parse_pci_ids_excerpt():
    devices = parse_pci_ids(EXCERPT)
    assert devices == {
        "0060": ("", "nForce2 ISA Bridge"),
        "0fbc": ("GM107", "High Definition Audio Controller [GeForce 940MX]"),
        "1d10": ("GP108M", "GeForce MX150"),
        "1d11": ("GP108M", "GeForce MX230"),
        "2080": ("GA100", ""),
        "2504": ("GA106", "GeForce RTX 3060 Lite Hash Rate"),
        "25ac": ("GA107BM", "GeForce RTX 3050 6GB Laptop GPU"),
        "2b85": ("GB202", "GeForce RTX 5090"),
    }


def test_parse_pci_ids_without_space_before_bracket():
    # Debian 12's pci.ids (2023.04.10) writes this one without a space
    assert parse_pci_ids("10de  NVIDIA Corporation\n\t2330  GH100[H100 SXM5 80GB]\n") == {
        "2330": ("GH100", "H100 SXM5 80GB")
    }


@pytest.mark.skipif(not SYSTEM_PCI_IDS.exists(), reason="no /usr/share/misc/pci.ids on this machine")
def test_parse_system_pci_ids():
    text = SYSTEM_PCI_IDS.read_text(encoding="utf-8", errors="replace")
    devices = parse_pci_ids(text)
    assert len(devices) > 1000
    assert devices["2504"] == ("GA106", "GeForce RTX 3060 Lite Hash Rate")  # not PXI-2504 from another vendor
    model = lookup("10de:2504", system_pci_ids=text)
    assert model is not None and model.architecture == "Ampere"


@pytest.mark.parametrize(
    "device_id, chip, name, architecture, cc",
    [
        ("2504", "GA106", "GeForce RTX 3060 Lite Hash Rate", "Ampere", "8.6"),
        ("2330", "GH100", "H100 SXM5 80GB", "Hopper", "9.0"),
        ("1d10", "GP108M", "GeForce MX150", "Pascal", "6.1"),
        ("1d12", "GP108M", "GeForce MX150", "Pascal", "6.1"),
        ("1b39", "GP102GL", "Tesla P10", "Pascal", "6.1"),
        ("1024", "GK180GL", "Tesla K40c", "Kepler", "3.5"),
        ("2b85", "GB202", "GeForce RTX 5090", "Blackwell", "12.0"),
        ("2901", "GB100", "B200", "Blackwell", "10.0"),
        ("1db4", "GV100GL", "Tesla V100 PCIe 16GB", "Volta", "7.0"),
        ("1eb8", "TU104GL", "Tesla T4", "Turing", "7.5"),
        ("20b0", "GA100", "A100 SXM4 40GB", "Ampere", "8.0"),
        ("2684", "AD102", "GeForce RTX 4090", "Ada Lovelace", "8.9"),
        ("1380", "GM107", "GeForce GTX 750 Ti", "Maxwell", "5.0"),
        ("102d", "GK210GL", "Tesla K80", "Kepler", "3.7"),
    ],
)
def test_lookup_shipped_table(device_id, chip, name, architecture, cc):
    model = lookup(f"10de:{device_id}")
    assert model is not None
    assert (model.device_id, model.chip, model.name) == (device_id, chip, name)
    assert (model.architecture, model.compute_capability) == (architecture, cc)


def test_lookup_forms_and_unknowns():
    assert lookup("0x2504") == lookup("10DE:2504") == lookup("2504")
    assert lookup("10de:ffff") is None  # nobody knows it: the caller says "unknown NVIDIA device"
    assert lookup("not-an-id") is None
    assert lookup("8086:2504") is None  # another vendor's device
    bare = lookup("2080")  # pci.ids names only the chip
    assert bare is not None and (bare.chip, bare.name, bare.compute_capability) == ("GA100", "", "8.0")


def test_lookup_prefers_system_pci_ids_and_falls_back_to_shipped():
    system = "10de  NVIDIA Corporation\n\t2504  GA106 [GeForce RTX 3060 LHR]\n"
    assert lookup("2504", system).name == "GeForce RTX 3060 LHR"
    assert lookup("2b85", system).name == "GeForce RTX 5090"  # an older system file lacks Blackwell


def test_pre_kepler_is_marked():
    fermi = lookup("1080")  # GF110 [GeForce GTX 580]
    assert fermi is not None and fermi.architecture == PRE_KEPLER and fermi.compute_capability == ""
    assert recommend_branch([fermi.architecture]) is None


def test_base_chip():
    assert [base_chip(c) for c in ("GP108M", "GK110BGL", "GA107BM", "AD103GLM", "GB10B", "GK208B")] == [
        "GP108",
        "GK110B",
        "GA107",
        "AD103",
        "GB10B",
        "GK208B",
    ]


def test_architectures_order():
    assert ARCHITECTURES[0] == "Kepler" and ARCHITECTURES[-1] == "Blackwell"


def test_recommend_kepler_is_470_legacy():
    choice = recommend_branch([lookup("1024").architecture])
    assert choice is not None
    assert (choice.branch, choice.cuda_version, choice.legacy, choice.open_modules) == (
        "470",
        "11.4",
        True,
        "unsupported",
    )


def test_recommend_pascal_is_580_legacy():
    choice = recommend_branch(["Pascal"])
    assert (choice.branch, choice.cuda_version, choice.legacy, choice.open_modules) == (
        "580",
        "13.0",
        True,
        "unsupported",
    )


def test_recommend_blackwell_needs_open_modules():
    model = lookup("2b85")
    choice = recommend_branch([model.architecture])
    newest = max(BRANCH_CUDA, key=int)
    assert (choice.branch, choice.open_modules, choice.legacy) == (newest, "required", False)
    assert "open kernel modules" in choice.reason


def test_recommend_ampere_newest_open_recommended():
    choice = recommend_branch(["Ampere"])
    assert choice.branch == max(BRANCH_CUDA, key=int) and choice.open_modules == "recommended"


def test_recommend_mixed_kepler_ampere_is_470():
    choice = recommend_branch(["Kepler", "Ampere"])
    assert (choice.branch, choice.legacy) == ("470", True)
    assert "Kepler" in choice.reason


def test_recommend_without_a_common_branch():
    assert recommend_branch(["Kepler", "Ada Lovelace"]) is None  # R470 predates Ada, Kepler ends at R470
    assert recommend_branch(["Kepler", "Blackwell"]) is None
    assert recommend_branch(["Pascal", "Blackwell"]) is None  # one module flavour cannot drive both
    assert recommend_branch([]) is None
    assert recommend_branch(["Rubin"]) is None


def test_recommend_within_distribution_branches():
    jammy = ["nvidia-driver-470", "nvidia-driver-535", "nvidia-driver-550-server", "nvidia-driver-570-open"]
    ampere = recommend_branch(["Ampere"], jammy)
    assert (ampere.branch, ampere.cuda_version, ampere.open_modules) == ("570", "12.8", "recommended")
    assert "offered" in ampere.reason
    older = recommend_branch(["Turing"], ["535", "550"])
    assert (older.branch, older.cuda_version, older.open_modules) == ("550", "12.4", "optional")
    assert recommend_branch(["Blackwell"], ["535", "550"]) is None  # Blackwell needs R570 or newer
    assert recommend_branch(["Ampere"], ["999"]) is None  # unknown branches are not guessed at


def test_branch_cuda_table():
    assert {b: BRANCH_CUDA[b] for b in ("470", "535", "550", "570", "575", "580")} == {
        "470": "11.4",
        "535": "12.2",
        "550": "12.4",
        "570": "12.8",
        "575": "12.9",
        "580": "13.0",
    }
