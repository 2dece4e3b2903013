"""The container runtime layer's planner: a runtime if there is none, the nvidia runtime in its config, CDI, proof.

The config edits are exactly `gpuwiz runtime configure`'s, computed from the files the runtime
probe recorded (facts.runtime.config_view), so the plan shows the diff that will be written.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gpuwiz.backends.checks.toolkit import version_tuple
from gpuwiz.backends.configs.containerd_edit import RuntimeSettings, enable_cri_edit
from gpuwiz.backends.configs.runtime_configure import ConfigureRequest, configure
from gpuwiz.backends.doctor import DoctorReport
from gpuwiz.backends.errors import GpuwizError
from gpuwiz.backends.findings import Layer, Status
from gpuwiz.backends.gpu_records import cuda_version_text
from gpuwiz.backends.machine.distro import package_family
from gpuwiz.backends.machine.file_view import FileView
from gpuwiz.backends.packages import apt, docker_repo
from gpuwiz.backends.packages.signed_repo import apt_source_edit, dnf_repo_edit, key_steps
from gpuwiz.backends.planners.choices import Choice, Option, Selections
from gpuwiz.backends.runs.plan import FileEdit, Guard, PlanNote, Step

L = Layer.RUNTIME
# nvidia/cuda base images, newest first: (CUDA version the image needs, tag). A driver runs images up to
# its own CUDA version (DIAGNOSTICS row 19: "unsatisfied condition: cuda>=12.8").
CUDA_IMAGES = (
    ((13, 0), "13.0.0-base-ubuntu24.04"),
    ((12, 9), "12.9.1-base-ubuntu22.04"),
    ((12, 8), "12.8.1-base-ubuntu22.04"),
    ((12, 6), "12.6.3-base-ubuntu22.04"),
    ((12, 5), "12.5.1-base-ubuntu22.04"),
    ((12, 4), "12.4.1-base-ubuntu22.04"),
    ((12, 3), "12.3.2-base-ubuntu22.04"),
    ((12, 2), "12.2.2-base-ubuntu22.04"),
    ((12, 1), "12.1.1-base-ubuntu22.04"),
    ((12, 0), "12.0.1-base-ubuntu22.04"),
    ((11, 8), "11.8.0-base-ubuntu22.04"),
)
CDI_SPEC = "/etc/cdi/nvidia.yaml"
CDI_REFRESH_SINCE = (1, 18, 0)  # toolkits that ship nvidia-cdi-refresh.path
CTR_SOCKET = {"k3s": "/run/k3s/containerd/containerd.sock", "rke2": "/run/k3s/containerd/containerd.sock"}


def cuda_image(driver_cuda: str | None) -> str | None:
    """The newest nvidia/cuda base image this driver can run; None when the driver's CUDA is unknown."""
    match = re.match(r"(\d+)\.(\d+)", driver_cuda or "")
    if not match:
        return None
    have = (int(match.group(1)), int(match.group(2)))
    for needs, tag in CUDA_IMAGES:
        if needs <= have:
            return f"docker.io/nvidia/cuda:{tag}"
    return None


def _yes_no(key: str, title: str, recommended: bool, reason: str, yes: str, no: str) -> Choice:
    return Choice(
        key, L, title, (Option("no", "No", no), Option("yes", "Yes", yes)), "yes" if recommended else "no", reason
    )


# k3s and RKE2 bring their own containerd: a node that will join one needs no runtime of its own
NO_INSTALL = Option("none", "None yet", "k3s/RKE2 bring their own")


