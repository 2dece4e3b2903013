"""Shell completion for bash, zsh and fish, made from the argparse parser itself (so it cannot drift).

shtab would do bash and zsh but not fish, and argcomplete runs Python on every Tab; a static
script from the parser's own tree is a few lines per shell.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field

PROFILE_NAMES = "gpuwiz profile list 2>/dev/null | cut -d' ' -f1"
FILE_OPTIONS = {"--answers", "--config", "--drop-in", "--output", "-o"}


@dataclass
class Command:
    path: tuple[str, ...]  # () for gpuwiz itself, ("runtime", "configure") for a nested one
    help: str = ""
    options: dict[str, str] = field(default_factory=dict)  # spelling -> help
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # spelling -> its values
    takes_value: set[str] = field(default_factory=set)
    subcommands: dict[str, Command] = field(default_factory=dict)


def command_tree(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str = "") -> Command:
    node = Command(path, help)
    for action in parser._actions:  # argparse has no public walk of its own tree
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                node.subcommands[name] = command_tree(sub, (*path, name), helps.get(name, ""))
            continue
        for spelling in action.option_strings:
            node.options[spelling] = (action.help or "").replace("%%", "%")
            if action.choices:
                node.choices[spelling] = tuple(str(c) for c in action.choices)
            if action.nargs != 0 and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                node.takes_value.add(spelling)
    return node


def walk(node: Command):
    yield node
    for sub in node.subcommands.values():
        yield from walk(sub)


def _value_words(node: Command, option: str) -> str:
    """What bash offers after an option that takes a value."""
    if option in node.choices:
        return f'COMPREPLY=($(compgen -W {shlex.quote(" ".join(node.choices[option]))} -- "$cur"))'
    if option == "--profile":
        return f'COMPREPLY=($(compgen -W "$({PROFILE_NAMES})" -- "$cur") $(compgen -f -- "$cur"))'
    if option in FILE_OPTIONS:
        return 'COMPREPLY=($(compgen -f -- "$cur"))'
    return "COMPREPLY=()"


def bash(parser: argparse.ArgumentParser) -> str:
    tree = command_tree(parser)
    lines = [
        "# gpuwiz completion for bash (made by `gpuwiz completion bash`)",
        "_gpuwiz() {",
        '    local cur prev path="" word i',
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$path:$word" in',
    ]
    for node in walk(tree):
        for name in node.subcommands:
            key = " ".join((*node.path, name))
            lines.append(f"            {shlex.quote(' '.join(node.path) + ':' + name)}) path={shlex.quote(key)} ;;")
    lines += ["        esac", "    done", '    case "$path" in']
    for node in walk(tree):
        lines.append(f"        {shlex.quote(' '.join(node.path))})")
        valued = sorted(node.takes_value)
        if valued:
            lines.append('            case "$prev" in')
            for option in valued:
                lines.append(f"                {option}) {_value_words(node, option)}; return ;;")
            lines.append("            esac")
        words = " ".join([*node.subcommands, *sorted(node.options)])
        lines.append(f'            COMPREPLY=($(compgen -W {shlex.quote(words)} -- "$cur")) ;;')
    lines += ["    esac", "}", "complete -F _gpuwiz gpuwiz", ""]
    return "\n".join(lines)


def zsh(parser: argparse.ArgumentParser) -> str:
    """zsh runs the bash function through its bashcompinit, the same words and values."""
    return "\n".join(
        [
            "#compdef gpuwiz",
            "# gpuwiz completion for zsh (made by `gpuwiz completion zsh`): bash's, through bashcompinit",
            "autoload -U +X bashcompinit && bashcompinit",
            bash(parser),
        ]
    )


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(parser: argparse.ArgumentParser) -> str:
    tree = command_tree(parser)
    every = sorted({name for node in walk(tree) for name in node.subcommands})
    lines = ["# gpuwiz completion for fish (made by `gpuwiz completion fish`)", "complete -c gpuwiz -f"]
    for node in walk(tree):
        if node.path:
            seen = f"__fish_seen_subcommand_from {node.path[-1]}"
            deeper = " ".join(node.subcommands)
            condition = seen + (f"; and not __fish_seen_subcommand_from {deeper}" if deeper else "")
        else:
            condition = f"not __fish_seen_subcommand_from {' '.join(every)}"
        for name, sub in node.subcommands.items():
            lines.append(f"complete -c gpuwiz -n {_fish_quote(condition)} -a {name} -d {_fish_quote(sub.help)}")
        for spelling, text in sorted(node.options.items()):
            flag = f"-l {spelling[2:]}" if spelling.startswith("--") else f"-s {spelling[1:]}"
            values = ""
            if spelling in node.choices:
                values = f" -xa {_fish_quote(' '.join(node.choices[spelling]))}"
            elif spelling == "--profile":
                values = " -xa " + _fish_quote('(gpuwiz profile list 2>/dev/null | string split -f1 " ")')
            elif spelling in FILE_OPTIONS:
                values = " -rF"
            elif spelling in node.takes_value:
                values = " -x"
            lines.append(f"complete -c gpuwiz -n {_fish_quote(condition)} {flag}{values} -d {_fish_quote(text)}")
    return "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}
