"""The CLI contract: real doctor on this machine, JSON documents, exit codes 0/1/2/3."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gpuwiz.cli import main

ENV = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}


def gpuwiz(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpuwiz", *args], capture_output=True, text=True, env=env or ENV, timeout=120
    )


def test_real_doctor_on_this_machine():
    """This machine has no NVIDIA GPU: doctor says so plainly, exits 1, skips the layers above."""
    done = gpuwiz("doctor", "--json")
    doc = json.loads(done.stdout)
    assert doc["format"] == 1
    hardware = doc["layers"][0]
    has_gpu = any(f["id"] == "hardware.nvidia-gpu" and f["status"] == "ok" for f in hardware["findings"])
    if has_gpu:  # pragma: no cover - only on a GPU machine
        assert done.returncode in (0, 1)
        return
    assert done.returncode == 1
    assert hardware["status"] == "fail"
    assert [layer["status"] for layer in doc["layers"][1:]] == ["skip"] * 4
    text = gpuwiz("doctor")
    assert text.returncode == 1
    assert "No NVIDIA GPU is on the PCI bus" in text.stdout
    assert "Traceback" not in text.stdout + text.stderr


def test_help_and_usage_errors():
    assert gpuwiz("--help").returncode == 0
    bad = gpuwiz("doctor", "--nope")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_profile_option_before_or_after_the_subcommand():
    before = gpuwiz("--profile", "no-gpu", "doctor", "--json")
    after = gpuwiz("doctor", "--json", "--profile", "no-gpu")
    assert json.loads(before.stdout)["profile"] == json.loads(after.stdout)["profile"] == "no-gpu"


def test_bad_profile_is_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[machine]\nformat = 1\nname = "b"\nsummary = "s"\nusr = "root"\n')
    done = gpuwiz("doctor", "--profile", str(bad))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"gpuwiz: {bad}:5: machine.usr: unknown key (known here: format, name, summary, user, sudo, executables)"
    )
    missing = gpuwiz("doctor", "--profile", "no-such-profile")
    assert missing.returncode == 2 and "no profile of that name" in missing.stderr


def test_bad_answers_file_is_exit_2(tmp_path):
    bad = tmp_path / "answers.toml"
    bad.write_text("driver = [\n")
    done = gpuwiz("plan", "--profile", "no-gpu", "--answers", str(bad))
    assert done.returncode == 2 and str(bad) in done.stderr


def test_internal_error_is_exit_3_with_log_path(monkeypatch, capsys, isolated_env):
    import gpuwiz.backends.doctor

    def boom(host):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(gpuwiz.backends.doctor, "run_doctor", boom)
    assert main(["doctor", "--profile", "no-gpu"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpuwiz: internal error (RuntimeError); details in ")
    log = err[0].rsplit(" ", 1)[1]
    assert "simulated bug" in open(log).read()
    assert log.startswith(str(isolated_env / "state" / "gpuwiz" / "logs"))


def test_profile_list_and_show():
    done = gpuwiz("profile", "list")
    lines = done.stdout.splitlines()
    assert any(line.startswith("no-gpu  ") for line in lines)
    assert all("  " in line for line in lines)
    shown = gpuwiz("profile", "show", "no-gpu")
    assert shown.returncode == 0 and "[machine]" in shown.stdout


def test_plan_formats_without_planners():
    text = gpuwiz("plan", "--profile", "no-gpu")
    assert text.returncode == 0 and text.stdout.startswith("No steps to run.")
    sh = gpuwiz("plan", "--profile", "no-gpu", "--format", "sh")
    assert sh.stdout.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in sh.stdout
    doc = json.loads(gpuwiz("plan", "--profile", "no-gpu", "--format", "json").stdout)
    assert doc["format"] == 2 and doc["steps"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["doctor"],
        ["doctor", "--json"],
        ["--profile", "homelab-ready", "doctor"],
        ["plan", "--profile", "fresh-rtx3060", "--format", "sh"],
        ["profile", "list"],
        ["profile", "show", "dgx-h100x8"],
        ["--profile", "dgx-h100x8", "profile", "capture"],
        ["--help"],
    ],
)
def test_commands_without_a_tui_never_import_textual(args):
    code = (
        "import sys\n"
        "from gpuwiz.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "sys.stderr.write('TEXTUAL:' + ','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.stderr.rstrip().endswith("TEXTUAL:"), done.stderr[-500:]


def test_backends_never_import_textual():
    code = (
        "import sys, pkgutil, importlib, gpuwiz.backends as backends\n"
        "for m in pkgutil.walk_packages(backends.__path__, 'gpuwiz.backends.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('textual' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert done.stdout.strip() == "False", done.stderr


def test_wizard_without_a_terminal_says_so():
    done = subprocess.run(
        [sys.executable, "-m", "gpuwiz"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30
    )
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr


def test_capture_to_an_unwritable_path_is_exit_2(tmp_path):
    done = gpuwiz("--profile", "no-gpu", "profile", "capture", "-o", str(tmp_path / "missing" / "x.toml"))
    assert done.returncode == 2 and "cannot write" in done.stderr


def test_capture_writes_a_profile_that_loads(tmp_path):
    out = tmp_path / "mine.toml"
    done = gpuwiz("--profile", "homelab-ready", "profile", "capture", "-o", str(out))
    assert done.returncode == 0, done.stderr
    again = gpuwiz("doctor", "--json", "--profile", str(out))
    assert json.loads(again.stdout)["exit_code"] == 0


def test_version_comes_from_the_installed_metadata():
    from importlib.metadata import version

    done = gpuwiz("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"gpuwiz {version('gpuwiz')}"


@pytest.mark.parametrize(
    "command",
    [
        ["doctor"],
        ["plan"],
        ["apply"],
        ["rollback"],
        ["runtime", "configure"],
        ["monitor"],
        ["profile"],
        ["completion"],
        ["help"],
    ],
)
def test_each_subcommand_help_has_a_description_examples_and_exit_codes(command):
    done = gpuwiz(*command, "--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout and "exit codes: 0" in done.stdout
    assert f"usage: gpuwiz {' '.join(command)}" in done.stdout


@pytest.mark.parametrize("command", [["doctor"], ["plan"], ["runtime", "configure"], ["monitor"], ["profile", "list"]])
def test_a_mistyped_flag_prints_that_subcommands_usage(command):
    done = gpuwiz(*command, "--jsno")
    assert done.returncode == 2
    assert (
        done.stderr.startswith(f"usage: gpuwiz {' '.join(command)}") and "unrecognized arguments: --jsno" in done.stderr
    )