def docker_ce_steps(report: DoctorReport) -> list[Step]:
    """Docker Engine from Docker's repository: its key checked by fingerprint, its list or .repo, the packages."""
    hw, driver = report.facts.hardware, report.facts.driver
    os_id = hw.os.id if hw.os else ""
    family = package_family(hw.os)
    if family == "apt":  # a derivative (Pop!_OS, Mint) has no list of its own at Docker: none is planned
        line = docker_repo.apt_line(hw)
        if line is None:
            return []
        old = dict(driver.apt_sources).get(docker_repo.APT_LIST) if driver else None
        return [
            apt.key_tools_step(L),
            *key_steps(docker_repo.apt_key(os_id), layer=L, id_prefix="runtime"),
            Step(
                "runtime.docker-source",
                "Add Docker's repository",
                L,
                edit=apt_source_edit(docker_repo.APT_LIST, line, old),
                why="The list and keyring Docker's install guide uses, so an entry you made is replaced, not doubled.",
            ),
            apt.update_step(L),
            apt.install_step(
                list(docker_repo.PACKAGES),
                step_id="runtime.install",
                title="Install Docker Engine (docker-ce) from Docker's repository",
                why="Docker's current release, updated from Docker's repository; never curl | sh.",
                layer=L,
                verifies=("runtime.docker.nvidia",),
            ),
        ]
    if family != "dnf":
        return []
    # Docker's guide: its rhel repository for RHEL, the centos one for the rebuilds (Rocky, Alma)
    repo = docker_repo.dnf_repo({"fedora": "fedora", "rhel": "rhel"}.get(os_id, "centos"))
    old = dict(driver.dnf_repos).get(repo.path) if driver else None
    return [
        *key_steps(repo.key, layer=L, id_prefix="runtime"),
        Step(
            "runtime.docker-repo",
            "Add Docker's repository",
            L,
            edit=dnf_repo_edit(repo, old),
            why="Docker's own repository; packages checked against the key above.",
        ),
        Step(
            "runtime.install",
            "Install Docker Engine (docker-ce) from Docker's repository",
            L,
            argv=("dnf", "-y", "install", *docker_repo.PACKAGES),
            skip_if=Guard(("rpm", "-q", "--quiet", *docker_repo.PACKAGES)),
            verifies=("runtime.docker.nvidia",),
            why="RHEL ships Podman, not Docker; Docker's repository has Docker Engine for it.",
        ),
        Step(
            "runtime.docker-enable",
            "Start Docker now and at every boot",
            L,
            argv=("systemctl", "enable", "--now", "docker"),
            why="Docker's RPMs do not start the service themselves.",
        ),
    ]


K8S_MODULES_FILE = "/etc/modules-load.d/k8s.conf"
K8S_SYSCTL_FILE = "/etc/sysctl.d/99-kubernetes-cri.conf"
K8S_MODULES = ("overlay", "br_netfilter")
K8S_SYSCTLS = (
    ("net.bridge.bridge-nf-call-iptables", "1"),
    ("net.bridge.bridge-nf-call-ip6tables", "1"),
    ("net.ipv4.ip_forward", "1"),
)


CONTAINERD_CONFIG = "/etc/containerd/config.toml"


def distro_containerd_version(report: DoctorReport) -> int:
    """The config version of the containerd the distribution installs: 3 from containerd 2.0 on
    (Ubuntu 25.04+, Debian 14 "forky" and sid), else 2."""
    os = report.facts.hardware.os
    if os is None:
        return 2
    major = int(re.match(r"\d+", os.version_id).group()) if re.match(r"\d+", os.version_id or "") else 0
    if os.id == "ubuntu" and major >= 25:
        return 3
    if os.id == "debian" and (major >= 14 or os.codename in ("forky", "sid")):
        return 3
    return 2


def fresh_containerd_config(report: DoctorReport) -> str:
    """The config a new containerd gets (over its built-in defaults): runc with the systemd cgroup
    driver, as kubelet uses it (the Kubernetes docs' one change to the default)."""
    version = distro_containerd_version(report)
    plugin = '"io.containerd.cri.v1.runtime"' if version == 3 else '"io.containerd.grpc.v1.cri"'
    return (
        "# Written by gpuwiz: containerd's defaults, with runc on the systemd cgroup driver (kubelet's).\n"
        f"version = {version}\n\n"
        f"[plugins.{plugin}.containerd.runtimes.runc]\n"
        '  runtime_type = "io.containerd.runc.v2"\n\n'
        f"  [plugins.{plugin}.containerd.runtimes.runc.options]\n"
        "    SystemdCgroup = true\n"
    )


