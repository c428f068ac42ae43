"""Structural checks over components/: children parented, register_outputs once and last."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COMPONENTS = Path(__file__).resolve().parent.parent / "components"


def _component_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for path in sorted(COMPONENTS.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("ComponentResource") for b in node.bases):
                found.append((path.name, node))
    return found


CLASSES = _component_classes()
COMPONENT_NAMES = {cls.name for _, cls in CLASSES}


def _is_parent_self_options(node: ast.expr | None) -> bool:
    """`pulumi.ResourceOptions(parent=self, ...)`."""
    return (
        isinstance(node, ast.Call)
        and ast.unparse(node.func).endswith("ResourceOptions")
        and any(k.arg == "parent" and ast.unparse(k.value) == "self" for k in node.keywords)
    )


def _creates_resource(call: ast.Call) -> bool:
    func = ast.unparse(call.func)
    last = func.rsplit(".", 1)[-1]
    if func.startswith("gcp.") and last[:1].isupper():
        return not last.endswith("Args")
    return func in COMPONENT_NAMES


def _opts_of(call: ast.Call) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == "opts":
            return k.value
    return call.args[2] if len(call.args) >= 3 else None


def test_there_are_components() -> None:
    assert {"ProjectApis", "PrivateService", "TaskInvoker", "TaskQueue", "TaskWorker"} <= COMPONENT_NAMES


@pytest.mark.parametrize(("file", "cls"), CLASSES, ids=[c.name for _, c in CLASSES])
def test_every_child_is_parented_to_the_component(file: str, cls: ast.ClassDef) -> None:
    # Names bound to `ResourceOptions(parent=self)` anywhere in the class count as such options.
    parent_opts = {
        t.id
        for node in ast.walk(cls)
        if isinstance(node, ast.Assign) and _is_parent_self_options(node.value)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    calls = [n for n in ast.walk(cls) if isinstance(n, ast.Call) and _creates_resource(n)]
    assert calls, f"{file}:{cls.name} declares no resources"
    for call in calls:
        opts = _opts_of(call)
        ok = _is_parent_self_options(opts) or (isinstance(opts, ast.Name) and opts.id in parent_opts)
        assert ok, f"{file}:{call.lineno} {ast.unparse(call.func)} is not given parent=self"


@pytest.mark.parametrize(("file", "cls"), CLASSES, ids=[c.name for _, c in CLASSES])
def test_register_outputs_once_and_last(file: str, cls: ast.ClassDef) -> None:
    (init,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    registers = [n for n in ast.walk(cls) if isinstance(n, ast.Call) and ast.unparse(n.func) == "self.register_outputs"]
    assert len(registers) == 1, f"{file}:{cls.name} calls register_outputs {len(registers)} times"
    last = init.body[-1]
    assert isinstance(last, ast.Expr)
    assert last.value is registers[0], f"{file}:{cls.name}: register_outputs is not the last statement"


@pytest.mark.parametrize(("file", "cls"), CLASSES, ids=[c.name for _, c in CLASSES])
def test_type_token_and_typed_args(file: str, cls: ast.ClassDef) -> None:
    (init,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    first = init.body[0]
    assert isinstance(first, ast.Expr)
    assert isinstance(first.value, ast.Call)
    assert ast.unparse(first.value.func) == "super().__init__"
    token = first.value.args[0]
    assert isinstance(token, ast.Constant)
    assert token.value == f"task-worker:gcp:{cls.name}"
    args = init.args.args
    assert [a.arg for a in args[:3]] == ["self", "name", "args"]
    assert args[2].annotation is not None
    assert ast.unparse(args[2].annotation) == f"{cls.name}Args"
