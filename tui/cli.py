"""The `gpuwiz` command line (DESIGN.md's CLI contract and exit codes).

Only the bare `gpuwiz` (the wizard) imports textual; every other command stays light.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from dataclasses import replace
from typing import Any, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_REBOOT = 0, 1, 2, 3, 4
DEMO_SEED = 1  # a profile's GPUs move the same way on every run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exit code is 2 too; keep one line
        self.print_usage(sys.stderr)
        print(f"gpuwiz: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    # --profile is global: accepted before or after the subcommand.
    profile_opt = argparse.ArgumentParser(add_help=False)
    profile_opt.add_argument(
        "--profile", metavar="P", default=argparse.SUPPRESS, help="simulate a machine: a profile name or a .toml path"
    )

    from .cli_help import COMMANDS

    def command(subs, name: str, **kwargs) -> argparse.ArgumentParser:
        """A subcommand with its description, examples and exit codes; a mistyped flag gets its usage."""
        about = COMMANDS[name]
        kwargs.setdefault("parents", [profile_opt])
        found = subs.add_parser(
            name,
            description=about.description,
            epilog=about.epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        found.set_defaults(usage_parser=found)
        return found

    parser = _Parser(
        prog="gpuwiz",
        description="From bare NVIDIA hardware to a Kubernetes pod running nvidia-smi, one verified layer at a time. "
        "Without a command: the wizard (a terminal UI).",
        epilog="Exit codes: 0 ok, 1 a finding or step failed, 2 bad usage or input, 3 internal error, 4 reboot needed.",
        parents=[profile_opt],
    )
    parser.add_argument(
        "--answers", dest="wizard_answers", metavar="F", help="the wizard starts with this answers file's choices"
    )
    parser.add_argument("--no-unicode", action="store_true", help="the wizard in ASCII only (marks, borders, arrows)")
    parser.add_argument("--version", action=_VersionAction, help="show gpuwiz's version and exit")
    parser.set_defaults(usage_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    doctor = command(sub, "doctor", help="findings per layer (exit 1 if one failed)")
    doctor.add_argument("--json", action="store_true", help="print the JSON document (gpuwiz help doctor-json)")

    plan = command(sub, "plan", help="print the steps that would make every layer healthy")
    plan.add_argument("--answers", metavar="F", help="answers file (TOML) with your choices")
    plan.add_argument(
        "--format",
        choices=("text", "sh", "json", "answers"),
        default="text",
        help="answers: this machine's choices as an answers file, for `apply` on the next node",
    )

    apply = command(sub, "apply", help="run the plan for an answers file (the way to provision nodes alike)")
    apply.add_argument("--answers", metavar="F", help="answers file (TOML); without it the recommended choices")
    apply.add_argument("--yes", action="store_true", help="do not ask before running")
    apply.add_argument("--dry-run", action="store_true", help="print the steps and change nothing")

    rollback = command(sub, "rollback", help="put back the files the last run wrote")
    rollback.add_argument("--dry-run", action="store_true", help="say which files would be restored")

    runtime = command(sub, "runtime", help="container runtime configs: configure")
    rsub = runtime.add_subparsers(dest="runtime_command", metavar="ACTION", required=True, parser_class=_Parser)
    conf = command(
        rsub,
        "configure",
        help="add the NVIDIA runtime to docker, containerd or CRI-O (like nvidia-ctk runtime configure)",
    )
    conf.add_argument("--runtime", choices=("docker", "containerd", "crio"), default="docker")
    conf.add_argument("--config", metavar="PATH", help="the config to edit (default: the one the runtime reads)")
    conf.add_argument(
        "--drop-in",
        "--drop-in-config",
        dest="drop_in",
        metavar="PATH|none",
        help="containerd/CRI-O: the drop-in file to write ('none' or empty: edit --config in place)",
    )
    bool_flag(
        conf, "--set-as-default", "--nvidia-set-as-default", dest="set_as_default", help="make it the default runtime"
    )
    bool_flag(
        conf,
        "--cdi",
        "--cdi.enabled",
        "--enable-cdi",
        dest="cdi",
        help="enable CDI (containerd enable_cdi, docker features.cdi)",
    )
    conf.add_argument("--runtime-name", "--nvidia-runtime-name", dest="runtime_name", default="nvidia", metavar="N")
    conf.add_argument(
        "--runtime-path",
        "--nvidia-runtime-path",
        dest="runtime_path",
        metavar="P",
        help="default: nvidia-container-runtime (docker), its absolute path (containerd, CRI-O)",
    )
    bool_flag(conf, "--dry-run", dest="dry_run", help="print each resulting file after a '# path' line")
    conf.add_argument(
        "--config-mode",
        type=_config_mode,
        default="config-file",
        metavar="MODE",
        help="config-file (default): a runtime entry; oci-hook: the OCI prestart hook file instead (CRI-O, podman)",
    )
    conf.add_argument("--oci-hook-path", default="", metavar="PATH", help="oci-hook: the hook file (default: print it)")
    conf.add_argument(
        "--nvidia-runtime-hook-path",
        "--runtime-hook-path",
        dest="hook_binary",
        default="/usr/bin/nvidia-container-runtime-hook",
        metavar="P",
        help="oci-hook: the hook executable",
    )
    conf.add_argument(
        "--config-source",
        type=_config_sources,
        default=("file",),
        metavar="SOURCES",
        help="file (default) or command (containerd config dump, crio status config), or both in order: command,file",
    )
    conf.add_argument("--executable-path", metavar="P", help="the runtime's executable for --config-source command")

    monitor = command(sub, "monitor", help="live GPU panels and processes (NVML); --once / --json print one sample")
    monitor.add_argument("--interval", type=_seconds, default=1.0, metavar="S", help="seconds between samples (>= 0.2)")
    monitor.add_argument("--once", action="store_true", help="print one sample as a table and exit")
    monitor.add_argument("--json", action="store_true", help="print one sample as JSON (gpuwiz help monitor-json)")
    monitor.add_argument("--readonly", action="store_true", help="never signal a process")
    monitor.add_argument("--no-unicode", action="store_true", help="ASCII bars, graphs and borders")
    monitor.add_argument(
        "--only",
        type=_gpu_list,
        metavar="GPUS",
        help="only these GPUs: NVML indexes or UUIDs, comma-separated (--only 0,3)",
    )
    monitor.add_argument(
        "--only-visible",
        action="store_true",
        help="only the GPUs in CUDA_VISIBLE_DEVICES (indexes in PCI bus order, or UUIDs)",
    )
    monitor.add_argument(
        "--user",
        nargs="?",
        const=getpass_user(),
        metavar="NAME",
        help="start with only this user's processes (without NAME: yours)",
    )
    monitor.add_argument("--frozen", action="store_true", help="a profile's values hold still (demos, screenshots)")
    monitor.add_argument(
        "--prometheus",
        metavar="URL",
        help="the cluster view: every node's GPUs from this Prometheus (gpuwiz exporters or dcgm-exporter)",
    )

    from .exporter_command import add_parser as add_exporter

    add_exporter(sub, command)

    from .fleet_command import add_parser as add_fleet

    add_fleet(sub, command)

    profile = command(sub, "profile", help="machine profiles: list, show, capture")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True, parser_class=_Parser)
    listing = psub.add_parser("list", help="one profile a line: name, two spaces, summary")
    listing.set_defaults(usage_parser=listing)
    show = psub.add_parser("show", help="print a profile")
    show.set_defaults(usage_parser=show)
    show.add_argument("name")
    capture = psub.add_parser("capture", help="record this machine's answers as a redacted profile")
    capture.set_defaults(usage_parser=capture)
    capture.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    completion = command(sub, "completion", parents=[], help="print a shell completion script: bash, zsh or fish")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    topics = command(sub, "help", parents=[], help="show a reference page that ships with gpuwiz")
    topics.add_argument("topic", nargs="?", metavar="TOPIC")
    return parser


RUNTIME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class _VersionAction(argparse.Action):
    """--version, with the version read only when asked (see gpuwiz.backends.__getattr__)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from gpuwiz.backends import __version__

        print(f"gpuwiz {__version__}")
        parser.exit()


