"""The monitor's picture as lines of Rich Text, for a given size: pure functions, no Textual.

The TUI shows these lines (redrawing only the ones that changed), `monitor --once` prints them.
Layout: full nvidia-smi-style panels when they fit (two columns from 160 wide), else one compact
line per GPU — eight GPUs and their processes fit 80×24. `unicode=False` draws ASCII only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from rich.text import Span, Text

from gpuwiz.backends.gpu_records import GpuRecord, MigDeviceRecord, cuda_version_text, version_words
from gpuwiz.backends.machine.processes import ProcessInfo
from gpuwiz.backends.nvml.history import History
from gpuwiz.backends.nvml.problems import nvml_problem
from gpuwiz.backends.nvml.sample import GpuProcess, MonitorSample

SORT_KEYS = ("memory", "sm", "bandwidth", "cpu", "pid", "gpu", "time", "user")
HOST_LINE_FROM = 120  # the host's CPU, memory, swap and load under the header from this width
HOST_MEMORY_FROM = 100  # narrower: the process table leaves out Host-Mem so the command keeps room
PANEL_MIN_WIDTH = 78
SPARK = " ▁▂▃▄▅▆▇█"
SPARK_ASCII = " _.-=+*#"
EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class ViewOptions:
    width: int
    height: int | None = None  # None: as many lines as it takes (--once)
    unicode: bool = True
    metric: str = "util"  # which history the graphs show (METRICS keys)
    sort: str = "memory"
    sort_reverse: bool = False  # S: the other direction
    only: frozenset[int] | None = None  # --only / --only-visible: the GPUs shown (None: all)
    gpu_filter: int | None = None
    user_filter: str | None = None
    selected_pid: int | None = None
    interval: float = 1.0
    paused: bool = False
    message: str = ""  # one line of feedback (a signal sent, a refusal)
    graphs: bool = True  # history graphs (a single sample has none)
    live: bool = True  # the TUI (refreshing, retrying); False: one printed sample
    no_color: bool = False  # NO_COLOR: severity in weight and shape (bold, reverse), not colour
    gpu_on_bus: bool | None = None  # False: the bus has no NVIDIA GPU (so NVML has nothing to find)


# --- small pieces ------------------------------------------------------------------------------


def na(value: object, fmt: str = "{}") -> str:
    return "N/A" if value is None else fmt.format(value)


def short_name(name: str) -> str:
    return name[len("NVIDIA ") :] if name.startswith("NVIDIA ") else name


def bar(fraction: float | None, width: int, unicode: bool) -> str:
    if width <= 0:
        return ""
    if fraction is None:
        return ("░" if unicode else ".") * width
    fraction = max(0.0, min(1.0, fraction))
    if not unicode:
        full = round(fraction * width)
        return "#" * full + "." * (width - full)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text + "░" * (width - len(text))


def spark_char(value: float | None, chars: str) -> str:
    """0 → blank, anything above 0 at least the lowest mark, 100 the full block."""
    if value is None or value <= 0:
        return " "
    top = len(chars) - 1
    return chars[min(top, max(1, math.ceil(value * top / 100)))]


def colored_bar(fraction: float | None, width: int, unicode: bool, style: str) -> Text:
    text = bar(fraction, width, unicode)
    filled = len(text.rstrip("░."))
    out = Text()
    out.append(text[:filled], style=style)
    out.append(text[filled:], style="dim")
    return out


def sparkline(values: list[float | None], width: int, unicode: bool) -> str:
    chars = SPARK if unicode else SPARK_ASCII
    values = values[-width:] if width > 0 else []
    return " " * (width - len(values)) + "".join([spark_char(v, chars) for v in values])


def temperature_style(gpu: GpuRecord) -> str:
    t = gpu.temperature_c
    if t is None:
        return ""
    slowdown = gpu.temperature_slowdown_c or 90
    if t >= slowdown - 5:
        return "bold red"
    if t >= slowdown - 15:
        return "yellow"
    return "green"


def power_style(gpu: GpuRecord) -> str:
    """Near the cap is yellow: the driver holds the clocks there (SwPowerCap), nothing is wrong."""
    if gpu.power_draw_w is None or not gpu.power_limit_w:
        return ""
    return "yellow" if gpu.power_draw_w / gpu.power_limit_w >= 0.9 else "green"


UTIL_STYLE = "cyan"  # a busy GPU is not a warning


def memory_style(fraction: float | None) -> str:
    """Memory close to full is: the next allocation fails."""
    if fraction is None:
        return "dim"
    return "red" if fraction >= 0.95 else "yellow" if fraction >= 0.8 else "green"


def power_text(gpu: GpuRecord) -> str:
    """nvidia-smi's Pwr:Usage/Cap: either side can be N/A on its own (a GT 1030: `N/A /  30W`)."""
    draw, cap = gpu.power_draw_w, gpu.power_limit_w
    if cap is None:
        return "N/A" if draw is None else f"{draw:.0f}W/N/A"
    return f"{na(draw, '{:.0f}')}/{cap:.0f}W"


