"""`Pulumi.<stack>.yaml` text -> the exact string the program receives, as Pulumi reads it.

Sources, by the abbreviations in the rows (go-yaml/yaml branch v3 at v3.0.1, the version Pulumi
pins; pulumi/pulumi sdk/go/common):
  R  = yaml.v3 resolve.go `resolve` (plain scalars; hint table by first character; ParseInt(s, 0, 64)
       after dropping `_`, then ParseUint, then `yamlStyleFloat` + ParseFloat, else a string)
  T  = resolve.go `parseTimestamp` / `allowedTimestampFormats`, then object.go `unmarshalObject`
       (`case time.Time: v.String()`)
  D  = yaml.v3 decode.go (`indicatedString`: quoted/block scalars are strings; `mapping`/`merge`:
       `<<`, own keys win, first source wins; `prepare`: a null never reaches `UnmarshalYAML`)
  MS = resource/config/object.go `MarshalString`: a string as is; bool/number/map/list as Go
       encoding/json (compact, keys sorted, `<>&` escaped, floats by `floatEncoder`)
  S  = object.go `isSecureValue`: `{secure: <string>}` and nothing else is a ciphertext
  RT = workspace/loaders.go `LoadProjectStackBytes` decodes, re-encodes (encode.go `floatv`,
       FormatFloat 'g') and decodes again: `-0.0` is written `-0` and comes back as the int 0
  K  = loaders.go `stackConfigNamespacedWithProject` / config key.go (`project:config:key`)
"""

from __future__ import annotations

import io
import string
import tempfile
from contextlib import redirect_stderr, redirect_stdout, suppress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from tools import plan
from tools.stackfile import MAX_DEPTH, SECRET, StackFileError, read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "task-worker"


def v(text: str) -> str:
    """A stack file whose `k` holds `text`."""
    return f"config:\n  k: {text}\n"


