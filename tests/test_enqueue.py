"""tools/enqueue.py: requests built with the real 2.x types, sent to stubs only.

Nothing here touches the network: the client is a stub, or the real
CloudTasksClient with anonymous credentials and its gRPC call mocked (the
pattern of Google's generated unit tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import google.cloud
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from tools import enqueue as eq

SERVICE_URL = "https://task-worker-service-1a2b3c4-ew.a.run.app"
INVOKER = "tw-dev-invoker@my-proj.iam.gserviceaccount.com"
DEFAULT_Q = "projects/my-proj/locations/europe-west1/queues/task-worker-default-9f8e7d6"
BULK_Q = "projects/my-proj/locations/europe-west1/queues/task-worker-bulk-0a1b2c3"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def raw_outputs() -> dict[str, Any]:
    """The stack outputs contract, as `pulumi stack output --json` prints it."""
    return {
        "project": "my-proj",
        "location": "europe-west1",
        "serviceName": "task-worker-service-1a2b3c4",
        "serviceUrl": SERVICE_URL,
        "audience": SERVICE_URL,
        "invokerEmail": INVOKER,
        "runtimeEmail": "tw-dev-run@my-proj.iam.gserviceaccount.com",
        "queues": {
            "default": {"path": DEFAULT_Q, "targetPath": "/"},
            "bulk": {"path": BULK_Q, "targetPath": "/bulk"},
        },
    }


@pytest.fixture
def outputs() -> eq.StackOutputs:
    return eq.StackOutputs.from_json(raw_outputs())


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw_outputs()))
    return path


class StubClient:
    """Records create_task requests; answers like the API (task name set)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.requests: list[tasks_v2.CreateTaskRequest] = []
        self.error = error

    def create_task(self, *, request: tasks_v2.CreateTaskRequest) -> tasks_v2.Task:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        name = request.task.name or f"{request.parent}/tasks/1234567890"
        return tasks_v2.Task(name=name)


def schedule_of(task: tasks_v2.Task) -> datetime:
    # proto-plus returns a datetime at runtime, but the stubs say Timestamp.
    return tasks_v2.Task.pb(task).schedule_time.ToDatetime(tzinfo=UTC)


# --- StackOutputs ----------------------------------------------------------------


def test_outputs_parse_contract(outputs: eq.StackOutputs) -> None:
    assert outputs.service_url == SERVICE_URL
    assert outputs.audience == SERVICE_URL
    assert outputs.invoker_email == INVOKER
    assert outputs.queues["bulk"] == eq.QueueTarget(path=BULK_Q, target_path="/bulk")
    assert sorted(outputs.queues) == ["bulk", "default"]
    with pytest.raises(AttributeError):  # frozen
        outputs.service_url = "https://other"  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(TypeError):  # queues is read-only too
        outputs.queues["x"] = outputs.queues["bulk"]  # pyright: ignore[reportIndexIssue]


@pytest.mark.parametrize("key", ["serviceUrl", "audience", "invokerEmail", "queues"])
def test_outputs_missing_key_is_named(key: str) -> None:
    data = raw_outputs()
    del data[key]
    with pytest.raises(eq.EnqueueError, match=f"missing '{key}'"):
        eq.StackOutputs.from_json(data)


@pytest.mark.parametrize("key", ["path", "targetPath"])
def test_outputs_missing_queue_field_is_named(key: str) -> None:
    data = raw_outputs()
    del data["queues"]["bulk"][key]
    with pytest.raises(eq.EnqueueError, match=rf"missing 'queues\.bulk\.{key}'"):
        eq.StackOutputs.from_json(data)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(serviceUrl="http://plain"), "serviceUrl must start with https"),
        (lambda d: d.update(audience=""), "'audience' must be a non-empty string"),
        (lambda d: d.update(queues={}), "'queues' must be a non-empty object"),
        (lambda d: d["queues"].update(bulk="x"), r"'queues\.bulk' must be an object"),
        (lambda d: d["queues"]["bulk"].update(path="bulk-q"), r"queues\.bulk\.path"),
        (lambda d: d["queues"]["bulk"].update(targetPath="bulk"), "must start with '/'"),
    ],
)
def test_outputs_bad_values(mutate: Any, match: str) -> None:
    data = raw_outputs()
    mutate(data)
    with pytest.raises(eq.EnqueueError, match=match):
        eq.StackOutputs.from_json(data)


def test_unknown_queue_lists_known_keys(outputs: eq.StackOutputs) -> None:
    with pytest.raises(eq.EnqueueError, match=r"unknown queue 'bluk'; known queues: bulk, default"):
        eq.build_request(outputs, "bluk", eq.Payload(b"x"))