def on_off(value: bool | None) -> str:
    return "N/A" if value is None else ("On" if value else "Off")


def fraction(used: float | None, total: float | None) -> float | None:
    return None if used is None or not total else used / total


def rate(kbs: int | None) -> str:
    if kbs is None:
        return "N/A"
    if kbs >= 1024 * 1024:
        return f"{kbs / 1024 / 1024:.1f}GB/s"
    if kbs >= 1024:
        return f"{kbs / 1024:.0f}MB/s"
    return f"{kbs}KB/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{(s % 86400) // 3600:02d}h"
    return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"


def fit(text: str, width: int) -> str:
    """Cut to width with an ellipsis; pad to width."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    return text.ljust(width)


def _line(*parts: tuple[str, str] | str | Text) -> Text:
    """One line from plain strings, (string, style) pairs and Texts, built in one go (Text.append
    per part costs more than the monitor's whole sample)."""
    plain: list[str] = []
    spans: list[Span] = []
    pos = 0
    for part in parts:
        if isinstance(part, str):
            chunk = part
        elif isinstance(part, Text):
            chunk = part.plain
            spans += [Span(pos + s.start, pos + s.end, s.style) for s in part.spans]
        else:
            chunk = part[0]
            if part[1] and chunk:
                spans.append(Span(pos, pos + len(chunk), part[1]))
        plain.append(chunk)
        pos += len(chunk)
    return Text("".join(plain), no_wrap=True, overflow="crop", spans=spans)


# --- header and problems -----------------------------------------------------------------------


def header(sample: MonitorSample | None, opts: ViewOptions) -> Text:
    """Title, host, driver, CUDA, GPU count, then the clock and PAUSED at the right. The clock and
    PAUSED always show (p must be seen to work): narrow, the left side gives way first."""
    parts: list[tuple[str, str]] = [("gpuwiz monitor", "bold")]
    if sample is not None:
        if sample.hostname:
            parts.append((sample.hostname, ""))
        nvml = sample.nvml
        driver_word, cuda_word = version_words(nvml.driver_version)
        if nvml.driver_version:
            parts.append((f"{driver_word} {nvml.driver_version}", ""))
        if not sample.problem:
            # no libcuda (a container without it): nvidia-smi prints "CUDA Version: N/A"
            parts.append((f"{cuda_word} {na(cuda_version_text(nvml.cuda_driver_version))}", ""))
            count = f"{len(nvml.gpus)} GPU{'s' if len(nvml.gpus) != 1 else ''}"
            if opts.only is not None:
                count = f"{len(opts.only)} of {count}"
            parts.append((count, ""))
    stamp = time.localtime(sample.wall_time) if sample is not None else None
    every = f"  every {opts.interval:g} s" if opts.live else ""
    paused = "  PAUSED" if opts.paused else ""
    full = (time.strftime("%Y-%m-%d %H:%M:%S", stamp) if stamp else "") + every + paused
    short = ((time.strftime("%H:%M:%S", stamp) if stamp else "") + paused).strip()
    # what gives way, in order: the long clock, the title (the title bar says it), the GPU count, CUDA
    drop_order = [0, len(parts) - 1, len(parts) - 2] if sample is not None and not sample.problem else [0]
    shown = list(range(len(parts)))
    for right in (full, short):
        if _width(parts, shown) + len(right) + 1 <= opts.width:
            break
    else:
        right = short
        for index in drop_order:
            if _width(parts, shown) + len(right) + 1 <= opts.width:
                break
            if index in shown and len(shown) > 1:
                shown.remove(index)
    left = _line()
    for n, index in enumerate(shown):
        text, style = parts[index]
        left.append(("  " if n else "") + text, style=style)
    pad = max(1, opts.width - len(left.plain) - len(right))
    left.append(" " * pad)
    if opts.paused:
        clock = right[: -len("PAUSED")]
        left.append(clock)
        left.append("PAUSED", style="bold reverse" if opts.no_color else "bold yellow")
    else:
        left.append(right)
    return left


def _width(parts: list[tuple[str, str]], shown: list[int]) -> int:
    return sum(len(parts[i][0]) for i in shown) + 2 * max(0, len(shown) - 1)


NO_GPU_ON_BUS = (
    "No NVIDIA GPU on this machine's PCI bus: there is nothing for NVML to watch here.",
    "In a VM or container, pass the GPU through to it; `gpuwiz doctor` lists what the bus has.",
)


def problem_lines(name: str, width: int, retry_s: float | None, gpu_on_bus: bool | None = None) -> list[Text]:
    what, fix = NO_GPU_ON_BUS if gpu_on_bus is False else nvml_problem(name)
    title = f"No NVIDIA GPU (NVML: {name})" if gpu_on_bus is False else f"NVML: {name}"
    lines = [_line((title, "bold red"))]
    lines += [_line(part) for part in _wrap(what, width)]
    lines += [
        _line(("fix: ", "bold cyan"), part) if i == 0 else _line("     " + part)
        for i, part in enumerate(_wrap(fix, width - 5))
    ]
    if retry_s is not None:
        lines.append(_line((f"Trying again every {retry_s:g} s; the GPUs show up here when NVML answers.", "dim")))
    return lines


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(20, width)) or [""]


