"""What the tests' two stacks (conftest's `small` and `full`) declare, resource by resource, and the wiring."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.conftest import FULL_ENQUEUERS, SMALL_ENQUEUERS, SMALL_PROJECT, full_config, run_ok, stack_config
from tools import plan
from tools.harness import PROJECT_NUMBER, Resource, Run

API = "gcp:projects/service:Service"
ACCOUNT = "gcp:serviceaccount/account:Account"
SERVICE = "gcp:cloudrunv2/service:Service"
RUN_IAM = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
AGENT = "gcp:projects/serviceIdentity:ServiceIdentity"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
QUEUE = "gcp:cloudtasks/queue:Queue"
QUEUE_IAM = "gcp:cloudtasks/queueIamMember:QueueIamMember"
SLEEP = "time:index/sleep:Sleep"


def accounts(run: Run) -> dict[str, Resource]:
    """Service accounts by role: the runtime one belongs to PrivateService, the invoker to TaskInvoker."""
    found = {}
    for r in run.of_type(ACCOUNT):
        role = "runtime" if "PrivateService" in r.urn else "invoker"
        found[role] = r
    assert set(found) == {"runtime", "invoker"}
    return found


def queues(run: Run) -> dict[str, Resource]:
    """Queues by config key (the component is named task-worker-<key>)."""
    return {r.name.removeprefix("task-worker-"): r for r in run.of_type(QUEUE)}


def host(uri: str) -> str:
    return uri.removeprefix("https://")


# --- inventory -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "n_queues", "n_enqueuers"),
    [("small", 1, len(SMALL_ENQUEUERS)), ("full", 2, len(FULL_ENQUEUERS))],
)
def test_inventory(request: pytest.FixtureRequest, stack: str, n_queues: int, n_enqueuers: int) -> None:
    run: Run = request.getfixturevalue(stack)
    counts = Counter(r.type for r in run.resources if r.custom)
    assert counts == {
        API: 4,  # monitoring.googleapis.com too: alerts are on by default
        ACCOUNT: 2,
        SERVICE: 1,
        RUN_IAM: 1,
        AGENT: 1,
        SLEEP: 1,  # the wait for the new agent, before its grant
        SA_IAM: 1,  # the Cloud Tasks agent only, whatever the enqueuers
        QUEUE: n_queues,
        QUEUE_IAM: n_queues * n_enqueuers,
        # The queues (at the stack's thresholds) share 3 policies, whatever their number; 3 for the service.
        "gcp:monitoring/alertPolicy:AlertPolicy": 3 + 3,
        "gcp:monitoring/dashboard:Dashboard": 1,
    }


def test_components_parent_their_resources(stack_run: Run) -> None:
    components = {r.urn: r for r in stack_run.resources if not r.custom}
    top = [r for r in components.values() if r.type == "task-worker:gcp:TaskWorker"]
    assert len(top) == 1
    for r in stack_run.resources:
        if r is top[0]:
            continue
        assert r.parent in components, f"{r.urn} is not parented to a component"
    assert {r.type for r in components.values()} == {
        "task-worker:gcp:TaskWorker",
        "task-worker:gcp:ProjectApis",
        "task-worker:gcp:PrivateService",
        "task-worker:gcp:TaskInvoker",
        "task-worker:gcp:TaskQueue",
        "task-worker:gcp:TaskWorkerMonitoring",
    }


# --- APIs --------------------------------------------------------------------------


def test_apis_enabled_and_never_disabled_on_destroy(stack_run: Run) -> None:
    apis = stack_run.of_type(API)
    assert sorted(a.inputs["service"] for a in apis) == [
        "cloudtasks.googleapis.com",
        "iam.googleapis.com",
        "monitoring.googleapis.com",
        "run.googleapis.com",
    ]
    for api in apis:
        assert api.inputs["disableOnDestroy"] is False
        assert api.inputs["project"] == stack_run.project


def test_resources_wait_for_the_api_they_need(stack_run: Run) -> None:
    api_urn = {r.inputs["service"].split(".")[0]: r.urn for r in stack_run.of_type(API)}
    assert api_urn["run"] in stack_run.one(SERVICE).dependencies
    for account in stack_run.of_type(ACCOUNT):
        assert api_urn["iam"] in account.dependencies
    assert api_urn["cloudtasks"] in stack_run.one(AGENT).dependencies
    for queue in stack_run.of_type(QUEUE):
        assert api_urn["cloudtasks"] in queue.dependencies


# --- service -----------------------------------------------------------------------


def test_service_is_private_and_runs_as_its_own_account(stack_run: Run) -> None:
    service = stack_run.one(SERVICE).inputs
    runtime = accounts(stack_run)["runtime"]
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert service["invokerIamDisabled"] is False
    assert service["template"]["serviceAccount"] == runtime.outputs["email"]
    assert not runtime.outputs["email"].endswith("-compute@developer.gserviceaccount.com")
    assert runtime.inputs["accountId"] == f"task-worker-{stack_run.stack}-run"


def test_runtime_account_gets_no_grants(stack_run: Run) -> None:
    runtime = accounts(stack_run)["runtime"]
    members = [r.inputs.get("member") for r in stack_run.resources if "member" in r.inputs]
    assert runtime.outputs["member"] not in members


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        (
            "small",
            {
                "image": "us-docker.pkg.dev/cloudrun/container/hello",
                "scaling": {"minInstanceCount": 0, "maxInstanceCount": 2},
                "concurrency": 10,
                "timeout": "600s",
                "limits": {"cpu": "1", "memory": "512Mi"},
                "envs": [{"name": "LOG_LEVEL", "value": "debug"}],
                "labels": {"managed-by": "pulumi", "stack": "small", "env": "small"},
            },
        ),
        (
            "full",
            {
                "image": "us-docker.pkg.dev/cloudrun/container/hello",
                "scaling": {"minInstanceCount": 1, "maxInstanceCount": 20},
                "concurrency": 50,
                "timeout": "900s",
                "limits": {"cpu": "2", "memory": "1Gi"},
                "envs": [{"name": "LOG_LEVEL", "value": "info"}],
                "labels": {"managed-by": "pulumi", "stack": "full", "env": "full", "team": "platform"},
            },
        ),
    ],
)
def test_service_settings(request: pytest.FixtureRequest, stack: str, expected: dict[str, Any]) -> None:
    service = request.getfixturevalue(stack).one(SERVICE).inputs
    template = service["template"]
    (container,) = template["containers"]
    assert container["image"] == expected["image"]
    assert template["scaling"] == expected["scaling"]
    assert template["maxInstanceRequestConcurrency"] == expected["concurrency"]
    assert template["timeout"] == expected["timeout"]
    assert container["resources"]["limits"] == expected["limits"]
    assert container["envs"] == expected["envs"]
    assert service["labels"] == expected["labels"]


# --- invoker -----------------------------------------------------------------------


def test_run_invoker_on_this_service_only(stack_run: Run) -> None:
    binding = stack_run.one(RUN_IAM)
    service = stack_run.one(SERVICE)
    invoker = accounts(stack_run)["invoker"]
    assert binding.inputs["role"] == "roles/run.invoker"
    assert binding.inputs["name"] == service.outputs["name"]
    assert binding.inputs["location"] == service.inputs["location"]
    assert binding.inputs["member"] == invoker.outputs["member"]
    assert invoker.inputs["accountId"] == f"task-worker-{stack_run.stack}-invoker"


ENQUEUER_SETS = [
    pytest.param([], id="none"),
    pytest.param(["serviceAccount:orders-api@test-project.iam.gserviceaccount.com"], id="one"),
    pytest.param(
        [
            "serviceAccount:orders-api@other-project.iam.gserviceaccount.com",
            "group:task-producers@example.com",
            "user:dev@example.com",
        ],
        id="three-kinds",
    ),
]


@pytest.mark.parametrize("enqueuers", ENQUEUER_SETS)
def test_only_the_cloud_tasks_agent_may_mint_invoker_tokens(enqueuers: list[str]) -> None:
    run = run_ok(stack_config(enqueuers=enqueuers))
    invoker = accounts(run)["invoker"]
    agent = run.one(AGENT)
    assert agent.inputs == {"project": "test-project", "service": "cloudtasks.googleapis.com"}
    (grant,) = run.of_type(SA_IAM)
    assert grant.inputs == {
        "serviceAccountId": invoker.outputs["name"],
        "role": "roles/iam.serviceAccountOpenIdTokenCreator",
        "member": f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-cloudtasks.iam.gserviceaccount.com",
    }
    assert grant.inputs["member"] == agent.outputs["member"]


@pytest.mark.parametrize("enqueuers", ENQUEUER_SETS)
def test_enqueuers_get_nothing_on_the_invoker_account(enqueuers: list[str]) -> None:
    run = run_ok(stack_config(enqueuers=enqueuers, queues={"default": {}, "bulk": {}}))
    invoker = accounts(run)["invoker"].outputs
    for r in run.resources:
        granted = [r.inputs.get("member"), *r.inputs.get("members", [])]
        on_invoker = invoker["email"] in json.dumps(r.inputs) and "iam" in r.type.lower()
        if on_invoker or r.type.startswith("gcp:serviceaccount/"):
            assert not set(enqueuers) & set(granted), r.urn
    # Enqueuers hold exactly one thing: the enqueuer role on each queue.
    held = sorted((b.inputs["member"], b.inputs["role"]) for b in run.resources if b.inputs.get("member") in enqueuers)
    assert held == sorted((m, "roles/cloudtasks.enqueuer") for m in enqueuers for _ in range(2))


def test_the_agent_grant_waits_for_the_new_agent() -> None:
    run = run_ok(stack_config())
    agent, sleep, (grant,) = run.one(AGENT), run.one(SLEEP), run.of_type(SA_IAM)
    assert sleep.inputs == {"createDuration": "30s", "triggers": {"agent": agent.outputs["email"]}}
    assert agent.urn in sleep.dependencies
    assert sleep.urn in grant.dependencies
    assert sleep.parent == grant.parent == run.one("task-worker:gcp:TaskInvoker").urn


def test_the_wait_is_off_the_critical_path() -> None:
    # API -> agent -> wait -> grant is 4 deep; API -> account -> service -> queue -> queue IAM is 5.
    run = run_ok(stack_config(enqueuers=["group:task-producers@example.com"]))
    assert plan.critical_path(run.resources) == plan.CRITICAL_PATH_FLOOR == 5
    without_wait = [r for r in run.resources if r.type != SLEEP]
    assert plan.critical_path(without_wait) == 5


# --- queues ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "key", "rate_limits", "retry", "sampling", "path"),
    [
        (
            "small",
            "default",
            {"maxDispatchesPerSecond": 1, "maxConcurrentDispatches": 5},
            {"maxAttempts": 5, "minBackoff": "1s", "maxBackoff": "60s", "maxDoublings": 3, "maxRetryDuration": "3600s"},
            1.0,
            "/tasks",
        ),
        (
            "full",
            "default",
            {"maxDispatchesPerSecond": 50, "maxConcurrentDispatches": 500},
            {
                "maxAttempts": 20,
                "minBackoff": "1s",
                "maxBackoff": "300s",
                "maxDoublings": 5,
                "maxRetryDuration": "86400s",
            },
            0.1,
            "/tasks",
        ),
        (
            "full",
            "bulk",
            {"maxDispatchesPerSecond": 5, "maxConcurrentDispatches": 100},
            {
                "maxAttempts": -1,
                "minBackoff": "10s",
                "maxBackoff": "3600s",
                "maxDoublings": 8,
                "maxRetryDuration": "0s",
            },
            0.05,
            "/tasks/bulk",
        ),
    ],
)
def test_queue_settings(
    request: pytest.FixtureRequest,
    stack: str,
    key: str,
    rate_limits: dict[str, Any],
    retry: dict[str, Any],
    sampling: float,
    path: str,
) -> None:
    queue = queues(request.getfixturevalue(stack))[key].inputs
    assert queue["rateLimits"] == rate_limits  # no maxBurstSize: output-only
    assert queue["retryConfig"] == retry
    assert queue["stackdriverLoggingConfig"] == {"samplingRatio": sampling}
    assert queue["desiredState"] == "RUNNING"
    assert queue["httpTarget"]["uriOverride"]["pathOverride"] == {"path": path}
    assert "name" not in queue  # auto-named: a deleted queue's name is blocked for days


def test_queue_target_comes_from_service_and_invoker(stack_run: Run) -> None:
    service = stack_run.one(SERVICE)
    invoker = accounts(stack_run)["invoker"]
    uri = service.outputs["uri"]
    assert uri.startswith("https://")
    for queue in stack_run.of_type(QUEUE):
        target = queue.inputs["httpTarget"]
        assert target["httpMethod"] == "POST"
        assert target["uriOverride"]["scheme"] == "HTTPS"
        assert target["uriOverride"]["host"] == host(uri)
        assert target["oidcToken"] == {"serviceAccountEmail": invoker.outputs["email"], "audience": uri}
        assert "oauthToken" not in target
        assert service.urn in queue.dependencies
        assert invoker.urn in queue.dependencies


@pytest.mark.parametrize(("stack", "enqueuers"), [("small", SMALL_ENQUEUERS), ("full", FULL_ENQUEUERS)])
def test_enqueuers_on_each_queue(request: pytest.FixtureRequest, stack: str, enqueuers: list[str]) -> None:
    run: Run = request.getfixturevalue(stack)
    bindings = run.of_type(QUEUE_IAM)
    for queue in run.of_type(QUEUE):
        on_queue = [b for b in bindings if b.inputs["name"] == queue.outputs["name"]]
        assert sorted(b.inputs["member"] for b in on_queue) == sorted(enqueuers)
        for b in on_queue:
            assert b.inputs["role"] == "roles/cloudtasks.enqueuer"
            assert b.inputs["location"] == queue.inputs["location"]
            assert b.inputs["project"] == queue.inputs["project"]


def test_queues_never_wait_for_each_other(full: Run) -> None:
    urns = {q.urn for q in full.of_type(QUEUE)}
    assert len(urns) == 2
    for queue in full.of_type(QUEUE):
        assert not urns & set(queue.dependencies)


# --- one location, least privilege, no invokes ----------------------------------------


def test_everything_in_one_location(stack_run: Run) -> None:
    located = [r for r in stack_run.resources if "location" in r.inputs]
    assert len(located) >= 3
    assert {r.inputs["location"] for r in located} == {"europe-west1"}


def test_every_resource_names_the_project(stack_run: Run) -> None:
    for r in stack_run.resources:
        # A service-account grant is scoped by the account's full name; a wait has no project.
        if r.custom and r.type not in (SA_IAM, SLEEP):
            assert r.inputs["project"] == stack_run.project, r.urn


def test_no_public_member_no_project_iam_no_keys_no_invokes(stack_run: Run) -> None:
    for r in stack_run.resources:
        assert r.inputs.get("member") not in {"allUsers", "allAuthenticatedUsers"}
        assert not r.type.startswith(("gcp:projects/iAM", "gcp:organizations/iAM", "gcp:folder/iAM"))
        assert r.type != "gcp:serviceaccount/key:Key"
    assert stack_run.invokes == []


@pytest.mark.parametrize(("stack", "protected"), [("small", False), ("full", True)])
def test_deletion_settings(request: pytest.FixtureRequest, stack: str, protected: bool) -> None:
    run: Run = request.getfixturevalue(stack)
    assert run.one(SERVICE).inputs["deletionProtection"] is protected
    for queue in run.of_type(QUEUE):
        assert queue.inputs["deletionPolicy"] == ("PREVENT" if protected else "DELETE")


# --- outputs -----------------------------------------------------------------------


def test_outputs(stack_run: Run) -> None:
    service = stack_run.one(SERVICE)
    acc = accounts(stack_run)
    out = stack_run.exports
    assert out["project"] == stack_run.project
    assert out["location"] == "europe-west1"
    assert out["serviceName"] == service.outputs["name"]
    assert out["serviceUrl"] == service.outputs["uri"]
    assert out["audience"] == service.outputs["uri"]
    assert out["invokerEmail"] == acc["invoker"].outputs["email"]
    assert out["runtimeEmail"] == acc["runtime"].outputs["email"]
    by_key = queues(stack_run)
    assert set(out["queues"]) == set(by_key)
    for key, queue in by_key.items():
        path = f"projects/{stack_run.project}/locations/europe-west1/queues/{queue.outputs['name']}"
        assert out["queues"][key] == {
            "path": path,
            "paths": [path],
            "targetPath": queue.inputs["httpTarget"]["uriOverride"]["pathOverride"]["path"],
        }
    # The producer library sets each task's dispatch deadline to this (issue 7 §2).
    assert out["timeoutSeconds"] == int(service.inputs["template"]["timeout"].removesuffix("s"))


# --- defaults, secrets, warnings -----------------------------------------------------


def test_defaults_when_keys_are_absent() -> None:
    run = run_ok(stack_config())
    service = run.one(SERVICE).inputs
    template = service["template"]
    assert template["containers"][0]["image"] == "us-docker.pkg.dev/cloudrun/container/hello"
    assert template["timeout"] == "600s"  # outlasts Cloud Tasks' 10-minute dispatch deadline
    assert template["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 10}
    assert template["maxInstanceRequestConcurrency"] == 80
    assert "envs" not in template["containers"][0]
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert service["deletionProtection"] is True
    assert service["labels"] == {"managed-by": "pulumi", "stack": "test"}
    (queue,) = run.of_type(QUEUE)
    assert queue.name == "task-worker-default"
    assert queue.inputs["httpTarget"]["uriOverride"]["pathOverride"] == {"path": "/"}
    assert queue.inputs["rateLimits"] == {"maxDispatchesPerSecond": 10, "maxConcurrentDispatches": 100}
    assert queue.inputs["retryConfig"] == {
        "maxAttempts": 100,
        "minBackoff": "0.1s",
        "maxBackoff": "3600s",
        "maxDoublings": 16,
        "maxRetryDuration": "0s",
    }
    assert queue.inputs["deletionPolicy"] == "PREVENT"
    assert run.of_type(QUEUE_IAM) == []
    assert [g.inputs["member"] for g in run.of_type(SA_IAM)] == [run.one(AGENT).outputs["member"]]
    assert run.warnings == []


def test_location_overrides_region_and_ingress_option() -> None:
    run = run_ok(
        stack_config(location="us-central1", service={"ingress": "internal-and-cloud-load-balancing"}),
    )
    located = [r for r in run.resources if "location" in r.inputs]
    assert {r.inputs["location"] for r in located} == {"us-central1"}
    assert run.one(SERVICE).inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"


def test_paused_queue() -> None:
    run = run_ok(stack_config(queues={"slow": {"paused": True}}))
    assert run.one(QUEUE).inputs["desiredState"] == "PAUSED"


def test_secret_service_config_keeps_env_secret() -> None:
    config = stack_config(
        service={"env": {"API_KEY": "s3cr3t"}},
        secret_keys=frozenset({"task-worker:service"}),
    )
    run = run_ok(config)
    (env,) = run.one(SERVICE).inputs["template"]["containers"][0]["envs"]
    assert env == {"name": "API_KEY", "value": "[secret]"}


def test_capacity_warning() -> None:
    run = run_ok(
        stack_config(
            service={"maxInstances": 2, "concurrency": 10}, queues={"default": {"maxConcurrentDispatches": 50}}
        )
    )
    (warning,) = run.warnings
    assert "task-worker:queues.default.maxConcurrentDispatches (50)" in warning
    assert "2 × 10 = 20" in warning


def test_two_stacks_can_share_a_project(small: Run) -> None:
    neighbour = run_ok(full_config(**{"gcp:project": SMALL_PROJECT}))
    assert neighbour.project == small.project
    ours, theirs = ({a.inputs["accountId"] for a in run.of_type(ACCOUNT)} for run in (small, neighbour))
    assert len(ours) == len(theirs) == 2
    assert not ours & theirs
