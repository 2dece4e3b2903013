"""Hostile and odd files: each gets a one-line error (exit 2) naming the file, and nothing changes.

Every class the config-editing issue lists is here, through the real CLI on real files: a fifo
(hung forever before), /dev/zero (read without end), a character device or a symlink (replaced by
a regular file), 100k nested brackets (RecursionError), wrong types under the runtime tables
(AttributeError), non-UTF-8 bytes (silently U+FFFD), NaN/Infinity/1e400 in daemon.json (written
back as non-JSON), a drop-in path that is a directory (imports added anyway), a runtime name
containerd would reject, an empty --config, and answers files.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gpuwiz.backends.configs.containerd_edit import RuntimeSettings
from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure
from gpuwiz.backends.errors import GpuwizError
from gpuwiz.backends.machine.host import RealHost
from gpuwiz.backends.toml_compat import tomllib

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "containerd"


def gpuwiz(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpuwiz", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def snapshot(path: Path) -> tuple:
    st = path.lstat()
    data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_mtime_ns, data)


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpuwiz: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


CONTAINERD_IN_PLACE = ("runtime", "configure", "--runtime", "containerd", "--drop-in", "none", "--config")


def test_a_fifo_is_refused_without_hanging(tmp_path, user_env):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    done = gpuwiz(*CONTAINERD_IN_PLACE, str(fifo), env=user_env, timeout=20)
    assert_refused(done, str(fifo), "fifo")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
@pytest.mark.parametrize("runtime", ["docker", "containerd", "crio"])
def test_a_device_is_refused_and_stays_a_device(device, runtime, user_env):
    before = snapshot(Path(device))
    done = gpuwiz("runtime", "configure", "--runtime", runtime, "--config", device, "--drop-in", "none", env=user_env)
    if runtime == "docker":  # docker has no drop-in flag: ask the same without it
        done = gpuwiz("runtime", "configure", "--config", device, env=user_env)
    assert_refused(done, device, "character device")
    assert snapshot(Path(device))[:2] == before[:2]


def test_a_directory_as_config_is_refused(tmp_path, user_env):
    folder = tmp_path / "config.toml"
    folder.mkdir()
    assert_refused(gpuwiz(*CONTAINERD_IN_PLACE, str(folder), env=user_env), "directory")


def test_a_drop_in_that_is_a_directory_changes_nothing(tmp_path, user_env):
    config = tmp_path / "config.toml"
    config.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.9"\n')
    before = snapshot(config)
    drop_in = tmp_path / "conf.d" / "99-nvidia.toml"
    drop_in.mkdir(parents=True)
    done = gpuwiz(
        "runtime",
        "configure",
        "--runtime",
        "containerd",
        "--config",
        str(config),
        "--drop-in",
        str(drop_in),
        env=user_env,
    )
    assert_refused(done, str(drop_in), "directory")
    assert snapshot(config) == before  # no `imports` added for a drop-in that was never written


def test_deep_nesting_is_refused(tmp_path, user_env):
    deep = tmp_path / "config.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    before = snapshot(deep)
    assert_refused(gpuwiz(*CONTAINERD_IN_PLACE, str(deep), env=user_env), f"{deep}:1", "nested")
    json_deep = tmp_path / "daemon.json"
    json_deep.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_refused(gpuwiz("runtime", "configure", "--config", str(json_deep), env=user_env), "nested")
    assert snapshot(deep) == before


def test_brackets_inside_strings_and_comments_are_not_nesting(tmp_path, user_env):
    config = tmp_path / "config.toml"
    config.write_text("version = 2\n# " + "[" * 200 + '\nroot = "' + "{" * 200 + '"\n')
    done = gpuwiz(*CONTAINERD_IN_PLACE, str(config), "--dry-run", env=user_env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "body, key",
    [
        ('nvidia = "x"', "runtimes.nvidia"),
        ("nvidia = {options = 5}", "runtimes.nvidia.options"),
        ('runc = {options = "s"}', "runtimes.runc.options"),
    ],
)
@pytest.mark.parametrize("drop_in", ["none", "drop-in"])
def test_runtime_entries_of_the_wrong_type(tmp_path, user_env, body, key, drop_in):
    config = tmp_path / "config.toml"
    config.write_text(f'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes]\n{body}\n')
    before = snapshot(config)
    where = "none" if drop_in == "none" else str(tmp_path / "conf.d" / "99-nvidia.toml")
    done = gpuwiz(
        "runtime", "configure", "--runtime", "containerd", "--config", str(config), "--drop-in", where, env=user_env
    )
    assert_refused(done, str(config), key, "must be a table")
    assert "dotted" not in done.stderr
    assert snapshot(config) == before and not (tmp_path / "conf.d").exists()


def test_crio_runtime_of_the_wrong_type(tmp_path, user_env):
    config = tmp_path / "crio.conf"
    config.write_text("[crio.runtime.runtimes]\nnvidia = 5\n")
    before = snapshot(config)
    done = gpuwiz(
        "runtime", "configure", "--runtime", "crio", "--config", str(config), "--drop-in", "none", env=user_env
    )
    assert_refused(done, "crio.runtime.runtimes.nvidia", "must be a table")
    assert snapshot(config) == before


WRONG_VALUES = ['"x"', "5", "[]", "true", "{}"]


def _tables(data: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append((*prefix, key))
            out += _tables(value, (*prefix, key))
    return out


def _replaced(data: dict, keys: tuple[str, ...], value: object) -> dict:
    if len(keys) == 1:
        return {**data, keys[0]: value}
    return {**data, keys[0]: _replaced(data[keys[0]], keys[1:], value)}


def _dumps(data: dict) -> str:
    import tomlkit

    return tomlkit.dumps(data)


@pytest.mark.parametrize("name", ["v2-default-containerd1.7.toml", "v3-default-containerd2.1.toml"])
def test_a_wrong_type_anywhere_is_a_clear_error_never_a_crash(tmp_path, name):
    """Property: every table of containerd's own default config, replaced in turn by a string, an
    integer, an array, a boolean or an empty table, is edited or refused (GpuwizError), in place
    and as a drop-in, never a crash."""
    if not (REFERENCE / name).exists():
        pytest.skip("the shared reference configs are not here")
    base = tomllib.loads((REFERENCE / name).read_text())
    host = RealHost({"PATH": "/nonexistent", "HOME": str(tmp_path)}, backup_root=tmp_path / "backups")
    config = tmp_path / "config.toml"
    tried = 0
    for keys in _tables(base):
        for raw in WRONG_VALUES:
            value = tomllib.loads(f"v = {raw}")["v"]
            config.write_text(_dumps(_replaced(base, keys, value)))
            for drop_in in ("", str(tmp_path / "conf.d" / "99-nvidia.toml")):
                settings = RuntimeSettings(name="nvidia", path="/usr/bin/nvidia-container-runtime")
                try:
                    configure(host, ConfigureRequest("containerd", str(config), drop_in, settings))
                except GpuwizError:
                    pass
                tried += 1
    assert tried > 200


@pytest.mark.parametrize(
    "text, token",
    [('{"runtimes": {}, "x": NaN}', "NaN"), ('{"x": -Infinity}', "-Infinity"), ('{"x": 1e400}', "1e400")],
)
def test_json_non_numbers_are_refused(tmp_path, user_env, text, token):
    daemon = tmp_path / "daemon.json"
    daemon.write_text(text)
    before = snapshot(daemon)
    assert_refused(gpuwiz("runtime", "configure", "--config", str(daemon), env=user_env), f"{daemon}:1", token)
    assert snapshot(daemon) == before


@pytest.mark.parametrize("where", ["comment", "value"])
def test_non_utf8_bytes_are_refused_with_their_line(tmp_path, user_env, where):
    config = tmp_path / "config.toml"
    line = b"# caf\xe9\n" if where == "comment" else b'root = "/var/lib/caf\xe9"\n'
    config.write_bytes(b"version = 2\n" + line)
    before = snapshot(config)
    assert_refused(gpuwiz(*CONTAINERD_IN_PLACE, str(config), env=user_env), f"{config}:2", "UTF-8")
    assert snapshot(config) == before


@pytest.mark.parametrize("name", ['nv"idia', "nv\nidia", "nvidia]", "", " nvidia"])
def test_runtime_names_containerd_would_reject(tmp_path, user_env, name):
    config = tmp_path / "config.toml"
    config.write_text("version = 2\n")
    before = snapshot(config)
    done = gpuwiz(*CONTAINERD_IN_PLACE, str(config), "--runtime-name", name, env=user_env)
    assert_refused(done, "--runtime-name")
    assert snapshot(config) == before


def test_an_empty_config_path_is_not_the_system_file(user_env):
    assert_refused(
        gpuwiz("runtime", "configure", "--runtime", "containerd", "--config", "", env=user_env), "--config ''"
    )


def test_a_symlink_is_edited_through_and_stays_a_link(tmp_path, user_env):
    real = tmp_path / "etc-real" / "daemon.json"
    real.parent.mkdir()
    real.write_text('{\r\n  "log-level": "warn"\r\n}\r\n')
    real.chmod(0o4640)  # odd, but what the user had must stay
    link = tmp_path / "daemon.json"
    link.symlink_to(os.path.relpath(real, link.parent))
    done = gpuwiz("runtime", "configure", "--config", str(link), env=user_env)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert stat.S_IMODE(real.stat().st_mode) == 0o4640
    assert '"nvidia"' in real.read_text()
    assert b"\r\n" in real.read_bytes() and b"\n" not in real.read_bytes().replace(b"\r\n", b"")  # CRLF kept


def test_answers_files(tmp_path, user_env):
    bad_bytes = tmp_path / "bytes.toml"
    bad_bytes.write_bytes(b'[driver]\nbranch = "5\xff35"\n')
    assert_refused(
        gpuwiz("plan", "--profile", "fresh-rtx3060", "--answers", str(bad_bytes), env=user_env), f"{bad_bytes}:2"
    )
    integer = tmp_path / "int.toml"
    integer.write_text("[driver]\nbranch = 535\n")
    done = gpuwiz("plan", "--profile", "fresh-rtx3060", "--answers", str(integer), env=user_env)
    assert_refused(done, str(integer), "driver.branch", 'branch = "535"')
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert_refused(
        gpuwiz("plan", "--profile", "fresh-rtx3060", "--answers", str(fifo), env=user_env, timeout=20), "fifo"
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "x"])
def test_monitor_interval_must_be_a_finite_number(value, user_env):
    done = gpuwiz("monitor", "--profile", "laptop-mx150", "--once", "--interval", value, env=user_env)
    assert done.returncode == 2 and "--interval" in done.stderr and "Traceback" not in done.stderr


def test_crash_logs_are_private(tmp_path):
    from gpuwiz.backends.machine.logs import write_crash_log

    path = write_crash_log({"XDG_STATE_HOME": str(tmp_path), "HOME": str(tmp_path)}, ValueError("x"), ["doctor"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
