"""Adding the NVIDIA runtime to containerd's config (versions 1, 2 and 3), losing nothing of the user's file.

Edited with tomlkit: comments, key order, indentation and every key gpuwiz does not know stay as
they were. The nvidia runtime copies the default runtime's entry (else runc's, else crun's) so
`SystemdCgroup` and the other runc options match, and points `BinaryName` at the NVIDIA runtime.

Drop-in mode writes the runtime into a file of its own that the top-level config imports. containerd
1.x merges imported files by replacing each plugin's whole table (containerd issue #5837, checked
here with containerd 1.6.20: a drop-in's CRI table made the main file's `sandbox_image` and runc
runtime vanish), so for config versions 1 and 2 the drop-in carries a copy of the effective CRI
table plus the NVIDIA additions; containerd 2.x merges version 3 deeply and gets only the additions.
"""

from __future__ import annotations

import copy
import fnmatch
import posixpath
from dataclasses import dataclass
from typing import Any, Mapping

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import ParseError
from tomlkit.items import InlineTable, Table

from gpuwiz.backends.configs.containerd_config import CRI_PLUGIN
from gpuwiz.backends.errors import InputError
from gpuwiz.backends.runs.plan import FileEdit
from gpuwiz.backends.toml_compat import toml_error_line, tomllib

RUNC_V2 = "io.containerd.runc.v2"
RUNC_SHIMS = ("io.containerd.runc.v2", "io.containerd.runc.v1")
LEGACY_SHIM = "io.containerd.runtime.v1.linux"  # containerd 1.x only; reads options.Runtime, not BinaryName
DEFAULT_DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"
HEADER = "# Written by gpuwiz: the NVIDIA container runtime for containerd ({why}).\n"


@dataclass(frozen=True)
class RuntimeSettings:
    name: str = "nvidia"
    path: str = "/usr/bin/nvidia-container-runtime"
    set_as_default: bool = False
    cdi: bool = False


# --- reading --------------------------------------------------------------------------------------


def parse_document(path: str, text: str) -> tomlkit.TOMLDocument:
    """The file as a tomlkit document; InputError naming the file and line when it is not TOML."""
    try:
        tomllib.loads(text)  # the strict parser decides what is TOML
        return tomlkit.parse(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    except ParseError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=exc.line) from None


def config_version(path: str, data: Mapping[str, Any], default: int) -> int:
    """containerd's rule: no `version` key → 1; an empty file gets the installed containerd's default."""
    if not data:
        return default
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version not in (1, 2, 3):
        raise InputError(path, f"version = {version!r}: containerd knows config versions 1, 2 and 3", key="version")
    return version


def default_config_version(config_default_output: str | None) -> int:
    """The version `containerd config default` prints (2 for 1.x, 3 for 2.x); 2 without containerd."""
    if config_default_output:
        try:
            version = tomllib.loads(config_default_output).get("version")
        except tomllib.TOMLDecodeError:
            version = None
        if version in (1, 2, 3):
            return version
    return 2


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key) if isinstance(data, Mapping) else None
        if not isinstance(value, Mapping):
            return {}
        data = value
    return data


def _check_shape(path: str, data: Mapping[str, Any], version: int) -> None:
    """Wrong types where gpuwiz writes: an error naming the key, never a crash or a silent fix."""
    cri = CRI_PLUGIN[version]
    node: Any = data
    for key in ("plugins", cri, "containerd", "runtimes"):
        if not isinstance(node, Mapping):
            break
        node = node.get(key)
        if node is not None and not isinstance(node, Mapping):
            raise InputError(path, f"must be a table, not {type(node).__name__}", key=key)
    imports = data.get("imports")
    if imports is not None and not (isinstance(imports, list) and all(isinstance(i, str) for i in imports)):
        raise InputError(path, "must be a list of file paths", key="imports")


