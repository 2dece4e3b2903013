"""Two runs at once, or a run killed: real processes, many times over.

Before the edit lock, two `runtime configure` on one file (each adding its own runtime) both said
"wrote" and one runtime was gone (27 of 30 pairs on containerd, 23 of 50 on docker); SIGKILL in a
write left its temp file beside the config, where CRI-O reads every file of crio.conf.d.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpuwiz.backends.machine.local_files import TEMP_PREFIX
from gpuwiz.backends.toml_compat import tomllib

ROUNDS = 6
AT_ONCE = 4


def start(config: Path, runtime: str, name: str, env: dict[str, str], *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "gpuwiz", "runtime", "configure", "--runtime", runtime, "--config", str(config)]
    return subprocess.Popen(
        [*argv, "--runtime-name", name, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def containerd_runtimes(config: Path, drop_in: Path | None) -> set[str]:
    names: set[str] = set()
    for path in (config, drop_in):
        if path is not None and path.exists():
            data = tomllib.loads(path.read_text())
            cri = data.get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
            names |= set(cri.get("containerd", {}).get("runtimes", {}))
    return names


@pytest.mark.parametrize("where", ["in-place", "drop-in"])
def test_concurrent_containerd_edits_lose_nothing(tmp_path, user_env, where):
    config = tmp_path / "containerd" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        'version = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
    )
    drop_in = tmp_path / "containerd" / "conf.d" / "99-nvidia.toml" if where == "drop-in" else None
    extra = ("--drop-in", str(drop_in) if drop_in else "none")
    wanted = {"runc"}
    for n in range(ROUNDS):
        names = [f"nv{n}x{k}" for k in range(AT_ONCE)]
        procs = [start(config, "containerd", name, user_env, *extra) for name in names]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        wanted |= set(names)
        assert containerd_runtimes(config, drop_in) >= wanted, f"round {n}: lost a runtime"
    assert not [p for p in config.parent.rglob("*") if TEMP_PREFIX in p.name]


def test_concurrent_docker_edits_lose_nothing(tmp_path, user_env):
    daemon = tmp_path / "docker" / "daemon.json"
    daemon.parent.mkdir()
    daemon.write_text('{\n  "log-level": "warn"\n}\n')
    wanted: set[str] = set()
    for n in range(ROUNDS):
        names = [f"nv{n}x{k}" for k in range(AT_ONCE)]
        procs = [start(daemon, "docker", name, user_env) for name in names]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        wanted |= set(names)
        data = json.loads(daemon.read_text())
        assert set(data["runtimes"]) >= wanted and data["log-level"] == "warn", f"round {n}: lost a change"


WRITER = """
import sys
from pathlib import Path
from gpuwiz.backends.machine.local_files import atomic_write
target, n = Path(sys.argv[1]), 0
print("ready", flush=True)
while True:
    n += 1
    atomic_write(target, (str(n % 2) * 4_000_000) + "\\n", mode=None, backup_root=None)
"""

KILLS = 40


def test_a_killed_write_leaves_no_temp_file_where_the_daemon_reads(tmp_path):
    crio_dir = tmp_path / "etc" / "crio" / "crio.conf.d"
    crio_dir.mkdir(parents=True)
    target = crio_dir / "99-nvidia.conf"
    target.write_text("0" * 4_000_000 + "\n")
    rng = random.Random(7)
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert sorted(os.listdir(crio_dir)) == ["99-nvidia.conf"]  # CRI-O would read anything else here
        data = target.read_bytes()
        assert len(data) == 4_000_001 and len(set(data[:-1])) == 1  # the old or the new file, never torn
    staged = [n for n in os.listdir(crio_dir.parent) if n.startswith(TEMP_PREFIX)]
    print(f"after {KILLS} kills, {len(staged)} temp file(s) of the last killed writer wait in the staging folder")
    subprocess.run([sys.executable, "-c", WRITER.replace("while True", "for _ in range(1)"), str(target)], check=True)
    left = [n for n in os.listdir(crio_dir.parent) if n.startswith(TEMP_PREFIX)]
    assert left == [], f"stale temp files stay: {left} (of {len(staged)} after the kills)"


# --- rollback undoes `runtime configure`, byte for byte -------------------------------------------


def test_rollback_undoes_runtime_configure(tmp_path, user_env):
    config = tmp_path / "containerd" / "config.toml"
    config.parent.mkdir()
    original = (
        b'version = 2\r\n# kept as it was\r\n[plugins."io.containerd.grpc.v1.cri"]\r\n  sandbox_image = "pause:3.9"\r\n'
    )
    config.write_bytes(original)
    config.chmod(0o600)
    link = tmp_path / "config-link.toml"
    link.symlink_to(config)
    drop_in = tmp_path / "containerd" / "conf.d" / "99-nvidia.toml"
    argv = [sys.executable, "-m", "gpuwiz", "runtime", "configure", "--runtime", "containerd", "--config", str(link)]
    done = subprocess.run([*argv, "--drop-in", str(drop_in)], capture_output=True, text=True, env=user_env)
    assert done.returncode == 0, done.stderr
    assert config.read_bytes() != original and drop_in.exists()
    back = subprocess.run([sys.executable, "-m", "gpuwiz", "rollback"], capture_output=True, text=True, env=user_env)
    assert back.returncode == 0, back.stderr
    assert config.read_bytes() == original and (config.stat().st_mode & 0o777) == 0o600
    assert link.is_symlink() and not drop_in.exists()


def test_restore_puts_back_exact_bytes_and_mode(tmp_path):
    from gpuwiz.backends.machine.host import RealHost

    host = RealHost({"HOME": str(tmp_path)}, backup_root=tmp_path / "backups")
    path = tmp_path / "modprobe.conf"
    path.write_bytes(b"# Latin-1: caf\xe9\n")
    path.chmod(0o640)
    written = host.write_text(str(path), "options nvidia NVreg_X=1\n")
    path.chmod(0o644)
    assert written.backup is not None
    host.restore_file(str(path), written.backup)
    assert path.read_bytes() == b"# Latin-1: caf\xe9\n" and (path.stat().st_mode & 0o777) == 0o640


def test_a_multi_file_change_is_written_all_or_nothing(tmp_path):
    """The drop-in and the `imports` line that loads it: when the second write fails, the first is put back."""
    from gpuwiz.backends.machine.host import RealHost
    from gpuwiz.backends.runs.file_writes import write_edits
    from gpuwiz.backends.runs.plan import FileEdit

    host = RealHost({"HOME": str(tmp_path)}, backup_root=tmp_path / "backups")
    config = tmp_path / "config.toml"
    config.write_text("version = 2\n")
    blocker = tmp_path / "conf.d"
    blocker.write_text("a file where the drop-in folder should be\n")
    edits = [
        FileEdit(str(config), 'version = 2\nimports = ["conf.d/*.toml"]\n', "version = 2\n"),
        FileEdit(str(blocker / "99-nvidia.toml"), "[plugins]\n", None),
    ]
    with pytest.raises(OSError):
        write_edits(host, edits)
    assert config.read_text() == "version = 2\n"
    assert blocker.read_text() == "a file where the drop-in folder should be\n"
