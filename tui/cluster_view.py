"""The cluster view's lines: one block per node, one compact line per GPU (Rich Text, pure).

The same pieces as the monitor's compact view (bars, memory styles, NO_COLOR weights), read from
Prometheus instead of NVML: `monitor --prometheus URL` and its --once print.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text

from gpuwiz.backends.prometheus.cluster import ClusterGpu, ClusterNode, ClusterSample

from .monitor_view import UTIL_STYLE, _weight, colored_bar, fit, fraction, memory_style, short_name

CLUSTER_SORTS = ("node", "util", "memory")


@dataclass(frozen=True)
class ClusterOptions:
    width: int
    unicode: bool = True
    sort: str = "node"
    paused: bool = False
    no_color: bool = False
    interval: float = 2.0
    live: bool = True


def _gib(mib: float | None) -> str:
    return "N/A" if mib is None else f"{mib / 1024:.1f}"


def gpu_line(gpu: ClusterGpu, opts: ClusterOptions) -> Text:
    name = fit(short_name(gpu.model or "GPU"), 18)
    numbers = f" {_na(gpu.temp, '{:.0f}C'):>4} {_na(gpu.power, '{:.0f}W'):>5}"
    memory = f" {_gib(gpu.fb_used)}/{_gib(gpu.fb_total)}G"
    room = opts.width - 4 - 18 - len(numbers) - 2 * 6 - len(memory) - 4
    bar_width = max(4, room // 2)
    util = None if gpu.util is None else gpu.util / 100
    used = fraction(gpu.fb_used, gpu.fb_total)
    line = Text(f"  {gpu.index:>2} {name:<18}")
    line.append(" ")
    line.append_text(colored_bar(util, bar_width, opts.unicode, UTIL_STYLE))
    line.append(f" {_na(gpu.util, '{:.0f}%'):>4}")
    line.append(" ")
    line.append_text(colored_bar(used, bar_width, opts.unicode, memory_style(used)))
    line.append(memory)
    line.append(numbers)
    return _no_color(line, opts)


def _na(value: float | None, fmt: str) -> str:
    return "N/A" if value is None else fmt.format(value)


def node_title(node: ClusterNode, opts: ClusterOptions) -> Text:
    rule = "─" if opts.unicode else "-"
    where = f" ({', '.join(node.instances)})" if node.instances and node.instances != (node.name,) else ""
    state, style = "", ""
    if node.down:
        state, style = "  scrape target DOWN", "bold red"
    elif node.nvml_error:
        state, style = "  NVML does not answer", "bold red"
    head = f"{rule * 2} {node.name}{where}  {len(node.gpus)} GPU{'s' if len(node.gpus) != 1 else ''}"
    title = Text(head, style="bold")
    if state:
        title.append(state, style=style)
    title.append(" " + rule * max(0, opts.width - len(title.plain) - 1), style="dim")
    return _no_color(title, opts)


def _sorted(nodes: tuple[ClusterNode, ...], sort: str) -> list[ClusterNode]:
    if sort == "util":
        return sorted(nodes, key=lambda n: (-n.busiest, n.name))
    if sort == "memory":
        return sorted(
            nodes, key=lambda n: (-max((fraction(g.fb_used, g.fb_total) or 0 for g in n.gpus), default=0), n.name)
        )
    return list(nodes)


def header(sample: ClusterSample | None, opts: ClusterOptions) -> Text:
    if sample is None:
        return Text("gpuwiz cluster  reading Prometheus…" if opts.unicode else "gpuwiz cluster  reading Prometheus...")
    stamp = time.strftime("%H:%M:%S", time.localtime(sample.wall_time))
    parts = [f"{sample.url}", f"{len(sample.nodes)} nodes", f"{sample.gpu_count} GPUs", f"sort {opts.sort}"]
    if opts.live:
        parts.append(f"every {opts.interval:g} s")
    parts.append(stamp)
    line = Text("  ".join(parts))
    if opts.paused:
        line.append("  PAUSED", style="reverse")
    return line


def render(sample: ClusterSample | None, opts: ClusterOptions) -> list[Text]:
    lines = [header(sample, opts)]
    if sample is None:
        return lines
    if sample.error:
        lines.append(
            _no_color(Text(f"✗ {sample.error}" if opts.unicode else f"x {sample.error}", style="bold red"), opts)
        )
        lines.append(
            Text(
                "  Check the URL and that Prometheus is up"
                + ("; gpuwiz asks again at the next refresh." if opts.live else "."),
                style="dim",
            )
        )
        return lines
    if not sample.nodes:
        lines.append(
            Text(
                "  No GPU series in this Prometheus: it scrapes no gpuwiz exporter or dcgm-exporter (yet).", style="dim"
            )
        )
        return lines
    for node in _sorted(sample.nodes, opts.sort):
        lines.append(node_title(node, opts))
        lines += [gpu_line(g, opts) for g in node.gpus]
    if not opts.unicode:
        lines = [Text(line.plain.translate(_ASCII), spans=line.spans, style=line.style) for line in lines]
    return lines


_ASCII = str.maketrans({"─": "-", "…": "~", "✗": "x"})


def _no_color(line: Text, opts: ClusterOptions) -> Text:
    if not opts.no_color:
        return line
    out = Text(line.plain, style=_weight(line.style, line.plain))
    for span in line.spans:
        out.stylize(_weight(span.style, line.plain[span.start : span.end]), span.start, span.end)
    return out
