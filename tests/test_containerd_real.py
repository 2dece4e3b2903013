"""Our reading of containerd configs agrees with the real containerd's (`config dump`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gpuwiz.backends.configs.containerd_config import read_runtimes
from gpuwiz.backends.machine.profiles import load_profile
from gpuwiz.backends.toml_compat import tomllib

DATA = Path(__file__).parent / "data"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("containerd") is None, reason="containerd not installed (.ci/install-system-deps.sh)"
    ),
]


def containerd_major_minor() -> tuple[int, int]:
    if shutil.which("containerd") is None:  # collected even when the module is skipped
        return (0, 0)
    out = subprocess.run(["containerd", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"\sv?(\d+)\.(\d+)\.", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def dump(tmp_path: Path, text: str) -> dict:
    config = tmp_path / "config.toml"
    config.write_text(text)
    done = subprocess.run(
        ["containerd", "--config", str(config), "config", "dump"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return tomllib.loads(done.stdout)


def configs() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text()) for p in sorted((DATA / "containerd").glob("v2-*.toml"))]
    for name in ("homelab-ready", "dgx-h100x8", "laptop-mx150"):
        text = load_profile(name, {}).files.get("/etc/containerd/config.toml")
        if text is not None:
            out.append((f"{name}:/etc/containerd/config.toml", text))
    if containerd_major_minor() >= (2, 0):
        out += [(p.name, p.read_text()) for p in sorted((DATA / "containerd").glob("v3-*.toml"))]
    return out


@pytest.mark.parametrize("name, text", configs(), ids=[n for n, _ in configs()])
def test_runtimes_agree_with_config_dump(tmp_path, name, text):
    ours = read_runtimes(tomllib.loads(text))
    real = dump(tmp_path, text)
    if ours.cri_disabled:
        # containerd drops a disabled plugin's section from the dump entirely
        assert real.get("disabled_plugins") and not any("cri" in k for k in real.get("plugins", {}))
        return
    theirs = read_runtimes(real)
    assert set(ours.runtimes) <= set(theirs.runtimes)
    assert ours.default_runtime == theirs.default_runtime
