"""tools.outputs: a stack's outputs handed to producers as an env file or the JSON the library reads."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from task_worker_producer import StackOutputs
from tools import harness, outputs, plan

PROD_STACK = """\
config:
  gcp:project: my-project-prod
  gcp:region: europe-west1
  task-worker:service: {timeoutSeconds: 900}
  task-worker:queues:
    default: {path: /tasks}
    bulk: {path: /tasks/bulk}
  task-worker:enqueuers: [group:task-producers@example.com]
"""
_UNKNOWN = re.compile(r"\(known after up: auto-name of queue task-worker-([a-z0-9-]+)\)")


@pytest.fixture(scope="module")
def prod_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`pulumi stack output --json -s prod` as it would look: the offline plan's outputs, unknowns filled in."""
    # The test's own stack file, not Pulumi.prod.yaml: that file is the adopting team's to change.
    root = tmp_path_factory.mktemp("plan")
    (root / "__main__.py").symlink_to(Path(__file__).resolve().parent.parent / "__main__.py")
    (root / "Pulumi.prod.yaml").write_text(PROD_STACK)
    path = root / "plan.json"
    assert plan.main(["prod", "--json", str(path)], root=root) == 0
    text = json.dumps(json.loads(path.read_text())["outputs"])
    text = _UNKNOWN.sub(lambda m: f"task-worker-{m[1]}-1a2b3c4", text)
    text = text.replace(
        "(known after up: URL of service task-worker-service)", "https://task-worker-abc123-ew.a.run.app"
    )
    text = re.sub(r"\(known after up: [^)]*\)", "x1", text)
    data = json.loads(text)
    assert "(known after up" not in text
    assert len(data["queues"]) == 2
    return data


def _run(
    argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = outputs.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_env_lines_name_the_service_timeout_and_each_queue(
    prod_outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["--env"], json.dumps(prod_outputs), monkeypatch, capsys)
    assert code == 0
    env = dict(line.split("=", 1) for line in out.splitlines())
    queue = "projects/my-project-prod/locations/europe-west1/queues/task-worker-{}-1a2b3c4"
    assert env == {
        "TASK_WORKER_SERVICE_URL": "https://task-worker-abc123-ew.a.run.app",
        "TASK_WORKER_TIMEOUT_SECONDS": str(prod_outputs["timeoutSeconds"]),
        "TASK_WORKER_PROJECT": "my-project-prod",
        "TASK_WORKER_LOCATION": "europe-west1",
        "TASK_WORKER_QUEUE_BULK": queue.format("bulk"),
        "TASK_WORKER_QUEUE_BULK_PATHS": queue.format("bulk"),
        "TASK_WORKER_QUEUE_BULK_TARGET_PATH": "/tasks/bulk",
        "TASK_WORKER_QUEUE_DEFAULT": queue.format("default"),
        "TASK_WORKER_QUEUE_DEFAULT_PATHS": queue.format("default"),
        "TASK_WORKER_QUEUE_DEFAULT_TARGET_PATH": "/tasks",
    }


def test_json_is_what_the_producer_library_reads_and_nothing_more(
    prod_outputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(prod_outputs))
    code, out, _ = _run([str(raw), "--json"], "", monkeypatch, capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"serviceUrl", "queues", "timeoutSeconds", "project", "location"}  # no account emails
    assert StackOutputs.from_json(data) == StackOutputs.from_json(prod_outputs)


def test_shards_are_listed_in_order_and_a_key_with_a_hyphen_is_an_env_name() -> None:
    paths = [f"projects/p-1234/locations/us-east1/queues/fast-lane-{i}" for i in range(3)]
    data = {"serviceUrl": "https://s.run.app", "queues": {"fast-lane": {"paths": paths, "targetPath": "/fast"}}}
    env = dict(line.split("=", 1) for line in outputs.env_lines(StackOutputs.from_json(data), "APP_"))
    assert env["APP_QUEUE_FAST_LANE"] == paths[0]
    assert env["APP_QUEUE_FAST_LANE_PATHS"] == ",".join(paths)
    assert "APP_TIMEOUT_SECONDS" not in env  # an older stack without the output: nothing invented


def test_a_value_a_shell_would_split_is_quoted() -> None:
    data = {
        "serviceUrl": "https://s.run.app",
        "queues": {"q": {"path": "projects/p/locations/l/queues/q", "targetPath": "/a b;c"}},
    }
    lines = outputs.env_lines(StackOutputs.from_json(data))
    assert "TASK_WORKER_QUEUE_Q_TARGET_PATH='/a b;c'" in lines


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("not json", "stdin is not JSON"),
        ('"a string"', "must be a JSON object, got str"),
        ('{"queues": {}}', "serviceUrl"),
        (
            '{"serviceUrl": "https://s.run.app", "queues": {"q": {"paths": ["nope"], "targetPath": "/"}}}',
            "queues.q.paths[0]",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_output(
    stdin: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["--env"], stdin, monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run([str(tmp_path / "nope.json"), "--json"], "", monkeypatch, capsys)
    assert code == 2
    assert "nope.json" in err


# --- the stack-reference example of docs/producers.md ----------------------------------------------


def _stack_reference_example() -> str:
    text = (Path(__file__).resolve().parent.parent / "docs" / "producers.md").read_text()
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S) if "StackReference" in b]
    return block


def test_stack_reference_example_reads_the_same_environments_outputs(
    prod_outputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The consumer program of docs/producers.md, run under the offline harness's mocks, with the
    # referenced stack answering prod's outputs.
    asked: list[str] = []
    original = harness.ProviderMocks.new_resource

    def new_resource(self: harness.ProviderMocks, args: Any) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            asked.append(args.inputs["name"])
            return args.inputs["name"], {"name": args.inputs["name"], "outputs": prod_outputs}
        return original(self, args)

    monkeypatch.setattr(harness.ProviderMocks, "new_resource", new_resource)
    program = tmp_path / "consumer.py"
    program.write_text(_stack_reference_example())
    run = harness.run_program(harness.StackConfig("prod", {}), program)
    assert run.error is None, run.error
    assert asked == ["organization/task-worker/prod"]
    assert run.exports["bulkQueue"] == prod_outputs["queues"]["bulk"]["path"]


def test_stack_runs_pulumi_stack_output_for_that_stack(
    prod_outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(outputs, "load_stack_outputs", lambda stack: asked.append(stack) or prod_outputs)
    code, out, _ = _run(["--stack", "prod", "--env"], "", monkeypatch, capsys)
    assert code == 0
    assert asked == ["prod"]
    assert "TASK_WORKER_QUEUE_BULK_TARGET_PATH=/tasks/bulk" in out.splitlines()


def test_stack_without_the_pulumi_cli_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi here
    code, out, err = _run(["--stack", "prod", "--json"], "", monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert "pulumi CLI is not on PATH" in err
    assert len(err.strip().splitlines()) == 1
