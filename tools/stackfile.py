"""Read `Pulumi.<stack>.yaml` the way Pulumi reads it, and refuse what Pulumi would refuse.

Pulumi parses stack files with Go's yaml v3: YAML 1.2, so `yes`/`no`/`on`/`off` and dates stay
strings, duplicate keys are an error and excessive aliasing is refused (gcp-facts.md "How Pulumi
reads a stack file"). Scalars reach the program as their text; maps and lists as JSON (Go's
encoding/json, which writes 5.0 as 5). A bare key belongs to the project's namespace, and
`project:config:key` is the old spelling of `project:key`.

PyYAML (which the Pulumi SDK already loads) composes the document with its C parser; its tag
resolution is YAML 1.1, so the loader below resolves plain scalars with YAML 1.2's core schema
as Go's yaml v3 reads it (ints may hold `_` and take 0x/0o/0b prefixes; no timestamps, no
yes/no/on/off). The conversion below gives values Go's semantics. Every failure is a
StackFileError naming the file and the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

SECRET = "[secret]"
# Go's yaml v3 refuses documents whose aliases expand far beyond their size ("excessive
# aliasing"); a bound on decoded nodes does the same here and keeps a "billion laughs" file
# from hanging the plan.
MAX_DECODED_NODES = 100_000
_MERGE = "tag:yaml.org,2002:merge"


class _Yaml12Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Composes only (never constructs); plain scalars resolved by YAML 1.2's core schema."""

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}


for _tag, _pattern, _first in [
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)$", list("-+0123456789")),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
    ("merge", r"^<<$", ["<"]),
]:
    _Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), _first)


class StackFileError(Exception):
    def __init__(self, path: Path, key: str, message: str) -> None:
        self.path, self.key = path, key
        where = f" at {key}" if key else ""
        super().__init__(f"{path.name}{where}: {message}")


class StackFile(NamedTuple):
    values: Mapping[str, str]  # full key -> string, objects as JSON (as the engine passes them)
    secret_keys: frozenset[str]


def read_stack_file(path: Path, project: str) -> StackFile:
    """The config of a stack file as the engine passes it; encrypted values become "[secret]"."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        byte = err.object[err.start]
        raise StackFileError(path, "", f"not UTF-8 text (byte {byte:#04x} at offset {err.start})") from None
    except OSError as err:
        raise StackFileError(path, "", f"cannot be read: {err.strerror}") from None
    try:
        root = yaml.compose(text, Loader=_Yaml12Loader)
    except MarkedYAMLError as err:
        mark = err.problem_mark
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise StackFileError(path, "", f"not valid YAML{line}: {err.problem}") from None
    except (YAMLError, RecursionError, ValueError) as err:
        raise StackFileError(path, "", f"not valid YAML: {err}") from None
    decoder = _Decoder(path)
    if root is None:
        return StackFile({}, frozenset())
    top = decoder.value(root, "")
    if not isinstance(top, dict):
        raise StackFileError(path, "", f"expected a map with a `config:` key, found {_kind(top)}")
    config = top.get("config")
    if config is None:
        return StackFile({}, frozenset())
    if not isinstance(config, dict):
        raise StackFileError(path, "config", f"expected a map of config keys, found {_kind(config)}")
    texts = _scalar_texts(root)
    values: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in config.items():
        full = _full_key(key, project)
        if full in values:
            raise StackFileError(path, f"config.{key}", f"{full} is set twice")
        plain, is_secret = _unsecure(value)
        values[full] = _engine_text(plain, texts.get(key))
        if is_secret:
            secret.add(full)
    return StackFile(values, frozenset(secret))


def _scalar_texts(root: Node) -> dict[str, str]:
    """The source text of each top-level config scalar (the engine passes it as written)."""
    texts: dict[str, str] = {}
    for key_node, value_node in root.value if isinstance(root, MappingNode) else []:
        if key_node.value == "config" and isinstance(value_node, MappingNode):
            for k, v in value_node.value:
                if isinstance(k, ScalarNode) and isinstance(v, ScalarNode):
                    texts[k.value] = "" if v.tag == "tag:yaml.org,2002:null" else v.value
    return texts


def _full_key(key: str, project: str) -> str:
    if ":" not in key:
        return f"{project}:{key}"
    namespace, _, rest = key.partition(":")
    return f"{namespace}:{rest.removeprefix('config:')}"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return f"the scalar {json.dumps(value)}"


def _engine_text(value: Any, scalar_text: str | None) -> str:
    """A top-level scalar is passed as its text; maps and lists as Go's JSON of them."""
    if isinstance(value, dict | list):
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    if scalar_text is not None:
        return scalar_text
    return value if isinstance(value, str) else json.dumps(value)


def _unsecure(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ciphertext}` (which cannot be decrypted offline) by a placeholder."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET, True
    if isinstance(value, dict):
        pairs = {k: _unsecure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_unsecure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


class _Decoder:
    """Composed YAML nodes -> plain values, with Go yaml v3 / encoding/json semantics."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.decoded = 0
        self.active: set[int] = set()

    def value(self, node: Node, key: str) -> Any:
        self.decoded += 1
        if self.decoded > MAX_DECODED_NODES:
            raise StackFileError(self.path, key, f"excessive aliasing: more than {MAX_DECODED_NODES} values")
        if id(node) in self.active:
            raise StackFileError(self.path, key, "an alias refers to a node that contains it")
        if isinstance(node, ScalarNode):
            return self.scalar(node, key)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, f"{key}[{i}]") for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, key)
        finally:
            self.active.discard(id(node))
        raise StackFileError(self.path, key, f"unsupported YAML node {type(node).__name__}")

    def mapping(self, node: MappingNode, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                # `<<: *base` (yaml v3 supports merge keys): explicit keys win.
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    base = self.value(source, key)
                    if not isinstance(base, dict):
                        raise StackFileError(self.path, key, "a merge key (<<) must refer to a map")
                    merged = {**base, **merged}
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else type(key_node).__name__
                where = f"{key}.{shown}" if key else str(shown)
                raise StackFileError(self.path, where, f"keys must be strings; quote it: {json.dumps(str(shown))}")
            name = key_node.value
            where = f"{key}.{name}" if key else name
            if name in out:
                raise StackFileError(self.path, where, "duplicate key (Pulumi refuses the file)")
            out[name] = self.value(value_node, where)
        return {**merged, **out}

    def scalar(self, node: ScalarNode, key: str) -> Any:
        tag, text = node.tag, node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() == "true"
        if tag == "tag:yaml.org,2002:int":
            digits = text.replace("_", "")
            try:
                return int(digits, 0)
            except ValueError:
                return int(digits, 10)  # leading zeros
        if tag == "tag:yaml.org,2002:float":
            if text.lower().lstrip("+-") in (".inf", ".nan"):
                raise StackFileError(self.path, key, f"{text} is not a number JSON can carry; Pulumi refuses it")
            number = float(text.replace("_", ""))
            # Go's encoding/json writes a whole float64 as an integer (5.0 -> 5).
            return int(number) if number.is_integer() and abs(number) < 1e21 else number
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
            return text  # yaml v3 leaves dates as strings
        if tag == "tag:yaml.org,2002:binary":
            return text
        raise StackFileError(self.path, key, f"unsupported YAML tag {tag}")