def effective_cri(version: int, files: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The CRI plugin table containerd uses: 1.x takes each plugin's table from the last file defining it."""
    cri = CRI_PLUGIN[version]
    found: dict[str, Any] = {}
    for data in files:
        table = _table(data, "plugins", cri)
        if table:
            found = _deep_merge(found, table) if version == 3 else copy.deepcopy(dict(table))
    return found


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def source_runtime(cri_table: Mapping[str, Any], exclude: str = "nvidia") -> tuple[str | None, dict[str, Any]]:
    """(name, entry) of the runtime to copy: the default one, else runc, else crun, whatever its
    runtime_type; never the runtime being written, nor an NVIDIA runtime as the default (nvidia-ctk's rule)."""
    containerd = _table(cri_table, "containerd")
    runtimes = _table(containerd, "runtimes")
    default = containerd.get("default_runtime_name")
    names = [default] if isinstance(default, str) and not default.startswith("nvidia") else []
    for name in (*names, "runc", "crun"):
        entry = runtimes.get(name)
        if name != exclude and isinstance(entry, Mapping):
            return name, copy.deepcopy(dict(entry))
    return None, {}


def runtime_type_for(copied: Any) -> str:
    """The NVIDIA runtime is runc-compatible: only the runc shims run the binary an entry names (BinaryName,
    or options.Runtime for the legacy io.containerd.runtime.v1.linux); any other type (empty, kata's, …) would
    not run it at all, so it becomes io.containerd.runc.v2."""
    if copied in (*RUNC_SHIMS, LEGACY_SHIM):
        return copied
    # "${RUNTIME_TYPE}": a MicroK8s template placeholder, runc's shim once filled in
    return copied if isinstance(copied, str) and copied.startswith("${") else RUNC_V2


def binary_options(runtime_type: str, path: str) -> dict[str, str]:
    """The options naming the NVIDIA binary for this shim (nvidia-ctk writes both for the legacy one)."""
    return {"BinaryName": path, "Runtime": path} if runtime_type == LEGACY_SHIM else {"BinaryName": path}


# --- writing -------------------------------------------------------------------------------------


def _indent_of(item: Any) -> str:
    trivia = getattr(item, "trivia", None)
    return (trivia.indent.replace("\n", "") if trivia else "") or ""


def _child_table(parent: Container | Table | InlineTable, key: str, *, super_table: bool) -> Any:
    """parent[key] as a table, created (as a header table, or inside an inline table) when missing."""
    if key in parent:
        return parent[key]
    if isinstance(parent, InlineTable):
        parent[key] = tomlkit.inline_table()
    else:
        parent[key] = tomlkit.table(is_super_table=super_table)
    return parent[key]


def _path(doc: tomlkit.TOMLDocument, *keys: str, super_tables: int) -> Any:
    node: Any = doc
    for n, key in enumerate(keys):
        node = _child_table(node, key, super_table=n < super_tables)
    return node


def _set(table: Any, key: str, value: Any) -> None:
    """table[key] = value in the file's own style: a literal string stays literal, a new key takes
    its siblings' indentation."""
    if table.get(key) == value:
        return
    old = table.get(key)
    if key in table and isinstance(value, str):
        literal = isinstance(old, tomlkit.items.String) and old.type in (
            tomlkit.items.StringType.SLL,
            tomlkit.items.StringType.MLL,
        )
        table[key] = tomlkit.string(value, literal=literal)
        return
    table[key] = value
    if isinstance(table, Table):
        siblings = [v for k, v in table.value.body if k is not None and k.key != key and not isinstance(v, Table)]
        if siblings:
            table.value.item(key).trivia.indent = _indent_of(siblings[-1])


def _new_runtime(entry: Mapping[str, Any], settings: RuntimeSettings, indent: str) -> Table:
    """A header table for the nvidia runtime, built from a copied entry (plain data)."""
    table = tomlkit.table()
    options = dict(entry.get("options") or {})
    for key, value in entry.items():
        if key != "options":
            table[key] = value
    table["runtime_type"] = runtime_type = runtime_type_for(entry.get("runtime_type"))
    opts = tomlkit.table()
    binary = binary_options(runtime_type, settings.path)
    for key, value in binary.items():
        opts[key] = value
    for key, value in options.items():
        if key not in binary:
            opts[key] = value
    table["options"] = opts
    if indent:
        table.indent(len(indent))
    return table


def add_runtime(
    doc: tomlkit.TOMLDocument,
    version: int,
    settings: RuntimeSettings,
    source: tuple[str | None, dict[str, Any]],
    *,
    unset_default: bool = False,
) -> None:
    """The nvidia runtime (and default/CDI when asked) into `doc`, editing only what must change.

    `unset_default`: without --set-as-default, a default_runtime_name naming this runtime goes (nvidia-ctk's
    meaning; only in the drop-in, gpuwiz's own file)."""
    cri_name = CRI_PLUGIN[version]
    cri = _path(doc, "plugins", cri_name, super_tables=2)
    containerd = _path(doc, "plugins", cri_name, "containerd", super_tables=3)
    runtimes = _child_table(containerd, "runtimes", super_table=True)
    if settings.name in runtimes:
        entry = runtimes[settings.name]
        runtime_type = runtime_type_for(entry.get("runtime_type"))
        _set(entry, "runtime_type", runtime_type)
        options = _child_table(entry, "options", super_table=False)
        for key, value in binary_options(runtime_type, settings.path).items():
            _set(options, key, value)
        wanted = (source[1].get("options") or {}).get("SystemdCgroup")
        if isinstance(wanted, bool):
            _set(options, "SystemdCgroup", wanted)  # row 15: the cgroup driver must match the default runtime's
    else:
        name, entry = source
        if name is None and version < 3 and "runc" not in runtimes and not isinstance(runtimes, InlineTable):
            # No default runtime in any file: containerd's built-in runc. containerd 1.x replaces its default
            # `runtimes` map with the file's (checked with 1.6.20 on Debian's own config.toml): runc must be
            # written next to nvidia, or the default runtime "runc" would no longer exist. containerd 2.x
            # (version 3) keeps its built-in runc.
            runc = tomlkit.table()
            runc["runtime_type"] = RUNC_V2
            indent = _indent_of(containerd)
            if indent:
                runc.indent(len(indent))
            runtimes["runc"] = runc
        if name is not None and name in runtimes and isinstance(runtimes.get(name), Table):
            new = copy.deepcopy(runtimes[name])  # keeps its layout: indentation, key order
            runtime_type = runtime_type_for(new.get("runtime_type"))
            _set(new, "runtime_type", runtime_type)
            new_options = _child_table(new, "options", super_table=False)
            for key, value in binary_options(runtime_type, settings.path).items():
                _set(new_options, key, value)
            runtimes[settings.name] = new
            runtimes[settings.name].trivia.indent = "\n" + runtimes[name].trivia.indent.lstrip("\n")
        elif isinstance(runtimes, InlineTable) or not isinstance(runtimes, (Table, Container)):
            plain = dict(entry)
            plain["runtime_type"] = runtime_type_for(plain.get("runtime_type"))
            plain["options"] = {
                **dict(plain.get("options") or {}),
                **binary_options(plain["runtime_type"], settings.path),
            }
            runtimes[settings.name] = plain
        else:
            runtimes[settings.name] = _new_runtime(entry, settings, _indent_of(containerd))
    if settings.set_as_default:
        _set(containerd, "default_runtime_name", settings.name)
    elif unset_default and containerd.get("default_runtime_name") == settings.name:
        del containerd["default_runtime_name"]
    if settings.cdi:
        _set(cri, "enable_cdi", True)


def _render(doc: tomlkit.TOMLDocument) -> str:
    text = tomlkit.dumps(doc)
    return text if text.endswith("\n") or not text else text + "\n"


@dataclass(frozen=True)
class ContainerdFiles:
    """What containerd reads: the top-level config and the files its `imports` name (path, text)."""

    path: str
    text: str | None
    imported: tuple[tuple[str, str], ...] = ()
    default_version: int = 2  # of the installed containerd (`containerd config default`)
    # --config-source command: the CRI plugin table of `containerd config dump`, of the file's version
    effective: Mapping[str, Any] | None = None


def _loaded(files: ContainerdFiles) -> tuple[tomlkit.TOMLDocument, int, list[Mapping[str, Any]]]:
    """The document, its config version and the data of every file containerd reads.

    A file without any key (missing, empty, only comments) gets the installed containerd's version
    written into it. Any other file without `version` is version 1, as containerd reads it: Docker's
    containerd.io ships `disabled_plugins = ["cri"]` alone, and adding `version = 2` there makes
    containerd 1.6 refuse the file ("invalid disabled plugin URI "cri"", checked with 1.6.20).
    """
    text = files.text or ""
    doc = parse_document(files.path, text) if text.strip() else tomlkit.document()
    data = doc.unwrap()
    if not data:
        version = files.default_version
        _add_top_level(doc, "version", version)
        data = doc.unwrap()
    else:
        version = config_version(files.path, data, files.default_version)
    _check_shape(files.path, data, version)
    others = []
    for path, other in files.imported:
        other_doc = parse_document(path, other)
        _check_shape(path, other_doc.unwrap(), version)
        others.append(other_doc.unwrap())
    return doc, version, [data, *others]


def file_version(files: ContainerdFiles) -> int:
    """The config version gpuwiz writes for these files (containerd's rule; see `_loaded`)."""
    return _loaded(files)[1]


def _leaves(data: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    if isinstance(data, Mapping) and data:
        out: dict[tuple, Any] = {}
        for key, value in data.items():
            out.update(_leaves(value, (*prefix, key)))
        return out
    return {prefix: data}


def assert_preserved(path: str, old_text: str | None, new_text: str, version: int, settings: RuntimeSettings) -> None:
    """Every key of the user's file keeps its value, and nothing lands outside what gpuwiz means to change.

    A safety net under tomlkit: a file written with dotted keys, say, could otherwise see one of its keys
    move under a new table. Nothing is written when it trips.
    """
    cri = ("plugins", CRI_PLUGIN[version])
    old = _leaves(tomllib.loads(old_text or ""))
    new = _leaves(tomllib.loads(new_text))
    runc = (*cri, "containerd", "runtimes", "runc")
    allowed = (
        ("version",),
        ("imports",),
        (*cri, "enable_cdi"),
        (*cri, "containerd", "default_runtime_name"),
        (*cri, "containerd", "runtimes", settings.name),
        # runc is gpuwiz's to write only where the file had none (see add_runtime)
        *((runc,) if not any(k[: len(runc)] == runc for k in old) else ()),
    )

    def ours(key: tuple) -> bool:
        return any(key[: len(a)] == a for a in allowed)

    lost = [k for k, v in old.items() if k and not ours(k) and new.get(k, object()) != v]
    if k_added := [k for k in new if k and k not in old and not ours(k)]:
        lost += k_added
    if lost:
        raise InputError(
            path,
            "gpuwiz cannot add the runtime to this file without moving other keys (it is written with dotted keys, "
            f"e.g. {'.'.join(map(str, lost[0]))}); nothing was changed — use a drop-in (--drop-in) or edit it by hand",
        )


def configure_in_place(files: ContainerdFiles, settings: RuntimeSettings) -> list[FileEdit]:
    doc, version, datas = _loaded(files)
    cri = dict(files.effective) if files.effective is not None else effective_cri(version, datas)
    add_runtime(doc, version, settings, source_runtime(cri, settings.name))
    new = _render(doc)
    assert_preserved(files.path, files.text, new, version, settings)
    return [] if new == files.text else [FileEdit(files.path, new, old_text=files.text)]


def _imports_cover(imports: list[str], main_path: str, drop_in: str) -> bool:
    base = posixpath.dirname(main_path)
    return any(fnmatch.fnmatch(drop_in, p if p.startswith("/") else posixpath.join(base, p)) for p in imports)


def configure_drop_in(
    files: ContainerdFiles, drop_in: str, drop_in_text: str | None, settings: RuntimeSettings
) -> list[FileEdit]:
    """The top-level config imports `drop_in` (its folder's *.toml); the drop-in holds the runtime."""
    doc, version, datas = _loaded(files)
    edits: list[FileEdit] = []
    imports = list(doc.get("imports", []))
    if not _imports_cover(imports, files.path, drop_in):
        pattern = posixpath.join(posixpath.dirname(drop_in), "*.toml")
        if "imports" in doc:
            doc["imports"].append(pattern)
        else:
            _add_top_level(doc, "imports", [pattern])
        main = _render(doc)
        assert_preserved(files.path, files.text, main, version, settings)
        edits.append(FileEdit(files.path, main, old_text=files.text))
    others = [(p, t) for p, t in files.imported if p != drop_in]
    before = [datas[0], *[parse_document(p, t).unwrap() for p, t in others]]
    cri = dict(files.effective) if files.effective is not None else effective_cri(version, before)
    if drop_in_text and drop_in_text.strip():
        drop = parse_document(drop_in, drop_in_text)
        _check_shape(drop_in, drop.unwrap(), version)
    else:
        drop = tomlkit.document()
        drop.add(tomlkit.comment(HEADER.format(why=f"imported by {files.path}").rstrip("\n").lstrip("# ")))
        drop.add("version", version)
    if version in (1, 2) and cri:
        # containerd 1.x: this file's CRI table replaces the others', so it carries all of it
        table = _path(drop, "plugins", CRI_PLUGIN[version], super_tables=1)
        _overlay(table, _refreshable(table, cri, unsetting=None if settings.set_as_default else settings.name))
    add_runtime(drop, version, settings, source_runtime(cri, settings.name), unset_default=True)
    new = _render(drop)
    if new != drop_in_text:
        edits.append(FileEdit(drop_in, new, old_text=drop_in_text))
    return edits


def _refreshable(table: Any, cri: Mapping[str, Any], unsetting: str | None) -> dict[str, Any]:
    """What a re-run copies from the other files into the drop-in's CRI table: all of it but the runtimes
    gpuwiz wrote there before (an NVIDIA runtime, or one only the drop-in defines) and a default naming one
    of them, so that adding nvidia-cdi does not undo the nvidia entry or default of an earlier run. The
    default of `unsetting` (this run's runtime, without --set-as-default) gives way to the others'."""
    values = copy.deepcopy(dict(cri))
    containerd = _table(table, "containerd")
    theirs = dict(_table(values, "containerd", "runtimes"))
    own = {n for n in _table(containerd, "runtimes") if n.startswith("nvidia") or n not in theirs}
    if isinstance(values.get("containerd"), dict) and isinstance(values["containerd"].get("runtimes"), dict):
        for name in own:
            values["containerd"]["runtimes"].pop(name, None)
        default = containerd.get("default_runtime_name")
        if default in own and default != unsetting:
            values["containerd"].pop("default_runtime_name", None)
    return values


def _overlay(table: Any, values: Mapping[str, Any]) -> None:
    """Set `values` into a tomlkit table recursively, leaving keys it does not name alone."""
    for key, value in values.items():
        if isinstance(value, Mapping):
            existing = table.get(key)
            if not isinstance(existing, (Table, InlineTable)):
                table[key] = tomlkit.table()
            _overlay(table[key], value)
        elif table.get(key) != value:
            table[key] = value


def _add_top_level(doc: tomlkit.TOMLDocument, key: str, value: Any) -> None:
    """A top-level key goes before the first table (after `version` when there is one)."""
    body = doc.body
    position = next((i for i, (_, item) in enumerate(body) if isinstance(item, (Table, tomlkit.items.AoT))), len(body))
    if key == "version":  # first of the keys, as containerd writes it
        position = next((i for i, (k, _) in enumerate(body) if k is not None), position)
    elif "version" in doc:
        position = min(position, next(i for i, (k, _) in enumerate(body) if k is not None and k.key == "version") + 1)
    if position >= len(body):
        doc.add(key, value)
    else:
        doc._insert_at(position, key, value)  # noqa: SLF001 - tomlkit has no public positional insert


def enable_cri_edit(path: str, text: str | None) -> FileEdit | None:
    """Remove "cri" (and its v2 name) from disabled_plugins, leaving the rest of the file as it is."""
    if not text:
        return None
    doc = parse_document(path, text)
    disabled = doc.get("disabled_plugins")
    if disabled is None:
        return None
    if not isinstance(disabled, list):
        raise InputError(path, "must be a list of plugin names", key="disabled_plugins")
    keep = [p for p in disabled if p not in ("cri", "io.containerd.grpc.v1.cri")]
    if len(keep) == len(disabled):
        return None
    array = doc["disabled_plugins"]
    for index in reversed(range(len(array))):
        if array[index] in ("cri", "io.containerd.grpc.v1.cri"):
            del array[index]
    return FileEdit(path, _render(doc), old_text=text)
