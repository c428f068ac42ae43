"""The offline plan: tree, summary, stable JSON, mermaid, exit codes, critical path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SMALL, stack_config, stack_file_text
from tools import plan
from tools.harness import ROOT, Resource, Run, run_program

QUEUE = "gcp:cloudtasks/queue:Queue"


def test_plan_prints_tree_and_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = _stack_dir(tmp_path, "small", stack_file_text(**SMALL))
    code = plan.main(["small", "--json", str(tmp_path / "p.json"), "--mermaid", str(tmp_path / "p.mmd")], root=root)
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "17 resources (12 cloud resources, 5 components), critical path 5, invokes 0"
    assert "[component] task-worker:gcp:TaskWorker  task-worker" in out
    assert "ingress=INGRESS_TRAFFIC_INTERNAL_ONLY" in out
    assert "oidc_account=task-worker-small-invoker@acme-tasks-small.iam.gserviceaccount.com" in out
    assert "role=roles/run.invoker" in out
    assert '"maxDispatchesPerSecond": 1' in out
    doc = json.loads((tmp_path / "p.json").read_text())
    assert (doc["stack"], doc["project"], doc["criticalPath"], doc["invokes"]) == ("small", "acme-tasks-small", 5, 0)
    assert len(doc["resources"]) == 17
    for r in doc["resources"]:
        assert sorted(r) == ["dependsOn", "inputs", "name", "parent", "type", "urn"]
    mermaid = (tmp_path / "p.mmd").read_text()
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count(" --> ") == 15  # the agent grant waits for the agent: agent -> wait -> grant


def test_two_queue_critical_path_stays_at_the_floor(full: Run) -> None:
    result = plan.make_plan(full)
    assert result.critical_path == plan.CRITICAL_PATH_FLOOR == 5
    assert full.invokes == []
    assert result.mandatory == []


def test_same_config_same_bytes() -> None:
    first = plan.to_json(plan.make_plan(run_program(stack_config(queues={"a": {}, "b": {}}))))
    second = plan.to_json(plan.make_plan(run_program(stack_config(queues={"b": {}, "a": {}}))))
    assert first == second


def _stack_dir(tmp_path: Path, stack: str, text: str, program: Path = ROOT / "__main__.py") -> Path:
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    (tmp_path / "__main__.py").symlink_to(program)
    return tmp_path


def test_secrets_never_in_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _stack_dir(
        tmp_path,
        "s",
        "config:\n  gcp:project: my-project\n  gcp:region: europe-west1\n"
        "  task-worker:service:\n    env:\n      API_KEY:\n        secure: v1:AAAAcipher\n",
    )
    code = plan.main(["s", "--json", str(tmp_path / "p.json")], root=root)
    out = capsys.readouterr().out + (tmp_path / "p.json").read_text()
    assert code == 0
    assert "cipher" not in out
    assert '"value": "[secret]"' in (tmp_path / "p.json").read_text()


def test_invalid_config_exit_2_every_problem_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _stack_dir(
        tmp_path,
        "bad",
        "config:\n  gcp:project: my-project\n  gcp:region: europe-west4\n"
        "  task-worker:queues:\n    bulk:\n      maxDispatchesPerSecond: 900\n",
    )
    code = plan.main(["bad"], root=root)
    err = capsys.readouterr().err
    assert code == 2
    assert "gcp:region: 'europe-west4'" in err
    assert "task-worker:queues.bulk.maxDispatchesPerSecond: 900" in err
    assert "Traceback" not in err


def test_missing_stack_lists_the_stacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _stack_dir(tmp_path, "qa", stack_file_text())
    (root / "Pulumi.live.yaml").write_text(stack_file_text())
    assert plan.main(["staging"], root=root) == 2
    err = capsys.readouterr().err
    assert "Pulumi.staging.yaml" in err
    assert "live, qa" in err


def test_mandatory_violation_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "program.py"
    program.write_text(
        "import pulumi_gcp as gcp\n"
        "gcp.serviceaccount.Key('leaked', service_account_id='sa@p.iam.gserviceaccount.com')\n"
        "gcp.cloudrunv2.ServiceIamMember('public', name='svc', location='europe-west1',"
        " role='roles/run.invoker', member='allUsers')\n"
    )
    root = _stack_dir(tmp_path / "", "v", "config:\n  gcp:project: my-project\n", program)
    code = plan.main(["v"], root=root)
    err = capsys.readouterr().err
    assert code == 1
    assert "leaked" in err
    assert "public" in err
    assert "MANDATORY" in err


# --- critical path on synthetic graphs ----------------------------------------------------


def _r(urn: str, *deps: str, parent: str = "", custom: bool = True) -> Resource:
    return Resource(urn, "t", urn, parent, custom, {}, {}, tuple(deps))


def test_critical_path_counts_cloud_resources_only() -> None:
    assert plan.critical_path([_r("a"), _r("b", "a"), _r("c", "b"), _r("d", "a")]) == 3
    assert plan.critical_path([]) == 0


def test_dependency_on_a_component_means_on_all_its_children() -> None:
    resources = [
        _r("comp", custom=False),
        _r("x", parent="comp"),
        _r("y", "x", parent="comp"),
        _r("z", "comp"),  # waits for x and y, through the component
    ]
    assert plan.critical_path(resources) == 3


def test_nothing_waits_on_what_it_does_not_use(full: Run) -> None:
    edges = plan._expanded(full.resources)
    types = {r.urn: r.type for r in full.resources}
    for urn, deps in edges.items():
        kinds = sorted(types[d] for d in deps)
        if types[urn] == "gcp:cloudtasks/queueIamMember:QueueIamMember":
            assert kinds == [QUEUE]
        if types[urn] == QUEUE:
            assert QUEUE not in kinds
        if types[urn] == "gcp:cloudrunv2/serviceIamMember:ServiceIamMember":
            assert kinds == ["gcp:cloudrunv2/service:Service", "gcp:serviceaccount/account:Account"]