# --- build_request ----------------------------------------------------------------


def test_default_request_field_by_field(outputs: eq.StackOutputs) -> None:
    req = eq.build_request(outputs, "default", eq.Payload.of_json({"order": 42}), now=NOW)

    assert isinstance(req, tasks_v2.CreateTaskRequest)
    assert req.parent == DEFAULT_Q
    task = req.task
    assert isinstance(task, tasks_v2.Task)
    assert task.name == ""  # server assigns an id: no de-duplication asked
    assert "schedule_time" not in task  # proto-plus `in`: field presence
    assert "dispatch_deadline" not in task
    http = task.http_request
    assert isinstance(http, tasks_v2.HttpRequest)
    assert http.http_method == tasks_v2.HttpMethod.POST
    assert http.url == SERVICE_URL + "/"  # serviceUrl + targetPath; queue enforces it
    assert dict(http.headers) == {"Content-Type": "application/json"}
    assert json.loads(http.body) == {"order": 42}
    assert "oidc_token" not in http  # the queue-level token does the auth


def test_full_request_field_by_field(outputs: eq.StackOutputs) -> None:
    req = eq.build_request(
        outputs,
        "bulk",
        eq.Payload(b"\x00raw", "application/octet-stream"),
        task_id="order-42_a",
        delay=timedelta(minutes=5),
        dispatch_deadline=timedelta(minutes=20),
        token_on_task=True,
        now=NOW,
    )

    assert req.parent == BULK_Q
    task = req.task
    assert task.name == f"{BULK_Q}/tasks/order-42_a"
    assert task.schedule_time == NOW + timedelta(minutes=5)
    assert task.dispatch_deadline == timedelta(minutes=20)
    http = task.http_request
    assert http.url == SERVICE_URL + "/bulk"
    assert http.http_method == tasks_v2.HttpMethod.POST
    assert http.body == b"\x00raw"
    assert dict(http.headers) == {"Content-Type": "application/octet-stream"}
    assert http.oidc_token == tasks_v2.OidcToken(service_account_email=INVOKER, audience=SERVICE_URL)


def test_raw_payload_without_content_type_sets_no_header(outputs: eq.StackOutputs) -> None:
    task = eq.build_task(outputs, "default", eq.Payload(b"hello"))
    assert dict(task.http_request.headers) == {}
    assert task.http_request.body == b"hello"


def test_url_join_tolerates_trailing_slash() -> None:
    data = raw_outputs()
    data["serviceUrl"] = SERVICE_URL + "/"
    task = eq.build_task(eq.StackOutputs.from_json(data), "bulk", eq.Payload(b""))
    assert task.http_request.url == SERVICE_URL + "/bulk"


def test_schedule_time_passes_through_up_to_30_days(outputs: eq.StackOutputs) -> None:
    at = NOW + timedelta(days=30)
    task = eq.build_task(outputs, "default", eq.Payload(b""), schedule_time=at, now=NOW)
    assert task.schedule_time == at
    past = NOW - timedelta(days=1)  # the API runs it now: allowed
    assert eq.build_task(outputs, "default", eq.Payload(b""), schedule_time=past, now=NOW)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delay": timedelta(days=30, seconds=1)},
        {"schedule_time": NOW + timedelta(days=30, seconds=1)},
    ],
)
def test_beyond_30_days_is_refused(outputs: eq.StackOutputs, kwargs: dict[str, Any]) -> None:
    with pytest.raises(eq.EnqueueError, match="more than 30 days"):
        eq.build_request(outputs, "default", eq.Payload(b""), now=NOW, **kwargs)


def test_delay_and_schedule_time_are_exclusive(outputs: eq.StackOutputs) -> None:
    with pytest.raises(eq.EnqueueError, match="not both"):
        eq.build_task(outputs, "default", eq.Payload(b""), delay=timedelta(1), schedule_time=NOW)


def test_naive_or_negative_time_is_refused(outputs: eq.StackOutputs) -> None:
    with pytest.raises(eq.EnqueueError, match="no UTC offset"):
        eq.build_task(outputs, "default", eq.Payload(b""), schedule_time=datetime(2030, 1, 1))
    with pytest.raises(eq.EnqueueError, match="negative"):
        eq.build_task(outputs, "default", eq.Payload(b""), delay=timedelta(seconds=-1))


