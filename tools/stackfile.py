"""Read `Pulumi.<stack>.yaml` the way Pulumi reads it, and refuse what Pulumi would refuse.

Pulumi reads a stack file with Go's yaml.v3 into `config.Value`s and hands the program one
string per key (gcp-facts.md "How Pulumi reads a stack file"). The rules, by source (go-yaml/yaml
branch v3; pulumi/pulumi sdk/go/common/resource/config):

- Plain scalars are typed by yaml.v3 `resolve.go` `resolve()` (mirrored in `_resolve`): only
  `true/True/TRUE/false/...` are bools and `~/null/Null/NULL/` nulls; ints go through Go's
  `strconv.ParseInt(s, 0, 64)` after dropping `_`, so `0777` is octal 511 and `0x`/`0o`/`0b`
  prefixes work; an int that fits neither int64 nor uint64 is retried as a float, and a float out
  of range (`1e400`) stays a string; dates become times. Quoted and block scalars are strings
  (`decode.go` `indicatedString`). Unknown tags are ignored (`resolvableTag`).
- `<<` merges maps, the map's own keys winning (`decode.go` `mapping`/`merge`); duplicate keys
  are an error (`uniqueKeys`); excessive aliasing is refused (`allowedAliasRatio`).
- Pulumi turns the decoded value into an `object` (`object.go` `unmarshalObject`: a time becomes
  its Go `String()`; `{secure: <string>}` is a ciphertext) and then into the string the program
  gets (`object.go` `MarshalString`, `plaintext.go` `marshalText`): a string as is; a bool or
  number re-encoded as JSON (`false`, `511`, a whole float `3.0` as `3`); a map or list as Go
  `encoding/json` of it (compact, keys sorted, `<>&` escaped). A null top-level value never
  reaches `UnmarshalYAML` (`decode.go` `prepare`), so the program gets "".

PyYAML's C parser composes the document (fast); every plain scalar is tagged `_PLAIN` and typed
here. Where this reader is stricter than Pulumi it says so: non-string keys are refused (Go would
stringify them with `%v`, `~` as `<nil>`), and nesting is bounded (`MAX_DEPTH`). Every failure is a
StackFileError naming the file and the key path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

SECRET = "[secret]"
# A hard stop for pathological documents; yaml.v3's own rule (the alias ratio) is applied too.
MAX_DECODED_NODES = 1_000_000
# yaml.v3 allows 10,000 levels (scannerc.go max_flow_level/max_indents) and libyaml, which composes
# here, 1,000; no setting of this stack nests beyond a handful, and the program's JSON reading
# needs headroom, so deeper values are refused here, naming the key.
MAX_DEPTH = 256
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN = "tag:task-worker,2026:plain"  # a plain (unquoted, untagged) scalar, typed by _resolve
_Y = "tag:yaml.org,2002:"


class _Yaml12Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Composes only (never constructs); every plain scalar tagged _PLAIN, typed later by _resolve."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _Y + "str"
        return _Y + ("seq" if kind is SequenceNode else "map")


class StackFileError(Exception):
    def __init__(self, path: Path, key: str, message: str) -> None:
        self.path, self.key = path, key
        shown = key if len(key) <= 160 else key[:160] + "…"  # a path 256 levels deep names nothing more
        where = f" at {shown}" if key else ""
        super().__init__(f"{path.name}{where}: {message}")


class StackFile(NamedTuple):
    values: Mapping[str, str]  # full key -> the string the program gets (objects as Go's JSON)
    secret_keys: frozenset[str]
    # Values whose meaning differs from what the text suggests (`0777` -> 511): the plan shows them.
    notes: tuple[str, ...] = ()


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
        raise StackFileError(path, _path_at_error(text), f"not valid YAML{line}: {err.problem}") from None
    except (YAMLError, RecursionError, ValueError) as err:
        raise StackFileError(path, _path_at_error(text), f"not valid YAML: {err}") from None
    if root is None:
        return StackFile({}, frozenset())
    decoder = _Decoder(path)
    with _recursion_room(MAX_DEPTH * 4 + 200):
        top = decoder.value(root, "", 0)
        if not isinstance(top, dict):
            raise StackFileError(path, "", f"expected a map with a `config:` key, found {_kind(top)}")
        config = top.get("config")
        if config is None:
            return StackFile({}, frozenset(), tuple(decoder.notes))
        if not isinstance(config, dict):
            raise StackFileError(path, "config", f"expected a map of config keys, found {_kind(config)}")
        values: dict[str, str] = {}
        secret: set[str] = set()
        for key, value in config.items():
            full = _full_key(key, project)
            if full is None:
                raise StackFileError(
                    path,
                    f"config.{key}",
                    "not a config key: Pulumi expects `<namespace>:<name>` (config/key.go ParseKey)",
                )
            if full in values:
                raise StackFileError(path, f"config.{key}", f"{full} is set twice")
            if _is_ciphertext(value):
                values[full] = SECRET
                secret.add(full)
                continue
            if value is None:  # loaders.go checkForEmptyConfig warns; Value stays "" (decode.go prepare)
                decoder.notes.append(f'{path.name} at config.{key}: no value; Pulumi warns and passes ""')
            plain, is_secret = _unsecure(value)
            try:
                values[full] = _marshal_string(plain)
            except ValueError as err:  # NaN/Inf: Go's encoding/json refuses them, so Pulumi does
                raise StackFileError(path, f"config.{key}", str(err)) from None
            if is_secret:
                secret.add(full)
    return StackFile(values, frozenset(secret), tuple(decoder.notes))


@contextmanager
def _recursion_room(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _path_at_error(text: str) -> str:
    """The key path at which parsing stopped (e.g. libyaml's nesting limit), from the event stream."""
    stack: list[list[Any]] = []  # [kind, key or index, expecting a key]
    try:
        for event in yaml.parse(text, Loader=_Yaml12Loader):
            if (
                stack
                and stack[-1][0] == "map"
                and isinstance(
                    event, yaml.ScalarEvent | yaml.AliasEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent
                )
            ):
                frame = stack[-1]
                if frame[2]:  # this node is a key
                    frame[1] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                    frame[2] = False
                    if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                        stack.append(["map" if isinstance(event, yaml.MappingStartEvent) else "seq", None, True])
                    continue
                frame[2] = True
            elif (
                stack
                and stack[-1][0] == "seq"
                and isinstance(
                    event, yaml.ScalarEvent | yaml.AliasEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent
                )
            ):
                stack[-1][1] = 0 if stack[-1][1] is None else stack[-1][1] + 1
            if isinstance(event, yaml.MappingStartEvent):
                stack.append(["map", None, True])
            elif isinstance(event, yaml.SequenceStartEvent):
                stack.append(["seq", None, True])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                stack.pop()
    except (YAMLError, RecursionError, ValueError):
        pass
    else:
        return ""
    parts: list[str] = []
    for kind, key, _ in stack:
        if key is None:
            break
        parts.append(f"[{key}]" if kind == "seq" else f".{key}" if parts else str(key))
    if len(parts) > 6:  # a thousand `[0]`s name nothing better than the first few
        parts = [*parts[:6], "…"]
    return "".join(parts)


def _full_key(key: str, project: str) -> str | None:
    """loaders.go stackConfigNamespacedWithProject, then key.go ParseKey (`ns:config:name` is `ns:name`)."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{project}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return f"the scalar {_go_json(value)}"


def _is_ciphertext(value: Any) -> bool:
    """object.go `isSecureValue`: a map of exactly one key `secure` whose value is a string."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _unsecure(value: Any) -> tuple[Any, bool]:
    """Replace each `{secure: ciphertext}` (which cannot be decrypted offline) by a placeholder."""
    if _is_ciphertext(value):
        return SECRET, True
    if isinstance(value, dict):
        pairs = {k: _unsecure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_unsecure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


# --- Pulumi's encoding: object.go MarshalString / plaintext.go marshalText ---------------------


def _marshal_string(value: Any) -> str:
    """The string the program gets: a string as is, None as "" (never unmarshaled), else Go's JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _go_json(value)


# encoding/json (encode.go `encodeState.string`, HTML-safe by default) escapes these in strings.
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _go_json(value: Any) -> str:
    """Go encoding/json.Marshal of a decoded value: compact, map keys sorted, floats as Go writes them."""
    if isinstance(value, str):
        text = encode_basestring(value)
        return text.translate(_GO_ESCAPES) if _GO_ESCAPED.search(text) else text
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json(k)}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    raise TypeError(f"unexpected decoded value {type(value).__name__}")


def _go_float(f: float) -> str:
    """encoding/json `floatEncoder`: shortest digits, %f unless |f| < 1e-6 or >= 1e21 (then %e, `e-7`)."""
    if not math.isfinite(f):
        raise ValueError(f"{f} is not a number JSON can carry (Go's encoding/json refuses it, so Pulumi does)")
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    digits = Decimal(repr(f)).normalize()  # repr: the shortest round-tripping digits, as Go's -1 precision
    if 1e-6 <= abs(f) < 1e21:
        return format(digits, "f")
    sign, ds, exp = digits.as_tuple()
    assert isinstance(exp, int)
    mantissa = str(ds[0]) + ("." + "".join(map(str, ds[1:])) if len(ds) > 1 else "")
    e = exp + len(ds) - 1
    # strconv 'e' writes at least two exponent digits; encoding/json trims `e-07` to `e-7`.
    exponent = f"e-{-e}" if e < 0 else f"e+{e:02d}"
    return ("-" if sign else "") + mantissa + exponent


# --- yaml.v3 resolve.go `resolve` ----------------------------------------------------------------


class _Str(NamedTuple):
    """A plain scalar that yaml.v3 leaves a string although it looks like a number."""

    text: str


_RESOLVE_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# Go's ParseFloat on the raw text (hint '.'): underscores only between digits (atoi.go underscoreOK).
_GO_DOT_FLOAT = re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?")
_DIGITS = {2: re.compile("[01]+"), 8: re.compile("[0-7]+"), 10: re.compile("[0-9]+"), 16: re.compile("[0-9a-fA-F]+")}
_INT64 = 1 << 63
_UINT64 = 1 << 64


def _parse_uint(s: str) -> int | None:
    """strconv.ParseUint(s, 0, 64) on text without underscores: 0b/0o/0x prefixes, a bare leading 0 octal."""
    if not s:
        return None
    base = 10
    if s[0] == "0":
        prefix = s[1:2].lower()
        if len(s) >= 3 and prefix in ("b", "o", "x"):
            base, s = {"b": 2, "o": 8, "x": 16}[prefix], s[2:]
        else:
            base, s = 8, s[1:]
            if not s:
                return 0
    if not _DIGITS[base].fullmatch(s):
        return None
    if base == 10 and len(s.lstrip("0")) > 20:  # beyond uint64 anyway (and int()'s digit limit)
        return None
    n = int(s, base)
    return n if n < _UINT64 else None


def _parse_int(s: str) -> int | None:
    """strconv.ParseInt(s, 0, 64): an optional sign, then ParseUint's rules, within int64."""
    neg = s[:1] == "-"
    n = _parse_uint(s[1:] if s[:1] in ("+", "-") else s)
    if n is None:
        return None
    if neg:
        return -n if n <= _INT64 else None
    return n if n < _INT64 else None


def _parse_float(s: str) -> float | None:
    """strconv.ParseFloat(s, 64) for decimal text: out of range (±Inf) is an error, underflow is 0."""
    f = float(s)
    return f if math.isfinite(f) else None


@functools.lru_cache(maxsize=4096)  # stack files repeat their scalars (`false`, `10`, `1s`)
def _resolve(text: str) -> Any:
    """yaml.v3 resolve(\"\", text) for a plain scalar -> None, bool, int, float, str, _Time or _Str."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    hint = text[0]
    if hint == ".":
        return _parse_float(text.replace("_", "")) if _GO_DOT_FLOAT.fullmatch(text) else text
    if not (hint in "+-" or "0" <= hint <= "9"):
        return text
    stamp = _parse_timestamp(text)
    if stamp is not None:
        return stamp
    plain = text.replace("_", "")
    for number in (_parse_int(plain), _parse_uint(plain)):
        if number is not None:
            return number
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        f = _parse_float(plain)
        return _Str(text) if f is None else f
    # resolve.go's 0b/-0b/0o/-0o branches only repeat what ParseInt(s, 0, 64) already accepts.
    return _Str(text) if _looks_numeric(plain) else text


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)", text))


# --- yaml.v3 resolve.go parseTimestamp + Go time.Time.String() (object.go turns times into it) -----


class _Time(str):
    """A timestamp as Go prints it; a str, so it encodes as the string Pulumi passes."""


_DATE = r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)"
# time.Parse takes any number of fraction digits (`.` or `,`) and keeps nine.
_CLOCK = r"([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)(?:[.,]([0-9]+))?"
_STAMPS = [  # resolve.go allowedTimestampFormats, in order
    re.compile(_DATE + "[Tt]" + _CLOCK + r"(Z|[-+][0-9]{2}:[0-9]{2})"),
    re.compile(_DATE + " " + _CLOCK + "()"),
    re.compile(_DATE + "()()()()()"),
]


def _parse_timestamp(text: str) -> _Time | None:
    """time.Parse of the layouts yaml.v3 tries; String() as Go writes it ("2024-01-01 00:00:00 +0000 UTC").

    A numeric offset is assumed not to be the local zone's (Pulumi's machine; UTC in CI): Go then
    prints it twice ("-0500 -0500"); +00:00 and Z print as UTC.
    """
    if not re.match(r"[0-9]{4}-", text):
        return None
    for layout in _STAMPS:
        m = layout.fullmatch(text)
        if m is None:
            continue
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        hour, minute, second = (int(g) if g else 0 for g in (m[4], m[5], m[6]))
        if not 1 <= month <= 12 or not 1 <= day <= _days_in(month, year):
            return None
        if hour > 23 or minute > 59 or second > 59:
            return None
        zone = m[8] or "Z"
        if zone != "Z" and (int(zone[1:3]) > 24 or int(zone[4:6]) > 60):
            return None
        frac = (m[7] or "")[:9].rstrip("0")
        offset = "+0000 UTC" if zone in ("Z", "+00:00", "-00:00") else f"{zone[:3]}{zone[4:]} {zone[:3]}{zone[4:]}"
        clock = f"{hour:02d}:{minute:02d}:{second:02d}" + (f".{frac}" if frac else "")
        return _Time(f"{year:04d}-{month:02d}-{day:02d} {clock} {offset}")
    return None


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# --- composed nodes -> values -----------------------------------------------------------------------


def _allowed_alias_ratio(decodes: int) -> float:
    """decode.go allowedAliasRatio."""
    if decodes <= 400_000:
        return 0.99
    if decodes >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * ((decodes - 400_000) / 3_600_000)


class _Decoder:
    """Composed YAML nodes -> plain values with yaml.v3's semantics (decode.go)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.decoded = 0
        self.aliased = 0  # decodes under an alias (decode.go aliasCount)
        self.seen: set[int] = set()  # nodes decoded once: a second visit is through an alias
        self.under_alias = 0
        self.active: set[int] = set()
        self.notes: list[str] = []

    def fail(self, key: str, message: str) -> StackFileError:
        return StackFileError(self.path, key, message)

    def value(self, node: Node, key: str, depth: int) -> Any:
        self.decoded += 1
        if self.under_alias:
            self.aliased += 1
        aliasing = self.aliased > 100 and self.decoded > 1000
        if self.decoded > MAX_DECODED_NODES or (
            aliasing and self.aliased / self.decoded > _allowed_alias_ratio(self.decoded)
        ):
            raise self.fail(key, "excessive aliasing (yaml.v3 refuses the document)")
        if depth > MAX_DEPTH:
            raise self.fail(key, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.active:
            raise self.fail(key, "an alias refers to a node that contains it")
        alias = id(node) in self.seen
        self.seen.add(id(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, key)
        self.active.add(id(node))
        self.under_alias += alias
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, f"{key}[{i}]", depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, key, depth)
        finally:
            self.active.discard(id(node))
            self.under_alias -= alias
        raise self.fail(key, f"unsupported YAML node {type(node).__name__}")

    def mapping(self, node: MappingNode, key: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merge: Node | None = None
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<" and key_node.tag in (_PLAIN, _Y + "merge"):
                if merge is not None:  # uniqueKeys: a second `<<` is a duplicate key
                    raise self.fail(f"{key}.<<" if key else "<<", "duplicate key (Pulumi refuses the file)")
                merge = value_node  # decode.go isMerge
                continue
            if not isinstance(key_node, ScalarNode) or self.scalar_kind(key_node) not in (str, _Str):
                shown = key_node.value if isinstance(key_node, ScalarNode) else type(key_node).__name__
                where = f"{key}.{shown}" if key else str(shown)
                raise self.fail(where, f"keys must be strings; quote it: {json.dumps(str(shown))}")
            name = key_node.value
            where = f"{key}.{name}" if key else name
            if name in keys:  # decode.go mapping: uniqueKeys compares the keys' text
                raise self.fail(where, "duplicate key (Pulumi refuses the file)")
            keys.add(name)
            out[name] = self.value(value_node, where, depth + 1)
        if merge is not None:
            # decode.go merge: the map's own keys win; in a sequence of maps the first one wins.
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise self.fail(key or "<<", "map merge (<<) requires a map or a sequence of maps")
                for k, v in self.value(source, key, depth).items():
                    out.setdefault(k, v)
        return out

    def scalar_kind(self, node: ScalarNode) -> type:
        if node.tag == _PLAIN and not node.style:
            return type(_resolve(node.value))
        return str if node.tag == _Y + "str" else object

    def scalar(self, node: ScalarNode, key: str) -> Any:
        tag, text = node.tag, node.value
        if _SURROGATE.search(text):  # scannerc.go refuses surrogate escapes
            raise self.fail(key, "invalid Unicode character escape (a surrogate)")
        if tag == _PLAIN and node.style:  # `! 'x'`: libyaml calls it implicit, yaml.v3 a string
            return text
        if tag == _PLAIN:
            value = _resolve(text)
        elif tag == _Y + "str":
            return text
        elif tag == _Y + "binary":
            try:
                data = base64.b64decode(re.sub(r"[\r\n]", "", text), validate=True)
            except (binascii.Error, ValueError):
                raise self.fail(key, "!!binary value contains invalid base64 data") from None
            return data.decode("utf-8", errors="replace")
        elif tag.startswith(_Y) and tag[len(_Y) :] in ("int", "float", "bool", "null", "timestamp"):
            value = self.tagged(text, tag[len(_Y) :], key)
        else:  # resolve.go resolvableTag: an unknown tag leaves the text, a string
            self.notes.append(f"{self.where(key)}: the tag {tag} is ignored; the value is the string {text!r}")
            return text
        if isinstance(value, _Str):
            self.notes.append(
                f"{self.where(key)}: `{text}` is out of yaml.v3's number range: Pulumi passes the text {value.text!r}"
            )
            return value.text
        if isinstance(value, _Time):
            self.notes.append(f"{self.where(key)}: `{text}` is a YAML timestamp; Pulumi passes {str(value)!r}")
            return str(value)
        if isinstance(value, float) and value == 0:
            # Pulumi re-encodes the file before reading config (workspace/loaders.go
            # LoadProjectStackBytes); yaml.v3 writes -0.0 as `-0`, which reads back as the int 0.
            value = 0
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            shown = _go_json(value)
            if _decimal(text) != _decimal(shown):
                self.notes.append(f"{self.where(key)}: `{text}` is read as {shown}{_why(text, value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"{text} is not a number JSON can carry; Pulumi refuses it")
        return value

    def tagged(self, text: str, want: str, key: str) -> Any:
        """resolve(tag, text) with an explicit core tag: the text must resolve to it (!!float takes ints)."""
        value = _resolve(text)
        if isinstance(value, _Time) and want != "timestamp":
            value = text
        kinds = {bool: "bool", int: "int", float: "float", type(None): "null", _Time: "timestamp"}
        kind = kinds.get(type(value), "str")
        if isinstance(value, int) and kind == "int" and want == "float":
            return float(value)
        if kind != want:
            raise self.fail(key, f"cannot decode !!{kind} `{text}` as a !!{want}")
        return value

    def where(self, key: str) -> str:
        return f"{self.path.name} at {key}"


def _why(text: str, value: float) -> str:
    digits = text.lstrip("+-").replace("_", "").lower()
    if isinstance(value, float):
        return " (too big for a 64-bit integer: a float)" if _looks_numeric(text) else ""
    if digits.startswith(("0x", "0b", "0o")):
        return ""  # prefixed: they say what they are
    return " (octal: yaml.v3 reads a leading 0 as YAML 1.1 octal; quote it for the text)"


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:
        return None