# --- GPUs --------------------------------------------------------------------------------------


def full_panel(i: int, gpu: GpuRecord, lost: bool, history: History, opts: ViewOptions, width: int) -> list[Text]:
    u = opts.unicode
    h, v = ("─", "│") if u else ("-", "|")
    tl, tr, bl, br = ("┌", "┐", "└", "┘") if u else ("+", "+", "+", "+")
    inner = width - 4
    title = f" GPU {i}  {gpu.name} "
    bus = f" {gpu.pci_bus_id} " if gpu.pci_bus_id else ""
    fill = max(0, width - 2 - len(title) - len(bus) - 1)
    top = _line(tl + h, (title, "bold"), h * fill, bus, tr)

    def row(*parts: tuple[str, str] | str) -> Text:
        text = _line(v + " ", *parts)
        pad = width - 2 - len(text.plain)
        if pad > 0:
            text.append(" " * pad)
        text.truncate(width - 2)
        text.append(" " + v)
        return text

    lines = [top]
    if lost:
        lines.append(row(("LOST", "bold red"), " fell off the bus (Xid 79?); waiting for it to come back"))
        lines += [row() for _ in range(3 + opts.graphs)]
        lines.append(_line(bl + h * (width - 2) + br))
        return lines
    ecc = (
        "N/A"
        if gpu.ecc_mode is None
        else ("Off" if not gpu.ecc_mode else f"On, {na(gpu.ecc_uncorrected_volatile)} uncorr.")
    )
    lines.append(
        row(
            f"Fan {na(gpu.fan_percent, '{}%')}  ",
            (f"{na(gpu.temperature_c, '{}°C' if u else '{}C')}", temperature_style(gpu)),
            f"  {na(gpu.pstate, 'P{}')}  Persist {on_off(gpu.persistence_mode)}  Disp {on_off(gpu.display_active)}"
            f"  ECC {ecc}  MIG {on_off(gpu.mig_mode)}  {gpu.compute_mode or 'N/A'}",
        )
    )
    half = (inner - 2) // 2
    util_f = fraction(gpu.utilization_gpu, 100)
    util_txt = f" {na(gpu.utilization_gpu, '{:>3}%')}"
    mem_f = fraction(gpu.memory_used_mib, gpu.memory_total_mib)
    mem_txt = f" {na(gpu.memory_used_mib)}/{gpu.memory_total_mib}MiB"
    util_w = max(4, half - 4 - len(util_txt))
    mem_w = max(4, inner - half - 2 - 4 - len(mem_txt))
    lines.append(
        row(
            "GPU ",
            colored_bar(util_f, util_w, u, UTIL_STYLE),
            util_txt,
            "  MEM ",
            colored_bar(mem_f, mem_w, u, memory_style(mem_f)),
            mem_txt,
        )
    )
    pwr_f = fraction(gpu.power_draw_w, gpu.power_limit_w)
    pwr_txt = " " + power_text(gpu)
    pwr_w = max(4, half - 4 - len(pwr_txt))
    clocks = f"  SM {na(gpu.clocks_sm_mhz)}"
    if gpu.clocks_max_sm_mhz:
        clocks += f"/{gpu.clocks_max_sm_mhz}"
    clocks += f" MHz  Mem {na(gpu.clocks_mem_mhz)} MHz"
    lines.append(row("PWR ", colored_bar(pwr_f, pwr_w, u, power_style(gpu)), pwr_txt, clocks))
    up, down = ("↑", "↓") if u else ("tx ", "rx ")
    reasons = gpu.throttle_reasons
    throttle = "N/A" if reasons is None else (", ".join(r for r in reasons) or "none")
    engines = (
        f"Mem-util {na(gpu.utilization_memory, '{}%')}  PCIe {up}{rate(gpu.pcie_tx_kbs)} {down}{rate(gpu.pcie_rx_kbs)}"
        f"  Enc {na(gpu.encoder_util, '{}%')} Dec {na(gpu.decoder_util, '{}%')}  "
    )
    bar1 = bar1_text(gpu.bar1_used_mib, gpu.bar1_total_mib)
    held = f"Held by: {throttle}"
    if bar1 and len(engines) + len(bar1) + 2 + len(held) <= inner:  # nvidia-smi -q's BAR1, where it fits
        engines += f"{bar1}  "
    lines.append(row(engines + "Held by: ", (throttle, "yellow" if reasons and set(reasons) - {"GpuIdle"} else "")))
    if opts.graphs:
        label = f"{opts.metric:<5}"
        series = history.series(i, opts.metric)
        if any(v is not None for v in series):
            lines.append(row((label, "dim"), (sparkline(series, inner - len(label) - 1, u), "cyan")))
        else:
            lines.append(row((label, "dim"), ("not reported by this GPU (m: another graph)", "dim")))
    for m in gpu.mig_devices:
        mf = fraction(m.memory_used_mib, m.memory_total_mib)
        profile = m.name.rsplit("MIG ", 1)[-1] if "MIG " in m.name else m.name
        sms = f"  {m.sm_count:>3} SMs" if m.sm_count else "         "
        txt = f" {na(m.memory_used_mib)}/{m.memory_total_mib}MiB".rjust(16)
        label = f"MIG {profile:<9}"
        ids = f" GI {m.gpu_instance_id:<2} CI {m.compute_instance_id:<2}{sms}  "
        bar_width = max(4, inner - len(label) - len(ids) - len(txt))
        lines.append(row((label, "magenta"), ids, colored_bar(mf, bar_width, u, memory_style(mf)), txt))
        shared = mig_shared_text(m)
        if shared:  # nvidia-smi's second MIG row: BAR1 and the shared engines
            lines.append(row(" " * len(label), (shared, "dim")))
    lines.append(_line(bl + h * (width - 2) + br))
    return lines


