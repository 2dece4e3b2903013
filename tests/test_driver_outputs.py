"""Driver-layer parsers on real captured outputs; the source of each capture is named beside it.

"code-index id N" marks a public GitHub file found through the project's code index whose repository name the index
does not reveal; the capture inside it is real and the id re-opens it. Markdown indentation around a quoted capture
was removed; nothing inside a capture was changed.
"""

from __future__ import annotations

import pytest

from gpuwiz.backends.driver_outputs import (
    ALREADY_BOUND,
    API_MISMATCH,
    BAR_INVALID,
    FALLEN_OFF_BUS,
    KEY_REJECTED,
    NO_DEVICES,
    NONE_INITIALIZED,
    NOUVEAU_BOUND,
    NOVA_CORE_BOUND,
    PROBE_ERROR,
    PROBE_FAILED,
    PROBE_NOT_CALLED,
    RM_INIT_ADAPTER,
    UNSIGNED_MODULE,
    UNSUPPORTED_GPU,
    XID,
    classify_kernel_log,
    parse_dkms_status,
    parse_mokutil_list_enrolled,
    parse_mokutil_test_key,
    parse_nvidia_detect,
    parse_secure_boot_efivar,
    parse_ubuntu_drivers_devices,
    parse_ubuntu_drivers_list,
)

# ------------------------------------------------------------------------------------------- ubuntu-drivers devices

# https://github.com/canonical/ubuntu-drivers-common/issues/48 (ElementaryOS, GTX 650 Ti, 2020)
UD_GTX650TI = """\
$ ubuntu-drivers devices
== /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0 ==
modalias : pci:v000010DEd000011C6sv00003842sd00003059bc03sc00i00
vendor   : NVIDIA Corporation
model    : GK106 [GeForce GTX 650 Ti]
driver   : nvidia-driver-390 - distro non-free
driver   : nvidia-driver-450-server - distro non-free recommended
driver   : nvidia-340 - distro non-free
driver   : nvidia-driver-435 - distro non-free
driver   : nvidia-driver-418-server - distro non-free
driver   : nvidia-driver-440-server - distro non-free
driver   : nvidia-driver-450 - distro non-free
driver   : xserver-xorg-video-nouveau - distro free builtin
"""

# repo zgle-fork/deepracer-for-dummies : scripts/3-validate.md @ 426436b371e3df8cb23fae4ac6b1379aca7856c4
# (AWS Tesla T4, 2020: no "model" line because pci.ids did not name 1eb8 yet; PPA drivers are "third-party free")
UD_T4_PPA = """\
== /sys/devices/pci0000:00/0000:00:1e.0 ==
modalias : pci:v000010DEd00001EB8sv000010DEsd000012A2bc03sc02i00
vendor   : NVIDIA Corporation
driver   : nvidia-driver-430 - distro non-free
driver   : nvidia-driver-435 - distro non-free
driver   : nvidia-driver-410 - third-party free
driver   : nvidia-driver-440 - third-party free recommended
driver   : xserver-xorg-video-nouveau - distro free builtin
"""

# code-index id 9016326212 (Korean Slurm-on-GCP guide, May 2024, Ubuntu 24.04 kernel 6.8.0-1007-gcp, Tesla T4):
# 24.04 prints "udevadm hwdb is deprecated" and an aplay error before the device block.
UD_T4_NOBLE = """\
$ sudo ubuntu-drivers devices
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
ERROR:root:aplay command not found
== /sys/devices/pci0000:00/0000:00:05.0 ==
modalias : pci:v000010DEd00001EB8sv000010DEsd000012A2bc03sc02i00
vendor   : NVIDIA Corporation
model    : TU104GL [Tesla T4]
driver   : nvidia-driver-535-server - distro non-free
driver   : nvidia-driver-535 - distro non-free recommended
driver   : nvidia-driver-470-server - distro non-free
driver   : nvidia-driver-470 - distro non-free
driver   : xserver-xorg-video-nouveau - distro free builtin
"""

# code-index id 54596445198 (an install log, 2026-07-03, Ubuntu 24.04 noble-updates, kernel 6.8.0-134; a Blackwell
# card 10de:2bb1 with no "model" line, only 580/595 branches offered, 595-open recommended)
UD_BLACKWELL_NOBLE = """\
$ ubuntu-drivers devices
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
ERROR:root:aplay command not found
== /sys/devices/pci0000:00/0000:00:1c.1/0000:02:00.0 ==
modalias : pci:v000010DEd00002BB1sv000010DEsd0000204Bbc03sc00i00
vendor   : NVIDIA Corporation
driver   : nvidia-driver-595 - distro non-free
driver   : nvidia-driver-595-server-open - distro non-free
driver   : nvidia-driver-595-server - distro non-free
driver   : nvidia-driver-595-open - distro non-free recommended
driver   : nvidia-driver-580 - distro non-free
driver   : nvidia-driver-580-server - distro non-free
driver   : nvidia-driver-580-open - distro non-free
driver   : nvidia-driver-580-server-open - distro non-free
driver   : xserver-xorg-video-nouveau - distro free builtin


[exit=0]
"""

# code-index id 44633581742 (July 2023 Ubuntu Server 22.04 VM, RTX 3060 LHR; quoted without the "== path ==" line),
# copied from https://salinger-tech-blog.web.app/posts/20230723-ubuntu-server-2204-docker-gpu/
UD_3060_NO_HEADER = """\
$ ubuntu-drivers devices
modalias : pci:v000010DEd00002504sv00001462sd00008E90bc03sc00i00
vendor   : NVIDIA Corporation
model    : GA106 [GeForce RTX 3060 Lite Hash Rate]
driver   : nvidia-driver-535-server - distro non-free
driver   : nvidia-driver-535-server-open - distro non-free recommended
driver   : nvidia-driver-525-open - distro non-free
driver   : nvidia-driver-535-open - distro non-free
driver   : nvidia-driver-470-server - distro non-free
driver   : nvidia-driver-470 - distro non-free
driver   : nvidia-driver-535 - distro non-free
driver   : nvidia-driver-525-server - distro non-free
driver   : nvidia-driver-525 - distro non-free
driver   : xserver-xorg-video-nouveau - distro free builtin
"""


def test_ubuntu_drivers_devices_classic():
    (dev,) = parse_ubuntu_drivers_devices(UD_GTX650TI)
    assert dev.sysfs_path == "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"
    assert dev.pci_address == "0000:01:00.0"
    assert dev.pci_id == "10de:11c6"
    assert dev.model == "GK106 [GeForce GTX 650 Ti]"
    assert len(dev.drivers) == 8
    assert dev.recommended is not None and dev.recommended.package == "nvidia-driver-450-server"
    assert dev.recommended.is_server and not dev.recommended.is_open
    nouveau = dev.drivers[-1]
    assert (nouveau.package, nouveau.from_distro, nouveau.free, nouveau.builtin) == (
        "xserver-xorg-video-nouveau",
        True,
        True,
        True,
    )
    assert dev.drivers[2].package == "nvidia-340"  # pre-"nvidia-driver-" naming