# (id, stack file text, the string the program receives for task-worker:k, source)
ROWS: list[tuple[str, str, str]] = [
    # --- ints: ParseInt(s, 0, 64) (R)
    ("octal-leading-zero", v("0777"), "511"),  # R: "Octals from the 1.1 spec, spelled as 0777, are still decoded"
    ("octal-negative", v("-0777"), "-511"),  # R: ParseInt takes the sign, then base 0
    ("octal-plus", v("+0777"), "511"),  # R
    ("octal-0o", v("0o17"), "15"),  # R: base 0 prefix 0o (YAML 1.2)
    ("octal-0O", v("0O17"), "15"),  # R: strconv's prefix test is case-insensitive
    ("octal-zero-zero", v("00"), "0"),  # R: "0" then octal "0"
    ("octal-bad-digit-is-float", v("08"), "8"),  # R: ParseInt fails, yamlStyleFloat matches: 8.0 -> MS "8"
    ("octal-bad-digit-fraction", v("0999.5"), "999.5"),  # R: yamlStyleFloat
    ("hex", v("0x1F"), "31"),  # R
    ("hex-upper-prefix", v("0X1f"), "31"),  # R
    ("hex-negative", v("-0x10"), "-16"),  # R
    ("binary", v("0b101"), "5"),  # R
    ("binary-negative", v("-0b101"), "-5"),  # R
    ("underscores", v("1_000"), "1000"),  # R: strings.Replace(in, "_", "", -1) before parsing
    ("underscores-anywhere", v("1__0_"), "10"),  # R: every `_` is dropped, not only between digits
    ("underscore-after-prefix", v("0x_1F"), "31"),  # R
    ("int64-max", v("9223372036854775807"), "9223372036854775807"),  # R
    ("int64-min", v("-9223372036854775808"), "-9223372036854775808"),  # R
    ("uint64", v("9223372036854775808"), "9223372036854775808"),  # R: ParseUint after ParseInt
    ("uint64-max", v("18446744073709551615"), "18446744073709551615"),  # R
    ("beyond-uint64-is-float", v("18446744073709551616"), "18446744073709552000"),  # R: ParseFloat; MS %f
    ("beyond-int64-negative-is-float", v("-9223372036854775809"), "-9223372036854776000"),  # R; MS
    ("plus-uint64-is-float", v("+18446744073709551615"), "18446744073709552000"),  # R: ParseUint takes no sign
    ("huge-decimal-is-float", v("9" * 23), "1e+23"),  # R: ParseFloat; MS: %e from 1e21
    ("hex-beyond-64-bits-stays-string", v("0x10000000000000000"), "0x10000000000000000"),  # R: no rule fits
    ("binary-beyond-64-bits-stays-string", v("0b" + "1" * 65), "0b" + "1" * 65),  # R
    ("octal-beyond-64-bits-stays-string", v("0o" + "7" * 23), "0o" + "7" * 23),  # R
    # --- floats (R: yamlStyleFloat + ParseFloat; out of range is an error, so a string) -> MS floatEncoder
    ("float-out-of-range-stays-string", v("1e400"), "1e400"),  # R
    ("float-out-of-range-negative", v("-1e400"), "-1e400"),  # R
    ("float-underflow-is-zero", v("1e-400"), "0"),  # R: ParseFloat underflow is not an error
    ("whole-float", v("3.0"), "3"),  # MS: encoding/json writes a whole float64 as an integer
    ("float", v("1.5"), "1.5"),  # MS
    ("float-exponent", v("1e3"), "1000"),  # R; MS
    ("float-exponent-upper", v("1E3"), "1000"),  # R
    ("float-trailing-dot", v("5."), "5"),  # R: yamlStyleFloat allows `5.`
    ("float-leading-dot", v(".5"), "0.5"),  # R: hint '.', ParseFloat
    ("float-signed-dot", v("+.5"), "0.5"),  # R
    ("float-dot-underscore", v(".5_0"), "0.5"),  # R: ParseFloat on the raw text allows `_` between digits
    ("float-dot-bad-underscore", v("._5"), "._5"),  # R: not Go float syntax -> string
    ("float-underscore", v("1_0.5"), "10.5"),  # R
    ("negative-zero", v("-0.0"), "0"),  # RT: written `-0`, read back as the int 0
    ("float-1e20", v("1e20"), "100000000000000000000"),  # MS: %f below 1e21
    ("float-1e21", v("1e21"), "1e+21"),  # MS: %e from 1e21
    ("float-small-f", v("0.000001"), "0.000001"),  # MS: %f from 1e-6
    ("float-small-e", v("0.0000001"), "1e-7"),  # MS: %e below 1e-6, `e-07` trimmed to `e-7`
    ("float-small-e-digits", v("1.5e-7"), "1.5e-7"),  # MS
    ("float-shortest", v("0.1"), "0.1"),  # MS: shortest round-trip digits
    ("hex-float-stays-string", v("0x1p3"), "0x1p3"),  # R: yamlStyleFloat is decimal only
    ("infinity-word", v("Infinity"), "Infinity"),  # R: hint 0 -> string
    ("inf-without-dot", v("-inf"), "-inf"),  # R: not in the map, not a float
    ("nan-word", v("NaN"), "NaN"),  # R: hint 'M', not in the map
    # --- not numbers (R)
    ("prefix-only", v("0x"), "0x"),
    ("exponent-only", v("1e"), "1e"),
    ("sexagesimal", v("1:30"), "1:30"),  # R: "Base 60 floats ... purposefully unsupported"
    ("dotted", v("1.2.3"), "1.2.3"),
    ("sign-only", v("+"), "+"),
    ("dot-only", v("'.'"), "."),
    # --- bools: only these six spellings (R resolveMap); top-level re-encoded as JSON (MS)
    ("False", v("False"), "false"),
    ("FALSE", v("FALSE"), "false"),
    ("false", v("false"), "false"),
    ("True", v("True"), "true"),
    ("TRUE", v("TRUE"), "true"),
    ("mixed-case-is-string", v("tRUE"), "tRUE"),  # R: not in the map
    ("yes-is-string", v("yes"), "yes"),  # R: YAML 1.2, no yes/no/on/off
    ("on-is-string", v("on"), "on"),
    ("y-is-string", v("y"), "y"),
    ("quoted-False-is-text", v("'False'"), "False"),  # D: indicatedString
    ("nested-false-stays-false", v("{a: false, b: FALSE, c: True}"), '{"a":false,"b":false,"c":true}'),  # R; MS
    # --- nulls: a top-level null never reaches Value.UnmarshalYAML (D prepare): ""
    ("tilde", v("~"), ""),
    ("empty", v(""), ""),
    ("null", v("null"), ""),
    ("Null", v("Null"), ""),
    ("NULL", v("NULL"), ""),
    ("nULL-is-string", v("nULL"), "nULL"),  # R
    ("quoted-tilde", v("'~'"), "~"),  # D
    ("nested-null", v("{a: ~, b: [null]}"), '{"a":null,"b":[null]}'),  # MS
    # --- strings: quoted, block, tagged (D indicatedString; R resolvableTag)
    ("quoted-octal", v("'0777'"), "0777"),
    ("double-quoted-hex", v('"0x1F"'), "0x1F"),
    ("literal-block", "config:\n  k: |\n    0777\n", "0777\n"),
    ("folded-block", "config:\n  k: >-\n    0777\n", "0777"),
    ("str-tag", v("!!str 0777"), "0777"),
    ("int-tag-on-quoted", v("!!int '0777'"), "511"),  # D: an explicit tag is resolved, quoted or not
    ("float-tag-on-int", v("!!float 5"), "5"),  # R: the deferred int -> float64 conversion; MS
    ("non-specific-tag", v("{a: ! 5, b: ! '5'}"), '{"a":5,"b":"5"}'),  # decode.go parser.node: `!` = untagged
    ("unknown-tag-ignored", v("!custom 0777"), "0777"),  # R: resolvableTag false -> the text
    ("binary-tag", v("!!binary aGVsbG8="), "hello"),  # D: base64-decoded
    ("bom", "\ufeffconfig:\n  k: 1\n", "1"),  # loaders.go readFileStripUTF8BOM
    ("unicode", v("équipe"), "équipe"),
    # --- timestamps (T): Go's time.Time.String()
    ("date", v("2024-01-01"), "2024-01-01 00:00:00 +0000 UTC"),
    ("date-short-fields", v("2024-1-2"), "2024-01-02 00:00:00 +0000 UTC"),
    ("date-out-of-range-stays-string", v("2024-02-30"), "2024-02-30"),  # time.Parse: day out of range
    ("date-leap-day", v("2024-02-29"), "2024-02-29 00:00:00 +0000 UTC"),
    ("datetime-z", v("2001-12-14T21:59:43Z"), "2001-12-14 21:59:43 +0000 UTC"),
    ("datetime-space", v("2001-12-14 21:59:43.10"), "2001-12-14 21:59:43.1 +0000 UTC"),
    ("datetime-offset", v("2001-12-14t21:59:43.10-05:00"), "2001-12-14 21:59:43.1 -0500 -0500"),
    ("quoted-date", v("'2024-01-01'"), "2024-01-01"),  # D
    ("date-without-dashes-is-int", v("20240101"), "20240101"),  # T: needs YYYY-
    ("nested-date", v("{a: 2024-01-01}"), '{"a":"2024-01-01 00:00:00 +0000 UTC"}'),  # T; MS
    # --- maps and lists: Go encoding/json (MS)
    ("map-keys-sorted", v("{b: 1, a: 2}"), '{"a":2,"b":1}'),
    ("list-floats", v("[3.0, 1e21, 0.0000001, -0.0, 2.50]"), "[3,1e+21,1e-7,0,2.5]"),
    ("nested-octal", v("{a: 0777}"), '{"a":511}'),
    ("nested-out-of-range", v("{a: 1e400, b: 0x10000000000000000}"), '{"a":"1e400","b":"0x10000000000000000"}'),
    ("html-escaped", v("{a: '<&>'}"), '{"a":"\\u003c\\u0026\\u003e"}'),
    ("line-separator-escaped", v('{a: "\\u2028"}'), '{"a":"\\u2028"}'),
    ("control-escaped", v('{a: "\\t\\x01"}'), '{"a":"\\t\\u0001"}'),
    ("unicode-not-escaped", v("{a: é}"), '{"a":"é"}'),
    ("empty-list", v("[]"), "[]"),
    ("empty-map", v("{}"), "{}"),
    # --- secure markers (S)
    ("secure", v("{secure: v1:abc}"), SECRET),
    ("secure-number-is-a-map", v("{secure: 5}"), '{"secure":5}'),
    ("secure-bool-is-a-map", v("{secure: true}"), '{"secure":true}'),
    ("secure-with-another-key", v("{secure: x, b: 1}"), '{"b":1,"secure":"x"}'),
    ("nested-secure", v("{a: {secure: v1:abc}}"), f'{{"a":"{SECRET}"}}'),
    # --- merge keys (D mapping/merge)
    ("merge-own-key-wins", v("{<<: {a: 1, b: 2}, a: 3}"), '{"a":3,"b":2}'),
    ("merge-own-key-wins-before", v("{a: 3, <<: {a: 1, b: 2}}"), '{"a":3,"b":2}'),
    ("merge-first-source-wins", v("{<<: [{a: 1}, {a: 2, b: 2}]}"), '{"a":1,"b":2}'),
    ("merge-nested", v("{<<: {<<: {a: 1, c: 1}, a: 2}}"), '{"a":2,"c":1}'),
    ("merge-own-null-wins", v("{<<: {a: 1}, a: ~}"), '{"a":null}'),
    (
        "merge-alias",
        "config:\n  base: &base {a: 1, b: [x]}\n  k:\n    <<: *base\n    b: [y]\n",
        '{"a":1,"b":["y"]}',
    ),
    ("merge-tag", v("{!!merge <<: {a: 1}}"), '{"a":1}'),
    ("quoted-merge-is-a-key", v('{"<<": {a: 1}}'), '{"\\u003c\\u003c":{"a":1}}'),  # D isMerge: plain only
    # --- keys (K)
    ("old-key-form", "config:\n  task-worker:config:k: x\n", "x"),
    ("namespaced", "config:\n  task-worker:k: x\n", "x"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in ROWS], ids=[r[0] for r in ROWS])