@pytest.mark.parametrize("task_id", ["a", "A-z_09", "x" * 500])
def test_good_task_ids(outputs: eq.StackOutputs, task_id: str) -> None:
    task = eq.build_task(outputs, "default", eq.Payload(b""), task_id=task_id)
    assert task.name == f"{DEFAULT_Q}/tasks/{task_id}"


@pytest.mark.parametrize("task_id", ["", "a/b", "a b", "a.b", "é", "ok\n", "x" * 501])
def test_bad_task_ids(outputs: eq.StackOutputs, task_id: str) -> None:
    with pytest.raises(eq.EnqueueError, match="bad task id"):
        eq.build_task(outputs, "default", eq.Payload(b""), task_id=task_id)


@pytest.mark.parametrize("seconds", [15, 600, 1800])
def test_good_dispatch_deadlines(outputs: eq.StackOutputs, seconds: int) -> None:
    deadline = timedelta(seconds=seconds)
    task = eq.build_task(outputs, "default", eq.Payload(b""), dispatch_deadline=deadline)
    assert task.dispatch_deadline == deadline


@pytest.mark.parametrize("seconds", [0, 14.999, 1800.001, 3600])
def test_bad_dispatch_deadlines(outputs: eq.StackOutputs, seconds: float) -> None:
    with pytest.raises(eq.EnqueueError, match="15s to 1800s"):
        eq.build_task(outputs, "default", eq.Payload(b""), dispatch_deadline=timedelta(seconds=seconds))


def test_task_size_limit_is_exact_on_the_serialized_task(outputs: eq.StackOutputs) -> None:
    def size(n: int) -> int:
        task = eq.build_task(outputs, "bulk", eq.Payload(b"a" * n, "text/plain"), task_id="t")
        return len(tasks_v2.Task.serialize(task))

    probe = eq.MAX_TASK_BYTES - 500
    fits = probe + eq.MAX_TASK_BYTES - size(probe)
    assert size(fits) == eq.MAX_TASK_BYTES  # exactly at the limit is accepted
    with pytest.raises(eq.EnqueueError, match=rf"task too large: {eq.MAX_TASK_BYTES + 1} bytes"):
        size(fits + 1)


def test_missing_client_library_gives_install_hint(outputs: eq.StackOutputs, monkeypatch: pytest.MonkeyPatch) -> None:
    # `from google.cloud import tasks_v2` finds the attribute first, so drop both.
    monkeypatch.delattr(google.cloud, "tasks_v2", raising=False)
    monkeypatch.setitem(sys.modules, "google.cloud.tasks_v2", None)
    with pytest.raises(eq.EnqueueError, match="uv sync --group client"):
        eq.build_request(outputs, "default", eq.Payload(b""))


# --- enqueue ------------------------------------------------------------------------


def test_enqueue_through_stub(outputs: eq.StackOutputs) -> None:
    client = StubClient()
    req = eq.build_request(outputs, "bulk", eq.Payload.of_json([1]), task_id="abc")
    assert eq.enqueue(client, req) == f"{BULK_Q}/tasks/abc"
    assert client.requests == [req]


def test_enqueue_through_real_client_with_mocked_transport(outputs: eq.StackOutputs) -> None:
    client = tasks_v2.CloudTasksClient(credentials=AnonymousCredentials())
    req = eq.build_request(outputs, "default", eq.Payload.of_json({"order": 42}))
    with mock.patch.object(type(client.transport.create_task), "__call__") as call:
        call.return_value = tasks_v2.Task(name=f"{DEFAULT_Q}/tasks/987")
        assert eq.enqueue(client, req) == f"{DEFAULT_Q}/tasks/987"

        # The gRPC call got exactly our request, routed by its parent.
        assert call.call_count == 1
        _, args, kwargs = call.mock_calls[0]
        assert args[0] == req
        assert ("x-goog-request-params", f"parent={DEFAULT_Q}") in kwargs["metadata"]

        # Why this tool exists: the guide's 1.x positional call fails on 2.x.
        with pytest.raises(TypeError):
            client.create_task(DEFAULT_Q, req.task)  # pyright: ignore[reportCallIssue]
        assert call.call_count == 1


# --- CLI ------------------------------------------------------------------------------


