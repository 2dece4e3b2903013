"""Prometheus's HTTP API, instant queries only (https://prometheus.io/docs/prometheus/latest/querying/api/)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from gpuwiz.backends.errors import GpuwizError


class PrometheusError(GpuwizError):
    """Prometheus did not answer, or answered with an error: one line that says which."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]  # __name__ included
    value: float


def check_url(url: str) -> str:
    """http(s)://HOST[:PORT][/PATH] without a trailing slash; ValueError saying what is wrong."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not an http:// or https:// URL of a Prometheus server")
    return url.rstrip("/")


def instant_query(url: str, query: str, *, timeout: float = 5.0) -> list[Series]:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            body = response.read(32 * 2**20)
    except urllib.error.HTTPError as exc:
        raise PrometheusError(f"{url}: HTTP {exc.code} {exc.reason}: {_api_error(exc.read(4096))}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusError(f"{url}: cannot reach Prometheus ({reason})") from None
    try:
        document = json.loads(body)
        if document.get("status") != "success":
            raise PrometheusError(f"{url}: {document.get('errorType', 'error')}: {document.get('error', '')}")
        result = document["data"]["result"]
        return [Series(dict(r["metric"]), float(r["value"][1])) for r in result]
    except (ValueError, KeyError, TypeError, IndexError):
        raise PrometheusError(
            f"{url}: the answer is not a Prometheus query result (is this a Prometheus server?)"
        ) from None


def _api_error(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", "")) or "no detail"
    except (ValueError, AttributeError):
        return "no detail"