def test_the_program_receives_what_pulumi_passes(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(text, encoding="utf-8")
    read = read_stack_file(path, PROJECT)
    assert read.values[f"{PROJECT}:k"] == expected
    assert (f"{PROJECT}:k" in read.secret_keys) == (SECRET in expected)


def test_rows_are_distinct() -> None:
    assert len({r[0] for r in ROWS}) == len(ROWS)
    assert len({r[1] for r in ROWS}) == len(ROWS)


# (id, stack file text, what the message must name)
REFUSED: list[tuple[str, str, str]] = [
    # MS: encoding/json has no NaN or infinities, so Pulumi cannot load the file.
    ("nan", v("{a: .nan}"), "config.k.a"),
    ("inf-top-level", v(".inf"), "config.k"),
    ("neg-inf", v("[-.Inf]"), "config.k[0]"),
    # R: an explicit tag the text does not resolve to
    ("int-tag-on-text", v("!!int x"), "cannot decode !!str `x` as a !!int"),
    ("bool-tag-on-yes", v("!!bool yes"), "cannot decode !!str `yes` as a !!bool"),
    ("binary-invalid", v("!!binary '%%'"), "invalid base64"),
    # D: merge values must be maps; a second `<<` is a duplicate key
    ("merge-scalar", v("{<<: 1}"), "map merge"),
    ("merge-list-of-lists", v("{<<: [[a]]}"), "map merge"),
    ("merge-twice", v("{<<: {a: 1}, <<: {b: 1}}"), "config.k.<<: duplicate key"),
    ("duplicate-quoted-and-plain", v("{a: 1, 'a': 2}"), "config.k.a: duplicate key"),
    # scannerc.go refuses surrogate escapes
    ("surrogate", v('"\\ud800"'), "config.k"),
    # K: ParseKey takes `ns:name` and `ns:config:name` only
    ("three-part-key", "config:\n  task-worker:service:cpu: '1'\n", "config.task-worker:service:cpu"),
    ("four-part-key", "config:\n  a:config:b:c: x\n", "not a config key"),
    # nesting: the key path, never only a line and column
    ("deep-flow", v("[" * 1200 + "]" * 1200), "config.k"),
    ("deep-block", "config:\n  k:\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(1100)), "config.k.k0.k1"),
    ("deep-map", v("{a: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5)), "config.k.a.a.a"),
]


@pytest.mark.parametrize(("text", "fragment"), [(t, f) for _, t, f in REFUSED], ids=[r[0] for r in REFUSED])
def test_what_pulumi_refuses_is_refused_naming_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StackFileError) as err:
        read_stack_file(path, PROJECT)
    assert fragment in str(err.value)
    assert len(str(err.value)) < 400


def test_nesting_up_to_the_limit_reads(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(v("{a: " * (MAX_DEPTH - 2) + "1" + "}" * (MAX_DEPTH - 2)))
    assert read_stack_file(path, PROJECT).values[f"{PROJECT}:k"].count("{") == MAX_DEPTH - 2


# --- the plan shows the value Pulumi will pass --------------------------------------------------

HEAD = "config:\n  gcp:project: test-project\n  gcp:region: europe-west1\n"


def _plan(tmp_path: Path, text: str) -> tuple[int, str]:
    (tmp_path / "__main__.py").symlink_to(ROOT / "__main__.py")
    (tmp_path / "Pulumi.s.yaml").write_text(text)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = plan.main(["s"], root=tmp_path)
    return code, out.getvalue() + err.getvalue()


def test_the_plan_shows_an_octal_value_as_pulumi_passes_it(tmp_path: Path) -> None:
    code, output = _plan(tmp_path, HEAD + "  task-worker:service:\n    concurrency: 0100\n")
    assert code == 0, output
    assert "`0100` is read as 64 (octal" in output
    assert "concurrency=64" in output


def test_the_plan_shows_a_timestamp_as_pulumi_passes_it_when_refused(tmp_path: Path) -> None:
    text = HEAD + "  task-worker:queues:\n    q:\n      maxRetryDuration: 2024-01-01\n"
    code, output = _plan(tmp_path, text)
    assert code == 2
    assert "'2024-01-01 00:00:00 +0000 UTC'" in output
    assert "task-worker:queues.q.maxRetryDuration" in output


def test_top_level_false_reaches_settings_as_a_bool() -> None:
    """`False` at top level is passed as `false` (MS), which the program reads as the bool."""
    for text, expected in (("False", False), ("TRUE", True), ("false", False)):
        values = _read_text(HEAD + f"  task-worker:deletionProtection: {text}\n")
        assert values["task-worker:deletionProtection"] == str(expected).lower()
        assert parse_settings(values, "s").deletion_protection is expected


def _read_text(text: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "Pulumi.s.yaml"
        path.write_text(text, encoding="utf-8")
        return dict(read_stack_file(path, PROJECT).values)


# --- no input gets a traceback ------------------------------------------------------------------

_TOKENS = [
    "0777",
    "0x1F",
    "0b1",
    "0o7",
    "1e400",
    "-.inf",
    ".nan",
    "1_0",
    "~",
    "",
    "False",
    "yes",
    "'q'",
    '"\\t"',
    "2024-01-01",
    "2024-13-01",
    "!!int",
    "!!binary",
    "!x",
    "&a",
    "*a",
    "<<",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "- ",
    "? ",
    "|",
    ">",
    "#",
    "secure",
    "\n",
    "\n  ",
    "\n    ",
    "9" * 30,
    "-0.0",
    "\t",
    "%YAML 1.2",
    "---",
]


@settings(max_examples=settings().max_examples * 10)  # a read is ~1 ms: 100 quick, 1,000 in CI
@given(st.lists(st.sampled_from(_TOKENS) | st.text(string.printable, max_size=3), max_size=30))
def test_yaml_ish_text_never_raises_anything_but_a_clear_error(tokens: list[str]) -> None:
    text = "config:\n  task-worker:service:\n    " + " ".join(tokens) + "\n"
    try:
        values = _read_text(text)
    except StackFileError:
        return
    assert all(isinstance(value, str) for value in values.values())
    with suppress(SettingsError):
        parse_settings({"gcp:project": "test-project", "gcp:region": "europe-west1", **values}, "s")
