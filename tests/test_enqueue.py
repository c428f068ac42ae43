"""tools/enqueue.py: the command-line front-end of task_worker_producer.

The client is a stub that records requests, or the real CloudTasksClient talking to the fake
Cloud Tasks server on loopback. The library itself is tested in producer/tests.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from task_worker_producer import shard_for_key
from task_worker_producer.testing import SAMPLE_SERVICE_URL, FakeCloudTasks, sample_outputs
from tools import bench_enqueue
from tools import enqueue as eq
from tools.enqueue import Progress

SERVICE_URL = SAMPLE_SERVICE_URL
DEFAULT_Q = "projects/my-proj/locations/europe-west1/queues/task-worker-default-9f8e7d6"
BULK = [f"projects/my-proj/locations/europe-west1/queues/task-worker-bulk-{i}" for i in range(4)]


def raw_outputs(**extra: Any) -> dict[str, Any]:
    """The stack outputs contract, as `pulumi stack output --json` prints it."""
    return sample_outputs({"default": ([DEFAULT_Q], "/"), "bulk": (BULK, "/bulk")}, **extra)


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw_outputs()))
    return path


class StubClient:
    """Records create_task requests; answers like the API (task name set) or raises `errors` in turn."""

    def __init__(self, *errors: Exception) -> None:
        self.requests: list[tasks_v2.CreateTaskRequest] = []
        self.errors = list(errors)

    def create_task(self, *, request: tasks_v2.CreateTaskRequest, retry: Any, timeout: float) -> tasks_v2.Task:
        assert retry is None  # the library retries, not the gapic layer
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return tasks_v2.Task(name=request.task.name or f"{request.parent}/tasks/1234567890")


def schedule_of(task: tasks_v2.Task) -> datetime:
    # proto-plus returns a datetime at runtime, but the stubs say Timestamp.
    return tasks_v2.Task.pb(task).schedule_time.ToDatetime(tzinfo=UTC)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], client: Any = None) -> tuple[int, str, str]:
    code = eq.main(argv, client=client or StubClient())
    out, err = capsys.readouterr()
    return code, out, err


# --- sending ----------------------------------------------------------------------------


def test_cli_json_with_outputs_file(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    argv = ["--outputs", str(outputs_file), "--queue", "default", "--json", '{"order": 42}']
    code, out, err = run_cli(argv, capsys, client)

    assert (code, err) == (0, "")
    assert re.fullmatch(rf"{DEFAULT_Q}/tasks/[0-9a-f]{{32}}\n", out)  # named by the library, for exactly-once
    (req,) = client.requests
    assert req.parent == DEFAULT_Q
    assert req.task.http_request.body == b'{"order": 42}'  # sent as given
    assert req.task.http_request.url == SERVICE_URL + "/"
    assert dict(req.task.http_request.headers) == {"Content-Type": "application/json"}
    assert "oidc_token" not in req.task.http_request  # the queue carries the token
    assert req.task.dispatch_deadline == timedelta(seconds=900)  # the service timeout


def test_cli_all_options(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    before = datetime.now(UTC)
    argv = [
        "--outputs", str(outputs_file), "--queue", "bulk", "--json", "[1, 2]",
        "--task-id", "job-7", "--shard-key", "customer-3", "--delay", "2h", "--dispatch-deadline", "15m",
    ]  # fmt: skip
    code, out, _ = run_cli(argv, capsys, client)
    after = datetime.now(UTC)

    shard = BULK[shard_for_key("customer-3", 4)]
    assert code == 0
    assert out == f"{shard}/tasks/job-7\n"
    task = client.requests[0].task
    assert before + timedelta(hours=2) <= schedule_of(task) <= after + timedelta(hours=2)
    assert task.dispatch_deadline == timedelta(minutes=15)
    assert task.http_request.url == SERVICE_URL + "/bulk"


def test_cli_token_option_is_gone(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        eq.main(["--outputs", str(outputs_file), "--json", "{}", "--token-on-task"], client=StubClient())
    assert exc.value.code == 2
    assert "unrecognized arguments: --token-on-task" in capsys.readouterr().err


def test_cli_schedule_time(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    at_text = at.isoformat().replace("+00:00", "Z")
    argv = ["--outputs", str(outputs_file), "--data", "x", "--schedule-time", at_text]
    assert run_cli(argv, capsys, client)[0] == 0
    assert schedule_of(client.requests[0].task) == at


def test_cli_json_from_file_is_sent_byte_for_byte(
    outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = tmp_path / "order.json"
    order.write_bytes(b'{ "order": 42 }\n')
    client = StubClient()
    assert run_cli(["--outputs", str(outputs_file), "--json", f"@{order}"], capsys, client)[0] == 0
    assert client.requests[0].task.http_request.body == b'{ "order": 42 }\n'


def test_cli_data_from_file_and_inline(outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(b"\x00\xffbinary")
    client = StubClient()
    base = ["--outputs", str(outputs_file)]
    argv = [*base, "--data", f"@{body}", "--content-type", "application/octet-stream"]
    assert run_cli(argv, capsys, client)[0] == 0
    assert run_cli([*base, "--data", "plain text"], capsys, client)[0] == 0

    file_req, inline_req = client.requests
    assert file_req.task.http_request.body == b"\x00\xffbinary"
    assert dict(file_req.task.http_request.headers) == {"Content-Type": "application/octet-stream"}
    assert inline_req.task.http_request.body == b"plain text"
    assert dict(inline_req.task.http_request.headers) == {}


def test_cli_stdin_body(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stdin:
        buffer = type("B", (), {"read": staticmethod(lambda: b'{"from": "stdin"}')})()

    monkeypatch.setattr(eq.sys, "stdin", Stdin())
    client = StubClient()
    assert run_cli(["--outputs", str(outputs_file), "--json", "@-"], capsys, client)[0] == 0
    assert client.requests[0].task.http_request.body == b'{"from": "stdin"}'


def test_cli_dry_run_sends_nothing(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    argv = ["--outputs", str(outputs_file), "--json", "{}", "--task-id", "t1", "--dry-run"]
    code, out, _ = run_cli(argv, capsys, client)
    assert code == 0
    assert client.requests == []
    printed = json.loads(out)
    assert printed["parent"] == DEFAULT_Q
    assert printed["task"]["name"] == f"{DEFAULT_Q}/tasks/t1"
    assert printed["task"]["httpRequest"]["httpMethod"] == "POST"
    assert printed["task"]["dispatchDeadline"] == "900s"


@pytest.mark.parametrize(
    ("body_args", "shown"),
    [
        (["--json", '{"order": 42}'], {"bodyJson": {"order": 42}}),
        (["--data", "plain text"], {"bodyText": "plain text"}),
        (["--data", '{"a": 1}'], {"bodyText": '{"a": 1}'}),  # no JSON Content-Type: shown as the text it is
        (["--data", "{not json", "--content-type", "application/json"], {"bodyText": "{not json"}),
        (["--data", "@BINARY", "--content-type", "application/octet-stream"], {"bodyBase64": "AP9iaW4="}),
        (["--data", ""], {}),
    ],
)
def test_cli_dry_run_shows_the_body_readably(
    outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body_args: list[str], shown: dict[str, Any]
) -> None:
    binary = tmp_path / "body.bin"
    binary.write_bytes(b"\x00\xffbin")
    body_args = [a.replace("@BINARY", f"@{binary}") for a in body_args]
    code, out, _ = run_cli(["--outputs", str(outputs_file), *body_args, "--dry-run"], capsys)
    assert code == 0
    http = json.loads(out)["task"]["httpRequest"]
    assert "body" not in http  # never the bare base64 of before
    assert {k: v for k, v in http.items() if k.startswith("body")} == shown


# --- refused before sending: exit 2, one line ---------------------------------------------


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--queue", "nope", "--json", "{}"], "unknown queue 'nope'; known queues: bulk, default"),
        (["--json", "{}", "--task-id", "a/b"], "bad task id"),
        (["--json", "{}", "--task-id", "x" * 501], "bad task id"),
        (["--json", "{}", "--task-id", "ok\n"], "bad task id"),
        (["--json", "{}", "--delay", "31d"], "more than 30 days"),
        (["--json", "{}", "--delay", "5 minutes"], "bad delay"),
        (["--json", "{}", "--delay=-5m"], "bad delay"),
        (["--json", "{}", "--schedule-time", "2999-01-01T00:00:00Z"], "more than 30 days"),
        (["--json", "{}", "--schedule-time", "tomorrow"], "bad schedule time"),
        (["--json", "{}", "--schedule-time", "2030-01-01T00:00:00"], "no UTC offset"),
        (["--json", "{}", "--dispatch-deadline", "14s"], "15s to 1800s"),
        (["--json", "{}", "--dispatch-deadline", "31m"], "15s to 1800s"),
        (["--json", "{}", "--dispatch-deadline", "901s"], "longer than the service's request timeout (900s)"),
        (["--json", "{order: 42}"], "--json is not valid JSON"),
        (["--json", "\xff"], "--json is not valid JSON"),
        (["--json", "{}", "--content-type", "text/plain"], "--content-type goes with --data"),
        (["--data", "@/nonexistent/body"], "cannot read /nonexistent/body"),
    ],
)
def test_cli_errors_are_one_line_exit_2(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], match: str
) -> None:
    client = StubClient()
    code, out, err = run_cli(["--outputs", str(outputs_file), *extra], capsys, client)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("enqueue: ")
    assert match in err
    assert client.requests == []


def test_cli_payload_too_large(outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps("x" * 1_000_000))
    client = StubClient()
    code, _, err = run_cli(["--outputs", str(outputs_file), "--json", f"@{big}"], capsys, client)
    assert code == 2
    assert err.startswith("enqueue: task too large:")
    assert err.count("\n") == 1
    assert client.requests == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "cannot read outputs file"),
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({k: v for k, v in raw_outputs().items() if k != "serviceUrl"}), "'serviceUrl'"),
        (json.dumps(raw_outputs(queues={"default": {"path": "default-q", "targetPath": "/"}})), "queues.default.path"),
        (json.dumps(raw_outputs(timeoutSeconds=3600)), "timeoutSeconds"),
    ],
)
def test_cli_bad_outputs_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, match: str
) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run_cli(["--outputs", str(path), "--json", "{}"], capsys)
    assert code == 2
    assert match in err
    assert err.count("\n") == 1


# --- API answers ----------------------------------------------------------------------------


def test_cli_api_error_is_one_line_exit_1(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient(api_exceptions.PermissionDenied("The principal lacks cloudtasks.tasks.create"))
    code, out, err = run_cli(["--outputs", str(outputs_file), "--json", "{}"], capsys, client)
    assert (code, out) == (1, "")
    assert err == "enqueue: PermissionDenied: 403 The principal lacks cloudtasks.tasks.create\n"
    assert len(client.requests) == 1  # not retried


def test_cli_duplicate_is_not_an_error(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient(api_exceptions.AlreadyExists("Requested entity already exists"))
    argv = ["--outputs", str(outputs_file), "--json", "{}", "--task-id", "dup"]
    code, out, err = run_cli(argv, capsys, client)
    assert (code, out) == (0, f"{DEFAULT_Q}/tasks/dup\n")
    assert "task id 'dup' is taken" in err


def test_cli_retries_unavailable(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient(api_exceptions.ServiceUnavailable("try again"))
    code, out, _ = run_cli(["--outputs", str(outputs_file), "--json", "{}", "--task-id", "t"], capsys, client)
    assert (code, out) == (0, f"{DEFAULT_Q}/tasks/t\n")
    assert len(client.requests) == 2


@pytest.fixture
def fake() -> Iterator[FakeCloudTasks]:
    with FakeCloudTasks(max_lifetime=30) as server:
        yield server


def test_cli_through_the_real_client_and_a_grpc_server(
    fake: FakeCloudTasks, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport = CloudTasksGrpcTransport(channel=grpc.insecure_channel(fake.address))
    client = tasks_v2.CloudTasksClient(transport=transport)
    base = ["--outputs", str(outputs_file), "--queue", "bulk", "--json", '{"order": 42}']
    try:
        assert run_cli([*base, "--task-id", "order-42"], capsys, client) == (
            0,
            f"{BULK[shard_for_key('order-42', 4)]}/tasks/order-42\n",
            "",
        )
        code, out, err = run_cli([*base, "--task-id", "order-42"], capsys, client)
        assert (code, "is taken" in err) == (0, True)
        fake.fail("broken", grpc.StatusCode.INVALID_ARGUMENT)
        code, out, err = run_cli([*base, "--task-id", "broken"], capsys, client)
        assert (code, out) == (1, "")
        assert err.startswith("enqueue: InvalidArgument: 400 scripted failure")
    finally:
        transport.close()
    assert [c.code for c in fake.calls] == [
        grpc.StatusCode.OK,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.INVALID_ARGUMENT,
    ]
    (stored,) = fake.created.values()
    assert tasks_v2.Task.deserialize(stored).http_request.body == b'{"order": 42}'


# --- --jsonl: many tasks -------------------------------------------------------------------


def jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_cli_jsonl_creates_one_task_per_line_in_order(
    fake: FakeCloudTasks, outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = jsonl(tmp_path, '{"order": 1}', "", '{"order": 2}', "[3]")
    argv = ["--outputs", str(outputs_file), "--queue", "bulk", "--jsonl", str(path), "--emulator-host", fake.address]
    code, out, err = run_cli(argv, capsys)
    assert code == 0
    names = out.splitlines()
    assert len(names) == 3
    bodies = [tasks_v2.Task.deserialize(fake.created[name]).http_request.body for name in names]
    assert bodies == [b'{"order": 1}', b'{"order": 2}', b"[3]"]  # in input order, sent as given
    assert err == "enqueue: 3 tasks: 3 created, 0 duplicate, 0 failed\n"  # no progress off a terminal


def test_cli_jsonl_reports_each_failed_line_and_exits_1(
    fake: FakeCloudTasks, outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = jsonl(tmp_path, "1", json.dumps("x" * 1_000_000), "3")
    argv = ["--outputs", str(outputs_file), "--jsonl", str(path), "--emulator-host", fake.address]
    code, out, err = run_cli(argv, capsys)
    assert code == 1
    assert len(out.splitlines()) == 2
    first, summary = err.splitlines()
    assert first.startswith("enqueue: line 2: EnqueueError: task too large:")
    assert summary == "enqueue: 3 tasks: 2 created, 0 duplicate, 1 failed"
    assert len(fake.created) == 2


def test_cli_jsonl_without_credentials_is_one_line_exit_1(
    outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    code, out, err = run_cli(["--outputs", str(outputs_file), "--jsonl", str(jsonl(tmp_path, "{}"))], capsys)
    assert (code, out) == (1, "")
    assert err.startswith("enqueue: DefaultCredentialsError: File ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("lines", "extra", "match"),
    [
        (["{}", "{oops"], [], "enqueue: --jsonl line 2 is not valid JSON: "),
        (["", " "], [], "enqueue: --jsonl: no tasks (every line is blank)"),
        (["{}"], ["--task-id", "t"], "enqueue: --jsonl makes many tasks: each is named by the library"),
    ],
)
def test_cli_jsonl_bad_input_exits_2_sending_nothing(
    fake: FakeCloudTasks,
    outputs_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lines: list[str],
    extra: list[str],
    match: str,
) -> None:
    argv = ["--outputs", str(outputs_file), "--jsonl", str(jsonl(tmp_path, *lines)), "--emulator-host", fake.address]
    code, out, err = run_cli([*argv, *extra], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(match)
    assert err.count("\n") == 1
    assert fake.calls == []


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_once_a_batch_runs_long() -> None:
    from task_worker_producer import EnqueueResult, Status

    now = [0.0]
    stream = Tty()
    progress = Progress(4, stream, after=2.0, every=0.5, clock=lambda: now[0])
    ok, failed = EnqueueResult(0, Status.CREATED, "q", None), EnqueueResult(1, Status.FAILED, "q", None)
    progress.update(ok)  # 0 s: too early
    now[0] = 2.0
    progress.update(failed)  # shown
    now[0] = 2.1
    progress.update(ok)  # throttled: 0.1 s since the last line
    now[0] = 2.2
    progress.update(ok)  # the last one: always shown
    progress.close()
    assert stream.getvalue() == ("\renqueue: 2/4 tasks done, 1 failed, 1/s\renqueue: 4/4 tasks done, 1 failed, 2/s\n")


def test_progress_stays_silent_off_a_terminal_and_in_short_batches() -> None:
    from task_worker_producer import EnqueueResult, Status

    now = [0.0]
    quiet, short = io.StringIO(), Tty()
    for stream, end in ((quiet, 10.0), (short, 1.9)):
        progress = Progress(2, stream, clock=lambda: now[0])
        progress.update(EnqueueResult(0, Status.CREATED, "q", None))
        now[0] = end
        progress.update(EnqueueResult(1, Status.CREATED, "q", None))
        progress.close()
        now[0] = 0.0
    assert (quiet.getvalue(), short.getvalue()) == ("", "")


# --- --stack: `pulumi stack output` -----------------------------------------------------


def test_cli_stack_runs_pulumi(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0, stdout=json.dumps(raw_outputs()), stderr="")

    monkeypatch.setattr(eq.subprocess, "run", fake_run)
    client = StubClient()
    code, out, _ = run_cli(["--stack", "dev", "--queue", "default", "--json", "{}"], capsys, client)

    assert code == 0
    assert out.startswith(f"{DEFAULT_Q}/tasks/")
    ((cmd, kwargs),) = calls
    assert cmd == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    assert kwargs["cwd"] == Path(eq.__file__).resolve().parent.parent  # the Pulumi project


def test_cli_stack_without_pulumi_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def missing(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", "pulumi")

    monkeypatch.setattr(eq.subprocess, "run", missing)
    code, _, err = run_cli(["--stack", "dev", "--json", "{}"], capsys)
    assert code == 2
    assert "pulumi CLI is not on PATH" in err
    assert "--outputs FILE" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("proc", "message"),
    [
        (
            subprocess.CompletedProcess([], 255, stdout="", stderr="warning: x\nerror: no stack named 'dev' found\n"),
            "enqueue: `pulumi stack output --stack dev` failed (255): error: no stack named 'dev' found\n",
        ),
        (
            subprocess.CompletedProcess([], 0, stdout="Current stack outputs (0):", stderr=""),
            "enqueue: `pulumi stack output --stack dev` did not print JSON: "
            "Expecting value: line 1 column 1 (char 0)\n",
        ),
    ],
)
def test_cli_stack_pulumi_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], proc: Any, message: str
) -> None:
    monkeypatch.setattr(eq.subprocess, "run", lambda cmd, **kwargs: proc)
    code, _, err = run_cli(["--stack", "dev", "--json", "{}"], capsys)
    assert (code, err) == (2, message)


def test_cli_requires_outputs_source_and_body(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--json", "{}"], ["--stack", "dev"]):
        with pytest.raises(SystemExit) as exc:
            eq.main(argv, client=StubClient())
        assert exc.value.code == 2  # argparse usage error
    capsys.readouterr()


def test_missing_library_gives_install_hint(
    outputs_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "task_worker_producer", None)
    code, _, err = run_cli(["--outputs", str(outputs_file), "--json", "{}"], capsys)
    assert code == 2
    assert "uv sync --group client" in err


# --- the benchmark, tiny ----------------------------------------------------------------------


def test_bench_enqueue_prints_its_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_enqueue.main(["--sequential", "3", "--batch", "40", "--ceiling", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0:3] for line in lines] == [
        ["enqueue", "sequential", "(2019"],
        ["enqueue", "batch", "(enqueue_many)"],
        ["enqueue", "batch,", "server-named"],
        ["batch_vs_sequential=" + lines[3].split("=")[1].split(" ")[0], "(goal", "≥"],
        ["library", "ceiling", "(no"],
    ]
    assert all(line.endswith("tasks/s") for line in (lines[0], lines[1], lines[2], lines[4]))
    assert float(lines[3].split("=")[1].split(" ")[0]) > 0


def test_bench_enqueue_memory_compares_library_and_raw_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real comparison runs each pattern in a fresh process; here in this one, tiny, for the plumbing.
    monkeypatch.setattr(bench_enqueue, "memory", lambda n: (1.5, 9.0))
    assert bench_enqueue.main(["--sequential", "1", "--batch", "10", "--ceiling", "10", "--memory", "30"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "memory (peak RSS growth, client process) 30 tasks, 20 ms per call: library=1.5 MiB raw=9.0 MiB"
    )
    for pattern in ("library", "raw"):
        assert bench_enqueue.memory_child(pattern, 30) >= 0  # both patterns store every task (asserted inside)