def test_ubuntu_drivers_devices_third_party_and_no_model():
    (dev,) = parse_ubuntu_drivers_devices(UD_T4_PPA)
    assert dev.model == ""
    assert dev.pci_address == "0000:00:1e.0"
    assert dev.recommended.package == "nvidia-driver-440"
    assert dev.recommended.from_distro is False and dev.recommended.free is True


def test_ubuntu_drivers_devices_noble_noise():
    (dev,) = parse_ubuntu_drivers_devices(UD_T4_NOBLE)
    assert dev.model == "TU104GL [Tesla T4]"
    assert dev.pci_address == "0000:00:05.0"
    assert [d.package for d in dev.drivers][:2] == ["nvidia-driver-535-server", "nvidia-driver-535"]
    assert dev.recommended.package == "nvidia-driver-535"


def test_ubuntu_drivers_devices_blackwell_open_recommended():
    (dev,) = parse_ubuntu_drivers_devices(UD_BLACKWELL_NOBLE)
    assert dev.pci_id == "10de:2bb1"
    assert dev.pci_address == "0000:02:00.0"
    assert dev.recommended.package == "nvidia-driver-595-open"
    assert dev.recommended.is_open
    assert len(dev.drivers) == 9


def test_ubuntu_drivers_devices_without_header_line():
    (dev,) = parse_ubuntu_drivers_devices(UD_3060_NO_HEADER)
    assert dev.sysfs_path == "" and dev.pci_address is None
    assert dev.pci_id == "10de:2504"
    assert dev.recommended.package == "nvidia-driver-535-server-open"


def test_ubuntu_drivers_devices_odd_input():
    assert parse_ubuntu_drivers_devices("") == ()
    assert parse_ubuntu_drivers_devices("All the available drivers are already installed.\n") == ()


# --------------------------------------------------------------------------------------------- ubuntu-drivers list

# research notes section 6 (code-index id 49743401208): `ubuntu-drivers list --gpgpu` on 22.04
UD_LIST_GPGPU_JAMMY = """\
nvidia-driver-535-server-open, (kernel modules provided by linux-modules-nvidia-535-server-open-generic-hwe-22.04)
nvidia-driver-535-open, (kernel modules provided by linux-modules-nvidia-535-open-generic-hwe-22.04)
nvidia-driver-535-server, (kernel modules provided by linux-modules-nvidia-535-server-generic-hwe-22.04)
nvidia-driver-535, (kernel modules provided by linux-modules-nvidia-535-generic-hwe-22.04)
"""

# code-index id 57054426749 (Ubuntu Forums thread copy, brad-s144, 2024-01-30, 22.04 + ppa:graphics-drivers):
# the PPA's 545 has no precompiled modules, so ubuntu-drivers names the DKMS package
UD_LIST_PPA = """\
brad@brad-Alienware-m16-R1-AMD:~$ sudo ubuntu-drivers list
nvidia-driver-535-server, (kernel modules provided by linux-modules-nvidia-535-server-generic-hwe-22.04)
nvidia-driver-525, (kernel modules provided by linux-modules-nvidia-525-generic-hwe-22.04)
nvidia-driver-545, (kernel modules provided by nvidia-dkms-545)
nvidia-driver-535-server-open, (kernel modules provided by linux-modules-nvidia-535-server-open-generic-hwe-22.04)
nvidia-driver-545-open, (kernel modules provided by nvidia-dkms-545-open)
nvidia-driver-525-server, (kernel modules provided by linux-modules-nvidia-525-server-generic-hwe-22.04)
nvidia-driver-525-open, (kernel modules provided by linux-modules-nvidia-525-open-generic-hwe-22.04)
nvidia-driver-535, (kernel modules provided by linux-modules-nvidia-535-generic-hwe-22.04)
nvidia-driver-535-open, (kernel modules provided by linux-modules-nvidia-535-open-generic-hwe-22.04)
brad@brad-Alienware-m16-R1-AMD:~$ grep .  /sys/module/nvidia/version
"""

# code-index id 57180769770 (Ubuntu Forums thread copy, MrSums, 2020-12-15, 20.04): nvidia-340 has no module package
UD_LIST_FOCAL = """\
robert@lounge-lizard:~/Desktop$ ubuntu-drivers list
nvidia-driver-418-server, (kernel modules provided by linux-modules-nvidia-418-server-generic-hwe-20.04)
nvidia-driver-455, (kernel modules provided by linux-modules-nvidia-455-generic-hwe-20.04)
nvidia-driver-450-server, (kernel modules provided by linux-modules-nvidia-450-server-generic-hwe-20.04)
nvidia-340
nvidia-driver-440-server, (kernel modules provided by linux-modules-nvidia-440-server-generic-hwe-20.04)
nvidia-driver-450, (kernel modules provided by linux-modules-nvidia-450-generic-hwe-20.04)
nvidia-driver-390, (kernel modules provided by linux-modules-nvidia-390-generic-hwe-20.04)
"""

# code-index id 54596445198 (same 24.04 log as UD_BLACKWELL_NOBLE): `ubuntu-drivers list --gpgpu`
UD_LIST_GPGPU_NOBLE = """\
$ ubuntu-drivers list --gpgpu
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
udevadm hwdb is deprecated. Use systemd-hwdb instead.
nvidia-driver-595-server-open, (kernel modules provided by linux-modules-nvidia-595-server-open-generic)
nvidia-driver-580-server-open, (kernel modules provided by linux-modules-nvidia-580-server-open-generic)
nvidia-driver-595-server, (kernel modules provided by linux-modules-nvidia-595-server-generic)
nvidia-driver-580-server, (kernel modules provided by linux-modules-nvidia-580-server-generic)
nvidia-driver-595-open, (kernel modules provided by linux-modules-nvidia-595-open-generic)
nvidia-driver-580-open, (kernel modules provided by linux-modules-nvidia-580-open-generic)
nvidia-driver-595, (kernel modules provided by linux-modules-nvidia-595-generic)
nvidia-driver-580, (kernel modules provided by linux-modules-nvidia-580-generic)

[exit=0]
"""


def test_ubuntu_drivers_list_gpgpu_jammy():
    entries = parse_ubuntu_drivers_list(UD_LIST_GPGPU_JAMMY)
    assert [e.package for e in entries] == [
        "nvidia-driver-535-server-open",
        "nvidia-driver-535-open",
        "nvidia-driver-535-server",
        "nvidia-driver-535",
    ]
    assert entries[3].kernel_modules == "linux-modules-nvidia-535-generic-hwe-22.04"
    assert not entries[3].modules_are_dkms


def test_ubuntu_drivers_list_dkms_and_prompts():
    entries = parse_ubuntu_drivers_list(UD_LIST_PPA)
    assert len(entries) == 9  # the shell prompt lines are not packages
    by_name = {e.package: e for e in entries}
    assert by_name["nvidia-driver-545"].kernel_modules == "nvidia-dkms-545"
    assert by_name["nvidia-driver-545"].modules_are_dkms


def test_ubuntu_drivers_list_package_without_modules():
    entries = parse_ubuntu_drivers_list(UD_LIST_FOCAL)
    assert len(entries) == 7
    assert entries[3].package == "nvidia-340" and entries[3].kernel_modules is None


