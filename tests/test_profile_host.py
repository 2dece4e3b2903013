"""ProfileHost answers from the profile and records every command and write."""

from __future__ import annotations

from gpuwiz.backends.machine.host import RC_NOT_FOUND
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import parse_profile

PROFILE = """\
[machine]
format = 1
name = "t"
summary = "t"
user = "alice"
sudo = "password"
executables = ["lspci", "/usr/local/bin/k3s"]

[env]
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"

[files]
"/etc/os-release" = "ID=ubuntu\\n"
"/sys/bus/pci/devices/0000:2f:00.0/vendor" = "0x10de\\n"
"/sys/bus/pci/devices/0000:00:00.0/vendor" = "0x8086\\n"

[links]
"/sys/bus/pci/devices/0000:2f:00.0/driver" = "../../../../bus/pci/drivers/nouveau"

[commands."lspci -nn"]
stdout = "2f:00.0 VGA\\n"

[commands."lspci -k"]
stderr = "boom\\n"
returncode = 1
"""


def host() -> ProfileHost:
    return ProfileHost(parse_profile(PROFILE, "t.toml"))


def test_commands_answer_and_are_recorded():
    h = host()
    assert h.run(["lspci", "-nn"]).stdout == "2f:00.0 VGA\n"
    failed = h.run(["lspci", "-k"])
    assert (failed.returncode, failed.stderr) == (1, "boom\n")
    missing = h.run(["docker", "info"])
    assert missing.returncode == RC_NOT_FOUND and "command not found" in missing.stderr
    unrecorded = h.run(["lspci", "-v"])
    assert unrecorded.returncode == RC_NOT_FOUND and "not recorded in profile t" in unrecorded.stderr
    assert [c.argv for c in h.commands] == [("lspci", "-nn"), ("lspci", "-k"), ("docker", "info"), ("lspci", "-v")]


def test_which():
    h = host()
    assert h.which("lspci") == "/usr/bin/lspci"
    assert h.which("k3s") == "/usr/local/bin/k3s"
    assert h.which("/usr/local/bin/k3s") == "/usr/local/bin/k3s"
    assert h.which("docker") is None


def test_files_dirs_links():
    h = host()
    assert h.list_dir("/sys/bus/pci/devices") == ["0000:00:00.0", "0000:2f:00.0"]
    assert h.is_dir("/sys/bus/pci") and not h.is_dir("/etc/os-release")
    assert h.exists("/etc/os-release") and not h.exists("/etc/nope")
    assert h.readlink("/sys/bus/pci/devices/0000:2f:00.0/driver").endswith("/nouveau")
    assert h.read_text("/etc//os-release") == "ID=ubuntu\n"
    assert h.env["KUBECONFIG"] == "/etc/rancher/k3s/k3s.yaml"
    assert h.user == "alice" and h.profile.sudo == "password"


def test_writes_change_only_the_simulation_and_are_recorded():
    h = host()
    result = h.write_text("/etc/os-release", "ID=debian\n")
    assert result.backup
    assert h.read_text("/etc/os-release") == "ID=debian\n"
    assert h.write_text("/etc/new.conf", "x", mode=0o600).backup is None
    assert [(w.path, w.mode) for w in h.writes] == [("/etc/os-release", None), ("/etc/new.conf", 0o600)]
    assert host().read_text("/etc/os-release") == "ID=ubuntu\n"  # the profile itself is unchanged


def test_no_nvml_table_means_library_not_found():
    from gpuwiz.backends.nvml.sampler import read_nvml

    assert read_nvml(host().nvml()).init_error == "LibraryNotFound"
