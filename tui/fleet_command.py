"""`gpuwiz fleet`: provision several nodes through Ansible, gpuwiz deciding on each (backends/fleet)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REBOOT = 0, 1, 2, 4
FLEET_EXITS = "0 every node green, 1 a node failed, 4 a node waits for a reboot, 2 bad usage or no Ansible"


def add_parser(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    fleet = command(
        sub, "fleet", help="provision several nodes through Ansible, gpuwiz deciding on each: init, apply, status"
    )
    fsub = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True, parser_class=type(fleet))

    def action(name: str, help: str, examples: tuple[str, ...], exits: str) -> argparse.ArgumentParser:
        epilog = "\n".join(
            ["examples:", *(f"  {e}" for e in examples), "", f"exit codes: {exits}", "", "reference: gpuwiz help fleet"]
        )
        found = fsub.add_parser(
            name, help=help, description=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        found.set_defaults(usage_parser=found)
        return found

    init = action(
        "init",
        "write a fleet folder: inventory, playbook and role, this node's answers file, README",
        ("gpuwiz fleet init fleet", "gpuwiz fleet init demo --demo"),
        "0 written, 2 a file is there already or bad input",
    )
    init.add_argument("folder", metavar="DIR")
    init.add_argument("--demo", action="store_true", help="three simulated nodes on this machine (no hardware needed)")
    init.add_argument(
        "--exporter",
        nargs="?",
        const="0.0.0.0:9835",
        default="",
        metavar="HOST:PORT",
        help="also run gpuwiz exporter on each real node as a systemd service (default 0.0.0.0:9835)",
    )

    apply = action(
        "apply",
        "run the playbook on the inventory's nodes with ansible-playbook, each node's progress live",
        (
            "gpuwiz fleet apply -i fleet/inventory.yml --yes",
            "gpuwiz fleet apply -i inventory.yml --answers answers.toml --limit gpu-node-2 --yes",
            "gpuwiz fleet apply -i inventory.yml --check",
        ),
        FLEET_EXITS,
    )
    apply.add_argument("-i", "--inventory", required=True, metavar="INVENTORY")
    apply.add_argument(
        "--answers", metavar="F", help="answers file for every node (default: the inventory's gpuwiz_answers)"
    )
    apply.add_argument("--limit", default="", metavar="P", help="only these hosts or groups (Ansible's --limit)")
    apply.add_argument("--forks", type=int, default=10, metavar="N", help="nodes at once (default 10)")
    apply.add_argument("--yes", action="store_true", help="do not ask before provisioning")
    apply.add_argument("--check", action="store_true", help="plan on every node, change nothing (Ansible's --check)")
    apply.add_argument("--playbook", metavar="P", help="default: playbook.yml beside the inventory, else gpuwiz's own")

    status = action(
        "status",
        "a node x layer table of marks from the doctor reports the last apply collected",
        ("gpuwiz fleet status -i fleet/inventory.yml", "gpuwiz fleet status -i inventory.yml --json"),
        "0 every node green, 1 a node failed or has no report, 4 a node waits for a reboot, 2 bad usage",
    )
    status.add_argument("-i", "--inventory", required=True, metavar="INVENTORY")
    status.add_argument("--json", action="store_true", help="print a JSON document instead")
    status.add_argument("--no-unicode", action="store_true", help="ASCII marks")

    node = action(
        "node-apply",
        "the playbook's apply on a simulated node: gpuwiz apply on --profile FILE, then the machine it "
        "left saved back into FILE (so the next run and doctor see the node provisioned)",
        ("gpuwiz --profile nodes/node1/machine.toml fleet node-apply --answers answers.toml --yes",),
        "as gpuwiz apply: 0 done, 1 a step failed, 4 a reboot the profile does not record, 2 bad usage",
    )
    node.add_argument("--answers", metavar="F")
    node.add_argument("--yes", action="store_true")


def cmd_fleet(args: argparse.Namespace, env: dict[str, str]) -> int:
    handlers = {"init": _init, "apply": _apply, "status": _status, "node-apply": _node_apply}
    return handlers[args.fleet_command](args, env)


def _usage(message: str) -> int:
    print(f"gpuwiz: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _init(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.fleet.inventory import DEMO_PROFILES
    from gpuwiz.backends.fleet.scaffold import FleetFolder, write_fleet_folder
    from gpuwiz.backends.machine.host import RealHost
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile
    from gpuwiz.backends.planners.node_state import same_state
    from gpuwiz.backends.planners.registry import offered_choices
    from gpuwiz.backends.runs.answers import answers_text

    if args.exporter:
        from gpuwiz.backends.exporter.http_server import parse_listen

        try:
            parse_listen(args.exporter)
        except ValueError as exc:
            return _usage(f"--exporter: {exc}")
    profile = getattr(args, "profile", None) or (DEMO_PROFILES[0] if args.demo else None)
    host = ProfileHost(load_profile(profile, env)) if profile else RealHost(env)
    source = f"profile {host.profile.name}" if profile else "this machine"
    report = run_doctor(host)
    answers = answers_text(offered_choices(report), {}, machine=source, as_here=same_state(report))
    folder = Path(args.folder)
    gpuwiz_bin = Path(sys.executable).parent / "gpuwiz"
    spec = FleetFolder(
        folder=folder,
        answers_text=answers,
        answers_from=source,
        demo=args.demo,
        python=sys.executable,
        gpuwiz_bin=str(gpuwiz_bin) if gpuwiz_bin.is_file() else "gpuwiz",
        exporter=args.exporter,
    )
    try:
        written = write_fleet_folder(spec)
    except FileExistsError as exc:
        return _usage(str(exc))
    except OSError as exc:
        return _usage(f"{folder}: cannot write: {exc.strerror or exc}")
    print(f"gpuwiz: wrote {len(written)} files in {folder}/ (answers from {source})")
    inventory = folder / "inventory.yml"
    print(f"next: gpuwiz fleet apply -i {inventory}{'' if args.demo else ' --yes   (after editing it)'}")
    return EXIT_OK


def _ansible(env: dict[str, str]) -> str | None:
    from gpuwiz.backends.fleet.runner import MISSING, find_ansible_playbook

    found = find_ansible_playbook(env)
    if found is None:
        print(f"gpuwiz: error: {MISSING}", file=sys.stderr)
    return found


def _hosts(ansible_playbook: str, inventory: Path, env: dict[str, str], limit: str = "") -> list[str]:
    from gpuwiz.backends.fleet.inventory import inventory_hosts

    return inventory_hosts(str(Path(ansible_playbook).with_name("ansible-inventory")), inventory, env, limit)


def _apply(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.fleet.runner import (
        FleetRun,
        Tally,
        playbook_argv,
        playbook_env,
        playbook_for,
        recap_lines,
        results_dir_for,
        run_playbook,
    )

    inventory = Path(args.inventory)
    if not inventory.exists():
        return _usage(f"-i {inventory}: no such inventory")
    if args.forks < 1:
        return _usage(f"--forks {args.forks}: at least 1")
    if args.answers:
        _load_answers_or_raise(args.answers)  # a bad answers file: its error (exit 2) before any node is touched
    playbook = Path(args.playbook) if args.playbook else playbook_for(inventory)
    if not playbook.is_file():
        return _usage(f"--playbook {playbook}: no such file")
    ansible_playbook = _ansible(env)
    if ansible_playbook is None:
        return EXIT_USAGE
    try:
        hosts = _hosts(ansible_playbook, inventory, env, args.limit)
    except (ValueError, OSError) as exc:
        return _usage(f"-i {inventory}: Ansible cannot read it: {exc}")
    if not hosts:
        return _usage(f"-i {inventory}: no hosts{' match --limit ' + args.limit if args.limit else ''}")
    what = "plan on (--check: nothing changes)" if args.check else "provision"
    print(f"gpuwiz fleet: {what} {len(hosts)} node(s): {', '.join(hosts)}")
    print(f"  playbook {playbook}, forks {args.forks}")
    if not (args.yes or args.check):
        if not sys.stdin.isatty():
            return _usage("fleet apply without a terminal needs --yes (or --check to see the plans)")
        if input(f"Provision these {len(hosts)} node(s)? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing was changed")
            return EXIT_OK
    run = FleetRun(
        inventory=inventory,
        playbook=playbook,
        results_dir=results_dir_for(inventory),
        answers=Path(args.answers) if args.answers else None,
        limit=args.limit,
        forks=args.forks,
        check=args.check,
    )
    tally = Tally()
    started = time.monotonic()
    for event in run_playbook(playbook_argv(ansible_playbook, run), playbook_env(env)):
        tally.add(event)
        line = progress_line(event, time.monotonic() - started)
        if line:
            print(line, flush=True)
    elapsed = time.monotonic() - started
    print()
    for line in recap_lines(tally.recap):
        print(line)
    print(f"\nansible-playbook exit {tally.rc}, {elapsed:.1f} s")
    if not args.check:
        _print_status(run.results_dir, hosts, unicode=_unicode(sys.stdout))
    code = tally.exit_code()
    ok = "every node planned (--check: nothing changed)" if args.check else "every node green"
    print({EXIT_OK: ok, EXIT_FAILED: "a node failed", EXIT_REBOOT: "a node waits for a reboot"}[code])
    return code


def _load_answers_or_raise(path: str) -> None:
    from gpuwiz.backends.runs.answers import load_answers

    load_answers(path)


def progress_line(event: Any, elapsed: float) -> str:
    """One line for the events worth a person's eye; '' for the rest (Ansible's bookkeeping)."""
    at = f"{elapsed:6.1f}s"
    data = event.data
    if event.kind == "text":
        return f"{at}  ansible: {data.get('text', '')}"
    if event.kind in ("failed", "unreachable"):
        msg = str(data.get("msg", "")).strip().splitlines() or [event.kind]
        shown = "\n".join(f"{'':>8}    | {m}" for m in msg[-15:])
        return f"{at}  {event.host}  {event.kind.upper()}: {event.task}\n{shown}"
    if event.task.startswith("Count the planned steps") and "steps" in data:
        steps = int(str(data["steps"]))
        return f"{at}  {event.host}  plan: " + ("cannot plan" if steps < 0 else f"{steps} step(s)")
    if event.task.startswith("Apply") and event.kind in ("changed", "ok"):
        return f"{at}  {event.host}  gpuwiz apply: exit {data.get('rc')} ({data.get('delta', '')})"
    if event.task.startswith("Reboot") and event.kind == "changed":
        return f"{at}  {event.host}  rebooted"
    if event.task.startswith("Report the outcome") and "outcome" in data:
        return f"{at}  {event.host}  {data['outcome']}"
    if event.kind == "play":
        return f"{at}  play: {event.task}"
    return ""


def _unicode(stream: Any) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().startswith("utf")


def _print_status(results_dir: Path, hosts: list[str], *, unicode: bool) -> int:
    from gpuwiz.backends.fleet.status import fleet_status, status_exit_code, status_table

    statuses = fleet_status(results_dir, hosts)
    print()
    for line in status_table(statuses, unicode=unicode):
        print(line)
    for s in statuses:
        if s.outcome == "failed" and s.output:
            print(f"\n{s.node}: gpuwiz said:\n" + "\n".join(f"  {line}" for line in s.output.splitlines()[-15:]))
    return status_exit_code(statuses)


def _status(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.fleet.runner import find_ansible_playbook, results_dir_for
    from gpuwiz.backends.fleet.status import fleet_status, reported_nodes, status_document, status_exit_code

    inventory = Path(args.inventory)
    if not inventory.exists():
        return _usage(f"-i {inventory}: no such inventory")
    results = results_dir_for(inventory)
    ansible_playbook = find_ansible_playbook(env)
    try:  # Ansible reads the inventory when it is here; else the nodes that reported
        hosts = _hosts(ansible_playbook, inventory, env) if ansible_playbook else reported_nodes(results)
    except (ValueError, OSError) as exc:
        return _usage(f"-i {inventory}: Ansible cannot read it: {exc}")
    if args.json:
        print(json.dumps(status_document(fleet_status(results, hosts)), indent=2))
        return status_exit_code(fleet_status(results, hosts))
    if not hosts:
        print(f"gpuwiz: no nodes in {inventory} and no reports in {results}")
        return EXIT_FAILED
    return _print_status(results, hosts, unicode=not args.no_unicode and _unicode(sys.stdout))


def _node_apply(args: argparse.Namespace, env: dict[str, str]) -> int:
    """cmd_apply on a simulated node whose profile file is its disk: the end state is written back."""
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.fleet.simulated import machine_after_run
    from gpuwiz.backends.machine.local_files import atomic_write
    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import is_path_reference, load_profile
    from gpuwiz.backends.planners.registry import build_plan
    from gpuwiz.backends.runs.answers import load_answers
    from gpuwiz.backends.runs.plan_summary import render_text

    from .apply_text import run_plan_in_terminal

    machine = getattr(args, "profile", None)
    if not machine or not is_path_reference(machine):
        return _usage(
            "fleet node-apply needs --profile FILE: the simulated node's machine (a profile file it may rewrite)"
        )
    if not args.yes:
        return _usage("fleet node-apply runs under Ansible: it needs --yes")
    selections = load_answers(args.answers) if args.answers else {}
    source = args.answers or "answers"
    profile_text = Path(machine).read_text(encoding="utf-8")
    host = ProfileHost(load_profile(machine, env), simulate_steps=True)
    name = host.profile.name
    plan = build_plan(run_doctor(host), selections, source=source)
    sys.stdout.write(render_text(plan))
    if not plan.steps:
        return EXIT_OK
    if plan.needs_root and host.sudo_mode() not in ("root", "passwordless"):
        how = "there is no sudo here" if host.sudo_mode() == "none" else "sudo asks for a password"
        print(
            f"gpuwiz: these steps need root and {how}: run gpuwiz as root (simulated machine {name})", file=sys.stderr
        )
        return EXIT_FAILED
    try:
        code = run_plan_in_terminal(host, plan, env, selections=selections, profile=name)
        while code == EXIT_REBOOT:  # a simulated machine reboots at once: go on, as `gpuwiz apply` does
            before = [s.id for s in plan.steps]
            plan = build_plan(run_doctor(host), selections, source=source)
            print(f"\n(simulated machine {name} rebooted; {len(plan.steps)} step(s) left)\n")
            if not plan.steps or [s.id for s in plan.steps] == before:
                code = EXIT_OK if not plan.steps else EXIT_REBOOT
                break
            code = run_plan_in_terminal(host, plan, env, selections=selections, profile=name)
    finally:
        written = {w.path: host.read_text(w.path) for w in host.writes}
        after = machine_after_run(profile_text, host.applied, written, machine)
        atomic_write(machine, after, mode=0o600, backup_root=None)
        print(f"gpuwiz: the simulated node's machine as this run left it: {machine}")
    return code
