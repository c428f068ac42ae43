"""Hostile stack files: whatever a `Pulumi.<stack>.yaml` holds, the offline plan answers with exit 2
and a message naming the file or the key — never a traceback, never a hang, never a silent default.

Each case is the file's text and a fragment the message must contain (the key, or what is wrong).
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from tools import plan

ROOT = Path(__file__).resolve().parent.parent
HEAD = "config:\n  gcp:project: test-project\n  gcp:region: europe-west1\n"


def svc(body: str) -> str:
    return HEAD + "  task-worker:service:\n" + "".join(f"    {line}\n" for line in body.splitlines())


def q(body: str) -> str:
    return HEAD + "  task-worker:queues:\n    q:\n" + "".join(f"      {line}\n" for line in body.splitlines())


# (id, file text, fragment the message must name)
CASES: list[tuple[str, str | bytes, str]] = [
    # --- not a stack file at all
    ("empty-list", "- a\n- b\n", "expected a map"),
    ("scalar", "just text\n", "expected a map"),
    ("config-list", "config:\n  - a\n", "config"),
    ("config-scalar", "config: 5\n", "config"),
    ("not-utf8", b"config:\n  gcp:project: \xff\xfe\n", "not UTF-8"),
    ("utf16-bom", "config: {}\n".encode("utf-16"), "not UTF-8"),
    ("bad-yaml-flow", "config: [\n", "not valid YAML"),
    ("bad-yaml-indent", "config:\n  a: 1\n b: 2\n", "not valid YAML"),
    ("tab-indent", "config:\n\tgcp:project: p\n", "not valid YAML"),
    ("unclosed-quote", 'config:\n  gcp:project: "p\n', "not valid YAML"),
    ("two-documents", "config: {}\n---\nconfig: {}\n", "YAML"),
    # --- YAML that Pulumi (Go yaml v3) refuses
    ("duplicate-key", HEAD + "  gcp:project: other\n", "config.gcp:project"),
    ("duplicate-nested", svc("cpu: '1'\ncpu: '2'"), "task-worker:service.cpu"),
    ("int-key", q("1: 2"), "keys must be strings"),
    ("int-queue-key", HEAD + "  task-worker:queues:\n    1: {}\n", "task-worker:queues.1"),
    ("bool-key", HEAD + "  task-worker:labels:\n    yes: x\n    true: y\n", "true"),
    ("null-key", HEAD + "  task-worker:labels:\n    ~: x\n", "keys must be strings"),
    ("alias-cycle", HEAD + "  task-worker:labels: &a [*a]\n", "alias"),
    (
        "alias-bomb",
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" + HEAD,
        "excessive aliasing",
    ),
    ("nan", q("maxDispatchesPerSecond: .nan"), "task-worker:queues.q.maxDispatchesPerSecond"),
    ("inf", q("maxDispatchesPerSecond: .inf"), "task-worker:queues.q.maxDispatchesPerSecond"),
    ("neg-inf", q("loggingSamplingRatio: -.inf"), "loggingSamplingRatio"),
    # yaml.v3 ignores an unknown tag (resolve.go resolvableTag): the text is checked as a string.
    ("unknown-tag", q("path: !custom x"), "task-worker:queues.q.path"),
    ("explicit-int-tag-on-text", q("maxAttempts: !!int many"), "cannot decode !!str `many` as a !!int"),
    ("merge-of-a-list", HEAD + "  task-worker:labels:\n    <<: [[a]]\n", "map merge"),
    ("two-merge-keys", HEAD + "  task-worker:labels:\n    <<: {a: b}\n    <<: {c: d}\n", "duplicate key"),
    ("bad-binary", svc("image: !!binary '%%%'"), "invalid base64"),
    ("surrogate-escape", svc('image: "\\ud800"'), "task-worker:service.image"),
    (
        "set-twice-old-form",
        HEAD + "  task-worker:config:location: us-east1\n  task-worker:location: us-east1\n",
        "set twice",
    ),
    # --- YAML 1.2: what 1.1 would turn into bools and dates stays a string, and is refused by key
    ("no-for-false", HEAD + "  task-worker:deletionProtection: no\n", "task-worker:deletionProtection"),
    ("yes-for-true", HEAD + "  task-worker:deletionProtection: yes\n", "task-worker:deletionProtection"),
    ("off", HEAD + "  task-worker:deletionProtection: off\n", "task-worker:deletionProtection"),
    ("on-paused", q("paused: on"), "task-worker:queues.q.paused"),
    ("y-paused", q("paused: y"), "task-worker:queues.q.paused"),
    ("date-duration", q("maxRetryDuration: 2024-01-01"), "task-worker:queues.q.maxRetryDuration"),
    ("image-number", svc("image: 12"), "task-worker:service.image"),
    ("sexagesimal", q("maxRetryDuration: 1:30"), "task-worker:queues.q.maxRetryDuration"),
    ("quoted-number", svc("concurrency: '80'"), "task-worker:service.concurrency"),
    ("octal-ok-but-bool", svc("concurrency: true"), "task-worker:service.concurrency"),
    # --- wrong types anywhere: one more problem in the list, not a crash
    ("ingress-list", svc("ingress: [internal]"), "task-worker:service.ingress"),
    ("ingress-map", svc("ingress: {a: 1}"), "task-worker:service.ingress"),
    (
        "enqueuer-map",
        HEAD + "  task-worker:enqueuers:\n    - serviceAccount: a@p.iam.gserviceaccount.com\n",
        "task-worker:enqueuers[0]",
    ),
    ("enqueuers-map", HEAD + "  task-worker:enqueuers:\n    a: b\n", "task-worker:enqueuers"),
    ("enqueuers-null-item", HEAD + "  task-worker:enqueuers:\n    - ~\n", "task-worker:enqueuers[0]"),
    ("service-list", HEAD + "  task-worker:service: [1, 2]\n", "task-worker:service"),
    ("service-null", HEAD + "  task-worker:service: ~\n", "task-worker:service"),
    ("service-number", HEAD + "  task-worker:service: 5\n", "task-worker:service"),
    ("queues-null", HEAD + "  task-worker:queues: ~\n", "task-worker:queues"),
    ("queues-string", HEAD + "  task-worker:queues: fast\n", "task-worker:queues"),
    ("queue-list", HEAD + "  task-worker:queues:\n    q: [1]\n", "task-worker:queues.q"),
    ("queue-null", HEAD + "  task-worker:queues:\n    q: ~\n", "task-worker:queues.q"),
    ("env-list", svc("env: [A=1]"), "task-worker:service.env"),
    ("env-number-value", svc("env: {A: 1}"), "task-worker:service.env.A"),
    ("env-null-value", svc("env: {A: ~}"), "task-worker:service.env.A"),
    ("env-map-value", svc("env: {A: {b: c}}"), "task-worker:service.env.A"),
    ("labels-number-value", HEAD + "  task-worker:labels: {team: 5}\n", "task-worker:labels.team"),
    ("labels-list", HEAD + "  task-worker:labels: [a]\n", "task-worker:labels"),
    ("cpu-list", svc("cpu: [1]"), "task-worker:service.cpu"),
    ("memory-number", svc("memory: 512"), "task-worker:service.memory"),
    ("timeout-string", svc("timeoutSeconds: 10m"), "task-worker:service.timeoutSeconds"),
    ("timeout-float", svc("timeoutSeconds: 600.5"), "task-worker:service.timeoutSeconds"),
    ("rate-string", q("maxDispatchesPerSecond: fast"), "task-worker:queues.q.maxDispatchesPerSecond"),
    ("attempts-float", q("maxAttempts: 2.5"), "task-worker:queues.q.maxAttempts"),
    ("backoff-number", q("minBackoff: 10"), "task-worker:queues.q.minBackoff"),
    ("project-number", "config:\n  gcp:project: 123456\n  gcp:region: europe-west1\n", "gcp:project"),
    ("project-map", "config:\n  gcp:project: {a: b}\n  gcp:region: europe-west1\n", "gcp:project"),
    ("region-list", "config:\n  gcp:project: test-project\n  gcp:region: [europe-west1]\n", "gcp:region"),
    ("location-map", HEAD + "  task-worker:location: {a: 1}\n", "task-worker:location"),
    ("protection-list", HEAD + "  task-worker:deletionProtection: [true]\n", "task-worker:deletionProtection"),
    ("deep-nesting", HEAD + "  task-worker:labels: " + "[" * 200 + "]" * 200 + "\n", "task-worker:labels"),
    # past PyYAML's parser limit (1,000) and past the reader's (MAX_DEPTH): the key, not only a line
    ("deep-nesting-parser", HEAD + "  task-worker:labels: " + "[" * 1200 + "]" * 1200 + "\n", "task-worker:labels"),
    ("deep-nesting-reader", svc("env: " + "{a: " * 300 + "1" + "}" * 300), "task-worker:service.env.a.a"),
    # yaml.v3 numbers (resolve.go): never a traceback, the key named
    ("int-beyond-64-bits", q("maxAttempts: 99999999999999999999"), "task-worker:queues.q.maxAttempts"),
    ("hex-beyond-64-bits", q("maxAttempts: 0x10000000000000000"), "task-worker:queues.q.maxAttempts"),
    ("float-out-of-range", q("maxDispatchesPerSecond: 1e400"), "task-worker:queues.q.maxDispatchesPerSecond"),
    ("top-level-out-of-range", HEAD + "  task-worker:deletionProtection: 1e400\n", "task-worker:deletionProtection"),
    ("top-level-number-for-bool", HEAD + "  task-worker:deletionProtection: 0\n", "task-worker:deletionProtection"),
    ("octal-past-the-limit", svc("concurrency: 02000"), "task-worker:service.concurrency"),
    # --- near misses and unknown keys
    ("underscore-namespace", HEAD + "  task_worker:queues:\n    q: {}\n", "task_worker:queues"),
    ("camel-namespace", HEAD + "  taskWorker:service: {}\n", "taskWorker:service"),
    ("typo-key", HEAD + "  task-worker:queus: {}\n", "task-worker:queus"),
    ("bare-typo", HEAD + "  servce: {}\n", "task-worker:servce"),
    ("snake-field", svc("max_instances: 3"), "task-worker:service.max_instances"),
    ("queue-unknown-field", q("maxBurstSize: 10"), "task-worker:queues.q.maxBurstSize"),
    ("missing-project", "config:\n  gcp:region: europe-west1\n", "gcp:project"),
    ("empty-config", "config: {}\n", "gcp:project"),
    ("no-config", "encryptionsalt: abc\n", "gcp:project"),
    ("empty-file", "", "gcp:project"),
    # --- trailing newlines and whitespace: patterns match the whole value
    ("project-newline", 'config:\n  gcp:project: "test-project\\n"\n  gcp:region: europe-west1\n', "gcp:project"),
    ("queue-key-newline", HEAD + '  task-worker:queues:\n    "q\\n": {}\n', "task-worker:queues"),
    ("path-newline", q('path: "/tasks\\n"'), "task-worker:queues.q.path"),
    ("image-newline", svc('image: "gcr.io/p/w\\n"'), "task-worker:service.image"),
    ("duration-newline", q('minBackoff: "1s\\n"'), "task-worker:queues.q.minBackoff"),
    ("label-newline", HEAD + '  task-worker:labels: {team: "a\\n"}\n', "task-worker:labels.team"),
    # --- documented limits, one past
    ("rate-501", q("maxDispatchesPerSecond: 501"), "task-worker:queues.q.maxDispatchesPerSecond"),
    ("cpu-0.07", svc("cpu: '0.07'\nconcurrency: 1\nmemory: 128Mi"), "task-worker:service.cpu"),
    ("memory-32769Mi", svc("memory: 32769Mi\ncpu: '8'"), "task-worker:service.memory"),
    (
        "labels-63",
        HEAD + "  task-worker:labels:\n" + "".join(f"    k{i}: v\n" for i in range(63)),
        "task-worker:labels",
    ),
    ("collision", HEAD + "  task-worker:enqueuers: ['user:a.b@x.org', 'user:a-b@x.org']\n", "task-worker:enqueuers[1]"),
]


def plan_file(tmp_path: Path, text: str | bytes) -> tuple[int, str]:
    (tmp_path / "__main__.py").symlink_to(ROOT / "__main__.py")
    data = text.encode() if isinstance(text, str) else text
    (tmp_path / "Pulumi.hostile.yaml").write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = plan.main(["hostile"], root=tmp_path)
    return code, err.getvalue() + out.getvalue()


@pytest.mark.parametrize(("text", "fragment"), [(t, f) for _, t, f in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_exits_2_naming_the_key(tmp_path: Path, text: str | bytes, fragment: str) -> None:
    code, message = plan_file(tmp_path, text)
    assert code == 2, message
    assert fragment in message
    assert "Traceback" not in message
    assert "Pulumi.hostile.yaml" in message or "stack hostile" in message


def test_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("value", ["false", "False", "FALSE"])
def test_a_valid_file_still_plans(tmp_path: Path, value: str) -> None:
    # yaml.v3 reads all three as the bool; Pulumi passes a top-level bool as JSON `false`.
    code, message = plan_file(tmp_path, HEAD + f"  task-worker:deletionProtection: {value}\n")
    assert code == 0, message