def test_ubuntu_drivers_list_noble_noise():
    entries = parse_ubuntu_drivers_list(UD_LIST_GPGPU_NOBLE)
    assert len(entries) == 8
    assert entries[0].package == "nvidia-driver-595-server-open"
    assert entries[0].kernel_modules == "linux-modules-nvidia-595-server-open-generic"


def test_ubuntu_drivers_list_recommended_form():
    # `--recommended` prints two space-separated names; no real capture was found, this line is the example in
    # repo canonical/ubuntu-drivers-common : ubuntu-drivers @ d3d785609b864f39ddce16098c9a64f3ff79057e (comment)
    (entry,) = parse_ubuntu_drivers_list("nvidia-headless-no-dkms-470-server linux-modules-nvidia-470-server-generic\n")
    assert entry.package == "nvidia-headless-no-dkms-470-server"
    assert entry.kernel_modules == "linux-modules-nvidia-470-server-generic"


# ---------------------------------------------------------------------------------------------------- nvidia-detect

# code-index id 12729450645 (Open Food Facts infrastructure report "GPU passthrough configuration on osm45",
# Debian 12 VM with two GTX 1080 passed through)
ND_TWO_1080 = """\
Detected NVIDIA GPUs:
02:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP104 [GeForce GTX 1080] [10de:1b80] (rev a1)
83:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP104 [GeForce GTX 1080] [10de:1b80] (rev a1)

Checking card:  NVIDIA Corporation GP104 [GeForce GTX 1080] (rev a1)
Your card is supported by all driver versions.
Your card is also supported by the Tesla 470 drivers series.
It is recommended to install the
    nvidia-driver
package.

Checking card:  NVIDIA Corporation GP104 [GeForce GTX 1080] (rev a1)
Your card is supported by all driver versions.
Your card is also supported by the Tesla 470 drivers series.
It is recommended to install the
    nvidia-driver
package.
"""

# code-index id 19130967837 (Chinese Debian laptop notes, Oct 2016, GT 730M)
ND_GT730M = """\
Detected NVIDIA GPUs:
02:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK208M [GeForce GT 730M] [10de:1290] (rev a1)

Checking card:  NVIDIA Corporation GK208M [GeForce GT 730M] (rev a1)
Your card is supported by the default drivers and legacy driver series 340.
It is recommended to install the
    nvidia-driver
package.
"""

# code-index id 9789862798 (Chinese blog "Debian 安装 NVIDIA 显卡驱动(台式机)", 2016-02-22, jessie: no "Checking card:")
ND_JESSIE = """\
# nvidia-detect
Detected NVIDIA GPUs:
01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK107 [GeForce GTX 650] [10de:0fc6] (rev a1)
Your card is supported by the default drivers and legacy driver series 304.
It is recommended to install the
   nvidia-driver
package.
"""

# code-index id 3826316728 (Japanese blog, 2019-02-12; the post quotes only the verdict lines)
ND_LEGACY_390 = """\
Your card is only supported up to the 390 legacy drivers series.
It is recommended to install the
    nvidia-legacy-390xx-driver
package.
"""

# Kali Linux documentation, "Install NVIDIA GPU Drivers"
# (https://www.kali.org/docs/general-use/install-nvidia-drivers-on-kali-linux/, code-index id 40870113891):
# on a rolling distribution nvidia-detect cannot name a package
ND_KALI = """\
kali@kali:~$ nvidia-detect
Detected NVIDIA GPUs:
01:00.0 3D controller [0302]: NVIDIA Corporation GM108M [GeForce 940MX] [10de:134d] (rev a2)

Checking card:  NVIDIA Corporation GM108M [GeForce 940MX] (rev a2)
Uh oh. Failed to identify your Debian suite.

kali@kali:~$
"""


def test_nvidia_detect_two_cards():
    result = parse_nvidia_detect(ND_TWO_1080)
    assert len(result.gpus) == 2 and result.gpus[1].startswith("83:00.0 VGA")
    assert len(result.cards) == 2
    assert result.cards[0].name == "NVIDIA Corporation GP104 [GeForce GTX 1080] (rev a1)"
    assert result.packages == ("nvidia-driver",)
    assert not result.legacy
    assert result.cards[0].supported is True
    assert "Your card is also supported by the Tesla 470 drivers series." in result.cards[0].messages


def test_nvidia_detect_default_driver_with_legacy_alternative():
    result = parse_nvidia_detect(ND_GT730M)
    (card,) = result.cards
    assert card.package == "nvidia-driver" and not card.legacy


def test_nvidia_detect_jessie_format():
    result = parse_nvidia_detect(ND_JESSIE)
    assert result.gpus == (
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK107 [GeForce GTX 650] [10de:0fc6] (rev a1)",
    )
    (card,) = result.cards
    assert card.name == "" and card.package == "nvidia-driver"


def test_nvidia_detect_legacy_only():
    (card,) = parse_nvidia_detect(ND_LEGACY_390).cards
    assert card.package == "nvidia-legacy-390xx-driver"
    assert card.legacy and card.supported is True


def test_nvidia_detect_unknown_suite():
    result = parse_nvidia_detect(ND_KALI)
    (card,) = result.cards
    assert card.name == "NVIDIA Corporation GM108M [GeForce 940MX] (rev a2)"
    assert card.package is None and card.supported is None
    assert result.packages == ()


def test_nvidia_detect_odd_input():
    assert parse_nvidia_detect("").cards == ()
    # the "no GPU" line is the script's own text (Debian nvidia-detect, as copied in code-index id 7175791748)
    assert parse_nvidia_detect("No NVIDIA GPU detected.\n").no_gpu


# ------------------------------------------------------------------------------------------------------ dkms status

# https://github.com/morrownr/rtl8852bu/issues/7 (dkms 3.0.10, nvidia-driver-535 on a mainline 6.5 kernel)
DKMS_NEW = """\
~$ dkms status
nvidia/535.86.05, 6.5.0-060500rc5-generic, x86_64: installed
rtl8852bu/1.19.3, 6.5.0-060500rc5-generic, x86_64: installed
"""

# https://github.com/strongtz/i915-sriov-dkms/issues/274 (Proxmox 8.3)
DKMS_DIFF = """\
pve01:~# dkms status
i915-sriov-dkms/2025.03.26, 6.11.11-1-pve, x86_64: installed
i915-sriov-dkms/2025.03.26, 6.11.11-2-pve, x86_64: installed (WARNING! Diff between built and installed module!)
"""

# https://github.com/negativo17/nvidia-driver/issues/56 (Fedora 28, dkms 2 comma format)
DKMS_OLD = """\
#dkms status
nvidia, 396.45, 4.17.11-200.fc28.x86_64, x86_64: installed
nvidia, 396.45, 4.17.12-200.fc28.x86_64, x86_64: installed
nvidia, 396.45, 4.17.14-202.fc28.x86_64, x86_64: installed
"""
DKMS_OLD_ERROR = """\
$ dkms status
Error! Could not locate dkms.conf file.
File: /var/lib/dkms/nvidia/390.48/source/dkms.conf does not exist.
"""
DKMS_OLD_ORIGINAL = """\
$ dkms status
nvidia, 396.45, 4.17.14-202.fc28.x86_64, x86_64: installed (original_module exists)
"""