def bar1_text(used: int | None, total: int | None) -> str:
    return "" if total is None else f"BAR1 {na(used)}/{total}MiB"


def mig_shared_text(m: MigDeviceRecord) -> str:
    """nvidia-smi's MIG table, second row: BAR1-Usage and the Shared CE ENC DEC OFA JPG."""
    parts = [bar1_text(m.bar1_used_mib, m.bar1_total_mib)]
    if m.ce_count is not None:
        parts.append(
            f"Shared CE {m.ce_count} ENC {na(m.enc_count)} DEC {na(m.dec_count)} OFA {na(m.ofa_count)} "
            f"JPG {na(m.jpg_count)}"
        )
    return "  ".join(p for p in parts if p)


def _compact_cells(idx: str, name: str, temp: str, perf: str, power: str) -> str:
    return f"{idx:>3} {fit(name, 16)} {temp:>5} {perf:>4} {power:>9} "


COMPACT_HEAD = _compact_cells("GPU", "Name", "Temp", "Perf", "Pwr:Usage") + "GPU-Util       Memory-Usage"


COMPACT_LINE_WIDTH = len(COMPACT_HEAD) + 19  # and the memory numbers, e.g. " 72966/81559MiB"
GRAPH_HEADS = {"util": "GPU-Util", "memory": "Mem-Hist", "power": "Pwr-Hist", "temperature": "Tmp-Hist"}


def graph_in_place(opts: ViewOptions) -> bool:
    """Too narrow for a graph after the compact line, and a history other than utilisation chosen."""
    return opts.metric != "util" and opts.graphs and opts.width - COMPACT_LINE_WIDTH - 2 < 8


def compact_head(opts: ViewOptions) -> str:
    if graph_in_place(opts):
        return COMPACT_HEAD.replace("GPU-Util", GRAPH_HEADS.get(opts.metric, "GPU-Util"))
    return COMPACT_HEAD


