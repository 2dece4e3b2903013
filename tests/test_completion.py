"""`gpuwiz completion bash|zsh|fish`: scripts made from the parser, loaded by the real shells."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from gpuwiz.cli import build_parser, main
from gpuwiz.completion import SHELLS, command_tree, walk


def script(shell: str, capsys) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def test_the_tree_is_the_parsers():
    tree = command_tree(build_parser())
    assert {"doctor", "plan", "apply", "rollback", "runtime", "monitor", "profile", "completion", "help"} <= set(
        tree.subcommands
    )
    configure = tree.subcommands["runtime"].subcommands["configure"]
    assert configure.choices["--runtime"] == ("docker", "containerd", "crio")
    assert {"--nvidia-set-as-default", "--cdi.enabled", "--drop-in-config"} <= set(configure.options)
    assert all(node.options for node in walk(tree))


def complete_in_bash(text: str, words: list[str]) -> list[str]:
    code = (
        f"source /dev/stdin <<'EOF'\n{text}\nEOF\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; _gpuwiz; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_options_and_values(capsys):
    text = script("bash", capsys)
    assert complete_in_bash(text, ["gpuwiz", "doc"]) == ["doctor"]
    assert complete_in_bash(text, ["gpuwiz", "runtime", "configure", "--runtime", ""]) == [
        "docker",
        "containerd",
        "crio",
    ]
    assert "--dry-run" in complete_in_bash(text, ["gpuwiz", "apply", "--d"])
    assert complete_in_bash(text, ["gpuwiz", "plan", "--format", "j"]) == ["json"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed (.ci/install-system-deps.sh)")
def test_zsh_loads_it(capsys, tmp_path):
    path = tmp_path / "_gpuwiz"
    path.write_text(script("zsh", capsys))
    done = subprocess.run(
        ["zsh", "-f", "-c", f"autoload -U compinit && compinit -u; source {path}; complete -p gpuwiz"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and "_gpuwiz" in done.stdout, done.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed (.ci/install-system-deps.sh)")
def test_fish_loads_it_and_completes(capsys, tmp_path):
    path = tmp_path / "gpuwiz.fish"
    path.write_text(script("fish", capsys))
    gpuwiz_dir = str(__import__("pathlib").Path(sys.executable).parent)
    for line, expected in (("gpuwiz doc", "doctor"), ("gpuwiz runtime configure --runtime ", "containerd")):
        done = subprocess.run(
            ["fish", "--no-config", "-c", f"set -x PATH {gpuwiz_dir} $PATH; source {path}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout, (line, done.stdout)


def test_every_shell_has_a_script():
    assert set(SHELLS) == {"bash", "zsh", "fish"}


def test_help_topics_ship_with_the_package(capsys):
    assert main(["help"]) == 0
    listing = capsys.readouterr().out
    assert "answers" in listing and "runtime-configure" in listing
    assert main(["help", "answers"]) == 0
    assert capsys.readouterr().out.startswith("# Answers files")
    assert main(["help", "nope"]) == 2