# code-index id 57104227141 (Ubuntu Forums thread copy, en1i, 2021-01-04, 20.04): added / built / installed mixed
DKMS_OLD_MIXED = """\
nvidia, 450.80.02, 5.4.0-56-generic, x86_64: installed
nvidia, 450.80.02, 5.4.0-58-generic, x86_64: installed
realtek-rtl88xxau, 5.6.4.2~20201019: added
rtl8812au, 4.3.8.12175.20140902+dfsg, 5.4.0-58-generic, x86_64: installed
rtl8814au, 4.3.21, 5.4.0-58-generic, x86_64: built
"""

# code-index id 63113921064 (incident write-up: unattended-upgrades installed kernel 6.5.0-44 and DKMS never
# built the module for it; the output is quoted as a shell comment there)
DKMS_NEW_ADDED = "nvidia/535.183.01: added\n"


def test_dkms_new_format():
    nvidia, other = parse_dkms_status(DKMS_NEW)
    assert (nvidia.module, nvidia.version, nvidia.kernel, nvidia.arch, nvidia.state) == (
        "nvidia",
        "535.86.05",
        "6.5.0-060500rc5-generic",
        "x86_64",
        "installed",
    )
    assert nvidia.installed and other.module == "rtl8852bu"


def test_dkms_warning_note():
    first, second = parse_dkms_status(DKMS_DIFF)
    assert first.notes == ()
    assert second.kernel == "6.11.11-2-pve"
    assert second.notes == ("WARNING! Diff between built and installed module!",)


def test_dkms_old_format():
    modules = parse_dkms_status(DKMS_OLD)
    assert [m.kernel for m in modules] == [
        "4.17.11-200.fc28.x86_64",
        "4.17.12-200.fc28.x86_64",
        "4.17.14-202.fc28.x86_64",
    ]
    assert all(m.module == "nvidia" and m.version == "396.45" and m.arch == "x86_64" for m in modules)
    (orig,) = parse_dkms_status(DKMS_OLD_ORIGINAL)
    assert orig.notes == ("original_module exists",)
    assert parse_dkms_status(DKMS_OLD_ERROR) == ()


def test_dkms_added_and_built():
    modules = parse_dkms_status(DKMS_OLD_MIXED)
    added = modules[2]
    assert (added.module, added.version, added.kernel, added.arch, added.state) == (
        "realtek-rtl88xxau",
        "5.6.4.2~20201019",
        None,
        None,
        "added",
    )
    assert modules[3].version == "4.3.8.12175.20140902+dfsg"
    assert modules[4].state == "built" and not modules[4].installed
    (nvidia,) = parse_dkms_status(DKMS_NEW_ADDED)
    assert (nvidia.module, nvidia.version, nvidia.kernel, nvidia.state) == ("nvidia", "535.183.01", None, "added")


# ------------------------------------------------------------------------------------------------------ kernel log

# https://github.com/NVIDIA/gpu-operator/issues/492 (RKE2 worker VM, driver 510.108.03; research notes 4a)
KLOG_BAR1_VM = """\
[83260.063553] NVRM: This PCI I/O region assigned to your NVIDIA device is invalid:
               NVRM: BAR1 is 0M @ 0x0 (PCI:0000:14:00.0)
[83260.063557] nvidia: probe of 0000:14:00.0 failed with error -1
[83260.063863] nvidia 0000:1b:00.0: vgaarb: changed VGA decodes: olddecodes=none,decodes=none:owns=none
[83260.106423] NVRM: This PCI I/O region assigned to your NVIDIA device is invalid:
               NVRM: BAR1 is 0M @ 0x0 (PCI:0000:1c:00.0)
[83260.106426] nvidia: probe of 0000:1c:00.0 failed with error -1
[83260.106438] NVRM: The NVIDIA probe routine failed for 2 device(s).
[83260.106441] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  510.108.03  Thu Oct 20 05:10:45 UTC 2022
"""

# https://github.com/system76/firmware-open/issues/66 (BAR0 variant, with the BIOS hint and "None ... initialized")
KLOG_BAR0 = """\
[   28.108225] nvidia-nvlink: Nvlink Core is being initialized, major device number 237
[   28.109029] NVRM: This PCI I/O region assigned to your NVIDIA device is invalid:
               NVRM: BAR0 is 0M @ 0x0 (PCI:0000:06:00.0)
[   28.109032] NVRM: The system BIOS may have misconfigured your GPU.
[   28.109040] nvidia: probe of 0000:06:00.0 failed with error -1
[   28.109101] NVRM: The NVIDIA probe routine failed for 1 device(s).
[   28.109102] NVRM: None of the NVIDIA devices were initialized.
[   28.109976] nvidia-nvlink: Unregistered the Nvlink Core, major device number 237
"""

# seed 000 (Arch wiki line quoted on one line)
KLOG_BAR1_ONE_LINE = (
    "NVRM: This PCI I/O region assigned to your NVIDIA device is invalid: NVRM: BAR1 is 0M @ 0x0 (PCI:0000:0a:00.0)"
)


def test_kernel_log_bar1_in_vm():
    faults = classify_kernel_log(KLOG_BAR1_VM)
    assert [f.kind for f in faults] == [BAR_INVALID, PROBE_ERROR, BAR_INVALID, PROBE_ERROR, PROBE_FAILED]
    bar = faults[0]
    assert bar.details == {"bar": "BAR1", "size": "0M", "address": "0x0", "pci": "0000:14:00.0"}
    assert bar.line.startswith("[83260.063553] NVRM: This PCI I/O region")
    assert faults[1].details == {"driver": "nvidia", "pci": "0000:14:00.0", "error": "-1"}
    assert faults[2].get("pci") == "0000:1c:00.0"
    assert faults[4].get("count") == "2"


def test_kernel_log_bar0_and_none_initialized():
    faults = classify_kernel_log(KLOG_BAR0.splitlines())
    assert [f.kind for f in faults] == [BAR_INVALID, PROBE_ERROR, PROBE_FAILED, NONE_INITIALIZED]
    assert faults[0].get("bar") == "BAR0" and faults[0].get("pci") == "0000:06:00.0"


def test_kernel_log_bar_single_line():
    (fault,) = classify_kernel_log(KLOG_BAR1_ONE_LINE)
    assert fault.kind == BAR_INVALID and fault.get("pci") == "0000:0a:00.0" and fault.get("bar") == "BAR1"


# https://github.com/NVIDIA/open-gpu-kernel-modules/issues/789 (RTX 3090, 550.144.03, Ubuntu 22.04)
KLOG_RM_INIT_GSP = """\
[  903.609564] NVRM: RmInitAdapter: Cannot initialize GSP firmware RM
[  903.610907] NVRM: GPU 0000:98:00.0: RmInitAdapter failed! (0x62:0x65:1792)
[  903.611884] NVRM: GPU 0000:98:00.0: rm_init_adapter failed, device minor number 0
"""