def compact_line(i: int, gpu: GpuRecord, lost: bool, history: History, opts: ViewOptions) -> Text:
    u = opts.unicode
    if lost:
        return _line(f"{i:>3} {fit(short_name(gpu.name), 16)} ", ("LOST: fell off the bus; waiting for it", "bold red"))
    util_f = fraction(gpu.utilization_gpu, 100)
    mem_f = fraction(gpu.memory_used_mib, gpu.memory_total_mib)
    if graph_in_place(opts):  # no room for a graph at the end: the chosen history takes the bar's place
        util_cell = Text(sparkline(history.series(i, opts.metric), 8, u), style="cyan")
    else:
        util_cell = colored_bar(util_f, 8, u, UTIL_STYLE)
    text = _line(
        f"{i:>3} {fit(short_name(gpu.name), 16)} ",
        (f"{na(gpu.temperature_c, '{}°C' if u else '{}C'):>5}", temperature_style(gpu)),
        f" {na(gpu.pstate, 'P{}'):>4} ",
        (f"{power_text(gpu):>9}", power_style(gpu)),
        " ",
        util_cell,
        f"{na(gpu.utilization_gpu, '{}%'):>5} ",
        colored_bar(mem_f, 6, u, memory_style(mem_f)),
        " ",
        (f"{na(gpu.memory_used_mib)}/{gpu.memory_total_mib}MiB", "bold red" if (mem_f or 0) >= 0.95 else ""),
    )
    room = opts.width - len(text.plain) - 2
    if room >= 8 and opts.graphs:
        text.append("  ")
        text.append(sparkline(history.series(i, opts.metric), room, u), style="cyan")
    return text


def _flow(tokens: list[str], width: int, indent: str = "  ") -> list[Text]:
    """Tokens joined by two spaces, wrapped between tokens at the width."""
    lines: list[Text] = []
    current = indent
    for token in tokens:
        if len(current) > len(indent) and len(current) + 2 + len(token) > width:
            lines.append(_line(current))
            current = indent
        current += ("  " if len(current) > len(indent) else "") + token
    lines.append(_line(current))
    return lines


def compact_detail(i: int, gpu: GpuRecord, history: History, opts: ViewOptions) -> list[Text]:
    """Everything the compact line leaves out, for the GPU picked with the filter key."""
    ecc = "N/A" if gpu.ecc_mode is None else ("Off" if not gpu.ecc_mode else f"{na(gpu.ecc_uncorrected_volatile)}")
    reasons = gpu.throttle_reasons
    throttle = "N/A" if reasons is None else (", ".join(reasons) or "none")
    up, down = ("↑", "↓") if opts.unicode else ("tx ", "rx ")
    tokens = [
        f"GPU {i} {gpu.pci_bus_id}",
        f"Fan {na(gpu.fan_percent, '{}%')}",
        f"Persist {on_off(gpu.persistence_mode)}",
        f"Disp {on_off(gpu.display_active)}",
        f"ECC {ecc}",
        f"MIG {on_off(gpu.mig_mode)}",
        gpu.compute_mode or "N/A",
        f"SM {na(gpu.clocks_sm_mhz)} MHz",
        f"Mem {na(gpu.clocks_mem_mhz)} MHz",
        f"Mem-util {na(gpu.utilization_memory, '{}%')}",
        f"PCIe {up}{rate(gpu.pcie_tx_kbs)} {down}{rate(gpu.pcie_rx_kbs)}",
        f"Enc {na(gpu.encoder_util, '{}%')} Dec {na(gpu.decoder_util, '{}%')}",
        f"Clocks held by: {throttle}",
    ]
    lines = _flow(tokens, opts.width)
    if opts.graphs:
        label = f"  {opts.metric:<5}"
        lines.append(
            _line(
                (label, "dim"),
                (sparkline(history.series(i, opts.metric), opts.width - len(label), opts.unicode), "cyan"),
            )
        )
    return lines


def mig_compact(gpu: GpuRecord, opts: ViewOptions) -> list[Text]:
    lines = []
    for m in gpu.mig_devices:
        profile = m.name.rsplit("MIG ", 1)[-1] if "MIG " in m.name else m.name
        mf = fraction(m.memory_used_mib, m.memory_total_mib)
        lines.append(
            _line(
                ("    └ " if opts.unicode else "    - ", "dim"),
                (f"MIG {profile:<9}", "magenta"),
                f" GI {m.gpu_instance_id:<2} CI {m.compute_instance_id:<2} ",
                colored_bar(mf, 6, opts.unicode, memory_style(mf)),
                f" {na(m.memory_used_mib)}/{m.memory_total_mib}MiB",
            )
        )
        shared = mig_shared_text(m)
        if shared and len(lines[-1].plain) + 2 + len(shared) <= opts.width:
            lines[-1].append("  " + shared, style="dim")
    return lines