def getpass_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _gpu_list(text: str) -> tuple[str, ...]:
    from gpuwiz.backends.nvml.gpu_selection import parse_gpu_list

    wanted = parse_gpu_list(text)
    if not wanted:
        raise argparse.ArgumentTypeError(f"{text!r}: name GPUs by index or UUID, e.g. 0,3 or GPU-5c1e…")
    return wanted


def _wanted_gpus(args: argparse.Namespace, env: dict[str, str]) -> tuple[str, ...] | None:
    """--only's list, else with --only-visible CUDA_VISIBLE_DEVICES's (unset: every GPU, as for CUDA)."""
    from gpuwiz.backends.nvml.gpu_selection import parse_gpu_list

    if args.only:
        return args.only
    if args.only_visible and "CUDA_VISIBLE_DEVICES" in env:
        return parse_gpu_list(env["CUDA_VISIBLE_DEVICES"])
    return None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r} (a finite number, e.g. 1 or 0.5)")
    return value


CONFIG_MODES = {"config-file": "config-file", "config": "config-file", "oci-hook": "oci-hook", "hook": "oci-hook"}


def _config_mode(text: str) -> str:
    mode = CONFIG_MODES.get(text.strip().lower())
    if mode is None:
        raise argparse.ArgumentTypeError(f"{text!r}: config-file or oci-hook")
    return mode


