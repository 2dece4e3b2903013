"""DIAGNOSTICS rows 12, 18 and 20 from evidence in the runtime facts."""

from __future__ import annotations

from dataclasses import replace

from gpuwiz.backends.doctor import diagnose
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.probes import probe_all


def runtime_findings(report):
    return {f.id: f for f in report.layer(Layer.RUNTIME).findings}


def test_row_12_docker_started_before_the_toolkit(profile_host):
    host = profile_host("dgx-h100x8")
    facts = probe_all(host)
    assert facts.runtime.docker.started_before_hook is False  # the profile: toolkit first, then docker
    early = replace(facts.runtime, docker=replace(facts.runtime.docker, started_before_hook=True))
    finding = runtime_findings(diagnose(replace(facts, runtime=early)))["runtime.docker.gpus-flag"]
    assert finding.status.value == "fail" and "could not select device driver" in finding.message
    assert "systemctl restart docker" in finding.fix


def test_row_18_legacy_hook_on_cgroup_v2(profile_host):
    facts = probe_all(profile_host("homelab-ready"))
    assert "runtime.daemon-reload" not in runtime_findings(diagnose(facts))  # the profile has no cgroup v2 evidence
    v2 = replace(facts.runtime, cgroup_v2=True)
    finding = runtime_findings(diagnose(replace(facts, runtime=v2)))["runtime.daemon-reload"]
    assert finding.status.value == "warn" and "NVML: Unknown Error" in finding.message
    assert "SystemdCgroup = true, enable_cdi off" in finding.evidence[0]
    with_cdi = replace(v2, containerd=replace(v2.containerd, cdi=True))
    assert "runtime.daemon-reload" not in runtime_findings(diagnose(replace(facts, runtime=with_cdi)))


def test_row_20_selinux_enforcing(profile_host):
    facts = probe_all(profile_host("dgx-h100x8"))
    enforcing = replace(facts.runtime, selinux="Enforcing")
    finding = runtime_findings(diagnose(replace(facts, runtime=enforcing)))["runtime.selinux"]
    assert finding.status.value == "warn" and "label=disable" in finding.fix