# --- processes ---------------------------------------------------------------------------------


def _sort_key(sort: str):
    def key(p: GpuProcess):
        info = p.info
        if sort == "memory":
            return -(p.record.used_memory_mib or 0), p.gpu_index, p.record.pid
        if sort == "sm":
            return -(p.record.sm_util if p.record.sm_util is not None else -1), p.gpu_index, p.record.pid
        if sort == "bandwidth":
            return -(p.record.mem_util if p.record.mem_util is not None else -1), p.gpu_index, p.record.pid
        if sort == "cpu":
            return -(info.cpu_percent if info else -1), p.record.pid
        if sort == "time":
            return -(info.elapsed_s or 0 if info else 0), p.record.pid
        if sort == "user":
            return (info.user if info else "~"), p.record.pid
        if sort == "gpu":
            return p.gpu_index, p.record.pid
        return p.record.pid, p.gpu_index

    return key


def visible_processes(sample: MonitorSample | None, opts: ViewOptions) -> list[GpuProcess]:
    if sample is None:
        return []
    procs = [
        p
        for p in sample.processes
        if (opts.gpu_filter is None or p.gpu_index == opts.gpu_filter)
        and (opts.only is None or p.gpu_index in opts.only)
        and (opts.user_filter is None or (p.info is not None and p.info.user == opts.user_filter))
    ]
    return sorted(procs, key=_sort_key(opts.sort), reverse=opts.sort_reverse)


def _proc_cells(
    where: str, pid: str, kind: str, user: str, mem: str, sm: str, bw: str, cpu: str, host: str, run: str, wide: bool
) -> str:
    """Narrow: SM% only; from HOST_MEMORY_FROM also the memory-bandwidth share (MBW%) and host memory."""
    wide_cells = f" {bw:>4}" if wide else ""
    host_cell = f" {host:>8}" if wide else ""
    return f"{where:<6}{pid:>8} {kind:<4} {fit(user, 10)} {mem:>9} {sm:>4}{wide_cells} {cpu:>5}{host_cell} {run:>8}  "


def proc_head(width: int) -> str:
    cells = ("GPU", "PID", "Type", "User", "GPU-Mem", "SM%", "MBW%", "CPU%", "Host-Mem", "Time")
    return _proc_cells(*cells, wide=width >= HOST_MEMORY_FROM) + "Command"


def process_line(p: GpuProcess, opts: ViewOptions) -> Text:
    r, info = p.record, p.info
    where = str(p.gpu_index)
    if r.gpu_instance_id is not None:
        where += f"/{r.gpu_instance_id}/{na(r.compute_instance_id)}"
    mem = na(r.used_memory_mib, "{}MiB")
    sm, bw = na(r.sm_util), na(r.mem_util)
    wide = opts.width >= HOST_MEMORY_FROM
    if info is None:
        cells = _proc_cells(where, str(r.pid), r.type, "?", mem, sm, bw, "-", "-", "-", wide)
        text = _line(cells, (fit("(another PID namespace?)", max(0, opts.width - len(cells))).rstrip(), "dim"))
    else:
        host_mem = f"{info.rss_mib / 1024:.1f}GiB" if info.rss_mib >= 1024 else f"{info.rss_mib:.0f}MiB"
        cpu = f"{info.cpu_percent:.1f}" if info.cpu_percent < 1000 else f"{info.cpu_percent:.0f}"
        run = duration(info.elapsed_s)
        cells = _proc_cells(where, str(r.pid), r.type, info.user, mem, sm, bw, cpu, host_mem, run, wide)
        argv = list(info.cmdline)
        if opts.width < 120 and argv and "/" in argv[0]:
            argv[0] = argv[0].rsplit("/", 1)[-1]  # narrow: the program's name, then its arguments
        command = " ".join(argv)
        text = _line(cells, fit(command, max(0, opts.width - len(cells))).rstrip())
    if opts.selected_pid == r.pid:
        text.pad_right(max(0, opts.width - len(text.plain)))
        text.stylize("reverse")
    return text


MAX_PARENTS = 32


