"""Profile loading: the shipped ones load; bad ones fail naming file, line and key."""

from __future__ import annotations

import pytest

from gpuwiz.backends.errors import InputError
from gpuwiz.backends.machine.profiles import (
    SHIPPED_DIR,
    available_profiles,
    load_profile,
    parse_profile,
    resolve_profile,
)

SHIPPED = ["fresh-rtx3060", "homelab-ready", "dgx-h100x8", "vm-bar1", "laptop-mx150", "no-gpu"]

MINIMAL = """\
[machine]
format = 1
name = "t"
summary = "test"
"""


def test_every_required_profile_ships():
    names = {name for name, _ in available_profiles({"HOME": "/nonexistent"})}
    assert set(SHIPPED) <= names


@pytest.mark.parametrize("name", sorted(p.stem for p in SHIPPED_DIR.glob("*.toml")))
def test_shipped_profile_loads_and_is_named_like_its_file(name):
    profile = load_profile(name, {"HOME": "/nonexistent"})
    assert profile.name == name
    assert profile.summary


def test_minimal_profile():
    p = parse_profile(MINIMAL, "t.toml")
    assert (p.name, p.user, p.sudo, p.nvml) == ("t", "root", "none", None)


@pytest.mark.parametrize(
    "extra, key, message",
    [
        ("[machine.extra]\n", "machine.extra", "unknown key"),
        ('[files]\n"relative/path" = "x"\n', 'files."relative/path"', "absolute path"),
        ('[files]\n"/etc/x" = 3\n', 'files."/etc/x"', "must be a string"),
        ('[commands."lspci -nn"]\nstdout = "x"\nexit = 1\n', 'commands."lspci -nn".exit', "unknown key"),
        ('[commands."lspci -nn"]\nreturncode = "0"\n', 'commands."lspci -nn".returncode', "an integer"),
        ('[nvml]\ninit_error = "Broken"\n', "nvml.init_error", "expected one of"),
        ('[nvml]\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\n', "nvml.gpus[0]", "memory_total_mib"),
        (
            '[nvml]\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\nmemory_total_mib = 1\ntemprature_c = 3\n',
            "nvml.gpus[0].temprature_c",
            "unknown key",
        ),
        (
            '[nvml]\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\nmemory_total_mib = 1\n[[nvml.gpus.processes]]\npid = 1\ntype = "X"\n',
            "nvml.gpus[0].processes[0].type",
            "expected one of",
        ),
        ('[processes.abc]\nuser = "root"\ncmdline = []\n', "processes.abc", "PID"),
        (
            '[nvml]\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\nmemory_total_mib = 1\npersistence_mode = 1\n',
            "nvml.gpus[0].persistence_mode",
            "true or false",
        ),
        (
            '[nvml]\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\nmemory_total_mib = true\n',
            "nvml.gpus[0].memory_total_mib",
            "not a boolean",
        ),
    ],
)
def test_bad_profiles_name_the_key(extra, key, message):
    with pytest.raises(InputError) as err:
        parse_profile(MINIMAL + extra, "bad.toml")
    assert err.value.key == key
    assert message in str(err.value)
    assert str(err.value).startswith("bad.toml:")


def test_error_names_the_line():
    text = MINIMAL + "\n[nvml]\n[[nvml.gpus]]\nname = 'x'\npci_bus_id = '0'\nmemory_total_mib = 1\nfan_speed = 3\n"
    with pytest.raises(InputError) as err:
        parse_profile(text, "p.toml")
    assert err.value.line == text.splitlines().index("fan_speed = 3") + 1
    assert str(err.value).startswith(f"p.toml:{err.value.line}: nvml.gpus[0].fan_speed: unknown key")


def test_malformed_toml_names_the_line():
    with pytest.raises(InputError) as err:
        parse_profile(MINIMAL + "oops = \n", "m.toml")
    assert err.value.line == 5
    assert "not valid TOML" in str(err.value)


def test_wrong_format_version():
    with pytest.raises(InputError, match="format 1"):
        parse_profile(MINIMAL.replace("format = 1", "format = 2"), "f.toml")


def test_missing_machine_table():
    with pytest.raises(InputError, match="missing required key 'machine'"):
        parse_profile("[env]\n", "e.toml")


def test_init_error_with_gpus_is_contradictory():
    text = (
        MINIMAL
        + '[nvml]\ninit_error = "DriverNotLoaded"\n[[nvml.gpus]]\nname = "x"\npci_bus_id = "0"\nmemory_total_mib = 1\n'
    )
    with pytest.raises(InputError, match="no gpus"):
        parse_profile(text, "c.toml")


def test_name_or_path(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert resolve_profile("no-gpu", env) == SHIPPED_DIR / "no-gpu.toml"
    user_dir = tmp_path / "gpuwiz" / "profiles"
    user_dir.mkdir(parents=True)
    (user_dir / "no-gpu.toml").write_text(MINIMAL)
    assert resolve_profile("no-gpu", env) == user_dir / "no-gpu.toml"  # the user's shadows ours
    mine = tmp_path / "mine.toml"
    mine.write_text(MINIMAL)
    assert resolve_profile(str(mine), env) == mine
    with pytest.raises(InputError, match="no profile of that name"):
        resolve_profile("nope", env)
    with pytest.raises(InputError, match="no such profile file"):
        resolve_profile("./nope.toml", env)