def kubernetes_prerequisites(view: FileView) -> list[Step]:
    """What the Kubernetes docs have a containerd node set up: overlay and br_netfilter, bridged traffic
    through iptables, IP forwarding — now and at every boot (kubeadm's preflight checks them)."""
    modules = "# Written by gpuwiz: kernel modules containerd and Kubernetes networking need.\n" + "".join(
        f"{m}\n" for m in K8S_MODULES
    )
    sysctls = "# Written by gpuwiz: bridged pod traffic through iptables, IP forwarding (Kubernetes).\n" + "".join(
        f"{k} = {v}\n" for k, v in K8S_SYSCTLS
    )
    steps: list[Step] = [
        Step(
            "runtime.k8s-modules",
            "Load overlay and br_netfilter at boot",
            L,
            edit=FileEdit(K8S_MODULES_FILE, modules, old_text=view.read_text(K8S_MODULES_FILE)),
            why="containerd's overlayfs snapshotter needs overlay; pod networking needs br_netfilter.",
        )
    ]
    for module in K8S_MODULES:
        steps.append(
            Step(
                f"runtime.modprobe-{module.replace('_', '-')}",
                f"Load {module} now",
                L,
                argv=("modprobe", module),
                why="The file above loads it from the next boot on; this loads it today.",
            )
        )
    steps.append(
        Step(
            "runtime.k8s-sysctl",
            "Let bridged traffic through iptables and forward IP packets",
            L,
            edit=FileEdit(K8S_SYSCTL_FILE, sysctls, old_text=view.read_text(K8S_SYSCTL_FILE)),
            why="Services and pod-to-pod traffic cross the bridge; kubeadm's preflight checks these.",
        )
    )
    steps.append(
        Step(
            "runtime.sysctl-apply",
            "Apply the sysctl settings now",
            L,
            argv=("sysctl", "--system"),
            why="Reads every sysctl.d file again, the new one included.",
        )
    )
    return steps