# https://github.com/NVIDIA/cuda-samples/issues/104 (journal format, Debian 11 VM on VMware, 510.47.03)
KLOG_RM_INIT_JOURNAL = """\
Feb 09 15:47:05 debian kernel: ACPI Warning: \\_SB.PCI0.PE60.S1F0._DSM: Argument #4 type mismatch - Found [Buffer], ACPI requires [Package] (20200925/nsarguments-61)
Feb 09 15:47:06 debian kernel: NVRM: GPU 0000:13:00.0: RmInitAdapter failed! (0x26:0x56:1463)
Feb 09 15:47:06 debian kernel: BUG: unable to handle page fault for address: 0000000000002a04
"""

# https://github.com/NVIDIA/open-gpu-kernel-modules/issues/116 (early open module prints "NVRM" without a colon)
KLOG_RM_INIT_OPEN = """\
[    3.596579] NVRM kgspInitRm_IMPL: missing NVDEC0 engine, cannot initialize GSP-RM
[    3.596583] NVRM RmInitAdapter: Cannot initialize GSP firmware RM
[    3.596745] NVRM: GPU 0000:01:00.0: RmInitAdapter failed! (0x63:0x56:1689)
[    3.597360] NVRM: GPU 0000:01:00.0: rm_init_adapter failed, device minor number 0
"""


@pytest.mark.parametrize(
    "log, pci, code",
    [
        (KLOG_RM_INIT_GSP, "0000:98:00.0", "0x62:0x65:1792"),
        (KLOG_RM_INIT_JOURNAL, "0000:13:00.0", "0x26:0x56:1463"),
        (KLOG_RM_INIT_OPEN, "0000:01:00.0", "0x63:0x56:1689"),
    ],
)
def test_kernel_log_rm_init_adapter(log, pci, code):
    (fault,) = classify_kernel_log(log)
    assert fault.kind == RM_INIT_ADAPTER
    assert fault.details == {"pci": pci, "code": code}


# https://github.com/stackhpc/ansible-slurm-appliance/issues/287 (rsyslog writes the newlines as "#012")
KLOG_API_MISMATCH_SYSLOG = (
    "Jun 30 11:07:05 gpu-0 kernel: NVRM: API mismatch: the client has the version 535.54.03, but#012NVRM: this kernel"
    " module has the version 530.30.02.  Please#012NVRM: make sure that this kernel module and all NVIDIA driver#012NVRM:"
    " components have the same version.\n"
)

# https://github.com/NVIDIA/nvidia-docker/issues/182 (journalctl, continuation lines indented)
KLOG_API_MISMATCH_JOURNAL = """\
Aug 26 14:08:07 nyasara-linux kernel: NVRM: API mismatch: the client has the version 367.44, but
                                      NVRM: this kernel module has the version 367.35.  Please
                                      NVRM: make sure that this kernel module and all NVIDIA driver
                                      NVRM: components have the same version.
"""

# https://github.com/negativo17/nvidia-driver/issues/43 (Fedora 27, bare lines)
KLOG_API_MISMATCH_BARE = """\
NVRM: API mismatch: the client has the version 390.25, but
NVRM: this kernel module has the version 390.12.  Please
NVRM: make sure that this kernel module and all NVIDIA driver
NVRM: components have the same version.
"""

# https://github.com/Frogging-Family/nvidia-all/issues/394 (595 series names the client and its pid)
KLOG_API_MISMATCH_CLIENT = """\
[    8.805842] r8169 0000:83:00.0: invalid VPD tag 0xff (size 0) at offset 0; assume missing optional EEPROM
[    9.424670] NVRM: API mismatch: the client 'kwin_wayland' (pid 1005)
               NVRM: has the version 595.84, but this kernel module has
               NVRM: the version 595.80.  Please make sure that this
               NVRM: kernel module and all NVIDIA driver components
               NVRM: have the same version.
"""


@pytest.mark.parametrize(
    "log, client_version, kernel_version",
    [
        (KLOG_API_MISMATCH_SYSLOG, "535.54.03", "530.30.02"),
        (KLOG_API_MISMATCH_JOURNAL, "367.44", "367.35"),
        (KLOG_API_MISMATCH_BARE, "390.25", "390.12"),
        (KLOG_API_MISMATCH_CLIENT, "595.84", "595.80"),
    ],
)
def test_kernel_log_api_mismatch(log, client_version, kernel_version):
    (fault,) = classify_kernel_log(log)
    assert fault.kind == API_MISMATCH
    assert fault.get("client_version") == client_version
    assert fault.get("kernel_version") == kernel_version


def test_kernel_log_api_mismatch_names_client():
    (fault,) = classify_kernel_log(KLOG_API_MISMATCH_CLIENT)
    assert fault.get("client") == "kwin_wayland" and fault.get("pid") == "1005"


# https://github.com/mattshma/bigdata/issues/133 (three V100s owned by nouveau)
KLOG_PROBE_NOT_CALLED = """\
[188497.595099] NVRM: No NVIDIA graphics adapter probed!
[188497.595838] nvidia-nvlink: Unregistered the Nvlink Core, major device number 239
[188549.975172] nvidia-nvlink: Nvlink Core is being initialized, major device number 239
[188549.976351] NVRM: The NVIDIA probe routine was not called for 3 device(s).
[188549.977053] NVRM: This can occur when a driver such as: 
NVRM: nouveau, rivafb, nvidiafb or rivatv 
NVRM: was loaded and obtained ownership of the NVIDIA device(s).
[188549.978961] NVRM: Try unloading the conflicting kernel module (and/or
NVRM: reconfigure your kernel without the conflicting
NVRM: driver(s)), then try loading the NVIDIA kernel module
NVRM: again.
"""  # the trailing spaces are in the capture

# https://github.com/MrMEEE/ironhide/issues/41 (2011 wording)
KLOG_PROBE_NOT_CALLED_OLD = """\
[ 9687.215135] NVRM: The NVIDIA probe routine was not called for 1 device(s).
[ 9687.215145] NVRM: This can occur when a driver such as nouveau, rivafb,
[ 9687.215149] NVRM: nvidiafb, or rivatv was loaded and obtained ownership of
[ 9687.215153] NVRM: the NVIDIA device(s).
[ 9687.215161] NVRM: Try unloading the conflicting kernel module (and/or
[ 9687.215165] NVRM: reconfigure your kernel without the conflicting
[ 9687.215168] NVRM: driver(s)), then try loading the NVIDIA kernel module
[ 9687.215172] NVRM: again.
[ 9687.215178] NVRM: No NVIDIA graphics adapter probed!
"""

# https://github.com/beclab/Olares/pull/3963 (Ubuntu 26.04, kernel 7.0 with CONFIG_NOVA_CORE=m)
KLOG_NOVA_BOUND = """\
[  201.910514] NVRM: GPU 0000:01:00.0 is already bound to NovaCore.
[  201.913648] NVRM: No NVIDIA devices probed.
"""


def test_kernel_log_probe_not_called():
    faults = classify_kernel_log(KLOG_PROBE_NOT_CALLED)
    assert [f.kind for f in faults] == [NO_DEVICES, PROBE_NOT_CALLED]
    assert faults[1].get("count") == "3"
    old = classify_kernel_log(KLOG_PROBE_NOT_CALLED_OLD)
    assert [f.kind for f in old] == [PROBE_NOT_CALLED, NO_DEVICES]


