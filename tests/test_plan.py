"""The offline plan: tree, summary, stable JSON, mermaid, exit codes, critical path."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SMALL, stack_config, stack_file_text
from tools import harness, plan
from tools.harness import ROOT, Resource, Run, run_program

QUEUE = "gcp:cloudtasks/queue:Queue"


def test_plan_prints_tree_and_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = _stack_dir(tmp_path, "small", stack_file_text(**SMALL))
    code = plan.main(["small", "--json", str(tmp_path / "p.json"), "--mermaid", str(tmp_path / "p.mmd")], root=root)
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "26 resources (20 cloud resources, 6 components), critical path 5, invokes 0"
    assert "[component] task-worker:gcp:TaskWorker  task-worker" in out
    assert "ingress=INGRESS_TRAFFIC_INTERNAL_ONLY" in out
    assert "oidc_account=task-worker-small-invoker@acme-tasks-small.iam.gserviceaccount.com" in out
    assert "role=roles/run.invoker" in out
    assert '"maxDispatchesPerSecond": 1' in out
    # An alert policy shows what fires it: the test config sets no thresholds, so the defaults.
    assert "conditions=queue depth > 1000 for 15 min\n" in out
    assert "severity=ERROR" in out
    # No notification channel configured: the plan says the alert policies page nobody.
    assert "\nnotice: no notification channels configured: the alert policies exist" in out
    assert "page nobody" in out
    doc = json.loads((tmp_path / "p.json").read_text())
    assert (doc["stack"], doc["project"], doc["criticalPath"], doc["invokes"]) == ("small", "acme-tasks-small", 5, 0)
    assert len(doc["resources"]) == 26
    for r in doc["resources"]:
        assert sorted(r) == ["custom", "dependsOn", "inputs", "name", "parent", "type", "urn"]
    assert doc["outputs"]["serviceUrl"] == "(known after up: URL of service task-worker-service)"
    mermaid = (tmp_path / "p.mmd").read_text()
    assert mermaid.startswith("flowchart LR\n")
    # 15 for the path (the agent grant waits for the agent: agent -> wait -> grant), 19 for monitoring.
    assert mermaid.count(" --> ") == 34


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


# --- one URN, one resource: the engine refuses a second registration --------------------------------

TWO_SECRETS_ONE_URN = (
    "import pulumi_gcp as gcp\n"
    "for secret_id in ('db_pass', 'db-pass'):\n"
    "    gcp.secretmanager.Secret('db-pass', secret_id=secret_id, replication={'auto': {}})\n"
)
# Components whose children share names and types: told apart by the parent chain (or not).
BOXES = (
    "import pulumi, pulumi_gcp as gcp\n"
    "class Box(pulumi.ComponentResource):\n"
    "    def __init__(self, name, kind='test:index:Box', opts=None):\n"
    "        super().__init__(kind, name, None, opts)\n"
    "        gcp.secretmanager.Secret('s', secret_id=name, replication={'auto': {}},\n"
    "                                 opts=pulumi.ResourceOptions(parent=self))\n"
)


def _program(tmp_path: Path, text: str) -> Path:
    program = tmp_path / "program.py"
    program.write_text(text)
    return program


def test_plan_refuses_a_duplicate_urn_naming_both_registrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = _program(tmp_path, TWO_SECRETS_ONE_URN)
    root = _stack_dir(tmp_path / "", "dup", "config:\n  gcp:project: my-project\n", program)
    code = plan.main(["dup"], root=root)
    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        "plan: stack dup: Duplicate resource URN 'urn:pulumi:dup::task-worker::gcp:secretmanager/secret:Secret::"
        "db-pass'; try giving it a unique name (registered twice: resource #1 gcp:secretmanager/secret:Secret "
        '"db-pass"; then resource #2 gcp:secretmanager/secret:Secret "db-pass", inputs differing: secretId '
        '"db_pass" vs "db-pass")\n'
    )
    assert out == ""


@pytest.mark.parametrize(
    ("program", "urn", "first", "second"),
    [
        pytest.param(
            BOXES + "box = Box('b')\n"
            "gcp.secretmanager.Secret('s', secret_id='x', replication={'auto': {}},\n"
            "                         opts=pulumi.ResourceOptions(parent=box))\n",
            "test:index:Box$gcp:secretmanager/secret:Secret::s",
            'resource #2 gcp:secretmanager/secret:Secret "s"',
            'resource #3 gcp:secretmanager/secret:Secret "s", inputs differing: secretId "b" vs "x"',
            id="two-children-of-one-component",
        ),
        # The engine's URN holds the parents' types, not their names: children of two components of
        # one type need names of their own.
        pytest.param(
            BOXES + "Box('a')\nBox('b')\n",
            "test:index:Box$gcp:secretmanager/secret:Secret::s",
            "resource #",
            'secretId "',
            id="children-of-two-components-of-one-type",
        ),
        pytest.param(
            BOXES + "Box('b')\nBox('b')\n",
            "test:index:Box::b",
            'component #1 test:index:Box "b"',
            ", with the same inputs",
            id="two-components",
        ),
    ],
)
def test_harness_refuses_a_duplicate_urn(tmp_path: Path, program: str, urn: str, first: str, second: str) -> None:
    run = run_program(stack_config("test"), _program(tmp_path, program))
    assert isinstance(run.error, harness.DuplicateUrnError), run.error
    assert run.error.urn == f"urn:pulumi:test::task-worker::{urn}"
    assert str(run.error).startswith(f"Duplicate resource URN '{run.error.urn}'; try giving it a unique name")
    assert first in run.error.first
    assert second in run.error.second


@pytest.mark.parametrize(
    ("program", "urns"),
    [
        pytest.param(
            "import pulumi_gcp as gcp\n"
            "gcp.secretmanager.Secret('x', secret_id='x', replication={'auto': {}})\n"
            "gcp.pubsub.Topic('x')\n",
            {"gcp:secretmanager/secret:Secret::x", "gcp:pubsub/topic:Topic::x"},
            id="one-name-two-types",
        ),
        pytest.param(
            BOXES + "Box('a')\nBox('a', kind='test:index:Crate')\n",
            {
                "test:index:Box::a",
                "test:index:Box$gcp:secretmanager/secret:Secret::s",
                "test:index:Crate::a",
                "test:index:Crate$gcp:secretmanager/secret:Secret::s",
            },
            id="one-name-two-parent-types",
        ),
        # The parents' own types match, their chains do not: the engine's URNs differ (the whole
        # chain), where Pulumi's MockMonitor.make_urn would give both children one URN.
        pytest.param(
            BOXES + "Box('a', opts=pulumi.ResourceOptions(parent=Box('outer', kind='test:index:Crate')))\nBox('a')\n",
            {
                "test:index:Crate::outer",
                "test:index:Crate$gcp:secretmanager/secret:Secret::s",
                "test:index:Crate$test:index:Box::a",
                "test:index:Crate$test:index:Box$gcp:secretmanager/secret:Secret::s",
                "test:index:Box::a",
                "test:index:Box$gcp:secretmanager/secret:Secret::s",
            },
            id="one-name-two-parent-chains",
        ),
    ],
)
def test_one_name_under_another_type_or_parent_chain_passes_with_the_engines_urns(
    tmp_path: Path, program: str, urns: set[str]
) -> None:
    run = run_program(stack_config("test"), _program(tmp_path, program))
    assert run.error is None, run.error
    prefix = "urn:pulumi:test::task-worker::"
    assert all(r.urn.startswith(prefix) for r in run.resources)
    assert len({r.urn for r in run.resources}) == len(run.resources)
    assert {r.urn.removeprefix(prefix) for r in run.resources} == urns


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


# --- values only `pulumi up` knows ---------------------------------------------------------


def test_invented_values_are_never_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_program(
        stack_config(queues={"a": {}}, enqueuers=["serviceAccount:p@test-project.iam.gserviceaccount.com"])
    )
    assert run.error is None, run.error
    assert harness.PROJECT_NUMBER in run.invented
    result = plan.make_plan(run)
    shown = "\n".join([*plan.tree(run), *plan.outputs(run), plan.to_json(result), plan.to_mermaid(result)])
    for value in run.invented:
        assert value not in shown, value
    # Derived values (a host cut out of the URL, a path joined around the auto-name) are marked too.
    assert "target=https://(known after up: host of service task-worker-service)/" in shown
    assert "queues.a.path: projects/test-project/locations/europe-west1/queues/(known after up: auto-name of queue" in (
        shown
    )
    # The agent's address is Google's documented form; only its project number is unknown.
    assert "service-(known after up: project number)@gcp-sa-cloudtasks.iam.gserviceaccount.com" in shown
    # The mocks still fill the values internally: inputs built from them are not lost.
    assert run.one(QUEUE).inputs["httpTarget"]["uriOverride"]["host"].endswith(".run.app")


def test_plan_prints_the_stack_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["dev"]) == 0
    out = capsys.readouterr().out
    outputs = out[out.index("Outputs:\n") :]
    assert "  serviceUrl: (known after up: URL of service task-worker-service)\n" in outputs
    assert "  queues.default.targetPath: /tasks\n" in outputs


# --- diff against a base plan: hand-made pairs ----------------------------------------------------

SA = "gcp:serviceaccount/account:Account"
Q_IAM = "gcp:cloudtasks/queueIamMember:QueueIamMember"


def _res(urn: str, type_: str, deps: tuple[str, ...] = (), **inputs: object) -> dict[str, object]:
    return {"urn": urn, "type": type_, "name": urn, "parent": "", "custom": True, "inputs": inputs, "dependsOn": deps}


def _doc(*resources: dict[str, object], outputs: dict[str, object] | None = None) -> dict[str, object]:
    return {"stack": "s", "resources": list(resources), "outputs": outputs or {}}


def _actions(changes: list[plan.Change]) -> dict[str, str]:
    return {c.urn: c.action for c in changes}


def test_diff_create_delete_same() -> None:
    base = _doc(_res("kept", SA, accountId="a"), _res("gone", SA, accountId="b"))
    head = _doc(_res("kept", SA, accountId="a"), _res("new", SA, accountId="c"))
    assert _actions(plan.diff(base, head)) == {"kept": "same", "gone": "delete", "new": "create"}


def test_diff_update_lists_the_fields_that_change() -> None:
    base = _doc(_res("q", QUEUE, location="l", rateLimits={"maxDispatchesPerSecond": 1, "maxConcurrentDispatches": 5}))
    head = _doc(_res("q", QUEUE, location="l", rateLimits={"maxDispatchesPerSecond": 2, "maxConcurrentDispatches": 5}))
    (change,) = plan.diff(base, head)
    assert (change.action, change.fields, change.forced_by, change.warning) == (
        "update",
        ("rateLimits.maxDispatchesPerSecond",),
        (),
        "",
    )
    lines = plan.render_diff([change], base, head)
    assert "        rateLimits.maxDispatchesPerSecond: 1 → 2" in lines


def test_diff_replace_names_the_forcing_field_and_flags_the_queue() -> None:
    base = _doc(_res("q", QUEUE, location="europe-west1", desiredState="RUNNING"))
    head = _doc(_res("q", QUEUE, location="us-central1", desiredState="PAUSED"))
    (change,) = plan.diff(base, head)
    assert change.action == "replace"
    assert change.fields == ("desiredState", "location")
    assert change.forced_by == ("location",)
    assert "every task in it is lost" in change.warning
    assert "for days" in change.warning
    assert any(line.startswith("!! WARNING: queue q is replaced") for line in plan.render_diff([change], base, head))


def test_deleted_queue_is_flagged() -> None:
    (change,) = plan.diff(_doc(_res("q", QUEUE, location="l")), _doc())
    assert change.action == "delete"
    assert "every task in it is lost" in change.warning


def test_unknown_value_follows_a_replaced_dependency() -> None:
    name = "(known after up: auto-name of queue q)"
    base = _doc(_res("q", QUEUE, name=None, project="a"), _res("iam", Q_IAM, ("q",), name=name, role="r"))
    head = _doc(_res("q", QUEUE, name=None, project="b"), _res("iam", Q_IAM, ("q",), name=name, role="r"))
    changes = {c.urn: c for c in plan.diff(base, head)}
    assert changes["q"].action == "replace"
    # Its new queue has a new name, unknown until up, and `name` forces an IAM member's replacement.
    assert (changes["iam"].action, changes["iam"].forced_by) == ("replace", ("name",))
    # With the queue kept, the same unknown name is the same name.
    assert _actions(plan.diff(base, base)) == {"q": "same", "iam": "same"}


def test_an_old_base_with_invented_values_matches_the_markers() -> None:
    base = _doc(_res("iam", Q_IAM, name="task-worker-q-1a2b3c4", role="r"))
    head = _doc(_res("iam", Q_IAM, name="(known after up: auto-name of queue task-worker-q)", role="r"))
    assert _actions(plan.diff(base, head)) == {"iam": "same"}


def _plan_doc(**ours: Any) -> dict[str, Any]:
    run = run_program(stack_config(**ours))
    assert run.error is None, run.error
    return json.loads(plan.to_json(plan.make_plan(run)))


def test_location_change_replaces_everything_in_a_location() -> None:
    enqueuers = ["serviceAccount:p@test-project.iam.gserviceaccount.com"]
    base = _plan_doc(enqueuers=enqueuers, queues={"a": {}, "b": {}})
    head = _plan_doc(enqueuers=enqueuers, queues={"a": {}, "b": {}}, **{"gcp:region": "us-central1"})
    changes = plan.diff(base, head)
    by_type: dict[str, set[str]] = {}
    for c in changes:
        by_type.setdefault(c.type, set()).add(c.action)
    for type_ in (QUEUE, Q_IAM, "gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"):
        assert by_type[type_] == {"replace"}, type_
    # What has no location (APIs, accounts, account IAM) stays.
    assert by_type[SA] == by_type["gcp:projects/service:Service"] == {"same"}
    assert sum("every task in it is lost" in c.warning for c in changes) == 2
    text = "\n".join(plan.render_diff(changes, base, head))
    assert "~ location: europe-west1 → us-central1" in text


def test_against_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The test's own stack file, not the user's Pulumi.dev.yaml: its counts are this config's.
    root = _stack_dir(tmp_path, "small", stack_file_text(**SMALL))
    base = tmp_path / "base.json"
    assert plan.main(["small", "--json", str(base)], root=root) == 0
    cloud = sum(r["custom"] for r in json.loads(base.read_text())["resources"])
    total = len(json.loads(base.read_text())["resources"])
    capsys.readouterr()
    assert plan.main(["small", "--against", str(base)], root=root) == 0
    out = capsys.readouterr().out
    assert f"\nDiff: 0 to create, 0 to update, 0 to replace, 0 to delete, {cloud} unchanged\n" in out
    assert out.splitlines()[-1].startswith(f"{total} resources")
    assert plan.main(["small", "--against", str(tmp_path / "missing.json")], root=root) == 2


def test_replace_table_names_only_fields_the_types_have() -> None:
    """Each forcing field is an input of the pulumi-gcp resource (a typo would never match).

    Read from the SDK's source, not imported: importing pulumi_gcp.monitoring alone takes seconds.
    """
    spec = importlib.util.find_spec("pulumi_gcp")
    assert spec is not None
    assert spec.origin is not None
    package = Path(spec.origin).parent
    time_spec = importlib.util.find_spec("pulumiverse_time")
    assert time_spec is not None
    assert time_spec.origin is not None
    packages = {"gcp": package, "time": Path(time_spec.origin).parent}
    for token, fields in plan.REPLACE_ON.items():
        provider, module, class_name = token.split(":")[0], token.split(":")[1].split("/")[0], token.split(":")[2]
        camel = re.sub(r"([A-Z]+)([A-Z][a-z])", lambda m: m[1].capitalize() + m[2], class_name)  # IAMMember
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
        folder = packages[provider] if module == "index" else packages[provider] / module
        source = (folder / f"{snake}.py").read_text()
        args = source[source.index(f"class {class_name}Args") : source.index(f"class {class_name}(")]
        for field in fields:
            assert f'"{re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()}"' in args, (token, field)


# --- the provider's ForceNew fields, one case each ------------------------------------------------
# Read from the provider sources, not from plan.REPLACE_ON (a field dropped from the table must fail
# here): terraform-provider-google-beta v7.45.0 (pulumi-gcp's upstream), paths under google-beta/;
# IAM members add tpgiamresource/resource_iam_member.go's role, member, condition to their parent's
# fields; terraform-provider-time v0.12.1 internal/provider/resource_time_sleep.go for the Sleep.
IAM_BASE = ("role", "member", "condition")
FORCE_NEW: dict[str, tuple[str, ...]] = {
    QUEUE: ("location", "name", "project"),  # services/cloudtasks/resource_cloud_tasks_queue.go
    # cloudrunv2/resource_cloud_run_v2_service.go
    "gcp:cloudrunv2/service:Service": ("location", "name", "project", "tags"),
    SA: ("accountId", "project"),  # resourcemanager/resource_google_service_account.go
    "gcp:projects/service:Service": ("service", "project"),  # resourcemanager/resource_google_project_service.go
    "gcp:projects/serviceIdentity:ServiceIdentity": ("service", "project"),  # resource_project_service_identity.go
    "gcp:pubsub/topic:Topic": ("name", "project", "tags"),  # pubsub/resource_pubsub_topic.go
    "gcp:pubsub/subscription:Subscription": ("name", "topic", "project", "enableMessageOrdering", "filter", "tags"),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("project",),  # monitoring/resource_monitoring_alert_policy.go
    "gcp:monitoring/dashboard:Dashboard": ("project",),  # monitoring/resource_monitoring_dashboard.go
    Q_IAM: (*IAM_BASE, "project", "location", "name"),  # cloudtasks/iam_cloud_tasks_queue.go
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": (*IAM_BASE, "project", "location", "name"),
    "gcp:serviceaccount/iAMMember:IAMMember": (*IAM_BASE, "serviceAccountId"),  # iam_service_account.go
    "gcp:pubsub/topicIAMMember:TopicIAMMember": (*IAM_BASE, "project", "topic"),  # pubsub/iam_pubsub_topic.go
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": (*IAM_BASE, "project", "subscription"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": (*IAM_BASE, "project", "secretId"),
    "time:index/sleep:Sleep": ("triggers",),  # RequiresReplace
}
SLEEP = "time:index/sleep:Sleep"


def _res_of(urn: str, type_: str, inputs: dict[str, object]) -> dict[str, object]:
    return {**_res(urn, type_), "inputs": inputs}


# A map or block field changes in one key; a scalar field in its value.
_FIELD_VALUES: dict[str, tuple[object, object, str]] = {
    "condition": ({"title": "t", "expression": "true"}, {"title": "t", "expression": "false"}, "condition.expression"),
    "tags": ({"tagKeys/1": "tagValues/1"}, {"tagKeys/1": "tagValues/2"}, "tags.tagKeys/1"),
    "triggers": ({"agent": "a@x"}, {"agent": "b@x"}, "triggers.agent"),
    "enableMessageOrdering": (False, True, "enableMessageOrdering"),
}


@pytest.mark.parametrize(
    ("type_", "field"), [(t, f) for t, fields in FORCE_NEW.items() for f in fields], ids=lambda v: str(v)
)
def test_changing_a_forcenew_field_alone_replaces_the_resource(type_: str, field: str) -> None:
    before, after, path = _FIELD_VALUES.get(field, ("old-value", "new-value", field))
    # The other inputs stay: only `field` differs.
    base = _doc(_res_of("r", type_, {"keep": "same", field: before}))
    head = _doc(_res_of("r", type_, {"keep": "same", field: after}))
    (change,) = plan.diff(base, head)
    assert (change.action, change.fields, change.forced_by) == ("replace", (path,), (path,))
    assert f"(forced by: {path})" in "\n".join(plan.render_diff([change], base, head))


def test_the_replace_table_is_the_providers_forcenew_fields() -> None:
    assert {t: set(f) for t, f in FORCE_NEW.items()} == {t: set(f) for t, f in plan.REPLACE_ON.items()}


@pytest.mark.parametrize(
    ("type_", "field"),
    [
        (QUEUE, "rateLimits"),
        (QUEUE, "desiredState"),
        ("gcp:cloudrunv2/service:Service", "template"),
        (SA, "displayName"),
        ("gcp:projects/service:Service", "disableOnDestroy"),
        ("gcp:pubsub/topic:Topic", "labels"),
        ("gcp:pubsub/subscription:Subscription", "messageRetentionDuration"),
        ("gcp:monitoring/alertPolicy:AlertPolicy", "documentation"),
        ("gcp:monitoring/dashboard:Dashboard", "dashboardJson"),
        (SLEEP, "createDuration"),  # "Updating this value by itself will not trigger a delay"
    ],
)
def test_changing_an_updatable_field_updates_in_place(type_: str, field: str) -> None:
    base = _doc(_res_of("r", type_, {field: "old-value"}))
    head = _doc(_res_of("r", type_, {field: "new-value"}))
    (change,) = plan.diff(base, head)
    assert (change.action, change.fields, change.forced_by) == ("update", (field,), ())


def test_every_type_the_stack_declares_has_its_forcenew_row() -> None:
    """A new resource type needs its row (from the provider's source), else its replacements read as updates."""
    run = run_program(
        stack_config(
            deadLetter={"enabled": True, "subscribers": ["group:ops@example.com"]},
            service={"secrets": {"DB_PASSWORD": "db-pass"}},
            queues={"a": {}},
        )
    )
    assert run.error is None, run.error
    declared = {r.type for r in run.resources if r.custom}
    assert SLEEP in declared
    assert declared <= FORCE_NEW.keys(), declared - FORCE_NEW.keys()


def test_a_project_change_replaces_the_agent_wait_by_its_triggers() -> None:
    """The Sleep's trigger (the agent's email) is new when the agent is: a replacement, not an update."""
    base = _plan_doc()
    head = _plan_doc(**{"gcp:project": "other-project"})
    changes = {c.urn: c for c in plan.diff(base, head)}
    (sleep,) = [c for c in changes.values() if c.type == SLEEP]
    (agent,) = [c for c in changes.values() if c.type == "gcp:projects/serviceIdentity:ServiceIdentity"]
    assert (agent.action, agent.forced_by) == ("replace", ("project",))
    assert (sleep.action, sleep.forced_by) == ("replace", ("triggers.agent",))


def test_a_resource_using_one_created_anew_changes_with_it() -> None:
    """Its unknown input comes from a resource created in this run (here under a new URN): not the
    value recorded from the old one."""
    name = "(known after up: auto-name of queue q-new)"
    base = _doc(_res("q-old", QUEUE, location="l"), _res("iam", Q_IAM, ("q-old",), name="q-old-1a2b3c4", role="r"))
    head = _doc(_res("q-new", QUEUE, location="l"), _res("iam", Q_IAM, ("q-new",), name=name, role="r"))
    changes = {c.urn: c for c in plan.diff(base, head)}
    assert (changes["q-old"].action, changes["q-new"].action) == ("delete", "create")
    assert (changes["iam"].action, changes["iam"].forced_by) == ("replace", ("name",))
    # Depending on a resource that stays: the same unknown name is the recorded one.
    same = _doc(_res("q-new", QUEUE, location="l"), _res("iam", Q_IAM, ("q-new",), name=name, role="r"))
    base_same = _doc(_res("q-new", QUEUE, location="l"), _res("iam", Q_IAM, ("q-new",), name="q-new-1a2b3c4", role="r"))
    assert _actions(plan.diff(base_same, same)) == {"q-new": "same", "iam": "same"}


# --- the diff's rendering, bounded for a PR comment -------------------------------------------------


def _runbook(lines: int, changed_at: int | None = None) -> str:
    return "\n".join(
        f"step {i}: {'resume by hand' if i == changed_at else 'gcloud tasks list --queue=Q --location=L'}"
        for i in range(lines)
    )


def test_a_changed_runbook_reads_as_a_short_line_diff() -> None:
    policy = "gcp:monitoring/alertPolicy:AlertPolicy"
    base = _doc(_res("p", policy, documentation={"content": _runbook(200), "mimeType": "text/markdown"}))
    head = _doc(_res("p", policy, documentation={"content": _runbook(200, changed_at=57), "mimeType": "text/markdown"}))
    lines = plan.render_diff(plan.diff(base, head), base, head)
    text = "\n".join(lines)
    assert "        documentation.content: text changed (200 → 200 lines)" in lines
    assert "          -step 57: gcloud tasks list --queue=Q --location=L" in lines
    assert "          +step 57: resume by hand" in lines
    assert "\\n" not in text  # never one escaped line
    assert "step 56" not in text  # only what changed
    assert "step 58" not in text
    assert len(lines) < 10


def test_a_rewritten_runbook_shows_a_bounded_diff_and_how_much_more() -> None:
    policy = "gcp:monitoring/alertPolicy:AlertPolicy"
    base = _doc(_res("p", policy, documentation={"content": _runbook(500)}))
    head = _doc(_res("p", policy, documentation={"content": _runbook(500, 0).upper()}))
    lines = plan.render_diff(plan.diff(base, head), base, head)
    diff_lines = [line for line in lines if line.startswith("          ")]
    assert len(diff_lines) == plan.TEXT_LINES + 1
    assert diff_lines[-1] == f"          … {2 * 500 + 1 - plan.TEXT_LINES} more diff lines"  # @@, 500 -, 500 +
    assert max(map(len, lines)) <= 2 * plan.WIDTH + 60


def test_a_long_changed_line_of_a_text_is_cut_around_where_it_changes() -> None:
    policy = "gcp:monitoring/alertPolicy:AlertPolicy"
    base = _doc(_res("p", policy, documentation={"content": "intro\n" + "a" * 500 + "OLD tail"}))
    head = _doc(_res("p", policy, documentation={"content": "intro\n" + "a" * 500 + "NEW tail"}))
    lines = plan.render_diff(plan.diff(base, head), base, head)
    minus, plus = (next(line.strip() for line in lines if line.strip().startswith(sign)) for sign in "-+")
    assert minus == "-…" + "a" * 40 + "OLD tail"
    assert plus == "+…" + "a" * 40 + "NEW tail"


def test_a_long_json_string_reads_as_a_line_diff_of_its_pretty_form() -> None:
    board = {"displayName": "d", "tiles": [{"title": f"tile {i}", "query": "q" * 40} for i in range(50)]}
    changed = {**board, "tiles": [*board["tiles"][:20], {"title": "tile 20", "query": "new"}, *board["tiles"][21:]]}
    base = _doc(_res("d", "gcp:monitoring/dashboard:Dashboard", dashboardJson=json.dumps(board)))
    head = _doc(_res("d", "gcp:monitoring/dashboard:Dashboard", dashboardJson=json.dumps(changed)))
    lines = plan.render_diff(plan.diff(base, head), base, head)
    assert any(line.strip().startswith("dashboardJson: JSON changed (") for line in lines)
    added = [line.strip()[1:].strip().rstrip(",") for line in lines if line.strip().startswith("+")]
    assert added == ['"query": "new"']  # one line of the pretty form, not the whole string
    assert max(map(len, lines)) <= 2 * plan.WIDTH + 60


def test_a_long_single_line_value_is_shown_around_its_first_difference() -> None:
    old, new = "x" * 1000 + "OLD" + "y" * 1000, "x" * 1000 + "NEW" + "y" * 1000
    base, head = _doc(_res("p", QUEUE, location="l", note=old)), _doc(_res("p", QUEUE, location="l", note=new))
    (line,) = [line for line in plan.render_diff(plan.diff(base, head), base, head) if "note:" in line]
    before, after = line.split(" → ")
    assert ("OLD" in before, "NEW" in after) == (True, True)
    assert before.endswith("(2003 chars)")
    assert len(line) <= 2 * plan.WIDTH


def test_a_thousand_shard_paths_read_as_a_count_the_first_few_and_the_last() -> None:
    paths = [f"projects/p/locations/l/queues/q-{i}" for i in range(1000)]
    base = _doc(outputs={"queues": {"a": {"paths": paths[:1]}}})
    head = _doc(outputs={"queues": {"a": {"paths": paths}}})
    lines = plan.render_diff(plan.diff(base, head), base, head)
    text = "\n".join(lines)
    assert len(text) < 2000  # not ~100 KB
    shown = [line.strip() for line in lines if "queues.a.paths" in line]
    assert shown == [
        "+ queues.a.paths[1]: projects/p/locations/l/queues/q-1",
        "+ queues.a.paths[2]: projects/p/locations/l/queues/q-2",
        "+ queues.a.paths[3]: projects/p/locations/l/queues/q-3",
        "… 995 more changed elements of queues.a.paths[…] (999 in all) …",
        "+ queues.a.paths[999]: projects/p/locations/l/queues/q-999",
    ]


def test_a_short_list_is_shown_whole_in_index_order() -> None:
    base = _doc(outputs={"paths": ["a"]})
    head = _doc(outputs={"paths": ["a", *(f"p{i}" for i in range(1, plan.LIST_SHOWN + 1))]})
    shown = [line.strip() for line in plan.render_diff([], base, head) if "paths" in line]
    assert shown == [f"+ paths[{i}]: p{i}" for i in range(1, plan.LIST_SHOWN + 1)]  # [10] after [9]


def test_many_resources_created_alike_read_as_a_count() -> None:
    head = _doc(*(_res(f"q-{i:04}", QUEUE, location="l") for i in range(1000)))
    lines = plan.render_diff(plan.diff(_doc(), head), _doc(), head)
    creates = [line for line in lines if "create" in line and "Diff:" not in line]
    assert len(creates) == 5
    assert "… 996 more to create of gcp:cloudtasks/queue:Queue (1000 in all) …" in creates[3]
    assert lines[-1] == "Diff: 1000 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged"


# --- notices ---------------------------------------------------------------------------------------


def _policy(urn: str, channels: list[str]) -> Resource:
    inputs = {"notificationChannels": channels} if channels else {}
    return Resource(urn, plan.ALERT_POLICY_TYPE, urn, "", True, inputs, inputs, ())


@pytest.mark.parametrize(
    ("channels", "pages_nobody"),
    [
        ([[], []], True),  # every policy without a channel
        ([["projects/p/notificationChannels/1"], []], False),  # one pages someone
        ([[], ["projects/p/notificationChannels/1"]], False),
        ([["projects/p/notificationChannels/1"], ["projects/p/notificationChannels/2"]], False),
        ([], False),  # no alert policies: nothing to warn about
    ],
)
def test_pages_nobody_only_when_every_policy_lacks_a_channel(channels: list[list[str]], pages_nobody: bool) -> None:
    run = Run("s", "p", resources=[_policy(f"policy-{i}", c) for i, c in enumerate(channels)])
    assert plan.pages_nobody(run) is pages_nobody


def test_an_adopted_resource_brings_the_minimum_cli_notice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adopted = {"default": {"importId": "projects/test-project/locations/europe-west1/queues/legacy"}}
    (tmp_path / "a").mkdir()
    root = _stack_dir(tmp_path / "a", "adopt", stack_file_text(queues=adopted))
    assert plan.main(["adopt"], root=root) == 0
    notices = [line for line in capsys.readouterr().out.splitlines() if "importId" in line]
    assert notices == [f"notice: {plan.import_notice(run_program(stack_config(queues=adopted)))}"]
    assert "Pulumi CLI >= 3.175.0" in notices[0]
    assert "pulumi/pulumi#19339" in notices[0]
    (tmp_path / "b").mkdir()
    root = _stack_dir(tmp_path / "b", "plain", stack_file_text(queues={"default": {}}))
    assert plan.main(["plain"], root=root) == 0
    assert "importId" not in capsys.readouterr().out


def test_a_long_output_list_is_shown_as_its_first_three_a_count_and_its_last() -> None:
    from tools.plan import LIST_SHOWN, _shortened

    paths = [f"p{i}" for i in range(1000)]
    assert _shortened(paths) == ["p0", "p1", "p2", "… 996 more (1000 in all) …", "p999"]
    at_limit = paths[:LIST_SHOWN]
    assert _shortened(at_limit) == at_limit
    assert len(_shortened(paths[: LIST_SHOWN + 1])) == 5


def test_the_shard_figures_are_the_marginal_and_whole_cpu_ratios() -> None:
    from tools.bench import shard_figures, sharded_config

    assert shard_figures({1: 1.0, 500: 3.0, 1000: 5.0}) == (1.0, 5.0)  # linear: 2 s per 499-500 shards
    assert shard_figures({1: 1.0, 500: 2.0, 1000: 4.0}) == (2.0, 4.0)  # superlinear
    full = sharded_config(1000, full=True)["config"]
    assert isinstance(full, dict)
    assert full["task-worker:queues"] == {"q": {"shards": 1000}}
    assert full["task-worker:deadLetter"]["enabled"]
    assert full["task-worker:enqueuers"]
