"""Fingerprints of the OpenPGP keys in a keyring file (binary or ASCII-armored), without gpg.

Probes must not change anything, and every `gpg` invocation wants a home directory it may
create; reading the packets ourselves keeps the probe read-only. Only what fingerprints need is
parsed (RFC 4880 / RFC 9580 packet framing, public-key packets v4, v5 and v6).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

PUBLIC_KEY = 6
PUBLIC_SUBKEY = 14
_ARMOR = re.compile(
    rb"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?P<body>.*?)-----END PGP PUBLIC KEY BLOCK-----", re.DOTALL
)


class KeyringError(ValueError):
    """Not an OpenPGP keyring (or a truncated one)."""


@dataclass(frozen=True)
class KeyFingerprints:
    primary: str  # 40 (v4) or 64 (v5/v6) upper-case hex digits
    subkeys: tuple[str, ...] = ()


def _dearmor(data: bytes) -> bytes:
    blocks = list(_ARMOR.finditer(data))
    if not blocks:
        return data
    out = b""
    for block in blocks:
        lines = block.group("body").replace(b"\r", b"").split(b"\n")
        if b"" in lines:  # armor headers ("Version: …") end at the first empty line
            lines = lines[lines.index(b"") + 1 :]
        payload = b"".join(line.strip() for line in lines if line.strip() and not line.startswith(b"="))
        try:
            out += base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyringError(f"bad base64 in armored key: {exc}") from None
    return out


def _packets(data: bytes):
    """(tag, body) of each packet; partial-length bodies are not used in key material."""
    i = 0
    while i < len(data):
        header = data[i]
        if not header & 0x80:
            raise KeyringError(f"not an OpenPGP packet at byte {i}")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[i + 1] if i + 1 < len(data) else None
            if first is None:
                raise KeyringError("truncated packet header")
            if first < 192:
                length, i = first, i + 2
            elif first < 224:
                length, i = ((first - 192) << 8) + data[i + 2] + 192, i + 3
            elif first == 255:
                length, i = int.from_bytes(data[i + 2 : i + 6], "big"), i + 6
            else:
                raise KeyringError("partial-length packet in a keyring")
        else:  # old format
            tag = (header >> 2) & 0x0F
            kind = header & 0x03
            if kind == 3:
                raise KeyringError("indeterminate-length packet in a keyring")
            size = (1, 2, 4)[kind]
            length = int.from_bytes(data[i + 1 : i + 1 + size], "big")
            i += 1 + size
        body = data[i : i + length]
        if len(body) != length:
            raise KeyringError("truncated packet")
        yield tag, body
        i += length


def _fingerprint(body: bytes) -> str:
    version = body[0] if body else 0
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version == 5:
        return hashlib.sha256(b"\x9a" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    if version == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise KeyringError(f"unsupported key packet version {version}")


def keyring_fingerprints(data: bytes) -> tuple[KeyFingerprints, ...]:
    """Every key in the keyring, in file order; raises KeyringError for anything else."""
    keys: list[KeyFingerprints] = []
    for tag, body in _packets(_dearmor(data)):
        if tag == PUBLIC_KEY:
            keys.append(KeyFingerprints(_fingerprint(body)))
        elif tag == PUBLIC_SUBKEY and keys:
            last = keys[-1]
            keys[-1] = KeyFingerprints(last.primary, (*last.subkeys, _fingerprint(body)))
    if not keys:
        raise KeyringError("no public key in it")
    return tuple(keys)


def normalise_fingerprint(text: str) -> str:
    """'EB69 3B30 …' or 'eb693b30…' → 'EB693B30…'; ValueError unless 40 or 64 hex digits."""
    hexdigits = re.sub(r"\s+", "", text).upper()
    if not re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", hexdigits):
        raise ValueError(f"not a full OpenPGP fingerprint: {text!r}")
    return hexdigits