def test_kernel_log_already_bound_to_nova():
    bound, none = classify_kernel_log(KLOG_NOVA_BOUND)
    assert bound.kind == ALREADY_BOUND and bound.details == {"pci": "0000:01:00.0", "driver": "NovaCore"}
    assert none.kind == NO_DEVICES


# https://github.com/Dasharo/dasharo-issues/issues/1597 (nouveau on an AD107, GSP firmware missing)
KLOG_NOUVEAU_AD107 = """\
[    5.559076] nouveau 0000:01:00.0: NVIDIA AD107 (197000a1)
[    5.559105] nouveau 0000:01:00.0: gsp ctor failed: -2
[    5.561770] nouveau 0000:01:00.0: probe with driver nouveau failed with error -2
"""

# https://github.com/Bumblebee-Project/Bumblebee/issues/684 (2015 nouveau wording, GM204)
KLOG_NOUVEAU_OLD = """\
[   87.069248] nouveau  [  DEVICE][0000:01:00.0] BOOT0  : 0x124170a1
[   87.069250] nouveau  [  DEVICE][0000:01:00.0] Chipset: GM204 (NV124)
[   87.069251] nouveau  [  DEVICE][0000:01:00.0] Family : NV110
"""
KLOG_NOUVEAU_DRM = """\
[   57.146655] nouveau 0000:01:00.0: fb1: nouveaufb frame buffer device
[   57.146668] [drm] Initialized nouveau 1.2.1 20120801 for 0000:01:00.0 on minor 1
"""

# dri-devel / rust-for-linux list, Nova Turing series cover letter (code-index id 52092699949)
KLOG_NOVA_TU106 = """\
NovaCore 0000:08:00.0: NVIDIA (Chipset: TU106, Architecture: Turing, Revision: a.1)
NovaCore 0000:08:00.0: GPU name: NVIDIA GeForce RTX 2070
"""
# same list, Blackwell not yet supported by nova_core (code-index id 12572681815)
KLOG_NOVA_BLACKWELL = """\
NovaCore 0000:01:00.0: Probe Nova Core GPU driver.
NovaCore 0000:01:00.0: Unsupported chipset: boot42 = 0x1b2a1000 (architecture 0x1b, implementation 0x2)
NovaCore 0000:01:00.0: probe with driver NovaCore failed with error -524
"""


def test_kernel_log_nouveau():
    bound, probe = classify_kernel_log(KLOG_NOUVEAU_AD107)
    assert bound.kind == NOUVEAU_BOUND
    assert bound.details == {"pci": "0000:01:00.0", "chipset": "AD107", "boot0": "197000a1"}
    assert probe.kind == PROBE_ERROR and probe.details == {"pci": "0000:01:00.0", "driver": "nouveau", "error": "-2"}
    (old,) = classify_kernel_log(KLOG_NOUVEAU_OLD)
    assert old.kind == NOUVEAU_BOUND and old.get("chipset") == "GM204"
    (drm,) = classify_kernel_log(KLOG_NOUVEAU_DRM)
    assert drm.kind == NOUVEAU_BOUND and drm.get("minor") == "1"


def test_kernel_log_nova_core():
    (bound,) = classify_kernel_log(KLOG_NOVA_TU106)
    assert bound.kind == NOVA_CORE_BOUND
    assert bound.details == {"pci": "0000:08:00.0", "chipset": "TU106", "architecture": "Turing"}
    (probe,) = classify_kernel_log(KLOG_NOVA_BLACKWELL)
    assert probe.kind == PROBE_ERROR and probe.get("driver") == "NovaCore" and probe.get("error") == "-524"


# https://github.com/siderolabs/talos/issues/7043 (Talos `dmesg`: kernel line, then Talos' own controller error)
KLOG_KEY_TALOS = (
    "10.20.30.29: kern:  notice: [2023-04-02T08:28:32.591090611Z]: Loading of module with unavailable key is rejected\n"
    '10.20.30.29: user: warning: [2023-04-02T08:28:32.661330611Z]: [talos] controller failed {"component": '
    '"controller-runtime", "controller": "runtime.KernelModuleSpecController", "error": "error loading module '
    '\\x5c"nvidia\\x5c": load nvidia failed: key was rejected by service"}\n'
)

# https://github.com/tuxedocomputers/tuxedo-keyboard/issues/186 (systemctl status dkms, openSUSE Tumbleweed)
KLOG_KEY_DKMS_UNIT = """\
Aug 04 19:34:09 linux-tuxedo dkms.systemd[1627]: modprobe: ERROR: could not insert 'clevo_acpi': Key was rejected by service
Aug 04 19:34:09 linux-tuxedo dkms.systemd[1631]: modprobe: ERROR: could not insert 'clevo_wmi': Key was rejected by service
"""

# code-index id 57021943349 (Ubuntu Forums thread copy, c-bessem, 2018-10-18, driver 390 via DKMS)
KLOG_KEY_REQUIRED = """\
>sudo modprobe -v nvidia
insmod /lib/modules/4.15.0-36-generic/updates/dkms/nvidia.ko 
modprobe: ERROR: could not insert 'nvidia': Required key not available
"""

# openSUSE wiki SDB:NVIDIA_drivers (https://en.opensuse.org/SDB:NVIDIA_drivers, code-index id 40448140194)
KLOG_KEY_LOCKDOWN = """\
Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7
modprobe: ERROR: could not insert 'nvidia': Required key not available
"""

# https://github.com/NVIDIA/k8s-device-plugin/issues/480 (Secure Boot off: the module loads, the kernel is tainted)
KLOG_UNSIGNED = """\
[    2.829492] nvidia: loading out-of-tree module taints kernel.
[    2.829501] nvidia: module license 'NVIDIA' taints kernel.
[    2.846803] nvidia: module verification failed: signature and/or required key missing - tainting kernel
[    2.961803] nvidia-nvlink: Nvlink Core is being initialized, major device number 239
[    3.011519] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  525.147.05  Wed Oct 25 20:27:35 UTC 2023
"""


def test_kernel_log_key_rejected():
    kernel, talos = classify_kernel_log(KLOG_KEY_TALOS)
    assert kernel.kind == KEY_REJECTED and kernel.details == {}
    assert talos.kind == KEY_REJECTED and talos.get("module") == "nvidia"
    acpi, wmi = classify_kernel_log(KLOG_KEY_DKMS_UNIT)
    assert acpi.details == {"module": "clevo_acpi", "error": "Key was rejected by service"}
    assert wmi.get("module") == "clevo_wmi"
    (required,) = classify_kernel_log(KLOG_KEY_REQUIRED)
    assert required.details == {"module": "nvidia", "error": "Required key not available"}
    lockdown, insert = classify_kernel_log(KLOG_KEY_LOCKDOWN)
    assert lockdown.kind == KEY_REJECTED and lockdown.get("process") == "modprobe"
    assert insert.get("module") == "nvidia"


def test_kernel_log_unsigned_module_is_not_a_rejection():
    (fault,) = classify_kernel_log(KLOG_UNSIGNED)
    assert fault.kind == UNSIGNED_MODULE and fault.get("module") == "nvidia"