def process_detail(p: GpuProcess, parents: list[ProcessInfo]) -> tuple[str, list[str]]:
    """The selected process whole (Enter): its numbers, its full command line and its parent chain."""
    r, info = p.record, p.info
    where = f"GPU {p.gpu_index}" + (
        f" (MIG GI {r.gpu_instance_id} CI {na(r.compute_instance_id)})" if r.gpu_instance_id is not None else ""
    )
    heading = f"Process {r.pid} on {where}"
    lines = [
        f"PID {r.pid}   user {info.user if info else '?'}   {where}   type {r.type}",
        f"GPU memory {na(r.used_memory_mib, '{} MiB')}   SM {na(r.sm_util, '{} %')}   memory bandwidth "
        f"{na(r.mem_util, '{} %')}",
        f"encoder {na(r.enc_util, '{} %')}   decoder {na(r.dec_util, '{} %')}",
    ]
    if info is None:
        return heading, [*lines, "", "Not visible from here: another PID namespace (a container?), or it has ended."]
    lines += [
        f"CPU {info.cpu_percent:.1f} %   host memory {info.rss_mib:.0f} MiB   running {duration(info.elapsed_s)}",
        "",
        "command:",
        "  " + " ".join(info.cmdline),
        "",
        "parents:" if parents else "parents: none known",
    ]
    lines += [f"  {q.pid:>8}  {fit(q.user, 10):<10}  {' '.join(q.cmdline)}" for q in parents]
    return heading, lines


def process_title(sample: MonitorSample, shown: int, opts: ViewOptions) -> Text:
    order = f"{opts.sort}, reversed" if opts.sort_reverse else opts.sort
    title = _line(("Processes", "bold"), f"  {shown} of {len(sample.processes)}  sort: {order}")
    if opts.gpu_filter is not None:
        title.append(f"  GPU {opts.gpu_filter}")
    if opts.user_filter is not None:
        title.append(f"  user {opts.user_filter}")
    return title


def unresolved_hint(procs: list[GpuProcess]) -> Text | None:
    if any(p.info is None for p in procs):
        return _line(
            (
                "?: a PID of another namespace (container?) or gone; run on the host to see it",
                "dim",
            )
        )
    return None


# --- the whole picture -------------------------------------------------------------------------