def _config_sources(text: str) -> tuple[str, ...]:
    sources = tuple(s.strip().lower() for s in text.split(","))
    if not all(s in ("file", "command") for s in sources):
        raise argparse.ArgumentTypeError(f"{text!r}: file, command, or both in order (command,file)")
    return sources


def bool_flag(parser: argparse.ArgumentParser, *names: str, dest: str, help: str) -> None:
    """`--x`, `--x=true`, `--x false`: nvidia-ctk's boolean flags take a value too."""
    parser.add_argument(*names, dest=dest, nargs="?", const=True, default=False, type=_flag, metavar="BOOL", help=help)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r} (true or false)")


def _host(
    args: argparse.Namespace, env: dict[str, str], *, live: bool = False, simulate: bool = False
) -> tuple[Any, str | None]:
    """`live`: a profile's GPUs move over time (the TUI's monitor), else they hold the recorded values.
    `simulate`: plan steps run on a profile act out what they do (the wizard, `apply`)."""
    profile = getattr(args, "profile", None)
    if profile is None:
        from gpuwiz.backends.machine.host import RealHost

        return RealHost(env), None
    import time

    from gpuwiz.backends.machine.profile_host import ProfileHost
    from gpuwiz.backends.machine.profiles import load_profile

    loaded = load_profile(profile, env)
    motion = (DEMO_SEED, time.monotonic) if live else None
    return ProfileHost(loaded, motion=motion, simulate_steps=simulate), loaded.name