# https://github.com/siderolabs/extensions/issues/227 (Tesla P40 vGPU with the public 535 driver; Talos escapes
# newlines as "\x0a")
KLOG_UNSUPPORTED = (
    "kern: warning: [2023-09-14T03:08:37.411164757Z]: NVRM: The NVIDIA GPU 0000:00:10.0 (PCI ID: 10de:1b38)\\x0aNVRM: "
    "installed in this system is not supported by the\\x0aNVRM: NVIDIA 535.54.03 driver release.\\x0aNVRM: Please see "
    "'Appendix A - Supported NVIDIA GPU Products'\\x0aNVRM: in this release's README, available on the operating system"
    "\\x0aNVRM: specific graphics driver download page at www.nvidia.com.\n"
    "kern: warning: [2023-09-14T03:08:37.433482757Z]: nvidia: probe of 0000:00:10.0 failed with error -1\n"
    "kern: warning: [2023-09-14T03:08:37.434129757Z]: NVRM: The NVIDIA probe routine failed for 1 device(s).\n"
)


def test_kernel_log_unsupported_gpu():
    unsupported, probe, failed = classify_kernel_log(KLOG_UNSUPPORTED)
    assert unsupported.kind == UNSUPPORTED_GPU
    assert unsupported.details == {"pci": "0000:00:10.0", "pci_id": "10de:1b38", "driver_version": "535.54.03"}
    assert probe.kind == PROBE_ERROR and failed.kind == PROBE_FAILED


# https://github.com/NVIDIA/NVSentinel/issues/155 (570.158.01 open module: fallen off the bus without an Xid)
KLOG_FALLEN_MULTI = """\
[ 1843.308145] NVRM: The NVIDIA GPU 0000:b3:00.0
               NVRM: (PCI ID: 10de:26b5) installed in this system has
               NVRM: fallen off the bus and is not responding to commands.
[ 1843.439662] NVRM: The NVIDIA probe routine failed for 1 device(s).
[ 1843.439669] NVRM: loading NVIDIA UNIX Open Kernel Module for x86_64  570.158.01  Release Build  (dvs-builder@U22-I3-B10-02-5)  Mon Jun  2 13:13:04 UTC 2025
"""
# same thread, maintainer's comment quoting the Xid form
KLOG_FALLEN_XID = "NVRM: Xid (PCI:0000:44:00): 79, GPU has fallen off the bus\n"

# https://github.com/Bumblebee-Project/Bumblebee/issues/554 (2014 wording)
KLOG_FALLEN_OLD = """\
[   49.261458] NVRM: GPU at 0000:01:00.0 has fallen off the bus.
[   49.261465] NVRM: os_pci_init_handle: invalid context!
"""


def test_kernel_log_fallen_off_bus():
    fallen, failed = classify_kernel_log(KLOG_FALLEN_MULTI)
    assert fallen.kind == FALLEN_OFF_BUS and fallen.details == {"pci": "0000:b3:00.0", "pci_id": "10de:26b5"}
    assert failed.kind == PROBE_FAILED
    (xid,) = classify_kernel_log(KLOG_FALLEN_XID)
    assert xid.kind == FALLEN_OFF_BUS and xid.get("xid") == "79" and xid.get("pci") == "0000:44:00"
    (old,) = classify_kernel_log(KLOG_FALLEN_OLD)
    assert old.kind == FALLEN_OFF_BUS and old.get("pci") == "0000:01:00.0"


# https://github.com/leptonai/gpud/pull/46 (`dmesg --ctime`)
KLOG_XID_CTIME = """\
[Fri Aug 30 11:11:22 2024] nvidia-peermem nv_get_p2p_free_callback:127 ERROR detected invalid context, skipping further processing
[Fri Aug 30 11:43:09 2024] NVRM: Xid (PCI:0000:cb:00): 13, pid='<unknown>', name=<unknown>, Graphics SM Warp Exception on (GPC 7, TPC 7, SM 0): Illegal Instruction Parameter
[Fri Aug 30 11:43:14 2024] NVRM: Xid (PCI:0000:cb:00): 109, pid=1797828, name=pt_main_thread, Ch 00000008, errorString CTX SWITCH TIMEOUT, Info 0x58005
"""

# https://github.com/NVIDIA/open-gpu-kernel-modules/issues/1150 (journal lines starting "kernel:")
KLOG_XID_JOURNAL = """\
kernel: NVRM: Xid (PCI:0000:dc:00): 45, pid=1818990, name=python3, Ch 00000001 caused by previous Xid 149
kernel: NVRM: Xid (PCI:0000:ed:00): 45, pid=1818992, name=python3, Ch 0000000c caused by previous Xid 145
"""

# https://github.com/Bumblebee-Project/Bumblebee/issues/677 (2015 format, no pid)
KLOG_XID_OLD = """\
[24128.828315] NVRM: Xid (PCI:0000:01:00): 32, Channel ID 00000000 intr 00004000
[24128.834365] NVRM: Xid (PCI:0000:01:00): 31, Ch 00000003, engmask 00000101, intr 10000000
"""

# https://github.com/leptonai/gpud/pull/1174 (NVLink Xid on a GB200 domain 0019, and Xid 94)
KLOG_XID_NVLINK = """\
NVRM: Xid (PCI:0019:01:00): 149, NETIR Fatal XC0 i0 Link -1 (0x000fe406 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000)
NVRM: Xid (PCI:0000:9b:00): 94, pid=1234, name=python3, Contained ECC error
"""


def test_kernel_log_xid():
    sm, ctx = classify_kernel_log(KLOG_XID_CTIME)
    assert sm.kind == XID
    assert sm.get("xid") == "13" and sm.get("pci") == "0000:cb:00" and sm.get("pid") == "<unknown>"
    assert ctx.get("pid") == "1797828" and ctx.get("name") == "pt_main_thread"
    first, _ = classify_kernel_log(KLOG_XID_JOURNAL)
    assert first.get("xid") == "45" and first.get("name") == "python3"
    assert first.get("message").endswith("caused by previous Xid 149")
    assert [f.get("xid") for f in classify_kernel_log(KLOG_XID_OLD)] == ["32", "31"]
    nvlink, ecc = classify_kernel_log(KLOG_XID_NVLINK)
    assert nvlink.get("pci") == "0019:01:00" and nvlink.get("xid") == "149" and nvlink.get("pid") is None
    assert ecc.get("xid") == "94"


def test_kernel_log_quiet_and_odd_input():
    assert classify_kernel_log("") == ()
    assert classify_kernel_log([]) == ()
    # a healthy load from the same k8s-device-plugin#480 capture, after the taint lines
    healthy = (
        "[    3.246519] [drm] [nvidia-drm] [GPU ID 0x00000100] Loading driver\n"
        "[    3.246521] [drm] Initialized nvidia-drm 0.0.0 20160202 for 0000:01:00.0 on minor 0\n"
    )
    assert classify_kernel_log(healthy) == ()
    # first lines alone (a `grep`ped log cut the rest off): the fault is known, its details are not
    (bar,) = classify_kernel_log(KLOG_BAR1_VM.splitlines()[0])
    assert bar.kind == BAR_INVALID and bar.details == {}
    (api,) = classify_kernel_log(KLOG_API_MISMATCH_BARE.splitlines()[0])
    assert api.kind == API_MISMATCH and api.details == {}