def _gpu_block(sample: MonitorSample, history: History, opts: ViewOptions, room: int | None) -> list[Text]:
    gpus = sample.nvml.gpus
    if not gpus:
        return [
            _line(("NVML found no GPUs.", "bold red")),
            _line(
                "In a container: start it with the GPUs (`--gpus all` or a CDI device); on the host: `gpuwiz doctor`."
            ),
        ]
    shown = [(i, g) for i, g in enumerate(gpus) if opts.only is None or i in opts.only]
    if not shown:
        return [_line(("None of the GPUs asked for (--only, CUDA_VISIBLE_DEVICES) is on this machine.", "bold"))]
    columns = max(1, min(len(shown), opts.width // PANEL_MIN_WIDTH, 2 if len(shown) > 1 else 1))
    panel_width = opts.width // columns
    groups = [shown[k : k + columns] for k in range(0, len(shown), columns)]
    first = [full_panel(i, g, i in sample.lost, history, opts, panel_width) for i, g in groups[0]]
    # panels that cannot fit are not drawn only to be thrown away (most of a frame's rendering at 120x40)
    fits = room is None or max(len(p) for p in first) * len(groups) <= room
    panels = first + (
        [full_panel(i, g, i in sample.lost, history, opts, panel_width) for i, g in shown[len(first) :]] if fits else []
    )
    rows = [panels[k : k + columns] for k in range(0, len(panels), columns)] if fits else []
    full: list[Text] = []
    for group in rows:
        height = max(len(p) for p in group)
        for n in range(height):
            line = Text(no_wrap=True, overflow="crop")
            for p in group:
                line.append_text(p[n] if n < len(p) else Text(" " * panel_width))
            full.append(line)
    if fits and (room is None or len(full) <= room):
        return full
    lines = [_line((compact_head(opts), "bold"))]
    for i, g in shown:
        lines.append(compact_line(i, g, i in sample.lost, history, opts))
        lines += mig_compact(g, opts)
    if opts.gpu_filter is not None and opts.gpu_filter < len(gpus) and opts.gpu_filter not in sample.lost:
        lines += compact_detail(opts.gpu_filter, gpus[opts.gpu_filter], history, opts)
    return lines


def host_line(sample: MonitorSample, opts: ViewOptions) -> Text | None:
    """`Host  CPU ██ 45% of 64  MEM ██ 412.3/2015.6GiB  SWAP 0.0/8.0GiB  load 31.2 30.8 29.9`."""
    h = sample.host
    if h is None or opts.width < HOST_LINE_FROM:
        return None
    line = _line(("Host", "bold"))
    if h.cpu_percent is not None:
        line.append("  CPU ")
        line.append_text(colored_bar(h.cpu_percent / 100, 10, opts.unicode, UTIL_STYLE))
        line.append(f" {h.cpu_percent:.0f}% of {h.cpus}" if h.cpus else f" {h.cpu_percent:.0f}%")
    if h.memory_total_mib:
        used = fraction(h.memory_used_mib, h.memory_total_mib)
        line.append("  MEM ")
        line.append_text(colored_bar(used, 10, opts.unicode, memory_style(used)))
        line.append(
            f" {na(h.memory_used_mib and h.memory_used_mib / 1024, '{:.1f}')}/{h.memory_total_mib / 1024:.1f}GiB"
        )
    if h.swap_total_mib:
        line.append(f"  SWAP {(h.swap_used_mib or 0) / 1024:.1f}/{h.swap_total_mib / 1024:.1f}GiB")
    if h.load is not None:
        line.append("  load " + " ".join(f"{v:.2f}" for v in h.load))
    return line


def render(sample: MonitorSample | None, history: History, opts: ViewOptions, retry_s: float = 5.0) -> list[Text]:
    lines = [header(sample, opts)]
    host = host_line(sample, opts) if sample is not None else None
    if host is not None:
        lines.append(host)
    if sample is None:
        lines.append(_line(("Reading NVML…", "dim")))
    elif sample.problem:
        retry = retry_s if opts.live and opts.gpu_on_bus is not False else None
        lines += problem_lines(sample.problem, opts.width, retry, opts.gpu_on_bus)
    else:
        # leave the processes at least their title, head and three rows
        room = None if opts.height is None else opts.height - len(lines) - 6 - bool(opts.message)
        lines += _gpu_block(sample, history, opts, room)
        procs = visible_processes(sample, opts)
        lines.append(process_title(sample, len(procs), opts))
        lines.append(_line((proc_head(opts.width), "bold")))
        hint = unresolved_hint(procs)
        if opts.height is not None:
            space = opts.height - len(lines) - bool(hint) - bool(opts.message)
            rows = _window(procs, opts, max(1, space))
        else:
            rows = [process_line(p, opts) for p in procs]
        lines += rows or [_line(("No running processes found", "dim"))]
        if hint:
            lines.append(hint)
    if opts.message:
        lines.append(_line((opts.message, "bold")))
    if opts.height is not None:
        lines = lines[: opts.height]
        if opts.message and lines[-1].plain != opts.message:
            lines[-1] = _line((opts.message, "bold"))
    for line in lines:
        if len(line.plain) > opts.width:
            line.truncate(opts.width)  # a terminal narrower than any layout: cut, never wrap
    if opts.no_color:
        for line in lines:
            line.spans[:] = [
                Span(sp.start, sp.end, _weight(sp.style, line.plain[sp.start : sp.end])) for sp in line.spans
            ]
    if not opts.unicode:
        for line in lines:
            if not line.plain.isascii():
                line.plain = line.plain.translate(ASCII_SAME_WIDTH)  # same length: the styles stay put
    return lines


# NO_COLOR turns colours into greys by luminance (red: darker than green): say it with weight
NO_COLOR_WEIGHTS = {"bold red": "bold reverse", "red": "bold reverse", "yellow": "bold", "bold yellow": "bold"}
BAR_CELLS = set("█▏▎▍▌▋▊▉#")


def _weight(style, text: str):
    if not isinstance(style, str) or style not in NO_COLOR_WEIGHTS:
        return style
    if set(text) <= BAR_CELLS:  # a reversed bar would read as empty: a full one is plain and bold
        return "bold"
    return NO_COLOR_WEIGHTS[style]


ASCII_SAME_WIDTH = str.maketrans({"…": "~", "↑": "^", "↓": "v"})


def _window(procs: list[GpuProcess], opts: ViewOptions, space: int) -> list[Text]:
    """The rows that fit, scrolled so the selected process stays in view; only those are drawn."""
    if len(procs) <= space:
        return [process_line(p, opts) for p in procs]
    index = next((n for n, p in enumerate(procs) if p.record.pid == opts.selected_pid), 0)
    start = min(max(0, index - space + 2), len(procs) - space + 1)
    shown = [process_line(p, opts) for p in procs[start : start + space - 1]]
    more = len(procs) - start - len(shown)
    shown.append(_line((f"  … {more} more (↑/↓ to scroll)" if more else "", "dim")))
    return shown