def cmd_doctor(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.doctor import doctor_document, run_doctor

    host, profile = _host(args, env)
    report = run_doctor(host)
    if args.json:
        print(json.dumps(doctor_document(report, profile=profile), indent=2))
    else:
        from rich.console import Console

        from .report_text import print_report

        where = f"profile {profile} (simulated machine)" if profile else "this machine"
        print_report(report, Console(highlight=False), where=where, wrap=sys.stdout.isatty())
    return report.exit_code


def _load_answers(path: str | None) -> dict[str, str]:
    """The answers file's choices as selections ("driver.branch" → "570"); {} without a file."""
    if path is None:
        return {}
    from gpuwiz.backends.runs.answers import load_answers

    return load_answers(path)


def cmd_plan(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.planners.registry import build_plan
    from gpuwiz.backends.runs.plan import plan_document, render_sh
    from gpuwiz.backends.runs.plan_summary import render_text

    selections = _load_answers(args.answers)
    host, profile = _host(args, env)
    report = run_doctor(host)
    plan = build_plan(report, selections, source=args.answers or "answers")
    if args.format == "answers":
        from gpuwiz.backends.planners.node_state import same_state
        from gpuwiz.backends.planners.registry import offered_choices
        from gpuwiz.backends.runs.answers import answers_text

        text = answers_text(
            offered_choices(report), selections, machine=profile or "this machine", as_here=same_state(report)
        )
        sys.stdout.write(text)
    elif args.format == "json":
        print(json.dumps(plan_document(plan, profile=profile), indent=2))
    elif args.format == "sh":
        sys.stdout.write(render_sh(plan))
    else:
        sys.stdout.write(render_text(plan))
    return EXIT_OK


def cmd_apply(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.doctor import run_doctor
    from gpuwiz.backends.planners.registry import build_plan
    from gpuwiz.backends.runs.plan_summary import render_text

    selections = _load_answers(args.answers)
    host, profile = _host(args, env, simulate=True)
    plan = build_plan(run_doctor(host), selections, source=args.answers or "answers")
    sys.stdout.write(render_text(plan))
    if args.dry_run or not plan.steps:
        if args.dry_run:
            print("dry run: nothing was changed")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print("gpuwiz: error: apply without a terminal needs --yes (after reading the plan)", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"\nRun these {len(plan.steps)} steps on {profile or 'this machine'}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was changed")
            return EXIT_OK
    if plan.needs_root and not _root_ready(host):
        return EXIT_FAILED
    from .apply_text import run_plan_in_terminal

    code = run_plan_in_terminal(host, plan, env, selections=selections, profile=profile)
    while code == EXIT_REBOOT and host.simulated:  # a simulated machine reboots at once: go on
        before = [s.id for s in plan.steps]
        plan = build_plan(run_doctor(host), selections, source=args.answers or "answers")
        print(f"\n(simulated machine {profile} rebooted; {len(plan.steps)} step(s) left)\n")
        if not plan.steps:
            return EXIT_OK
        if [s.id for s in plan.steps] == before:  # the profile does not record the machine changing
            print(
                f"gpuwiz: the simulated machine {profile} is the same after the reboot, so the same plan "
                "would run again; stopping here (a profile's [after.LAYER] records say what a run changes)."
            )
            return EXIT_REBOOT
        code = run_plan_in_terminal(host, plan, env, selections=selections, profile=profile)
    return code


def _root_ready(host: Any) -> bool:
    """Steps need root: fine as root or with passwordless sudo; else ask for the password once."""
    mode = host.sudo_mode() if hasattr(host, "sudo_mode") else "root"
    if mode in ("root", "passwordless"):
        return True
    if mode == "none":
        print("gpuwiz: these steps need root and there is no sudo here: run gpuwiz as root", file=sys.stderr)
        return False
    if not sys.stdin.isatty():
        print("gpuwiz: these steps need root and sudo asks for a password: run gpuwiz with sudo", file=sys.stderr)
        return False
    import getpass

    for _ in range(3):
        if host.set_sudo_password(getpass.getpass(f"[sudo] password for {host.user} (kept in memory only): ")):
            return True
        print("Sorry, try again.", file=sys.stderr)
    print("gpuwiz: sudo did not accept the password; nothing was changed", file=sys.stderr)
    return False


def cmd_rollback(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.runs.rollback import apply_rollback, rollback_actions
    from gpuwiz.backends.runs.run_state import load_state

    host, profile = _host(args, env)
    if profile:
        simulated = load_state(env, host.profile.name)
        if simulated is not None:
            from .apply_text import SIMULATED_LIVES

            print(
                f"gpuwiz: the last run on {profile} wrote {len(simulated.files)} file(s) (log: {simulated.log}). {SIMULATED_LIVES}"
            )
            return EXIT_OK
    state = load_state(env)
    if state is None or not state.files:
        print("gpuwiz: no run has written a file here: nothing to roll back")
        return EXIT_OK
    if (state.profile or None) != profile:
        print(
            f"gpuwiz: the last run was on {state.profile or 'this machine'}, not {profile or 'this machine'}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    actions = rollback_actions(host, state)
    if args.dry_run:
        for action in actions:
            print(action.describe())
        print("dry run: nothing was changed")
        return EXIT_OK
    lines = apply_rollback(host, actions)
    for line in lines:
        print(line)
    print("Packages and services the run changed stay as they are; rollback puts back files.")
    return EXIT_FAILED if any(line.startswith("cannot") for line in lines) else EXIT_OK


def cmd_runtime(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.configs.containerd_edit import RuntimeSettings
    from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure
    from gpuwiz.backends.errors import ActionFailed, UsageError
    from gpuwiz.backends.runs.file_writes import write_fresh
    from gpuwiz.backends.runs.run_state import record_files_run

    if args.config is not None and not args.config.strip():
        raise UsageError("--config '': an empty path; name the config file, or leave --config out for the default")
    if not RUNTIME_NAME.fullmatch(args.runtime_name):
        raise UsageError(
            f"--runtime-name {args.runtime_name!r}: letters, digits, '.', '_' and '-' only (it becomes a config key)"
        )
    drop_in = args.drop_in
    if drop_in is not None and drop_in.strip().lower() in ("", "none"):
        drop_in = ""
    settings = RuntimeSettings(
        name=args.runtime_name, path=args.runtime_path or "", set_as_default=args.set_as_default, cdi=args.cdi
    )
    request = ConfigureRequest(
        args.runtime,
        args.config,
        drop_in,
        settings,
        runtime_path_given=args.runtime_path is not None,
        mode=args.config_mode,
        hook_file=args.oci_hook_path,
        hook_binary=args.hook_binary,
        config_sources=args.config_source,
        executable=args.executable_path,
    )
    host, profile = _host(args, env)
    if args.dry_run:
        result = configure(host, request)
        for edit in result.edits:
            sys.stdout.write(f"# {edit.path}\n{edit.new_text}")
        sys.stdout.write(result.output)
        for note in result.notes:
            print(f"gpuwiz: {note}", file=sys.stderr)
        if not result.edits and not result.output:
            print("gpuwiz: nothing to change", file=sys.stderr)
        return EXIT_OK
    try:
        result, written = write_fresh(host, lambda: configure(host, request), lambda r: r.edits)
    except OSError as exc:
        hint = " (run it with sudo)" if isinstance(exc, PermissionError) else ""
        where = f" {exc.filename}" if exc.filename else ""
        raise ActionFailed(f"cannot write{where}: {exc.strerror or exc}{hint}; nothing was changed") from None
    for done in written:
        backup = f" (backup: {done.backup})" if done.backup else ""
        print(f"gpuwiz: wrote {done.path}{backup}")
    if written:
        record_files_run(env, "runtime.configure", written, profile=profile or "")
    sys.stdout.write(result.output)
    for note in result.notes:
        print(f"gpuwiz: {note}", file=sys.stderr if result.output else sys.stdout)
    if not result.edits and not result.output:
        print(f"gpuwiz: nothing to change: the {settings.name} runtime is configured already")
    elif result.restart:
        print(f"gpuwiz: restart {result.restart} to load it: sudo systemctl restart {result.restart}")
    return EXIT_OK


def cmd_profile(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.machine.profiles import available_profiles, load_profile, resolve_profile

    if args.profile_command == "list":
        for name, path in available_profiles(env):
            try:
                summary = load_profile(str(path), env).summary
            except Exception as exc:  # one broken user profile must not hide the others
                summary = f"(invalid: {exc})"
            print(f"{name}  {summary}")
        return EXIT_OK
    if args.profile_command == "show":
        load_profile(args.name, env)  # validate first: show only what would load
        sys.stdout.write(resolve_profile(args.name, env).read_text(encoding="utf-8"))
        return EXIT_OK
    from gpuwiz.backends.capture import capture_profile

    host, _ = _host(args, env)
    text = capture_profile(host)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            from gpuwiz.backends.errors import InputError

            raise InputError(args.output, f"cannot write: {exc.strerror}; choose another -o path") from None
        print(
            f"gpuwiz: wrote {args.output} (redacted: hostnames, serials, UUIDs, MACs, tokens, keys, certificates)",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace, env: dict[str, str]) -> int:
    from gpuwiz.backends.nvml.sampler import MIN_INTERVAL_S as MIN_INTERVAL

    if args.interval < MIN_INTERVAL:
        print(
            f"gpuwiz: error: --interval: {args.interval:g} s is too short (at least {MIN_INTERVAL:g} s)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.prometheus:
        from .cluster_command import cmd_cluster

        return cmd_cluster(args, lambda config: _run_app(args, env, config))
    if args.once or args.json:
        return _monitor_once(args, env)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "gpuwiz: the monitor needs a terminal; without one use `gpuwiz monitor --once` or `--json`", file=sys.stderr
        )
        return EXIT_USAGE
    from .screens.monitor import MonitorConfig

    config = MonitorConfig(
        interval=args.interval,
        readonly=args.readonly,
        unicode=not args.no_unicode,
        standalone=True,
        only=_wanted_gpus(args, env),
        user=args.user,
    )
    return _run_app(args, env, config)


def _monitor_once(args: argparse.Namespace, env: dict[str, str]) -> int:
    import json
    import time

    from gpuwiz.backends.nvml.sampler import NvmlSampler

    host, profile = _host(args, env)
    hostname = (host.read_text("/proc/sys/kernel/hostname") or "").strip()
    from gpuwiz.backends.machine.host_stats import HostStatsReader

    sampler = NvmlSampler(host.nvml(), process_info=host.process_info, hostname=hostname or (profile or ""))
    host_stats = HostStatsReader(host.read_text)
    try:
        host_stats.read()
        sample = sampler.sample()
        if not host.simulated:
            time.sleep(0.25)  # CPU % (the processes', the host's) is measured between two looks
            sample = sampler.sample()
        sample = replace(sample, host=host_stats.read())
    finally:
        sampler.close()
    from gpuwiz.backends.nvml.gpu_selection import selected_gpus

    wanted = _wanted_gpus(args, env)
    only = None if wanted is None or sample.problem else selected_gpus(wanted, sample.nvml.gpus)
    if args.user:
        sample = replace(sample, processes=tuple(p for p in sample.processes if p.info and p.info.user == args.user))
    if args.json:
        from gpuwiz.backends.nvml.monitor_json import monitor_document

        print(json.dumps(monitor_document(sample, profile=profile, only=only), indent=2))
    else:
        from rich.console import Console

        from gpuwiz.backends.nvml.history import History

        from .monitor_view import ViewOptions, render

        console = Console(highlight=False, soft_wrap=False)
        width = console.width if console.is_terminal else int(env.get("COLUMNS", "") or 0) or 120
        unicode = not args.no_unicode and console.encoding.lower().startswith("utf")
        opts = ViewOptions(width=width, unicode=unicode, interval=args.interval, graphs=False, live=False, only=only)
        history = History()
        history.add(sample)
        for line in render(sample, history, opts):
            console.print(line, crop=False, overflow="ignore", no_wrap=True)
    return EXIT_FAILED if sample.problem else EXIT_OK


def cmd_tui(args: argparse.Namespace, env: dict[str, str]) -> int:
    _load_answers(getattr(args, "wizard_answers", None))  # a bad answers file: its error first, exit 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("gpuwiz: the wizard needs a terminal; without one use `gpuwiz doctor` or `gpuwiz plan`", file=sys.stderr)
        return EXIT_USAGE
    return _run_app(args, env, None)


def _run_app(args: argparse.Namespace, env: dict[str, str], monitor: Any) -> int:
    answers_path = getattr(args, "wizard_answers", None) if monitor is None else None
    answers = _load_answers(answers_path)
    host, profile = _host(args, env, live=not getattr(args, "frozen", False), simulate=True)
    from .app import GpuwizApp

    app = GpuwizApp(
        host=host,
        profile_name=profile,
        monitor=monitor,
        answers=answers,
        answers_source=answers_path or "",
        user_env=env,
        ascii_only=getattr(args, "no_unicode", False),
    )
    app.run()
    if app.crash_line:
        print(app.crash_line, file=sys.stderr)
    return app.return_code or EXIT_OK


def cmd_exporter(args: argparse.Namespace, env: dict[str, str]) -> int:
    from .exporter_command import cmd_exporter as serve_metrics

    return serve_metrics(args, env, _host)


def cmd_fleet(args: argparse.Namespace, env: dict[str, str]) -> int:
    from .fleet_command import cmd_fleet as run_fleet

    return run_fleet(args, env)


def cmd_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .completion import SHELLS

    sys.stdout.write(SHELLS[args.shell](parser))
    return EXIT_OK


def cmd_help(args: argparse.Namespace, env: dict[str, str]) -> int:
    from importlib.resources import files

    pages = {p.name[:-3]: p for p in files("gpuwiz.docs").iterdir() if p.name.endswith(".md")}
    if args.topic is None:
        print("gpuwiz help TOPIC, one of:")
        for name, page in sorted(pages.items()):
            title = next((line.lstrip("# ").strip() for line in page.read_text().splitlines() if line.strip()), "")
            print(f"  {name:<18} {title}")
        return EXIT_OK
    page = pages.get(args.topic)
    if page is None:
        print(f"gpuwiz: error: no help topic {args.topic!r} (one of {', '.join(sorted(pages))})", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(page.read_text())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # a mistyped flag: the usage of the subcommand it was given to, not gpuwiz's
        args.usage_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handlers = {
        "completion": lambda a, e: cmd_completion(a, parser),
        "help": cmd_help,
        "doctor": cmd_doctor,
        "plan": cmd_plan,
        "runtime": cmd_runtime,
        "profile": cmd_profile,
        "monitor": cmd_monitor,
        "exporter": cmd_exporter,
        "fleet": cmd_fleet,
        "apply": cmd_apply,
        "rollback": cmd_rollback,
        None: cmd_tui,
    }
    try:
        return handlers[args.command](args, env)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        from gpuwiz.backends.errors import GpuwizError

        if isinstance(exc, GpuwizError):
            print(f"gpuwiz: {exc}", file=sys.stderr)
            return exc.exit_code
        from gpuwiz.backends.machine.logs import write_crash_log

        path = write_crash_log(env, exc, argv)
        print(f"gpuwiz: internal error ({type(exc).__name__}); details in {path}", file=sys.stderr)
        return EXIT_INTERNAL
