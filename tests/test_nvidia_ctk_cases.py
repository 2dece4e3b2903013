"""NVIDIA's own table tests for `nvidia-ctk runtime configure`, run against `gpuwiz runtime configure`.

tests/data/nvidia-ctk-cases/ holds every case of NVIDIA/nvidia-container-toolkit's config-editing tests
that has an input and an expected result, as data: the input files, the `gpuwiz runtime configure`
flags that mean the same (one call per runtime the installer adds), the expected files, and where
the case comes from. Each case runs the real command (`gpuwiz.cli.main`) on files in a folder of its
own, then compares the PARSED files with the expectation. A case passes, or it names the documented
difference (docs/runtime-configure.md, "Where gpuwiz differs from nvidia-ctk") that makes gpuwiz
answer otherwise, and gpuwiz's own expected result; NVIDIA's expectation must then really fail
(else the difference is stale).

`python tests/test_nvidia_ctk_cases.py` prints the counts per source file.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpuwiz.backends.toml_compat import tomllib

CASES_DIR = Path(__file__).parent / "data" / "nvidia-ctk-cases"
DOC = Path(__file__).resolve().parent.parent / "docs" / "runtime-configure.md"
DIFFERENCES_HEADING = "## Where gpuwiz differs from nvidia-ctk"
CONTAINERD1 = shutil.which("containerd") or "/usr/bin/containerd"
CONTAINERD2 = os.environ.get("GPUWIZ_CONTAINERD2", "/opt/gpuwiz-ci/containerd2/usr/bin/containerd")
TOOLS = ("sh", "cat")  # what the cases' stand-in executables use

# The closing note quotes these; a change in them is a change in how gpuwiz answers NVIDIA's cases.
EXPECTED = {"cases": 76, "pass": 56, "documented": 20}


@dataclass(frozen=True)
class Case:
    file: str  # the data file
    source: str  # NVIDIA's test file
    test: str
    url: str
    runs: tuple[tuple[str, ...], ...]
    files: Mapping[str, str] = field(default_factory=dict)
    executables: Mapping[str, str] = field(default_factory=dict)
    expect: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exit: int = 0
    error: str = ""
    differs: tuple[str, ...] = ()
    gpuwiz: Mapping[str, Any] = field(default_factory=dict)  # gpuwiz's own result where it differs

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.toml')}::{self.test}"


@dataclass(frozen=True)
class Outcome:
    exit: int
    stderr: str
    files: Mapping[str, str]  # every file under the case's root afterwards → its text


@dataclass(frozen=True)
class Verdict:
    status: str  # "pass", "documented" or "fail"
    problems: tuple[str, ...] = ()


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        for raw in data.get("case", []):
            gpuwiz = raw.get("gpuwiz", {})
            cases.append(
                Case(
                    file=path.name,
                    source=data["source"],
                    test=raw["test"],
                    url=raw["url"],
                    runs=tuple(tuple(r) for r in raw["runs"]),
                    files=raw.get("files", {}),
                    executables=raw.get("executables", {}),
                    expect=raw.get("expect", {}),
                    exit=raw.get("exit", 0),
                    error=raw.get("error", ""),
                    differs=tuple(gpuwiz.get("differs", ())),
                    gpuwiz=gpuwiz,
                )
            )
    return cases


def documented_differences() -> set[str]:
    text = DOC.read_text()
    section = text.split(DIFFERENCES_HEADING, 1)[1].split("\n## ", 1)[0] if DIFFERENCES_HEADING in text else ""
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.MULTILINE))


# --- running a case ------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _gpuwiz(argv: list[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    from gpuwiz.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _fill(text: str, root: Path) -> str:
    return text.replace("{root}", str(root))


def run_case(case: Case, work: Path) -> Outcome:
    """The case's files under work/root, each run of `gpuwiz runtime configure` in turn (stop at the first error)."""
    root, home, tools = work / "root", work / "home", work / "tools"
    for folder in (root, home, tools):
        folder.mkdir(parents=True)
    for name in TOOLS:
        found = shutil.which(name)
        if found:
            (tools / name).symlink_to(found)
    for rel, text in case.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(_fill(text, root))
    for rel, text in case.executables.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(_fill(text, root))
        (root / rel).chmod(0o755)
    # PATH has no containerd, crio or nvidia-container-runtime: the results do not depend on this machine
    env = {
        "PATH": f"{root}/bin:{tools}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_STATE_HOME": f"{home}/.state",
        "LANG": "C.UTF-8",
    }
    code, stderr = 0, ""
    for run in case.runs:
        code, _, stderr = _gpuwiz(["runtime", "configure", *(_fill(a, root) for a in run)], env)
        if code != 0:
            break
    files = {str(f.relative_to(root)): f.read_text() for f in sorted(root.rglob("*")) if f.is_file()}
    return Outcome(code, stderr, files)