# ----------------------------------------------------------------------------------------------------- Secure Boot


@pytest.mark.parametrize(
    "dump, expected",
    [
        # https://github.com/saltstack/salt/issues/66955 (Ubuntu 22.04, `mokutil --sb-state`: SecureBoot enabled)
        ("00000000  06 00 00 00 01                                    |.....|", True),
        # same issue: the old sysfs vars/SecureBoot-*/data file is the value byte alone
        ("00000000  01                                                |.|", True),
        # https://github.com/lcp/mokutil/issues/70 (openSUSE Tumbleweed, Alienware desktop)
        ("00000000  06 00 00 00 01                                    |.....|", True),
    ],
)
def test_secure_boot_efivar_real(dump, expected):
    data = bytes.fromhex(dump.split("|")[0][len("00000000") :])
    assert parse_secure_boot_efivar(data) is expected


def test_secure_boot_efivar_off_and_odd():
    # No real capture of a disabled machine's efivar was found; the layout is the one above with value 0.
    assert parse_secure_boot_efivar(bytes([6, 0, 0, 0, 0])) is False
    assert parse_secure_boot_efivar(b"") is None
    assert parse_secure_boot_efivar(bytes([6, 0, 0, 0, 2])) is None
    assert parse_secure_boot_efivar(b"\x06\x00\x00") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        # repo ThunderSoft-SRIOV/sriov : docs/setup_host.md @ 1166f953ee3ef3158f3dfb7f510e6d7df91bf65b
        ("/var/lib/shim-signed/mok/MOK.der is already enrolled\n", True),
        # code-index id 28612443507 (ZFS-on-Debian Secure Boot signing guide)
        (
            "sudo mokutil --test-key /var/lib/shim-signed/mok/MOK.der\n/var/lib/shim-signed/mok/MOK.der is already enrolled\n",
            True,
        ),
        # code-index id 55321700588 (NVIDIA DKMS troubleshooting log: "Key was rejected by service", then this)
        ("/var/lib/shim-signed/mok/MOK.der is not enrolled\n", False),
        # code-index id 61672254092 (Vagrant/VirtualBox Secure Boot note)
        ("/var/lib/shim-signed/mok/MOK.der is not enrolled", False),
        # mokutil's own messages (repo lcp/mokutil : src/mokutil.c @ 9ae73db13e2bf0c610b0dcced5410fd6dc61f68a)
        ("MOK.der is already in the enrollment request\n", False),
        ("Failed to open MOK.der\n", None),
        ("", None),
    ],
)
def test_mokutil_test_key(text, expected):
    assert parse_mokutil_test_key(text) is expected


# code-index id 1409673599 (Korean GPU-server notes, Ubuntu 22.04 gpu-4, after VirtualBox 7 set up its MOK;
# the author trimmed the modulus and signature bytes)
MOK_LIST_VERBOSE = """\
gpu@gpu-4:~$ mokutil  --list-enrolled
[key 1]
SHA1 Fingerprint: 76:a0:92:06:58:00:bf:37:69:01:c3:72:cd:55:a9:0e:1f:de:d2:e0
Certificate:
    Data:
        Version: 3 (0x2)
        Serial Number:
            b9:41:24:a0:18:2c:92:67
        Signature Algorithm: sha256WithRSAEncryption
        Issuer: C=GB, ST=Isle of Man, L=Douglas, O=Canonical Ltd., CN=Canonical Ltd. Master Certificate Authority
        Validity
            Not Before: Apr 12 11:12:51 2012 GMT
            Not After : Apr 11 11:12:51 2042 GMT
        Subject: C=GB, ST=Isle of Man, L=Douglas, O=Canonical Ltd., CN=Canonical Ltd. Master Certificate Authority
        Subject Public Key Info:
            Public Key Algorithm: rsaEncryption
                Public-Key: (2048 bit)
                Modulus:
            X509v3 Authority Key Identifier:
                AD:91:99:0B:C2:2A:B1:F5:17:04:8C:23:B6:65:5A:26:8E:34:5A:63
            X509v3 Basic Constraints: critical
                CA:TRUE
            X509v3 Key Usage:
                Digital Signature, Certificate Sign, CRL Sign
            X509v3 CRL Distribution Points:
                Full Name:
                  URI:http://www.canonical.com/secure-boot-master-ca.crl
    Signature Algorithm: sha256WithRSAEncryption
    Signature Value:    

[key 2]
SHA1 Fingerprint: 88:24:cb:24:c4:d6:c4:e6:69:db:1f:eb:d9:9b:48:d1:78:ac:d2:58
Certificate:
    Data:
        Version: 3 (0x2)
        Serial Number:
            33:9c:20:c4:6f:3f:f0:d4:72:ce:33:d1:db:b8:f4:66:2e:cc:f0:56
        Signature Algorithm: sha256WithRSAEncryption
        Issuer: CN=gpu-4 Secure Boot Module Signature key
        Validity
            Not Before: Nov 21 21:01:34 2023 GMT
            Not After : Oct 28 21:01:34 2123 GMT
        Subject: CN=gpu-4 Secure Boot Module Signature key
        Subject Public Key Info:
            Public Key Algorithm: rsaEncryption
                Public-Key: (2048 bit)               
                Exponent: 65537 (0x10001)
        X509v3 extensions:
            X509v3 Subject Key Identifier:
                8E:E3:BD:34:15:FC:A5:CF:9F:1D:52:2F:6C:F7:DB:90:32:45:79:D4
            X509v3 Authority Key Identifier:
                8E:E3:BD:34:15:FC:A5:CF:9F:1D:52:2F:6C:F7:DB:90:32:45:79:D4
            X509v3 Basic Constraints: critical
                CA:FALSE
            X509v3 Extended Key Usage:
                Code Signing, 1.3.6.1.4.1.2312.16.1.2
            Netscape Comment:
                OpenSSL Generated Certificate
    Signature Algorithm: sha256WithRSAEncryption    
gpu@gpu-4:~$
"""

# https://github.com/secureblue/secureblue/issues/1043 (`--list-enrolled` in mokutil's short form)
MOK_LIST_SHORT = """\
2bb010e24d fedoraca
68447cfc17 secureblue secureboot key
"""


def test_mokutil_list_enrolled_verbose():
    canonical, local = parse_mokutil_list_enrolled(MOK_LIST_VERBOSE)
    assert canonical.fingerprint == "76a092065800bf376901c372cd55a90e1fded2e0"
    assert canonical.common_name == "Canonical Ltd. Master Certificate Authority"
    assert local.fingerprint == "8824cb24c4d6c4e669db1febd99b48d178acd258"
    assert local.subject == "CN=gpu-4 Secure Boot Module Signature key"
    assert local.common_name == "gpu-4 Secure Boot Module Signature key"


def test_mokutil_list_enrolled_short():
    fedora, secureblue = parse_mokutil_list_enrolled(MOK_LIST_SHORT)
    assert (fedora.fingerprint, fedora.common_name) == ("2bb010e24d", "fedoraca")
    assert secureblue.subject == "secureblue secureboot key"
    assert parse_mokutil_list_enrolled("") == ()
