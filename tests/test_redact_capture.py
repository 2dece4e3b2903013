"""profile capture: records what the probes read, redacts secrets and identities, replays."""

from __future__ import annotations

from gpuwiz.backends.capture import capture_profile
from gpuwiz.backends.doctor import run_doctor
from gpuwiz.backends.machine.profile_host import ProfileHost
from gpuwiz.backends.machine.profiles import parse_profile
from gpuwiz.backends.machine.redact import Redactor

KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM1ekNDQWMr
    server: https://node3:6443
  name: kubernetes
users:
- name: kubernetes-admin
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURJVENDQWdt
    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQk
    token: abcdef.0123456789abcdef
"""


def test_redactor_removes_secrets_and_identities():
    r = Redactor(serials=["1650123456789"])
    r.add_hostname("node3")
    text = r.text(
        KUBECONFIG
        + "GPU 0: NVIDIA GeForce RTX 3060 (UUID: GPU-5f1e2c3d-1111-2222-3333-444455556666)\n"
        + "link/ether 3c:7c:3f:aa:bb:cc brd ff:ff:ff:ff:ff:ff\n"
        + '{"password": "hunter2", "name": "node3"}\n'
        + "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n"
        + "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl\n"
        + "serial 1650123456789\n"
    )
    for secret in (
        "LS0tLS1",
        "abcdef.0123456789abcdef",
        "hunter2",
        "MIIC5zCC",
        "eyJhbGci",
        "1650123456789",
        "5f1e2c3d",
        "3c:7c:3f:aa:bb:cc",
        "node3",
    ):
        assert secret not in text, secret
    assert "https://node-1:6443" in text
    assert "GPU-00000000-0000-4000-8000-000000000001" in text
    assert "ff:ff:ff:ff:ff:ff" not in text or text.count("02:00:00:00") >= 1


def test_same_value_same_placeholder():
    r = Redactor()
    one = r.text("a 11111111-2222-3333-4444-555555555555 b 11111111-2222-3333-4444-555555555555")
    assert one.count("00000000-0000-4000-8000-000000000001") == 2


def test_hostname_is_replaced_as_a_word_only():
    r = Redactor()
    r.add_hostname("gpu")
    assert (
        r.text("gpu gpu-operator nvidia.com/gpu https://gpu:6443 gpu.")
        == "node-1 gpu-operator nvidia.com/gpu https://node-1:6443 node-1."
    )


def test_capture_of_a_profile_replays_to_the_same_findings(profile_host):
    for name in ("homelab-ready", "dgx-h100x8", "fresh-rtx3060", "no-gpu"):
        original = profile_host(name)
        text = capture_profile(original, name="replayed")
        replay = ProfileHost(parse_profile(text, "captured.toml"))
        ids = lambda rep: [(f.id, f.status) for layer in rep.layers for f in layer.findings]  # noqa: E731
        expected = run_doctor(profile_host(name))
        got = run_doctor(replay)
        # hostnames are redacted, so compare ids and statuses, not sentences
        assert ids(got) == ids(expected), name


def test_capture_redacts_the_kubeconfig_and_hostname(profile_host):
    text = capture_profile(profile_host("homelab-ready"))
    assert "node3" not in text
    assert "client-key-data: REDACTED" in text or "client-key-data" not in text


def test_capture_keeps_the_monitors_fields_mig_devices_and_processes(profile_host):
    """What the monitor reads (clocks, throttle reasons, MIG devices, process instances, running time)
    survives capture and replay; UUIDs of GPUs and MIG devices are redacted."""
    from gpuwiz.backends.nvml.sampler import read_nvml

    original = profile_host("a100-mig")
    text = capture_profile(original, name="replayed")
    replay = ProfileHost(parse_profile(text, "captured.toml"))
    got, expected = read_nvml(replay.nvml()), read_nvml(profile_host("a100-mig").nvml())
    gpu, want = got.gpus[0], expected.gpus[0]
    assert [(m.gpu_instance_id, m.memory_total_mib, m.sm_count) for m in gpu.mig_devices] == [
        (m.gpu_instance_id, m.memory_total_mib, m.sm_count) for m in want.mig_devices
    ]
    assert gpu.throttle_reasons == want.throttle_reasons and gpu.clocks_max_sm_mhz == want.clocks_max_sm_mhz
    assert [(p.pid, p.gpu_instance_id) for p in gpu.processes] == [(p.pid, p.gpu_instance_id) for p in want.processes]
    assert "MIG-8c2d1f6e" not in text and "GPU-4b6a1e2c" not in text
    assert "elapsed_s" in text


# Each seen missing from an earlier redaction: a kubeadm join line, a k3s unit's token, a URL's
# password, a Kubernetes env pair, a --password= flag.
PLANTED = [
    (
        "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1a2b3c",
        ("abcdef.0123456789abcdef", "1a2b3c"),
    ),
    ('Environment="K3S_TOKEN=K10f00ba7::server:5ecret5ecret"', ("K10f00ba7", "5ecret5ecret")),
    ("K3S_AGENT_TOKEN=agent-s3cr3t k3s agent", ("agent-s3cr3t",)),
    ("git clone https://alice:hunter2hunter2@git.example.com/infra.git", ("hunter2hunter2",)),
    ('{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}', ("wJalrXUtnFEMI",)),
    ("        - name: HF_TOKEN\n          value: hf_abcdefghijklmnop", ("hf_abcdefghijklmnop",)),
    ("helm install x --set password=p4ssw0rd --password=p4ssw0rd", ("p4ssw0rd",)),
]


def test_every_planted_secret_leaves_the_capture_and_the_run_log(tmp_path):
    from gpuwiz.backends.runs.run_log import RunLog

    log = RunLog(tmp_path / "run.log")
    for text, secrets in PLANTED:
        captured = Redactor().text(text)
        log.output(text)
        for secret in secrets:
            assert secret not in captured, (text, captured)
    log.close()
    written = (tmp_path / "run.log").read_text()
    for text, secrets in PLANTED:
        for secret in secrets:
            assert secret not in written, (text, written)
    assert "kubeadm join 10.0.0.1:6443 --token REDACTED" in written  # the command stays readable


def test_kubernetes_json_is_redacted_by_its_structure(profile_host):
    """Env values under any name, Secrets' data and kubectl's copies of whole objects never reach a
    captured profile, whatever they are called; the probes still see what they need."""
    import json
    from dataclasses import replace

    from gpuwiz.backends.machine.profiles import CommandAnswer

    host = profile_host("homelab-ready")
    key = next(k for k in host.profile.commands if "get daemonsets" in k)
    document = json.loads(host.profile.commands[key].stdout)
    daemonset = document["items"][0]
    daemonset["metadata"]["managedFields"] = [{"manager": "helm", "fieldsV1": {"f:env": {"ODD_NAME": "x"}}}]
    daemonset["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        '{"env": [{"name": "ODD_NAME", "value": "leaked-by-copy"}]}'
    )
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [*container.get("env", []), {"name": "ODD_NAME", "value": "plainly-secret-value"}]
    commands = {**host.profile.commands, key: CommandAnswer(json.dumps(document))}
    planted = ProfileHost(replace(host.profile, commands=commands))
    text = capture_profile(planted, name="planted")
    assert "plainly-secret-value" not in text and "leaked-by-copy" not in text and "managedFields" not in text
    replayed = ProfileHost(parse_profile(text, "planted.toml"))
    assert (
        run_doctor(replayed).layer(run_doctor(planted).layers[-1].layer).status is run_doctor(planted).layers[-1].status
    )


def test_capture_keeps_only_the_daemonset_fields_the_probe_reads(profile_host):
    """A secret in a DaemonSet's env (under a name no pattern knows) or its args never reaches the
    profile: capture keeps the fields find_gpu_daemonsets reads, and the replay finds the same."""
    import json
    from dataclasses import replace

    from gpuwiz.backends.machine.profiles import CommandAnswer
    from gpuwiz.backends.probes.k8s import api_fields, probe_k8s

    host = profile_host("homelab-ready")
    key = next(k for k in host.profile.commands if "get daemonsets" in k)
    document = json.loads(host.profile.commands[key].stdout)
    container = document["items"][0]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [*container.get("env", []), {"name": "PLUGIN_CONFIG", "value": "planted-env-8c1f"}]
    container["args"] = ["--endpoint=https://planted-args-77.example"]
    planted = ProfileHost(
        replace(host.profile, commands={**host.profile.commands, key: CommandAnswer(json.dumps(document))})
    )

    text = capture_profile(planted, name="planted")
    assert "planted-env-8c1f" not in text and "planted-args-77" not in text and "PLUGIN_CONFIG" not in text
    captured = parse_profile(text, "planted.toml")
    daemonsets = json.loads(next(a.stdout for k, a in captured.commands.items() if "get daemonsets" in k))
    assert daemonsets == api_fields("daemonsets", document)
    assert all(
        set(item) == {"metadata"} and set(item["metadata"]) <= {"name", "namespace"} for item in daemonsets["items"]
    )
    before, after = probe_k8s(planted), probe_k8s(ProfileHost(captured))
    assert after.device_plugin == before.device_plugin is not None
    assert (after.gpu_operator, after.plugin_pods) == (before.gpu_operator, before.plugin_pods)  # names redacted