# --- judging it ----------------------------------------------------------------------------------


def _parse(rel: str, text: str) -> Any:
    return json.loads(text) if rel.endswith(".json") else tomllib.loads(text)


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    return want == have


def _has(data: Any, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def problems(case: Case, outcome: Outcome, expect: Mapping[str, Any], root: Path) -> list[str]:
    found: list[str] = []
    want_exit = expect.get("exit", 0)
    if outcome.exit != want_exit:
        return [f"exit {outcome.exit}, expected {want_exit}: {outcome.stderr.strip()}"]
    if expect.get("error") and expect["error"] not in outcome.stderr:
        found.append(f"stderr lacks {expect['error']!r}: {outcome.stderr.strip()}")
    for rel, rules in expect.get("expect", {}).items():
        text = outcome.files.get(rel)
        if rules.get("absent"):
            if text is not None:
                found.append(f"{rel}: written, expected absent")
            continue
        if text is None:
            found.append(f"{rel}: not written")
            continue
        if rules.get("unchanged") and text != _fill(case.files.get(rel, ""), root):
            found.append(f"{rel}: changed, expected as it was")
        try:
            have = _parse(rel, text)
        except ValueError as exc:
            found.append(f"{rel}: does not parse: {exc}")
            continue
        if "equals" in rules and have != (want := _parse(rel, _fill(rules["equals"], root))):
            found.append(f"{rel}: differs:\n{diff_leaves(want, have)}")
        if "contains" in rules and not _subset(want := _parse(rel, _fill(rules["contains"], root)), have):
            found.append(f"{rel}: lacks some of:\n{diff_leaves(want, have, subset=True)}")
        for keys in rules.get("lacks", []):
            if _has(have, keys):
                found.append(f"{rel}: has {'.'.join(keys)}, expected none")
    return found


def leaves(data: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(data, dict) and data:
        out: dict[tuple[str, ...], Any] = {}
        for key, value in data.items():
            out.update(leaves(value, (*prefix, key)))
        return out
    return {prefix: data}


def diff_leaves(want: Any, have: Any, *, subset: bool = False) -> str:
    """The differing leaves, one a line: `- key = expected` / `+ key = gpuwiz's`."""
    w, h = leaves(want), leaves(have)
    lines = [f"  - {'.'.join(k)} = {v!r}" for k, v in w.items() if h.get(k, object()) != v]
    if not subset:
        lines += [f"  + {'.'.join(k)} = {v!r}" for k, v in h.items() if w.get(k, object()) != v]
    return "\n".join(lines)


def judge(case: Case, outcome: Outcome, root: Path) -> Verdict:
    theirs = problems(case, outcome, {"exit": case.exit, "error": case.error, "expect": case.expect}, root)
    if not case.differs:
        return Verdict("fail", tuple(theirs)) if theirs else Verdict("pass")
    found = [f"difference {d!r} is not in {DOC.name}" for d in case.differs if d not in documented_differences()]
    if not theirs:
        found.append("NVIDIA's expectation holds: the documented difference is stale")
    # gpuwiz's own expectation replaces NVIDIA's for the files it names; the others must be as NVIDIA expects
    ours = {"exit": 0, **case.gpuwiz, "expect": {**case.expect, **case.gpuwiz.get("expect", {})}}
    found += problems(case, outcome, ours, root)
    return Verdict("fail", tuple(found)) if found else Verdict("documented")


@lru_cache(maxsize=None)
def verdicts() -> dict[str, tuple[Case, Outcome, Verdict, str]]:
    """Every case, run once: id → (case, outcome, verdict, its root folder)."""
    out = {}
    base = Path(tempfile.mkdtemp(prefix="gpuwiz-nvidia-ctk-cases-"))
    atexit.register(shutil.rmtree, base, True)
    for n, case in enumerate(load_cases()):
        work = base / f"{n:03d}"
        outcome = run_case(case, work)
        out[case.id] = (case, outcome, judge(case, outcome, work / "root"), str(work / "root"))
    return out


def counts() -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for case, _, verdict, _ in verdicts().values():
        for key in (case.source, "all"):
            row = table.setdefault(key, {"cases": 0, "pass": 0, "documented": 0, "fail": 0})
            row["cases"] += 1
            row[verdict.status] += 1
    return table


def summary() -> str:
    lines = [f"{'source test file':<70} {'cases':>5} {'pass':>5} {'documented':>10} {'fail':>5}"]
    for source, row in sorted(counts().items(), key=lambda kv: (kv[0] == "all", kv[0])):
        lines.append(f"{source:<70} {row['cases']:>5} {row['pass']:>5} {row['documented']:>10} {row['fail']:>5}")
    return "\n".join(lines)


# --- the tests -----------------------------------------------------------------------------------

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_nvidia_case(case: Case):
    _, outcome, verdict, _ = verdicts()[case.id]
    assert verdict.status in ("pass", "documented"), f"{case.url}\n" + "\n".join(verdict.problems)


def test_case_counts(capsys):
    table = counts()["all"]
    with capsys.disabled():
        print("\n" + summary())
    assert {k: table[k] for k in EXPECTED} == EXPECTED and table["fail"] == 0


def test_every_case_names_its_source():
    seen = set()
    for case in CASES:
        assert case.id not in seen, f"two cases named {case.id}"
        seen.add(case.id)
        assert (
            case.url.startswith("https://github.com/NVIDIA/nvidia-container-toolkit/blob/") and case.source in case.url
        )
        assert case.runs and all(run for run in case.runs)


# --- the real containerd judges the containerd cases --------------------------------------------


def _binaries_for(version: int) -> list[str]:
    """containerd 1.x reads versions 1 and 2, containerd 2.x versions 2 and 3 (and dumps version 3)."""
    found = []
    if version in (1, 2) and os.access(CONTAINERD1, os.X_OK):
        found.append(CONTAINERD1)
    if version in (2, 3) and os.access(CONTAINERD2, os.X_OK):
        found.append(CONTAINERD2)
    return found


CONTAINERD_CASES = [
    c
    for c in CASES
    if "containerd" in c.runs[0] and "--config" in c.runs[0] and "--dry-run" not in c.runs[0] and not c.exit
]


def _flag_values(run: tuple[str, ...], flag: str) -> str | None:
    names = {
        "--runtime-name": ("--runtime-name", "--nvidia-runtime-name"),
        "--runtime-path": ("--runtime-path", "--nvidia-runtime-path"),
    }[flag]
    for n, arg in enumerate(run):
        if arg in names and n + 1 < len(run):
            return run[n + 1]
    return None


def _dump(binary: str, config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [binary, "--config", str(config), "config", "dump"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return tomllib.loads(done.stdout)


@pytest.mark.integration
@pytest.mark.parametrize("case", CONTAINERD_CASES, ids=[c.id for c in CONTAINERD_CASES])
def test_real_containerd_keeps_the_users_settings(case: Case, tmp_path):
    """`containerd config dump` before and after: every CRI setting containerd saw in the user's file keeps its
    value (bar the runtimes gpuwiz was asked to write, and the default when it was asked to change it), and
    each runtime written runs the NVIDIA binary."""
    _, outcome, verdict, root = verdicts()[case.id]
    main_rel = "etc/containerd/config.toml"
    if verdict.status == "fail" or outcome.files.get(main_rel) is None:
        pytest.skip("no result to judge")
    version = tomllib.loads(outcome.files[main_rel]).get("version", 1)
    binaries = _binaries_for(version)
    if not binaries:
        pytest.skip(f"no containerd here that reads version {version}")
    before = tmp_path / "config.toml"
    before.write_text(_fill(case.files.get(main_rel, ""), Path(root)))
    for binary in binaries:
        seen, after = _dumped_cri(binary, before), _dumped_cri(binary, Path(root) / main_rel)
        _same_but_ours(case, seen, after)


def _dumped_cri(binary: str, config: Path) -> dict[str, Any]:
    plugins = _dump(binary, config)["plugins"]
    return plugins.get("io.containerd.cri.v1.runtime") or plugins["io.containerd.grpc.v1.cri"]


def _same_but_ours(case: Case, seen: dict[str, Any], after: dict[str, Any]) -> None:
    ours = {_flag_values(run, "--runtime-name") or "nvidia" for run in case.runs}
    set_default = any(a in ("--set-as-default", "--nvidia-set-as-default") for run in case.runs for a in run)
    now = leaves(after)
    for keys, value in leaves(seen).items():
        if keys[:3] in {("containerd", "runtimes", name) for name in ours} or keys == ("enable_cdi",):
            continue
        if keys == ("containerd", "default_runtime_name") and (set_default or value in ours):
            continue  # asked to change: without --set-as-default this runtime is not the default (nvidia-ctk's rule)
        if keys not in now and value in ("", False, 0, []):
            continue  # a zero value shown for a table the file does not spell out (runc's options): the same
        assert now.get(keys, "(missing)") == value, f"{'.'.join(keys)}: {value!r} before, {now.get(keys)!r} after"
    for run in case.runs:
        name = _flag_values(run, "--runtime-name") or "nvidia"
        path = _flag_values(run, "--runtime-path") or "/usr/bin/nvidia-container-runtime"
        assert after["containerd"]["runtimes"][name]["options"]["BinaryName"] == path


if __name__ == "__main__":
    print(summary())
    for case, _, verdict, _ in verdicts().values():
        if verdict.status == "fail":
            print(f"\nFAIL {case.id}\n  {case.url}\n  " + "\n  ".join(verdict.problems))
