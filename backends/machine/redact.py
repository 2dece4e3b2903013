"""Redaction for captured profiles: hostnames, serials, UUIDs, MACs, tokens, keys, certificates.

A captured profile is meant to be attached to a public bug report, so anything that identifies
the machine or grants access is replaced by a stable placeholder (the same value everywhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
MAC = re.compile(r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b")
# key: value / "key": "value" / key = "value" where the key names a secret
SECRET_KEYS = r"(?:[\w.-]*(?:token|password|passwd|secret|client-key-data|client-certificate-data|certificate-authority-data|private[-_]?key|api[-_]?key|auth))"
SECRET_YAML = re.compile(r"(?im)^(\s*-?\s*" + SECRET_KEYS + r"\s*:\s*)(\S.*)$")
SECRET_JSON = re.compile(r'(?i)("' + SECRET_KEYS + r'"\s*:\s*)"[^"]*"')
SECRET_TOML = re.compile(r"(?im)^(\s*" + SECRET_KEYS + r"\s*=\s*)(\S.*)$")
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}\b")
# `kubeadm join … --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:…`, --password=…
SECRET_FLAG = re.compile(r"(?i)(--[\w-]*(?:token|password|passwd|secret|certificate-key)[\w-]*[= ]+)([^\s\"']+)")
# NAME=value where the name says secret: Environment="K3S_TOKEN=…", K3S_AGENT_TOKEN=…, AWS_SECRET_ACCESS_KEY=…
SECRET_ENV = re.compile(
    r"(?i)(\b[A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY)[A-Z0-9_]*=)([^\s\"']+)"
)
# https://user:secret@host/…
URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)")
# Kubernetes env pairs, JSON and YAML: {"name": "AWS_SECRET_ACCESS_KEY", "value": "…"} / - name: …\n  value: …
SECRET_NAMES = r"[^\"\n]*(?:TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL)[^\"\n]*"
SECRET_PAIR_JSON = re.compile(r'(?i)("name"\s*:\s*"' + SECRET_NAMES + r'"\s*,\s*"value"\s*:\s*)"[^"]*"')
SECRET_PAIR_YAML = re.compile(r"(?im)^(\s*-?\s*name:\s*['\"]?" + SECRET_NAMES + r"['\"]?\s*\n\s*value:\s*)(\S.*)$")
REDACTED = "REDACTED"


def without_secrets(text: str) -> str:
    """Tokens, keys, certificates and passwords replaced, by every pattern gpuwiz knows (capture and
    run logs alike; hostnames, serials and ids are the Redactor's)."""
    text = PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----\n{REDACTED}\n-----END {m.group(1)}-----", text)
    text = SECRET_PAIR_YAML.sub(lambda m: m.group(1) + REDACTED, text)
    text = SECRET_YAML.sub(lambda m: m.group(1) + REDACTED, text)
    text = SECRET_PAIR_JSON.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
    text = SECRET_JSON.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
    text = SECRET_TOML.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
    text = SECRET_FLAG.sub(lambda m: m.group(1) + REDACTED, text)
    text = SECRET_ENV.sub(lambda m: m.group(1) + REDACTED, text)
    text = URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return JWT.sub(REDACTED, text)


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def without_secret_fields(value: Any) -> Any:
    """A Kubernetes JSON document redacted by its structure, not by patterns: every container env
    value (the probes read none), Secrets' data, and the copies of whole objects kubectl keeps
    (managedFields, the last-applied annotation) — a value under any name is caught."""
    if isinstance(value, list):
        return [without_secret_fields(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "managedFields":
            continue
        if key == "annotations" and isinstance(item, dict):
            item = {k: v for k, v in item.items() if k != LAST_APPLIED}
        elif key == "env" and isinstance(item, list):
            item = [{**e, "value": REDACTED} if isinstance(e, dict) and "value" in e else e for e in item]
        elif key in ("data", "stringData") and value.get("kind") == "Secret" and isinstance(item, dict):
            item = dict.fromkeys(item, REDACTED)
        out[key] = without_secret_fields(item)
    return out


@dataclass
class Redactor:
    hostnames: list[str] = field(default_factory=list)
    serials: list[str] = field(default_factory=list)
    _uuids: dict[str, str] = field(default_factory=dict)
    _macs: dict[str, str] = field(default_factory=dict)

    def add_hostname(self, name: str) -> None:
        name = name.strip()
        if len(name) >= 2 and name.lower() not in (n.lower() for n in self.hostnames) and name not in ("localhost",):
            self.hostnames.append(name)

    def hostname_for(self, name: str) -> str:
        for n, known in enumerate(self.hostnames, 1):
            if known.lower() == name.lower():
                return f"node-{n}"
        return name

    def _uuid(self, m: re.Match[str]) -> str:
        key = m.group(0).lower()
        if key not in self._uuids:
            self._uuids[key] = f"00000000-0000-4000-8000-{len(self._uuids) + 1:012d}"
        return self._uuids[key]

    def _mac(self, m: re.Match[str]) -> str:
        key = m.group(0).lower()
        if key not in self._macs:
            n = len(self._macs) + 1
            self._macs[key] = f"02:00:00:00:{n // 256:02x}:{n % 256:02x}"
        return self._macs[key]

    def text(self, value: str) -> str:
        value = without_secrets(value)
        value = UUID.sub(self._uuid, value)
        value = MAC.sub(self._mac, value)
        for serial in self.serials:
            if len(serial) >= 4:
                value = value.replace(serial, "0" * len(serial))
        # longest first so "node1.lan" is replaced before "node1"
        for name in sorted(self.hostnames, key=len, reverse=True):
            # a whole name: not inside a word, a domain or a path ("nvidia.com/gpu" keeps its "gpu")
            pattern = r"(?<![\w.-])(?<!\w/)" + re.escape(name) + r"(?![\w-]|\.\w)"
            value = re.sub(pattern, self.hostname_for(name), value, flags=re.IGNORECASE)
        return value
