"""Redaction for captured profiles: hostnames, serials, UUIDs, MACs, tokens, keys, certificates.

A captured profile is meant to be attached to a public bug report, so anything that identifies
the machine or grants access is replaced by a stable placeholder (the same value everywhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
REDACTED = "REDACTED"


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
        value = PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----\n{REDACTED}\n-----END {m.group(1)}-----", value)
        value = SECRET_YAML.sub(lambda m: m.group(1) + REDACTED, value)
        value = SECRET_JSON.sub(lambda m: m.group(1) + f'"{REDACTED}"', value)
        value = SECRET_TOML.sub(lambda m: m.group(1) + f'"{REDACTED}"', value)
        value = BEARER.sub(lambda m: m.group(1) + REDACTED, value)
        value = JWT.sub(REDACTED, value)
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
