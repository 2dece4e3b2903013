"""What each subcommand's `--help` says beyond its options: what it does, an example, its exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandHelp:
    description: str
    examples: tuple[str, ...]
    exit_codes: str
    topic: str = ""  # `gpuwiz help TOPIC` with the reference

    def epilog(self) -> str:
        lines = ["examples:", *(f"  {e}" for e in self.examples), "", f"exit codes: {self.exit_codes}"]
        if self.topic:
            lines += ["", f"reference: gpuwiz help {self.topic}"]
        return "\n".join(lines)


USAGE = "2 bad usage or input (nothing was changed), 3 internal error (the log's path is printed)"

COMMANDS = {
    "doctor": CommandHelp(
        "Probe every layer (hardware, driver, toolkit, runtime, Kubernetes) and print its findings: "
        "ok, warn, fail or skip, each failure with its fix. Changes nothing.",
        ("sudo gpuwiz doctor", "gpuwiz doctor --json | jq '.layers[] | select(.status == \"fail\")'"),
        f"0 no finding failed, 1 a finding failed, {USAGE}",
        "doctor-json",
    ),
    "plan": CommandHelp(
        "Print the steps that would make every layer healthy with these choices (an answers file, else "
        "the recommended ones), as text, a bash script, JSON or this node's answers file. Changes nothing.",
        (
            "gpuwiz plan",
            "gpuwiz plan --answers node.toml --format sh > provision.sh",
            "gpuwiz plan --format answers > next-node.toml",
        ),
        f"0 printed, {USAGE}",
        "plan-json",
    ),
    "apply": CommandHelp(
        "Run the plan: print it, ask (or --yes), then run each step with its output; the run is logged "
        "and can be rolled back. Run it again after a failure or a reboot: steps already done are skipped.",
        ("sudo gpuwiz apply --answers node.toml --yes", "gpuwiz --profile fresh-rtx3060 apply --yes"),
        f"0 all steps done, 1 a step failed, 4 reboot now and run it again, 129 the terminal hung up, "
        f"130 cancelled (Ctrl+C), {USAGE}",
        "answers",
    ),
    "rollback": CommandHelp(
        "Put back the files the last run wrote (from their backups) and remove the ones it created. "
        "Packages it installed stay.",
        ("sudo gpuwiz rollback --dry-run", "sudo gpuwiz rollback"),
        f"0 done or nothing to do, 1 a file could not be restored, {USAGE}",
    ),
    "runtime": CommandHelp(
        "Container runtime configs.",
        ("sudo gpuwiz runtime configure --runtime containerd --cdi",),
        f"0 written, 1 a file could not be written, {USAGE}",
        "runtime-configure",
    ),
    "configure": CommandHelp(
        "Add the NVIDIA runtime to a container runtime's config, keeping comments, key order and every "
        "other key. nvidia-ctk's spellings are accepted too (--nvidia-set-as-default, --cdi.enabled, …).",
        (
            "sudo gpuwiz runtime configure --runtime docker --set-as-default",
            "sudo gpuwiz runtime configure --runtime containerd --drop-in /etc/containerd/conf.d/99-nvidia.toml",
            "gpuwiz runtime configure --runtime crio --dry-run",
            "sudo gpuwiz runtime configure --runtime containerd --config-source command,file",
            "sudo gpuwiz runtime configure --config-mode oci-hook --oci-hook-path /etc/containers/oci/hooks.d/99-nvidia.json",
        ),
        f"0 written (or printed with --dry-run), 1 a file could not be written, {USAGE}",
        "runtime-configure",
    ),
    "monitor": CommandHelp(
        "Live nvidia-smi-style GPU panels, history graphs and processes (with each one's SM share), read "
        "through NVML. Keys: m graph, s sort, S reverse, Enter the process whole, f GPU, u user, up/down "
        "select, t SIGTERM, K SIGKILL, p pause, q quit.",
        (
            "gpuwiz monitor",
            "gpuwiz monitor --once",
            "gpuwiz monitor --json | jq '.gpus[].memory_used_mib'",
            "gpuwiz monitor --prometheus http://prometheus:9090   # every node's GPUs",
        ),
        f"0 ok, 1 NVML could not start (--once, --json), 129 the terminal hung up, {USAGE}",
        "monitor-json",
    ),
    "exporter": CommandHelp(
        "Serve /metrics for Prometheus from the same NVML sampler as the monitor, under dcgm-exporter's names, "
        "units and labels (DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_FB_USED, … with gpu, UUID, modelName, Hostname), so "
        "NVIDIA's Grafana dashboard works unchanged, GeForce cards included; throttle reasons and per-process "
        "memory as gpuwiz_*. NVML trouble is gpuwiz_nvml_up 0, never a dead endpoint. Loopback unless --listen "
        "says otherwise; runs until SIGINT/SIGTERM.",
        (
            "gpuwiz exporter",
            "gpuwiz exporter --listen 0.0.0.0:9835",
            "curl -s 127.0.0.1:9835/metrics | grep DCGM_FI_DEV_GPU_TEMP",
        ),
        f"0 stopped by a signal, {USAGE.replace('input', 'input (--listen, an address in use)')}",
        "exporter",
    ),
    "fleet": CommandHelp(
        "Provision several nodes through Ansible, gpuwiz deciding on each: `init` writes a fleet folder "
        "(inventory, playbook and role, this node's answers file; --demo: three simulated nodes on this machine), "
        "`apply` runs ansible-playbook on the inventory (install gpuwiz, `gpuwiz apply --yes`, reboot when it "
        "exits 4 and run again, collect `doctor --json`) with each node's progress live, `status` shows a "
        "node x layer table of marks. Ansible is an extra: pip install 'gpuwiz[fleet]'.",
        (
            "gpuwiz fleet init demo --demo && gpuwiz fleet apply -i demo/inventory.yml --yes",
            "gpuwiz fleet status -i demo/inventory.yml",
            "gpuwiz fleet init fleet --exporter   # and gpuwiz exporter as a service on each node",
            "gpuwiz fleet apply -i fleet/inventory.yml --answers node.toml --limit gpu_nodes --forks 20 --yes",
        ),
        "0 every node green, 1 a node failed, 4 a node waits for a reboot, "
        "2 bad usage or input (Ansible missing: pip install 'gpuwiz[fleet]'), 3 internal error",
        "fleet",
    ),
    "profile": CommandHelp(
        "Machine profiles: simulated machines for every command (--profile NAME), and `capture` to record "
        "this one, redacted, for a bug report.",
        ("gpuwiz profile list", "gpuwiz profile show fresh-rtx3060", "sudo gpuwiz profile capture -o my-node.toml"),
        f"0 ok, {USAGE}",
        "profiles",
    ),
    "completion": CommandHelp(
        "Print a shell completion script for bash, zsh or fish, made from gpuwiz's own options.",
        (
            "gpuwiz completion bash > ~/.local/share/bash-completion/completions/gpuwiz",
            "gpuwiz completion zsh > ~/.zfunc/_gpuwiz",
            "gpuwiz completion fish > ~/.config/fish/completions/gpuwiz.fish",
        ),
        f"0 printed, {USAGE}",
    ),
    "help": CommandHelp(
        "Show a reference page that ships with gpuwiz (without TOPIC: the list).",
        ("gpuwiz help", "gpuwiz help answers"),
        f"0 shown, {USAGE}",
    ),
}