def run_cli(
    argv: list[str], capsys: pytest.CaptureFixture[str], client: StubClient | None = None
) -> tuple[int, str, str]:
    code = eq.main(argv, client=client or StubClient())
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_with_outputs_file(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    argv = ["--outputs", str(outputs_file), "--queue", "default", "--json", '{"order": 42}']
    code, out, err = run_cli(argv, capsys, client)

    assert (code, err) == (0, "")
    assert out == f"{DEFAULT_Q}/tasks/1234567890\n"
    (req,) = client.requests
    assert req.parent == DEFAULT_Q
    assert req.task.http_request.body == b'{"order": 42}'  # sent as given
    assert dict(req.task.http_request.headers) == {"Content-Type": "application/json"}
    assert "oidc_token" not in req.task.http_request


def test_cli_all_options(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    before = datetime.now(UTC)
    argv = [
        "--outputs", str(outputs_file), "--queue", "bulk", "--json", "[1, 2]",
        "--task-id", "job-7", "--delay", "2h", "--dispatch-deadline", "15m", "--token-on-task",
    ]  # fmt: skip
    code, out, _ = run_cli(argv, capsys, client)
    after = datetime.now(UTC)

    assert code == 0
    assert out == f"{BULK_Q}/tasks/job-7\n"
    task = client.requests[0].task
    assert before + timedelta(hours=2) <= schedule_of(task) <= after + timedelta(hours=2)
    assert task.dispatch_deadline == timedelta(minutes=15)
    assert task.http_request.url == SERVICE_URL + "/bulk"
    assert task.http_request.oidc_token.service_account_email == INVOKER
    assert task.http_request.oidc_token.audience == SERVICE_URL


def test_cli_schedule_time(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient()
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    at_text = at.isoformat().replace("+00:00", "Z")
    argv = ["--outputs", str(outputs_file), "--data", "x", "--schedule-time", at_text]
    assert run_cli(argv, capsys, client)[0] == 0
    assert client.requests[0].task.schedule_time == at


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


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--queue", "nope", "--json", "{}"], "unknown queue 'nope'; known queues: bulk, default"),
        (["--json", "{}", "--task-id", "a/b"], "bad task id"),
        (["--json", "{}", "--delay", "31d"], "more than 30 days"),
        (["--json", "{}", "--delay", "5 minutes"], "bad delay"),
        (["--json", "{}", "--schedule-time", "2999-01-01T00:00:00Z"], "more than 30 days"),
        (["--json", "{}", "--schedule-time", "tomorrow"], "bad schedule time"),
        (["--json", "{}", "--schedule-time", "2030-01-01T00:00:00"], "no UTC offset"),
        (["--json", "{}", "--dispatch-deadline", "10s"], "15s to 1800s"),
        (["--json", "{}", "--dispatch-deadline", "31m"], "15s to 1800s"),
        (["--json", "{order: 42}"], "--json is not valid JSON"),
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
    big.write_text(json.dumps("x" * eq.MAX_TASK_BYTES))
    code, _, err = run_cli(["--outputs", str(outputs_file), "--json", f"@{big}"], capsys)
    assert code == 2
    assert err.startswith("enqueue: task too large:")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "cannot read outputs file"),
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({k: v for k, v in raw_outputs().items() if k != "invokerEmail"}), "'invokerEmail'"),
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


def test_cli_api_error_is_one_line_exit_1(outputs_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = StubClient(error=api_exceptions.AlreadyExists("Requested entity already exists"))
    argv = ["--outputs", str(outputs_file), "--json", "{}", "--task-id", "dup"]
    code, out, err = run_cli(argv, capsys, client)
    assert (code, out) == (1, "")
    assert err == "enqueue: AlreadyExists: 409 Requested entity already exists\n"


# --- --stack: `pulumi stack output` -----------------------------------------------------


def test_cli_stack_runs_pulumi(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0, stdout=json.dumps(raw_outputs()), stderr="")

    monkeypatch.setattr(eq.subprocess, "run", fake_run)
    client = StubClient()
    code, out, _ = run_cli(["--stack", "dev", "--queue", "bulk", "--json", "{}"], capsys, client)

    assert code == 0
    assert out.startswith(f"{BULK_Q}/tasks/")
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


def test_cli_stack_pulumi_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def failing(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            cmd, 255, stdout="", stderr="warning: x\nerror: no stack named 'dev' found\n"
        )

    monkeypatch.setattr(eq.subprocess, "run", failing)
    code, _, err = run_cli(["--stack", "dev", "--json", "{}"], capsys)
    assert code == 2
    assert err == ("enqueue: `pulumi stack output --stack dev` failed (255): error: no stack named 'dev' found\n")


def test_cli_requires_outputs_source_and_body(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--json", "{}"], ["--stack", "dev"]):
        with pytest.raises(SystemExit) as exc:
            eq.main(argv, client=StubClient())
        assert exc.value.code == 2  # argparse usage error
    capsys.readouterr()
