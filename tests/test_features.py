"""Secrets from Secret Manager, Direct VPC egress, probes, named and adopted queues (issue 8, §2–4).

Limits from Google: run.v2 discovery document (GoogleCloudRunV2Probe, VpcAccess, SecretKeySelector),
Cloud Run "Configure container health checks" (startup: failureThreshold × periodSeconds ≤ 240 s;
liveness: HTTP or gRPC only), Cloud Tasks queue ID rule (letters, digits, hyphens, 1–100).
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.rules import RULES, ResourceView, check
from tests.conformance import check_queue, check_service
from tests.conftest import run_ok, stack_config
from tests.test_limits import problems
from tools.plan import make_plan, to_json, tree

NS = "task-worker:"
SERVICE = "gcp:cloudrunv2/service:Service"
QUEUE = "gcp:cloudtasks/queue:Queue"
SECRET_IAM = "gcp:secretmanager/secretIamMember:SecretIamMember"
HERE = "projects/test-project/locations/europe-west1"


def service(**fields: Any) -> dict[str, str]:
    return problems(service=fields)


# --- limits: at the limit accepted, one past refused (by key) --------------------------------------

EDGES: list[tuple[dict[str, Any], str | None]] = [
    ({"secrets": {"DB": "db-pass"}}, None),
    ({"secrets": {"DB": "projects/other-proj/secrets/db"}}, None),
    ({"secrets": {"DB": {"secret": "db", "version": "3"}}}, None),
    ({"secrets": {"DB": "a" * 255}}, None),
    ({"secrets": {"DB": "a" * 256}}, "service.secrets.DB.secret"),
    ({"secrets": {"DB": "db pass"}}, "service.secrets.DB.secret"),
    ({"secrets": {"DB": {"secret": "db", "version": "0"}}}, "service.secrets.DB.version"),
    ({"secrets": {"PORT": "db"}}, "service.secrets.PORT"),
    ({"env": {"DB": "x"}, "secrets": {"DB": "db"}}, "service.secrets.DB"),
    ({"vpc": {"network": "default"}}, None),
    ({"vpc": {"subnetwork": f"projects/host-proj/regions/europe-west1/subnetworks/s{'a' * 62}"}}, None),
    (
        {"vpc": {"subnetwork": f"projects/host-proj/regions/europe-west1/subnetworks/s{'a' * 63}"}},
        "service.vpc.subnetwork",
    ),
    ({"vpc": {"subnetwork": "projects/host-proj/regions/us-east1/subnetworks/s"}}, "service.vpc.subnetwork"),
    ({"vpc": {}}, "service.vpc.network"),
    ({"vpc": {"network": "n", "egress": "ALL_TRAFFIC"}}, None),
    ({"vpc": {"network": "n", "egress": "ALL"}}, "service.vpc.egress"),
    (
        {
            "vpc": {
                "network": "projects/a-proj/global/networks/n",
                "subnetwork": "projects/b-proj/regions/europe-west1/subnetworks/s",
            }
        },
        "service.vpc.subnetwork",
    ),
    ({"startupProbe": {"periodSeconds": 240, "timeoutSeconds": 240, "failureThreshold": 1}}, None),
    ({"startupProbe": {"periodSeconds": 241, "failureThreshold": 1}}, "service.startupProbe.periodSeconds"),
    ({"startupProbe": {"periodSeconds": 10, "failureThreshold": 24}}, None),
    ({"startupProbe": {"periodSeconds": 10, "failureThreshold": 25}}, "service.startupProbe.failureThreshold"),
    ({"startupProbe": {"initialDelaySeconds": 240}}, None),
    ({"startupProbe": {"initialDelaySeconds": 241}}, "service.startupProbe.initialDelaySeconds"),
    ({"startupProbe": {"periodSeconds": 5, "timeoutSeconds": 5}}, None),
    ({"startupProbe": {"periodSeconds": 5, "timeoutSeconds": 6}}, "service.startupProbe.timeoutSeconds"),
    ({"startupProbe": {"port": 65535}}, None),
    ({"startupProbe": {"port": 65536}}, "service.startupProbe.port"),
    ({"livenessProbe": {"httpPath": "/l", "periodSeconds": 3600, "initialDelaySeconds": 3600}}, None),
    ({"livenessProbe": {"httpPath": "/l", "periodSeconds": 3601}}, "service.livenessProbe.periodSeconds"),
    ({"livenessProbe": {"port": 8080}}, "service.livenessProbe.httpPath"),
    ({"importId": f"{HERE}/services/worker"}, None),
    ({"importId": "projects/test-project/locations/us-east1/services/worker"}, "service.importId"),
]


@pytest.mark.parametrize(("fields", "refused"), EDGES)
def test_service_edges(fields: dict[str, Any], refused: str | None) -> None:
    found = service(**fields)
    if refused is None:
        assert found == {}
    else:
        assert NS + refused in found, found


QUEUE_EDGES: list[tuple[dict[str, Any], str | None]] = [
    ({"name": "a" * 100}, None),
    ({"name": "a" * 101}, "queues.q.name"),
    ({"name": "My-Queue-1"}, None),
    ({"name": "my_queue"}, "queues.q.name"),
    ({"importId": f"{HERE}/queues/old"}, None),
    ({"importId": f"{HERE}/queues/old", "name": "old"}, None),
    ({"importId": f"{HERE}/queues/old", "name": "new"}, "queues.q.importId"),
    ({"importId": "projects/other-proj/locations/europe-west1/queues/old"}, "queues.q.importId"),
]


@pytest.mark.parametrize(("fields", "refused"), QUEUE_EDGES)
def test_queue_edges(fields: dict[str, Any], refused: str | None) -> None:
    found = problems(queues={"q": fields})
    if refused is None:
        assert found == {}
    else:
        assert NS + refused in found, found


def test_two_queues_may_not_share_an_id() -> None:
    found = problems(queues={"a": {"name": "jobs"}, "b": {"importId": f"{HERE}/queues/jobs"}})
    assert NS + "queues.b.name" in found


@pytest.mark.parametrize(
    ("accounts", "refused"),
    [
        (
            {
                "runtime": {
                    "importId": "projects/test-project/serviceAccounts/rt-acct@test-project.iam.gserviceaccount.com"
                }
            },
            None,
        ),
        (
            {"runtime": {"importId": "projects/other-proj/serviceAccounts/rt-acct@other-proj.iam.gserviceaccount.com"}},
            "accounts.runtime.importId",
        ),
        (
            {"invoker": {"importId": "projects/test-project/serviceAccounts/a@test-project.iam.gserviceaccount.com"}},
            "accounts.invoker.importId",
        ),
    ],
)
def test_account_import_ids(accounts: dict[str, Any], refused: str | None) -> None:
    found = problems(accounts=accounts)
    assert (found == {}) if refused is None else (NS + refused in found), found


# --- rendering ------------------------------------------------------------------------------------

FEATURES = {
    "service": {
        "secrets": {
            "DB_PASSWORD": "db-pass",
            "API_KEY": {"secret": "projects/shared-proj/secrets/api", "version": "4"},
            "DB2": "db-pass",
        },
        "vpc": {"subnetwork": "projects/host-proj/regions/europe-west1/subnetworks/workers", "egress": "ALL_TRAFFIC"},
        "startupProbe": {"httpPath": "/ready", "periodSeconds": 5, "failureThreshold": 12},
        "livenessProbe": {"httpPath": "/live", "periodSeconds": 30, "timeoutSeconds": 3},
        "importId": f"{HERE}/services/worker",
    },
    "queues": {"named": {"name": "image-resize"}, "adopted": {"importId": f"{HERE}/queues/legacy"}, "auto": {}},
    "accounts": {
        "invoker": {
            "importId": "projects/test-project/serviceAccounts/tasks-invoker@test-project.iam.gserviceaccount.com"
        }
    },
}


@pytest.fixture(scope="module")
def featured():
    return run_ok(stack_config(**FEATURES))


def test_secrets_render_as_secret_key_refs(featured) -> None:
    envs = {e["name"]: e for e in featured.one(SERVICE).inputs["template"]["containers"][0]["envs"]}
    assert envs["DB_PASSWORD"]["valueSource"]["secretKeyRef"] == {"secret": "db-pass", "version": "latest"}
    assert envs["API_KEY"]["valueSource"]["secretKeyRef"] == {
        "secret": "projects/shared-proj/secrets/api",
        "version": "4",
    }
    assert all("value" not in e for e in envs.values())


def test_accessor_on_each_secret_once_and_service_waits_for_it(featured) -> None:
    grants = featured.of_type(SECRET_IAM)
    assert sorted((g.inputs["project"], g.inputs["secretId"]) for g in grants) == [
        ("shared-proj", "api"),
        ("test-project", "db-pass"),
    ]
    runtime = featured.one(SERVICE).inputs["template"]["serviceAccount"]
    assert {g.inputs["member"] for g in grants} == {f"serviceAccount:{runtime}"}
    assert {g.inputs["role"] for g in grants} == {"roles/secretmanager.secretAccessor"}
    assert {g.urn for g in grants} <= set(featured.one(SERVICE).dependencies)


def test_secret_manager_api_only_when_secrets_are_used(featured) -> None:
    apis = lambda run: {r.inputs["service"] for r in run.of_type("gcp:projects/service:Service")}  # noqa: E731
    assert "secretmanager.googleapis.com" in apis(featured)
    assert "secretmanager.googleapis.com" not in apis(run_ok(stack_config()))


def test_vpc_and_probes_render(featured) -> None:
    template = featured.one(SERVICE).inputs["template"]
    assert template["vpcAccess"] == {
        "egress": "ALL_TRAFFIC",
        "networkInterfaces": [{"subnetwork": "projects/host-proj/regions/europe-west1/subnetworks/workers"}],
    }
    container = template["containers"][0]
    assert container["startupProbe"]["httpGet"] == {"path": "/ready"}
    assert container["startupProbe"]["failureThreshold"] == 12
    assert container["livenessProbe"]["httpGet"] == {"path": "/live"}
    assert container["livenessProbe"]["timeoutSeconds"] == 3


def test_defaults_leave_vpc_and_probes_to_cloud_run() -> None:
    container = run_ok(stack_config()).one(SERVICE).inputs["template"]
    assert "vpcAccess" not in container
    assert not {"startupProbe", "livenessProbe"} & set(container["containers"][0])


def test_tcp_startup_probe() -> None:
    run = run_ok(stack_config(service={"startupProbe": {"port": 8080}}))
    probe = run.one(SERVICE).inputs["template"]["containers"][0]["startupProbe"]
    assert probe["tcpSocket"] == {"port": 8080}
    assert "httpGet" not in probe


def test_named_adopted_and_auto_queues(featured) -> None:
    queues = {q.name: q for q in featured.of_type(QUEUE)}
    assert queues["task-worker-named"].inputs["name"] == "image-resize"
    assert queues["task-worker-named"].import_id == ""
    assert queues["task-worker-adopted"].inputs["name"] == "legacy"
    assert queues["task-worker-adopted"].import_id == f"{HERE}/queues/legacy"
    assert "name" not in queues["task-worker-auto"].inputs


def test_adopted_service_and_account_are_imported_under_their_names(featured) -> None:
    svc = featured.one(SERVICE)
    assert svc.import_id == f"{HERE}/services/worker"
    assert svc.inputs["name"] == "worker"
    accounts = {r.name: r for r in featured.of_type("gcp:serviceaccount/account:Account")}
    invoker = accounts["task-worker-invoker"]
    assert invoker.inputs["accountId"] == "tasks-invoker"
    assert invoker.import_id.endswith("tasks-invoker@test-project.iam.gserviceaccount.com")
    assert accounts["task-worker-service-runtime"].import_id == ""


def test_plan_shows_imports_and_passes_policy(featured) -> None:
    lines = "\n".join(tree(featured))
    assert f"import={HERE}/queues/legacy" in lines
    assert f"import={HERE}/services/worker" in lines
    assert '"import": "projects/test-project/locations/europe-west1/queues/legacy"' in to_json(make_plan(featured))
    assert make_plan(featured).mandatory == []


def test_rendered_inputs_conform_to_google(featured) -> None:
    assert check_service(featured.one(SERVICE).inputs) == []
    for q in featured.of_type(QUEUE):
        assert check_queue(q.inputs) == [], q.urn


# --- policy rules: each fails on its case -----------------------------------------------------------


def _rule(name: str):
    return next(r for r in RULES if r.name == name)


def test_secret_accessor_never_project_wide() -> None:
    wide = ResourceView(
        "urn:wide",
        "gcp:projects/iAMMember:IAMMember",
        {
            "project": "p",
            "role": "roles/secretmanager.secretAccessor",
            "member": "serviceAccount:a@p.iam.gserviceaccount.com",
        },
    )
    narrow = ResourceView(
        "urn:ok",
        SECRET_IAM,
        {
            "secretId": "s",
            "role": "roles/secretmanager.secretAccessor",
            "member": "serviceAccount:a@p.iam.gserviceaccount.com",
        },
    )
    found = [v for v in check([wide, narrow]) if v.rule == "secret-accessor-on-secret-only"]
    assert [v.urn for v in found] == ["urn:wide"]
    assert _rule("secret-accessor-on-secret-only").mandatory


@pytest.mark.parametrize(
    ("vpc", "bad"),
    [
        ({"egress": "PRIVATE_RANGES_ONLY", "networkInterfaces": [{"network": "n"}]}, False),
        ({"networkInterfaces": [{"network": "n"}]}, True),
        ({"egress": "ALL", "networkInterfaces": [{"network": "n"}]}, True),
        ({"egress": "ALL_TRAFFIC", "connector": "projects/p/locations/l/connectors/c"}, True),
        ({"egress": "ALL_TRAFFIC", "networkInterfaces": []}, True),
    ],
)
def test_vpc_egress_explicit(vpc: dict[str, Any], bad: bool) -> None:
    view = ResourceView("urn:svc", SERVICE, {"template": {"vpcAccess": vpc}})
    found = [v for v in check([view]) if v.rule == "cloud-run-vpc-egress-explicit"]
    assert bool(found) is bad