class RuntimePlanner:
    """Registered as `planner:runtime` (entry-point group gpuwiz.backends)."""

    layer = L
    name = "runtime"
    keys = {
        "runtime.install": "docker|docker-ce|containerd|podman|none",
        "runtime.default": "yes|no",
        "runtime.cdi": "yes|no",
        "runtime.containerd-config": "drop-in|in-place",
    }

    @staticmethod
    def _present(report: DoctorReport) -> list[str]:
        rt = report.facts.runtime
        if rt is None:
            return []
        return [n for n, f in (("docker", rt.docker), ("containerd", rt.containerd), ("crio", rt.crio)) if f]

    @staticmethod
    def _family(report: DoctorReport) -> str | None:
        return package_family(report.facts.hardware.os)

    def choices(self, report: DoctorReport) -> list[Choice]:
        rt = report.facts.runtime
        if rt is None or report.facts.hardware.os is None:
            return []
        present = self._present(report)
        out: list[Choice] = []
        if not present and not rt.podman:
            family = self._family(report)
            if family == "apt":
                in_cluster = report.facts.k8s is not None and report.facts.k8s.flavour is not None
                out.append(
                    Choice(
                        "runtime.install",
                        L,
                        "Install a runtime",
                        (
                            Option("docker", "Docker (docker.io)", "the distribution's"),
                            Option("docker-ce", "Docker CE", "Docker's repository"),
                            Option("containerd", "containerd", "for Kubernetes"),
                            NO_INSTALL,
                        ),
                        "containerd" if in_cluster else "docker",
                        "Kubernetes talks to containerd (CRI)."
                        if in_cluster
                        else "Docker is what a workstation runs containers with; the distribution's package.",
                    )
                )
            elif family == "dnf":
                out.append(
                    Choice(
                        "runtime.install",
                        L,
                        "Install a runtime",
                        (
                            Option("podman", "Podman", "RHEL's own, GPUs through CDI"),
                            Option("docker-ce", "Docker CE", "Docker's repository"),
                            NO_INSTALL,
                        ),
                        "podman",
                        "RHEL and its rebuilds ship Podman; it takes the GPU through CDI.",
                    )
                )
        out.append(
            _yes_no(
                "runtime.default",
                "nvidia as default",
                False,
                "Containers ask for the GPU (--gpus, runtimeClassName: nvidia); the rest keep runc.",
                "every container",
                "only GPU containers",
            )
        )
        out.append(
            _yes_no(
                "runtime.cdi",
                "CDI",
                self._cdi_supported(report),
                "CDI keeps GPU access across systemctl daemon-reload (the legacy hook loses it: 'NVML: Unknown Error')."
                if self._cdi_supported(report)
                else "This runtime version has no CDI; the legacy hook it is.",
                "devices by CDI spec",
                "legacy hook",
            )
        )
        if rt.containerd and rt.containerd.flavour == "containerd":
            v3 = rt.containerd.config_version == 3
            out.append(
                Choice(
                    "runtime.containerd-config",
                    L,
                    "containerd config",
                    (
                        Option("drop-in", "Drop-in", "conf.d/99-nvidia.toml"),
                        Option("in-place", "In place", "config.toml"),
                    ),
                    "drop-in" if v3 else "in-place",
                    "containerd 2 merges drop-ins deeply: the nvidia runtime in a file of its own."
                    if v3
                    else "containerd 1.x lets a drop-in replace the whole CRI table: edited in place instead.",
                )
            )
        return out

    @staticmethod
    def _cdi_supported(report: DoctorReport) -> bool:
        rt = report.facts.runtime
        toolkit = report.facts.toolkit
        if rt is None or (
            toolkit and toolkit.ctk_version and (version_tuple(toolkit.ctk_version) or (0,)) < (1, 14, 0)
        ):
            return False
        if rt.docker:
            return (version_tuple((rt.docker.version or "0.0.0") + ".0") or (0,)) >= (25, 0, 0)
        if rt.containerd:
            return (version_tuple((rt.containerd.version or "0.0.0") + ".0") or (0,)) >= (1, 7, 0)
        return bool(rt.crio or rt.podman)

    def plan(self, report: DoctorReport, selections: Selections) -> list[Step | PlanNote]:
        rt = report.facts.runtime
        if rt is None or report.facts.hardware.os is None:
            return []
        values = {c.key: selections.get(c.key, c.recommended) for c in self.choices(report)}
        settings = RuntimeSettings(
            set_as_default=values.get("runtime.default") == "yes", cdi=values.get("runtime.cdi") == "yes"
        )
        view: FileView = rt.config_view or FileView()
        steps: list[Step | PlanNote] = []
        present = self._present(report)
        install = values.get("runtime.install")
        if install == "none":
            return [
                PlanNote(
                    L,
                    "No runtime is installed: k3s and RKE2 bring their own containerd. Once it runs, gpuwiz "
                    "configures its nvidia runtime (k3s finds the toolkit by itself).",
                )
            ]
        if install:
            steps += self._install(install, report)
            present = {"podman": [], "docker-ce": ["docker"]}.get(install, [install])
            if install == "containerd":
                steps += kubernetes_prerequisites(view)
                view = replace(view, files=(*view.files, (CONTAINERD_CONFIG, fresh_containerd_config(report))))
        ids = {f.id: f.status for f in report.layer(L).findings}
        touched = bool(install)
        asked = any(k in selections for k in ("runtime.default", "runtime.cdi"))
        for runtime in present:
            healthy = (
                ids.get(f"runtime.{runtime}.nvidia") is Status.OK and ids.get(f"runtime.{runtime}.not-applied") is None
            )
            if runtime == "containerd" and rt.docker and "runtime.containerd.docker-backend" in ids:
                continue  # dockerd drives this containerd: docker's config is the one that counts
            mending = runtime == "containerd" and (
                "runtime.containerd.cri-disabled" in ids or "runtime.containerd.systemd-cgroup" in ids
            )
            if healthy and not asked and not mending:
                continue
            configured = self._configure(runtime, view, values, settings, ids, report)
            touched = touched or any(isinstance(s, Step) for s in configured)
            steps += configured
        podman = install == "podman" or (bool(rt.podman) and not present)
        # podman alone needs the spec once (nvidia-cdi-refresh keeps it current from toolkit 1.18); a run
        # that changed a runtime's CDI setting makes it anew
        if (settings.cdi and touched) or (podman and not rt.cdi_specs):
            steps += self._cdi(report)
        steps += self._verify(report, present + (["podman"] if podman else []))
        return steps

    @staticmethod
    def _install(runtime: str, report: DoctorReport) -> list[Step]:
        if runtime == "docker-ce":
            return docker_ce_steps(report)
        if runtime == "podman":
            return [
                Step(
                    "runtime.install",
                    "Install Podman",
                    L,
                    argv=("dnf", "-y", "install", "podman"),
                    skip_if=Guard(("rpm", "-q", "--quiet", "podman")),
                    why="RHEL's container engine; it reaches the GPU through the CDI spec generated below.",
                )
            ]
        package = "docker.io" if runtime == "docker" else "containerd"
        return [
            apt.install_step(
                [package],
                step_id="runtime.install",
                title=f"Install {'Docker' if runtime == 'docker' else 'containerd'} ({package})",
                why="The distribution's package, updated with the rest of the system; never curl | sh.",
                layer=L,
                verifies=(f"runtime.{runtime}.nvidia",),
            )
        ]

    @staticmethod
    def _configure(
        runtime: str, view: FileView, values: dict[str, str], settings: RuntimeSettings, ids: dict, report: DoctorReport
    ) -> list[Step | PlanNote]:
        steps: list[Step | PlanNote] = []
        rt = report.facts.runtime
        if (
            runtime == "containerd"
            and ids.get("runtime.containerd.cri-disabled") is Status.FAIL
            and rt
            and rt.containerd
        ):
            path = rt.containerd.config_path
            edit = enable_cri_edit(path, view.read_text(path))
            if edit:
                steps.append(
                    Step(
                        "runtime.containerd-enable-cri",
                        'Enable containerd\'s CRI plugin (remove "cri" from disabled_plugins)',
                        L,
                        edit=edit,
                        verifies=("runtime.containerd.cri-disabled",),
                        why="Docker's containerd.io ships with CRI off; kubelet talks to containerd through it.",
                    )
                )
                view = replace(view, files=tuple((p, edit.new_text if p == path else t) for p, t in view.files))
        fresh = runtime == "containerd" and rt is not None and rt.containerd is None
        drop_in = "" if fresh or values.get("runtime.containerd-config") == "in-place" else None
        try:
            result = configure(view, ConfigureRequest(runtime, drop_in=drop_in, settings=settings))
        except GpuwizError as exc:
            return [*steps, PlanNote(L, f"{runtime}: {exc}")]
        if fresh:  # the seeded config is written whole: the file does not exist yet
            result = replace(result, edits=tuple(replace(e, old_text=None) for e in result.edits))
        for n, edit in enumerate(result.edits, 1):
            steps.append(
                Step(
                    f"runtime.{runtime}-config" + (f"-{n}" if len(result.edits) > 1 else ""),
                    f"Configure the nvidia runtime in {edit.path}",
                    L,
                    edit=edit,
                    restarts=(result.restart,) if result.restart and n == len(result.edits) else (),
                    verifies=(f"runtime.{runtime}.nvidia",),
                    why=f"What `gpuwiz runtime configure --runtime {runtime}` writes: your file's comments, order and "
                    "other keys stay; the entry copies the default runtime's options (SystemdCgroup).",
                )
            )
        if not result.edits and ids.get(f"runtime.{runtime}.not-applied") is not None and result.restart:
            steps.append(
                Step(
                    f"runtime.{runtime}-restart",
                    f"Restart {result.restart} so it reads its config",
                    L,
                    argv=("systemctl", "restart", result.restart),
                    verifies=(f"runtime.{runtime}.not-applied",),
                    why="The config has the nvidia runtime, the running daemon does not: it started before the edit.",
                )
            )
        elif steps and not any(isinstance(s, Step) and s.restarts for s in steps) and result.restart:
            last = steps[-1]
            if isinstance(last, Step):
                steps[-1] = replace(last, restarts=(result.restart,))
        steps += [PlanNote(L, note) for note in result.notes]
        return steps

    @staticmethod
    def _cdi(report: DoctorReport) -> list[Step | PlanNote]:
        driver_ok = {f.id: f.status for f in report.layer(Layer.DRIVER).findings}.get("driver.nvml") is Status.OK
        if not driver_ok:
            return [PlanNote(L, "The CDI spec is generated once the driver is up (after the driver layer's reboot).")]
        steps: list[Step | PlanNote] = [
            Step(
                "runtime.cdi-generate",
                f"Generate the CDI spec of this machine's GPUs ({CDI_SPEC})",
                L,
                argv=("nvidia-ctk", "cdi", "generate", f"--output={CDI_SPEC}"),
                why="CDI names each GPU (nvidia.com/gpu=0, =all) with the device nodes and libraries it needs.",
            )
        ]
        toolkit = report.facts.toolkit
        if toolkit and (version_tuple(toolkit.ctk_version) or (0,)) >= CDI_REFRESH_SINCE:
            steps.append(
                Step(
                    "runtime.cdi-refresh",
                    "Keep the CDI spec current (nvidia-cdi-refresh)",
                    L,
                    argv=("systemctl", "enable", "--now", "nvidia-cdi-refresh.path"),
                    skip_if=Guard(("systemctl", "is-enabled", "--quiet", "nvidia-cdi-refresh.path")),
                    why="Regenerates the spec when the driver changes; a stale spec names libraries that are gone.",
                )
            )
        else:
            steps.append(
                PlanNote(
                    L,
                    "Toolkits before 1.18 have no nvidia-cdi-refresh: run `nvidia-ctk cdi generate` again after a driver update.",
                )
            )
        return steps

    @staticmethod
    def _verify(report: DoctorReport, runtimes: list[str]) -> list[Step | PlanNote]:
        driver = report.facts.driver
        nvml_ok = {f.id: f.status for f in report.layer(Layer.DRIVER).findings}.get("driver.nvml") is Status.OK
        cuda = cuda_version_text(driver.nvml.cuda_driver_version) if driver and driver.nvml else None
        image = cuda_image(cuda)
        if not nvml_ok or image is None:
            return []
        rt = report.facts.runtime
        steps: list[Step | PlanNote] = []
        why = f"{image.split(':')[1]} is the newest CUDA base image this driver (CUDA {cuda}) runs."
        if "docker" in runtimes:
            steps.append(
                Step(
                    "runtime.verify-docker",
                    "Run nvidia-smi in a container (docker)",
                    L,
                    argv=("docker", "run", "--rm", "--gpus", "all", image, "nvidia-smi"),
                    verifies=("runtime.docker.nvidia",),
                    why=why,
                )
            )
        if "containerd" in runtimes and rt and rt.containerd and not ("docker" in runtimes and rt.docker):
            address = CTR_SOCKET.get(rt.containerd.flavour)
            ctr = ("ctr", *(("--address", address) if address else ()))
            steps.append(
                Step(
                    "runtime.verify-containerd-pull",
                    "Pull the CUDA base image into containerd",
                    L,
                    argv=(*ctr, "image", "pull", image),
                    why="ctr runs only images it has.",
                )
            )
            steps.append(
                Step(
                    "runtime.verify-containerd",
                    "Run nvidia-smi in a container (containerd)",
                    L,
                    argv=(
                        *ctr,
                        "run",
                        "--rm",
                        "--runc-binary=/usr/bin/nvidia-container-runtime",
                        "--env",
                        "NVIDIA_VISIBLE_DEVICES=all",
                        image,
                        "gpuwiz-gpu-check",
                        "nvidia-smi",
                    ),
                    verifies=("runtime.containerd.nvidia",),
                    why=why,
                )
            )
        if "containerd" in runtimes and rt and rt.nerdctl and rt.containerd and rt.containerd.flavour == "containerd":
            steps.append(
                Step(
                    "runtime.verify-nerdctl",
                    "Run nvidia-smi in a container (nerdctl --gpus)",
                    L,
                    argv=("nerdctl", "run", "--rm", "--gpus", "all", image, "nvidia-smi"),
                    verifies=("runtime.containerd.nvidia",),
                    why=why + " nerdctl's --gpus goes through the toolkit's hook, as docker's does.",
                )
            )
        if "podman" in runtimes:
            steps.append(
                Step(
                    "runtime.verify-podman",
                    "Run nvidia-smi in a container (podman, CDI)",
                    L,
                    argv=(
                        "podman",
                        "run",
                        "--rm",
                        "--device",
                        "nvidia.com/gpu=all",
                        "--security-opt=label=disable",
                        image,
                        "nvidia-smi",
                    ),
                    why=why + " label=disable: SELinux would deny the device otherwise (DIAGNOSTICS row 20).",
                )
            )
        return steps


PLANNER = RuntimePlanner()
