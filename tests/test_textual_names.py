"""No screen, widget or app of ours reuses a name Textual's own classes define.

`RunScreen.selections` once shadowed `Screen.selections` (Textual's text-selection reactive): any
run with a changed choice crashed in Textual's watcher. This reads every class in tui/ that derives
from a Textual class and fails on an attribute it assigns (`self.x = …`), a class attribute or a
method whose name the Textual base already has, unless it is one of the hooks Textual means to be
overridden or set (compose, on_mount, BINDINGS, title, …).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parent.parent / "tui"

# Names Textual documents as meant to be overridden by a subclass or set by its user.
MEANT_TO_OVERRIDE = {
    # class variables
    "BINDINGS",
    "CSS",
    "CSS_PATH",
    "DEFAULT_CSS",
    "TITLE",
    "SUB_TITLE",
    "COMMANDS",
    "AUTO_FOCUS",
    "COMPONENT_CLASSES",
    "SCOPED_CSS",
    "ENABLE_COMMAND_PALETTE",
    "HORIZONTAL_BREAKPOINTS",
    "ALLOW_SELECT",
    "ALLOW_IN_MAXIMIZED_VIEW",
    "INLINE_PADDING",
    "can_focus",
    "can_focus_children",
    # hooks and handlers
    "compose",
    "render",
    "render_line",
    "render_lines",
    "get_content_width",
    "get_content_height",
    "check_action",
    "on_mount",
    "on_unmount",
    "on_resize",
    "on_key",
    "on_click",
    "on_focus",
    "on_blur",
    "action_quit",
    "action_help",
    "action_back",
    "action_dismiss",
    "get_system_commands",
    "notify",
    # gpuwiz's one-line crash report replaces Textual's handler and records the error as it does
    # (pinned textual, see tui/app.py)
    "_handle_exception",
    "_exception",
    # reactives and properties a user sets
    "title",
    "sub_title",
    "display",
    "disabled",
    "tooltip",
    "border_title",
    "border_subtitle",
    "highlighted",
    "value",
}


def textual_classes():
    """(our class, its Textual bases' attribute names) for every class in tui/ built on Textual."""
    found = []
    for path in sorted(p for p in TUI.rglob("*.py") if p.name != "__main__.py"):
        module_name = ".".join(("gpuwiz", *path.relative_to(TUI).with_suffix("").parts))  # tui/ is gpuwiz
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module_name:
                continue
            bases = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] == "textual"]
            if bases:
                theirs = set().union(*(vars(b) for b in bases))
                # reactives live in the class dict, properties too; instance attributes set in
                # Textual's own __init__ are found by instantiating nothing: read them from source
                for base in bases:
                    try:
                        source = inspect.getsource(base.__init__)
                    except (TypeError, OSError):
                        continue
                    theirs |= assigned_names(ast.parse(textwrap.dedent(source)))
                found.append((path, cls, theirs))
    return found


def assigned_names(tree: ast.AST) -> set[str]:
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def our_names(path: Path, cls: type) -> dict[str, int]:
    """Every name the class itself defines: methods, class attributes, `self.x = …` anywhere in it."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            names: dict[str, int] = {}
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.setdefault(item.name, item.lineno)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            names.setdefault(t.id, item.lineno)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                    if isinstance(sub.value, ast.Name) and sub.value.id == "self":
                        names.setdefault(sub.attr, sub.lineno)
            return names
    raise AssertionError(f"class {cls.__name__} not found in {path}")


CLASSES = textual_classes()


def test_the_scan_sees_our_screens_widgets_and_app():
    names = {cls.__name__ for _, cls, _ in CLASSES}
    assert {"GpuwizApp", "RunScreen", "LayersScreen", "MonitorScreen", "ChoicesPanel"} <= names
    assert len(CLASSES) >= 12


def test_the_scan_would_have_caught_selections():
    run = next(theirs for _, cls, theirs in CLASSES if cls.__name__ == "RunScreen")
    assert "selections" in run and "focused" in run and "_tooltip_widget" in run  # reactives, an __init__ attribute


@pytest.mark.parametrize("path, cls, theirs", CLASSES, ids=[c.__name__ for _, c, _ in CLASSES])
def test_no_textual_name_is_reused(path, cls, theirs):
    clashes = {
        name: line
        for name, line in our_names(path, cls).items()
        if name in theirs
        and name not in MEANT_TO_OVERRIDE
        and not name.startswith(("on_", "action_", "watch_", "validate_", "compute_", "key_", "_on_"))
        and not (name.startswith("__") and name.endswith("__"))
    }
    where = ", ".join(f"{name} (line {line})" for name, line in sorted(clashes.items(), key=lambda kv: kv[1]))
    assert not clashes, f"{path.relative_to(TUI.parent)}: {cls.__name__} reuses Textual's {where}"
