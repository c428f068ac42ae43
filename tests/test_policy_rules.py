"""policy/rules.py and its pulumi-policy adapter (policy/pack.py).

Each mandatory rule refuses a violating resource and passes the compliant one; values the engine
cannot know yet (None, the engine's unknown sentinels) are never flagged; the pack's adapter is
exercised with pulumi-policy's own args and proxies, and once over gRPC against the real pack
process. policy/__main__.py is never imported here: PolicyPack() blocks.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy import pack, rules
from policy.rules import ResourceView, Violation, check
from tests.conftest import run_ok, stack_config
from tests.test_policy_dead_letter import DEAD_LETTER_RULES
from tools import plan

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
DELETE = object()  # marks a key to remove in `patched`

RUN_V2 = "gcp:cloudrunv2/service:Service"
RUN_V1 = "gcp:cloudrun/service:Service"
QUEUE = "gcp:cloudtasks/queue:Queue"
API = "gcp:projects/service:Service"
SERVICE_IAM = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
SERVICE_IAM_BINDING = "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding"
RUN_V1_IAM = "gcp:cloudrun/iamMember:IamMember"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
SA_IAM_BINDING = "gcp:serviceaccount/iAMBinding:IAMBinding"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
PROJECT_POLICY = "gcp:projects/iAMPolicy:IAMPolicy"
FOLDER_IAM = "gcp:folder/iAMMember:IAMMember"
ORG_IAM = "gcp:organizations/iAMMember:IAMMember"
QUEUE_IAM = "gcp:cloudtasks/queueIamMember:QueueIamMember"
SA = "gcp:serviceaccount/account:Account"
SA_KEY = "gcp:serviceaccount/key:Key"

INVOKER = "serviceAccount:tw-prod-invoker@p.iam.gserviceaccount.com"
RUNTIME = "tw-prod-run@p.iam.gserviceaccount.com"
HOST = "svc-abc-ew.a.run.app"
AGENT = "serviceAccount:service-1@gcp-sa-cloudtasks.iam.gserviceaccount.com"
INVOKER_ID = "projects/p/serviceAccounts/tw-prod-invoker@p.iam.gserviceaccount.com"


# --- Building resources -------------------------------------------------------------------------


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::task-worker::{type_}::{name}"


def view(type_: str, props: dict[str, Any], name: str = "r") -> ResourceView:
    return ResourceView(urn=urn(type_, name), type=type_, props=props)


def patched(props: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy with dotted paths (given as a__b) set, or removed when the value is DELETE."""
    result = copy.deepcopy(props)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def service_props(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "location": "europe-west1",
        "project": "p",
        "ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "invokerIamDisabled": False,
        "deletionProtection": True,
        "labels": {"app": "task-worker"},
        "uri": f"https://{HOST}",
        "template": {
            "serviceAccount": RUNTIME,
            "timeout": "600s",
            "maxInstanceRequestConcurrency": 80,
            "scaling": {"minInstanceCount": 0, "maxInstanceCount": 10},
            "containers": [
                {
                    "image": "europe-west1-docker.pkg.dev/p/tw/worker:1",
                    "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
                    "envs": [{"name": "A", "value": "b"}],
                }
            ],
        },
    }
    return patched(base, **changes)


def queue_props(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "location": "europe-west1",
        "project": "p",
        "deletionPolicy": "PREVENT",
        "desiredState": "RUNNING",
        "rateLimits": {"maxDispatchesPerSecond": 5.0, "maxConcurrentDispatches": 10},
        "retryConfig": {
            "maxAttempts": 5,
            "minBackoff": "1s",
            "maxBackoff": "60s",
            "maxDoublings": 4,
            "maxRetryDuration": "0s",
        },
        "stackdriverLoggingConfig": {"samplingRatio": 0.1},
        "httpTarget": {
            "httpMethod": "POST",
            "uriOverride": {"scheme": "HTTPS", "host": HOST, "pathOverride": {"path": "/tasks"}},
            "oidcToken": {
                "serviceAccountEmail": INVOKER.removeprefix("serviceAccount:"),
                "audience": f"https://{HOST}",
            },
        },
    }
    return patched(base, **changes)


def iam(type_: str, role: str, member: str | dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"role": role, **extra}
    if member is not None:
        props["member"] = member
    return props


def policy_data(*bindings: tuple[str, list[str]]) -> str:
    return json.dumps({"bindings": [{"role": r, "members": m} for r, m in bindings]})


def compliant_stack() -> list[ResourceView]:
    """What task-worker renders, reduced to what the rules read."""
    return [
        view(API, {"service": "run.googleapis.com", "project": "p", "disableOnDestroy": False}, "run-api"),
        view(SA, {"accountId": "tw-prod-run", "displayName": "runtime", "project": "p"}, "runtime"),
        view(SA, {"accountId": "tw-prod-invoker", "displayName": "invoker", "project": "p"}, "invoker"),
        view(RUN_V2, service_props(), "svc"),
        view(
            SERVICE_IAM,
            iam(SERVICE_IAM, "roles/run.invoker", INVOKER, name="svc", location="europe-west1", project="p"),
            "invoke",
        ),
        view(
            SA_IAM,
            iam(
                SA_IAM,
                "roles/iam.serviceAccountOpenIdTokenCreator",
                AGENT,
                serviceAccountId=INVOKER_ID,
            ),
            "agent-token-creator",
        ),
        view(
            PROJECT_IAM, iam(PROJECT_IAM, "roles/logging.logWriter", f"serviceAccount:{RUNTIME}", project="p"), "logs"
        ),
        view(QUEUE, queue_props(), "q"),
        view(QUEUE_IAM, iam(QUEUE_IAM, "roles/cloudtasks.enqueuer", "group:ops@example.com", name="q"), "enqueue"),
    ]


def rule_violations(resources: list[ResourceView], rule: str) -> list[Violation]:
    return [v for v in check(resources) if v.rule == rule]


# --- Every mandatory rule: a violating resource is refused --------------------------------------

VIOLATING = [
    # 1. no public members, on member, members or inside policyData
    pytest.param(
        "no-public-members", view(SERVICE_IAM, iam(SERVICE_IAM, "roles/run.invoker", "allUsers")), ["allUsers"]
    ),
    pytest.param(
        "no-public-members",
        view(QUEUE_IAM, {"role": "roles/cloudtasks.viewer", "members": ["user:a@b.c", "allAuthenticatedUsers"]}),
        ["allAuthenticatedUsers"],
        id="members",
    ),
    pytest.param(
        "no-public-members",
        view(PROJECT_POLICY, {"project": "p", "policyData": policy_data(("roles/run.invoker", ["allUsers"]))}),
        ["allUsers"],
        id="policyData",
    ),
    pytest.param(
        "no-public-members",
        view(SERVICE_IAM, iam(SERVICE_IAM, "roles/run.invoker", {**SECRET, "value": "allUsers"})),
        ["allUsers"],
        id="secret-member",
    ),
    # 2. private ingress, invoker IAM on
    pytest.param(
        "private-cloud-run-ingress",
        view(RUN_V2, service_props(ingress="INGRESS_TRAFFIC_ALL")),
        ["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY"],
        id="ingress-all",
    ),
    pytest.param(
        "private-cloud-run-ingress",
        view(RUN_V2, service_props(ingress=DELETE)),
        ["unset", "INGRESS_TRAFFIC_ALL"],
        id="ingress-unset",
    ),
    pytest.param(
        "private-cloud-run-ingress",
        view(RUN_V2, service_props(invokerIamDisabled=True)),
        ["invokerIamDisabled is true"],
        id="invoker-iam-disabled",
    ),
    pytest.param(
        "private-cloud-run-ingress",
        view(RUN_V1, {"location": "europe-west1", "metadata": {"annotations": {"run.googleapis.com/ingress": "all"}}}),
        ['"all"', "internal"],
        id="v1-all",
    ),
    # 3. run.invoker only on a service, only to service accounts
    pytest.param(
        "run-invoker-scope",
        view(PROJECT_IAM, iam(PROJECT_IAM, "roles/run.invoker", INVOKER, project="p")),
        ["project-wide", "gcp:cloudrunv2/serviceIamMember"],
        id="project",
    ),
    pytest.param(
        "run-invoker-scope",
        view(FOLDER_IAM, iam(FOLDER_IAM, "roles/run.invoker", INVOKER, folder="folders/1")),
        ["project-wide or wider"],
        id="folder",
    ),
    pytest.param(
        "run-invoker-scope",
        view(PROJECT_POLICY, {"project": "p", "policyData": policy_data(("roles/run.invoker", [INVOKER]))}),
        ["project-wide"],
        id="project-policyData",
    ),
    pytest.param(
        "run-invoker-scope",
        view(SERVICE_IAM, iam(SERVICE_IAM, "roles/run.invoker", "user:dev@example.com")),
        ["user:dev@example.com", "serviceAccount:"],
        id="user-member",
    ),
    pytest.param(
        "run-invoker-scope",
        view(SERVICE_IAM_BINDING, {"role": "roles/run.invoker", "members": [INVOKER, "group:g@example.com"]}),
        ["group:g@example.com"],
        id="binding-group",
    ),
    # 4. no service account keys
    pytest.param(
        "no-service-account-keys",
        view(SA_KEY, {"serviceAccountId": "tw-prod-run"}),
        ["gcp:serviceaccount/key:Key"],
        id="key",
    ),
    # 5. named runtime service account
    pytest.param(
        "cloud-run-named-service-account",
        view(RUN_V2, service_props(template__serviceAccount=DELETE)),
        ["template.serviceAccount is unset"],
        id="unset",
    ),
    pytest.param(
        "cloud-run-named-service-account",
        view(RUN_V2, service_props(template__serviceAccount="123-compute@developer.gserviceaccount.com")),
        ["123-compute@developer.gserviceaccount.com", "named service account"],
        id="default-compute",
    ),
    # 6. OIDC http target
    pytest.param(
        "queue-oidc-http-target", view(QUEUE, queue_props(httpTarget=DELETE)), ["no httpTarget"], id="no-target"
    ),
    pytest.param(
        "queue-oidc-http-target",
        view(QUEUE, queue_props(httpTarget__oidcToken=DELETE)),
        ["no oidcToken"],
        id="no-oidc",
    ),
    pytest.param(
        "queue-oidc-http-target",
        view(QUEUE, queue_props(httpTarget__oidcToken__audience=DELETE)),
        ["oidcToken.audience is unset"],
        id="no-audience",
    ),
    pytest.param(
        "queue-oidc-http-target",
        view(QUEUE, queue_props(httpTarget__oidcToken__serviceAccountEmail="")),
        ["oidcToken.serviceAccountEmail is unset"],
        id="empty-email",
    ),
    pytest.param(
        "queue-oidc-http-target",
        view(QUEUE, queue_props(httpTarget__oauthToken={"serviceAccountEmail": "x@p.iam.gserviceaccount.com"})),
        ["oauthToken", HOST, "oidcToken"],
        id="oauth-to-run-app",
    ),
    # 7. queue limits
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(rateLimits__maxDispatchesPerSecond=900.0)),
        ["maxDispatchesPerSecond is 900", "at most 500"],
        id="dispatches-900",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(rateLimits__maxDispatchesPerSecond=0)),
        ["maxDispatchesPerSecond is 0", "more than 0"],
        id="dispatches-0",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(rateLimits__maxConcurrentDispatches=5001)),
        ["maxConcurrentDispatches is 5001", "1 to 5000"],
        id="concurrent-5001",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(rateLimits__maxConcurrentDispatches=0)),
        ["maxConcurrentDispatches is 0"],
        id="concurrent-0",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(stackdriverLoggingConfig__samplingRatio=1.5)),
        ["samplingRatio is 1.5", "0.0 to 1.0"],
        id="sampling-1.5",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(rateLimits__maxBurstSize=100)),
        ["maxBurstSize is set", "leave it unset"],
        id="burst",
    ),
    pytest.param(
        "queue-within-limits",
        view(QUEUE, queue_props(retryConfig__maxAttempts=-2)),
        ["maxAttempts is -2", "at least -1"],
        id="attempts--2",
    ),
    # 8. API enablements kept on destroy
    pytest.param(
        "apis-kept-on-destroy",
        view(API, {"service": "run.googleapis.com", "disableOnDestroy": True}),
        ["run.googleapis.com", "disableOnDestroy true", "false"],
        id="true",
    ),
    pytest.param(
        "apis-kept-on-destroy",
        view(API, {"service": "cloudtasks.googleapis.com"}),
        ["unset", "set it to false"],
        id="unset",
    ),
    # 9. no primitive roles
    pytest.param(
        "no-primitive-roles",
        view(PROJECT_IAM, iam(PROJECT_IAM, "roles/editor", f"serviceAccount:{RUNTIME}")),
        ["roles/editor", "predefined role"],
        id="editor",
    ),
    pytest.param(
        "no-primitive-roles",
        view(SA_IAM_BINDING, {"role": "roles/owner", "members": None}),
        ["roles/owner"],
        id="owner-unknown-members",
    ),
    pytest.param(
        "no-primitive-roles",
        view(PROJECT_POLICY, {"policyData": policy_data(("roles/viewer", ["group:g@example.com"]))}),
        ["roles/viewer"],
        id="viewer-policyData",
    ),
    # 10. impersonation roles only on one service account
    pytest.param(
        "impersonation-on-account-only",
        view(PROJECT_IAM, iam(PROJECT_IAM, "roles/iam.serviceAccountUser", INVOKER)),
        ["roles/iam.serviceAccountUser", "project-wide", "one service account"],
        id="user-project",
    ),
    pytest.param(
        "impersonation-on-account-only",
        view(ORG_IAM, iam(ORG_IAM, "roles/iam.serviceAccountTokenCreator", INVOKER, orgId="1")),
        ["roles/iam.serviceAccountTokenCreator", "project-wide or wider"],
        id="token-creator-org",
    ),
    pytest.param(
        "impersonation-on-account-only",
        view(PROJECT_IAM_BINDING, {"role": "roles/iam.serviceAccountOpenIdTokenCreator", "members": [INVOKER]}),
        ["roles/iam.serviceAccountOpenIdTokenCreator"],
        id="openid-binding",
    ),
]
# Secret Manager and Direct VPC egress (helper "features"; more cases in tests/test_features.py).
VIOLATING += [
    pytest.param(
        "secret-accessor-on-secret-only",
        view(
            "gcp:projects/iAMMember:IAMMember",
            {
                "project": "p",
                "role": "roles/secretmanager.secretAccessor",
                "member": "serviceAccount:a@p.iam.gserviceaccount.com",
            },
        ),
        ["never project-wide"],
        id="secret-accessor-project",
    ),
    pytest.param(
        "cloud-run-vpc-egress-explicit",
        view(RUN_V2, service_props(template__vpcAccess={"networkInterfaces": [{"network": "n"}]})),
        ["egress is not set"],
        id="vpc-egress-unset",
    ),
]


@pytest.mark.parametrize(("rule", "resource", "expected"), VIOLATING)
def test_violating_resource_is_refused(rule: str, resource: ResourceView, expected: list[str]) -> None:
    found = rule_violations([resource], rule)
    assert found, f"{rule} passed {resource.props}"
    assert all(v.mandatory and v.urn == resource.urn for v in found)
    message = " | ".join(v.message for v in found)
    for words in expected:
        assert words in message


MANDATORY_RULES = [r.name for r in rules.RULES if r.mandatory]


@pytest.mark.parametrize("rule", MANDATORY_RULES)
def test_compliant_stack_passes(rule: str) -> None:
    assert rule_violations(compliant_stack(), rule) == []


def test_every_mandatory_rule_has_a_violating_case() -> None:
    covered = {p.values[0] for p in VIOLATING} | {SAME_LOCATION, INVOKER_ONLY_AGENT}  # stack rules: below
    covered |= DEAD_LETTER_RULES  # their violating cases: tests/test_policy_dead_letter.py
    assert covered == set(MANDATORY_RULES)


COMPLIANT_EDGES = [
    pytest.param(view(RUN_V2, service_props(ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")), id="ingress-lb"),
    pytest.param(view(RUN_V2, service_props(invokerIamDisabled=DELETE)), id="invoker-iam-default"),
    pytest.param(
        view(
            RUN_V1,
            {
                "metadata": {"annotations": {"run.googleapis.com/ingress": "internal"}},
                "template": {"spec": {"serviceAccountName": RUNTIME}},
            },
        ),
        id="v1-internal",
    ),
    pytest.param(view(RUN_V1_IAM, iam(RUN_V1_IAM, "roles/run.invoker", INVOKER, service="svc")), id="v1-service-iam"),
    pytest.param(view(SA_IAM_BINDING, {"role": "roles/iam.serviceAccountTokenCreator", "members": [INVOKER]}), id="sa"),
    pytest.param(view(QUEUE, queue_props(rateLimits__maxDispatchesPerSecond=500)), id="dispatches-500"),
    pytest.param(view(QUEUE, queue_props(rateLimits__maxConcurrentDispatches=5000)), id="concurrent-5000"),
    pytest.param(view(QUEUE, queue_props(stackdriverLoggingConfig__samplingRatio=1)), id="sampling-1"),
    pytest.param(view(QUEUE, queue_props(stackdriverLoggingConfig__samplingRatio=0)), id="sampling-0"),
    pytest.param(view(QUEUE, queue_props(retryConfig__maxAttempts=-1)), id="attempts-unlimited"),
    pytest.param(view(QUEUE, queue_props(rateLimits=DELETE)), id="limits-default"),
    pytest.param(
        view(
            QUEUE,
            queue_props(
                httpTarget__uriOverride__host="cloudtasks.googleapis.com",
                httpTarget__oauthToken={"serviceAccountEmail": "x@p.iam.gserviceaccount.com"},
            ),
        ),
        id="oauth-to-google-api-with-oidc",
    ),
    pytest.param(view(API, {"service": "iam.googleapis.com", "disableOnDestroy": "false"}), id="api-false-string"),
    pytest.param(
        view(PROJECT_POLICY, {"policyData": policy_data(("roles/logging.logWriter", [f"serviceAccount:{RUNTIME}"]))}),
        id="policyData-ok",
    ),
]


@pytest.mark.parametrize("resource", COMPLIANT_EDGES)
def test_compliant_edge_passes(resource: ResourceView) -> None:
    assert check([resource]) == []


# --- Booleans as the provider reads them ----------------------------------------------------------
# A bool input reaches a policy as the program sent it, so a string stays a string. go-cty (the
# provider's conversion) reads "true"/"1" as true and "false"/"0" as false and refuses the rest;
# Terraform's legacy strconv.ParseBool also reads "True", "TRUE", "t" as true. So a rule reads
# "true"/"1" as true, and refuses any other value that is no boolean rather than passing it.

NOT_A_BOOLEAN = ["True", "TRUE", "t", "yes", "", 1, 0, 1.0]


@pytest.mark.parametrize("value", [True, "true", "1"])
def test_invoker_iam_disabled_true_in_any_spelling_is_refused(value: Any) -> None:
    found = rule_violations([view(RUN_V2, service_props(invokerIamDisabled=value))], "private-cloud-run-ingress")
    assert [v.message for v in found] == [
        f"Cloud Run service invokerIamDisabled is {rules._shown_true(value)}, which lets anyone who "
        "reaches the service invoke it without IAM; it must be false (or unset)"
    ]
    assert value is True or "(read as true)" in found[0].message


@pytest.mark.parametrize("value", NOT_A_BOOLEAN)
def test_invoker_iam_disabled_that_is_no_boolean_is_refused(value: Any) -> None:
    found = rule_violations([view(RUN_V2, service_props(invokerIamDisabled=value))], "private-cloud-run-ingress")
    assert [v.message for v in found] == [
        f"Cloud Run service invokerIamDisabled is {json.dumps(value)}, not a boolean: the provider "
        "refuses it or reads it as true; it must be false (or unset)"
    ]


@pytest.mark.parametrize("value", [False, "false", "0", None, DELETE])
def test_invoker_iam_disabled_false_unset_or_unknown_passes(value: Any) -> None:
    assert rule_violations([view(RUN_V2, service_props(invokerIamDisabled=value))], "private-cloud-run-ingress") == []


@pytest.mark.parametrize("value", [True, "true", "1"])
def test_api_disable_on_destroy_true_in_any_spelling_is_refused(value: Any) -> None:
    found = rule_violations(
        [view(API, {"service": "run.googleapis.com", "disableOnDestroy": value})], "apis-kept-on-destroy"
    )
    assert len(found) == 1
    assert f"disableOnDestroy {rules._shown_true(value)}; it must be false" in found[0].message


@pytest.mark.parametrize("value", NOT_A_BOOLEAN)
def test_api_disable_on_destroy_that_is_no_boolean_is_refused(value: Any) -> None:
    found = rule_violations(
        [view(API, {"service": "run.googleapis.com", "disableOnDestroy": value})], "apis-kept-on-destroy"
    )
    assert len(found) == 1
    assert f"disableOnDestroy {json.dumps(value)}, not a boolean" in found[0].message


@pytest.mark.parametrize("value", [False, "false", "0", None])
def test_api_disable_on_destroy_false_or_unknown_passes(value: Any) -> None:
    assert check([view(API, {"service": "run.googleapis.com", "disableOnDestroy": value})]) == []


def v1_service(annotations: dict[str, Any]) -> ResourceView:
    annotations = {"run.googleapis.com/ingress": "internal", **annotations}
    return view(
        RUN_V1, {"metadata": {"annotations": annotations}, "template": {"spec": {"serviceAccountName": RUNTIME}}}
    )


@pytest.mark.parametrize("value", ["true", "True", "1", ""])
def test_v1_service_invoker_iam_disabled_annotation_is_refused(value: str) -> None:
    found = rule_violations(
        [v1_service({"run.googleapis.com/invoker-iam-disabled": value})], "private-cloud-run-ingress"
    )
    assert [v.message for v in found] == [
        f"Cloud Run (v1) service annotation run.googleapis.com/invoker-iam-disabled is {json.dumps(value)}, "
        'which can turn the invoker IAM check off; remove it (or set it to "false")'
    ]


@pytest.mark.parametrize("annotations", [{}, {"run.googleapis.com/invoker-iam-disabled": "false"}])
def test_v1_service_without_the_invoker_iam_disabled_annotation_passes(annotations: dict[str, Any]) -> None:
    assert check([v1_service(annotations)]) == []


# --- Restricted roles: granted through the one allowed kind of IAM resource, never another -------
# A role on the wrong resource is refused whatever that resource is: project, folder, org, or
# another resource's IAM (a service account's, a queue's, a topic's, a secret's, a bucket's).

IAM_KINDS = {
    "project": "gcp:projects/iAMMember:IAMMember",
    "project-binding": "gcp:projects/iAMBinding:IAMBinding",
    "project-policy": "gcp:projects/iAMPolicy:IAMPolicy",
    "folder": "gcp:folder/iAMMember:IAMMember",
    "org": "gcp:organizations/iAMMember:IAMMember",
    "service-account": "gcp:serviceaccount/iAMMember:IAMMember",
    "service-account-binding": "gcp:serviceaccount/iAMBinding:IAMBinding",
    "queue": "gcp:cloudtasks/queueIamMember:QueueIamMember",
    "topic": "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "topic-policy": "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
    "subscription": "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "secret": "gcp:secretmanager/secretIamMember:SecretIamMember",
    "secret-binding": "gcp:secretmanager/secretIamBinding:SecretIamBinding",
    "secret-policy": "gcp:secretmanager/secretIamPolicy:SecretIamPolicy",
    "regional-secret": "gcp:secretmanager/regionalSecretIamMember:RegionalSecretIamMember",
    "run-service": "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
    "run-service-binding": "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
    "run-v1-service": "gcp:cloudrun/iamMember:IamMember",
    "run-job": "gcp:cloudrunv2/jobIamMember:JobIamMember",
    "bucket": "gcp:storage/bucketIAMMember:BucketIAMMember",
}
# rule -> (its roles, the kinds that may carry them)
ROLE_PLACES = {
    "run-invoker-scope": (["roles/run.invoker"], {"run-service", "run-service-binding", "run-v1-service"}),
    "impersonation-on-account-only": (
        [
            "roles/iam.serviceAccountUser",
            "roles/iam.serviceAccountTokenCreator",
            "roles/iam.serviceAccountOpenIdTokenCreator",
        ],
        {"service-account", "service-account-binding"},
    ),
    "pubsub-publisher-on-topic-only": (["roles/pubsub.publisher"], {"topic", "topic-policy"}),
    "secret-accessor-on-secret-only": (
        ["roles/secretmanager.secretAccessor", "ROLES/SECRETMANAGER.SECRETACCESSOR"],
        {"secret", "secret-binding", "secret-policy", "regional-secret"},
    ),
}


def grant_on(kind: str, role: str, member: str = INVOKER) -> ResourceView:
    type_ = IAM_KINDS[kind]
    if type_.endswith("Policy"):
        return view(type_, {"policyData": policy_data((role, [member]))}, kind)
    if type_.endswith("Binding"):
        return view(type_, {"role": role, "members": [member]}, kind)
    return view(type_, {"role": role, "member": member}, kind)


def test_role_placement_cases_name_real_rules_and_kinds() -> None:
    assert set(ROLE_PLACES) <= set(MANDATORY_RULES)
    assert all(allowed <= set(IAM_KINDS) for _, allowed in ROLE_PLACES.values())


@pytest.mark.parametrize(
    ("rule", "role", "kind"),
    [
        pytest.param(rule, role, kind, id=f"{rule}-{role}-{kind}")
        for rule, (roles, allowed) in ROLE_PLACES.items()
        for role in roles
        for kind in IAM_KINDS
        if kind not in allowed
    ],
)
def test_restricted_role_on_another_kind_of_iam_resource_is_refused(rule: str, role: str, kind: str) -> None:
    resource = grant_on(kind, role)
    found = rule_violations([resource], rule)
    assert found, f"{rule} passed {role} granted by {resource.type}"
    assert resource.type in found[0].message


@pytest.mark.parametrize(
    ("rule", "role", "kind"),
    [
        pytest.param(rule, role, kind, id=f"{rule}-{role}-{kind}")
        for rule, (roles, allowed) in ROLE_PLACES.items()
        for role in roles
        for kind in sorted(allowed)
    ],
)
def test_restricted_role_on_its_own_kind_of_iam_resource_passes(rule: str, role: str, kind: str) -> None:
    assert rule_violations([grant_on(kind, role)], rule) == []


# --- Lists of one ---------------------------------------------------------------------------------


def vpc_service(interfaces: Any) -> ResourceView:
    return view(
        RUN_V2,
        service_props(template__vpcAccess={"egress": "PRIVATE_RANGES_ONLY", "networkInterfaces": interfaces}),
    )


@pytest.mark.parametrize(
    ("interfaces", "shown"),
    [
        pytest.param([{"network": "a"}, {"network": "b"}], "2 interfaces", id="two"),
        pytest.param([{"subnetwork": "a"}, {"subnetwork": "b"}, {"subnetwork": "c"}], "3 interfaces", id="three"),
        pytest.param([], "0 interfaces", id="none"),
        pytest.param({"network": "a"}, "not a list", id="object"),
    ],
)
def test_service_without_exactly_one_vpc_network_interface_is_refused(interfaces: Any, shown: str) -> None:
    found = rule_violations([vpc_service(interfaces)], "cloud-run-vpc-egress-explicit")
    assert [v.message for v in found] == [
        f"template.vpcAccess.networkInterfaces is {shown}: it must hold exactly one interface "
        "(network and/or subnetwork)"
    ]


@pytest.mark.parametrize("interfaces", [[{"network": "a", "subnetwork": "s"}], None, [None]])
def test_service_with_one_or_unknown_vpc_network_interfaces_passes(interfaces: Any) -> None:
    assert check([vpc_service(interfaces)]) == []


def v1_vpc_service(annotations: dict[str, Any]) -> ResourceView:
    template = {"metadata": {"annotations": annotations}, "spec": {"serviceAccountName": RUNTIME}}
    return view(RUN_V1, {**v1_service({}).props, "template": template})


ONE_NIC = json.dumps([{"network": "n", "subnetwork": "s"}])
V1_NICS = "template.metadata.annotations[run.googleapis.com/network-interfaces]"
V1_EGRESS = "template.metadata.annotations[run.googleapis.com/vpc-access-egress]"


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param(
            {"run.googleapis.com/network-interfaces": json.dumps([{"network": "a"}, {"network": "b"}])},
            f"{V1_NICS} is 2 interfaces: it must hold exactly one interface",
            id="two-interfaces",
        ),
        pytest.param({"run.googleapis.com/network-interfaces": "[]"}, f"{V1_NICS} is 0 interfaces", id="no-interface"),
        pytest.param({"run.googleapis.com/network-interfaces": "network=a"}, f"{V1_NICS} is not a list", id="not-json"),
        pytest.param(
            {"run.googleapis.com/vpc-access-connector": "projects/p/locations/l/connectors/c"},
            f"{V1_NICS} is unset",
            id="connector-only",
        ),
    ],
)
def test_v1_service_without_exactly_one_vpc_network_interface_is_refused(
    annotations: dict[str, Any], expected: str
) -> None:
    resource = v1_vpc_service({"run.googleapis.com/vpc-access-egress": "all-traffic", **annotations})
    messages = [v.message for v in rule_violations([resource], "cloud-run-vpc-egress-explicit")]
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param({"run.googleapis.com/network-interfaces": ONE_NIC}, f"{V1_EGRESS} is not set", id="unset"),
        pytest.param(
            {"run.googleapis.com/network-interfaces": ONE_NIC, "run.googleapis.com/vpc-access-egress": "ALL_TRAFFIC"},
            f"{V1_EGRESS} is 'ALL_TRAFFIC': set it explicitly to one of private-ranges-only, all-traffic",
            id="v2-spelling",
        ),
        pytest.param(
            {
                "run.googleapis.com/network-interfaces": ONE_NIC,
                "run.googleapis.com/vpc-access-egress": "all-traffic",
                "run.googleapis.com/vpc-access-connector": "c",
            },
            "template.metadata.annotations[run.googleapis.com/vpc-access-connector] is set",
            id="connector",
        ),
    ],
)
def test_v1_service_vpc_egress_not_explicit_is_refused(annotations: dict[str, Any], expected: str) -> None:
    messages = [v.message for v in rule_violations([v1_vpc_service(annotations)], "cloud-run-vpc-egress-explicit")]
    assert [m for m in messages if expected in m], messages
    assert len(messages) == 1


@pytest.mark.parametrize(
    "annotations",
    [pytest.param({}, id="no-vpc-access")]
    + [
        pytest.param(
            {"run.googleapis.com/network-interfaces": ONE_NIC, "run.googleapis.com/vpc-access-egress": egress},
            id=egress,
        )
        for egress in ("private-ranges-only", "all-traffic")
    ]
    + [
        pytest.param(
            {"run.googleapis.com/network-interfaces": None, "run.googleapis.com/vpc-access-egress": "all-traffic"},
            id="interfaces-unknown",
        )
    ],
)
def test_v1_service_with_one_vpc_network_interface_and_explicit_egress_passes(annotations: dict[str, Any]) -> None:
    assert check([v1_vpc_service(annotations)]) == []


# --- What cannot be seen is never flagged -------------------------------------------------------


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key and list index under `value`, parents before children."""
    if isinstance(value, dict):
        mapping: dict[str, Any] = value
        for key, item in mapping.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        items: list[Any] = value
        for index, item in enumerate(items):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _set(props: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(props)
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


def _unknown_variants() -> Iterator[tuple[int, tuple[str | int, ...], Any]]:
    for index, resource in enumerate(compliant_stack()):
        for path in _paths(resource.props):
            yield index, path, None
            yield index, path, UNKNOWN_STRING_VALUE


def test_any_unknown_value_in_the_compliant_stack_is_not_flagged() -> None:
    # Exhaustive over every key and list item of every resource, as None and as the sentinel.
    base = compliant_stack()
    variants = list(_unknown_variants())
    assert len(variants) > 100
    for index, path, unknown in variants:
        resources = list(base)
        target = base[index]
        resources[index] = ResourceView(target.urn, target.type, _set(dict(target.props), path, unknown))
        assert check(resources) == [], (target.type, path, unknown)


UNKNOWN_OFFENDERS = [
    pytest.param(view(SERVICE_IAM, iam(SERVICE_IAM, "roles/run.invoker", None, members=None)), id="members"),
    pytest.param(view(SERVICE_IAM, {"role": None, "member": INVOKER}), id="role"),
    pytest.param(view(PROJECT_POLICY, {"policyData": None}), id="policyData"),
    pytest.param(view(PROJECT_POLICY, {"policyData": UNKNOWN_STRING_VALUE}), id="policyData-sentinel"),
    pytest.param(view(RUN_V2, service_props(ingress=None)), id="ingress"),
    pytest.param(view(RUN_V2, service_props(template=UNKNOWN_OBJECT_VALUE)), id="template"),
    pytest.param(view(RUN_V1, {"metadata": None, "template": None}), id="v1-metadata"),
    pytest.param(view(QUEUE, queue_props(httpTarget=None)), id="httpTarget"),
    pytest.param(view(QUEUE, queue_props(httpTarget__oidcToken=None)), id="oidcToken"),
    pytest.param(
        view(
            QUEUE,
            queue_props(httpTarget__uriOverride__host=None, httpTarget__oauthToken={"scope": "x"}),
        ),
        id="oauth-unknown-host",
    ),
    pytest.param(view(QUEUE, queue_props(rateLimits__maxBurstSize=None)), id="burst"),
    pytest.param(view(API, {"service": "run.googleapis.com", "disableOnDestroy": None}), id="disableOnDestroy"),
]


@pytest.mark.parametrize("resource", UNKNOWN_OFFENDERS)
def test_unknown_offending_value_is_not_flagged(resource: ResourceView) -> None:
    assert check([resource]) == []


def test_secret_wrapped_values_are_unwrapped_before_checking() -> None:
    secret_ingress = view(RUN_V2, service_props(ingress={**SECRET, "value": "INGRESS_TRAFFIC_ALL"}))
    assert [v.rule for v in check([secret_ingress])] == ["private-cloud-run-ingress"]
    secret_ok = view(RUN_V2, service_props(template__serviceAccount={**SECRET, "value": RUNTIME}))
    assert check([secret_ok]) == []


ALL_TYPES = [RUN_V2, RUN_V1, QUEUE, API, SERVICE_IAM, SA_IAM, PROJECT_IAM, PROJECT_POLICY, ORG_IAM, QUEUE_IAM, SA_KEY]
KEYS = st.sampled_from(
    [
        "member", "members", "role", "policyData", "bindings", "ingress", "invokerIamDisabled", "template",
        "serviceAccount", "scaling", "maxInstanceCount", "containers", "resources", "limits", "cpu", "httpTarget",
        "uriOverride", "host", "oidcToken", "oauthToken", "audience", "serviceAccountEmail", "rateLimits",
        "maxDispatchesPerSecond", "maxConcurrentDispatches", "maxBurstSize", "stackdriverLoggingConfig",
        "samplingRatio", "retryConfig", "maxAttempts", "disableOnDestroy", "location", "uri", "urls", "metadata",
        "annotations", "spec", "serviceAccountName", "statuses", "url", "maxInstanceRequestConcurrency",
    ]
)  # fmt: skip
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10_000),
    st.floats(allow_nan=True),
    st.sampled_from(
        ["allUsers", "roles/run.invoker", "roles/owner", HOST, f"https://{HOST}", "500m", "", "{", "http://["]
    ),
    st.sampled_from([UNKNOWN_STRING_VALUE, policy_data(("roles/editor", ["allUsers"])), '{"bindings": 3}']),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_TYPES), st.dictionaries(KEYS, VALUES, max_size=6)), max_size=4))
def test_rules_never_crash_on_odd_props(resources: list[tuple[str, dict[str, Any]]]) -> None:
    views = [view(t, p, f"r{i}") for i, (t, p) in enumerate(resources)]
    result = check(views)
    assert all(isinstance(v, Violation) for v in result)


# --- Stack rules --------------------------------------------------------------------------------


def stack(service: dict[str, Any] | None = None, *queues: dict[str, Any], services: int = 1) -> list[ResourceView]:
    resources = [view(RUN_V2, service if service is not None else service_props(), "svc")]
    resources += [
        view(RUN_V2, service_props(uri=f"https://other-{i}.a.run.app"), f"other{i}") for i in range(1, services)
    ]
    resources += [view(QUEUE, q, f"q{i}") for i, q in enumerate(queues or [queue_props()])]
    return resources


SAME_LOCATION = "queue-service-same-location"
FITS = "queue-concurrency-fits-service"


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(stack(None, queue_props(location="europe-west4")), id="host-match"),
        pytest.param(
            stack(service_props(uri=None, urls=[f"https://{HOST}"]), queue_props(location="europe-west4")),
            id="urls-match",
        ),
        pytest.param(
            stack(service_props(uri=None), queue_props(location="us-central1", httpTarget__uriOverride__host=None)),
            id="unknown-host-single-service",
        ),
    ],
)
def test_queue_in_another_location_than_its_service_is_refused(resources: list[ResourceView]) -> None:
    found = rule_violations(resources, SAME_LOCATION)
    assert len(found) == 1
    queue = next(r for r in resources if r.type == QUEUE)
    assert found[0].urn == queue.urn
    assert found[0].mandatory
    assert "differs from the location europe-west1" in found[0].message
    assert '"svc"' in found[0].message


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(stack(), id="same-location"),
        pytest.param(stack(None, queue_props(location="EUROPE-WEST1")), id="case-insensitive"),
        pytest.param(
            stack(None, queue_props(location="europe-west4", httpTarget__uriOverride__host="elsewhere.example.com")),
            id="targets-something-else",
        ),
        pytest.param(
            stack(None, queue_props(location="europe-west4", httpTarget__uriOverride__host=None), services=2),
            id="unknown-host-two-services",
        ),
        pytest.param(stack(service_props(uri=None), queue_props(location="europe-west4")), id="service-uri-unknown"),
        pytest.param(stack(None, queue_props(location=None)), id="queue-location-unknown"),
        pytest.param(
            stack(service_props(location=None), queue_props(location="europe-west4")), id="service-loc-unknown"
        ),
        pytest.param(stack(None, queue_props(location="europe-west4", httpTarget=DELETE)), id="no-target"),
    ],
)
def test_queue_location_passes_when_same_or_unknowable(resources: list[ResourceView]) -> None:
    assert rule_violations(resources, SAME_LOCATION) == []


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            stack(None, queue_props(rateLimits__maxConcurrentDispatches=1000)),
            ["maxConcurrentDispatches is 1000", "at most 800", "10 instances x 80"],
            id="over-800",
        ),
        pytest.param(
            stack(None, queue_props(rateLimits=DELETE)),
            ["1000 (the Cloud Tasks default)", "at most 800"],
            id="queue-default",
        ),
        pytest.param(
            stack(
                service_props(template__scaling=DELETE, scaling={"maxInstanceCount": 5}),
                queue_props(rateLimits__maxConcurrentDispatches=401),
            ),
            ["at most 400", "5 instances x 80"],
            id="service-level-scaling",
        ),
        pytest.param(
            stack(
                service_props(
                    template__maxInstanceRequestConcurrency=DELETE,
                    template__containers=[{"image": "i", "resources": {"limits": {"cpu": "500m"}}}],
                ),
                queue_props(rateLimits__maxConcurrentDispatches=11),
            ),
            ["at most 10", "10 instances x 1"],
            id="fractional-cpu-concurrency-1",
        ),
        pytest.param(
            stack(
                service_props(template__scaling=DELETE, template__maxInstanceRequestConcurrency=DELETE),
                queue_props(rateLimits__maxConcurrentDispatches=5000, rateLimits__maxBurstSize=None),
                queue_props(rateLimits__maxConcurrentDispatches=8001),
            ),
            ["8001", "100 instances x 80"],
            id="api-defaults-8000",
        ),
    ],
)
def test_queue_concurrency_over_service_capacity_is_advised(resources: list[ResourceView], expected: list[str]) -> None:
    found = rule_violations(resources, FITS)
    assert len(found) == 1
    assert not found[0].mandatory  # advisory
    for words in expected:
        assert words in found[0].message


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(stack(None, queue_props(rateLimits__maxConcurrentDispatches=800)), id="exactly-800"),
        pytest.param(stack(service_props(template__scaling__maxInstanceCount=None)), id="instances-unknown"),
        pytest.param(
            stack(service_props(template__containers=None, template__maxInstanceRequestConcurrency=DELETE)),
            id="cpu-unknown",
        ),
        pytest.param(stack(None, queue_props(rateLimits__maxConcurrentDispatches=None)), id="queue-unknown"),
        # 0 is proto3's "unset" however it is spelled: a string "0" reaches the API as 0 too.
        pytest.param(
            stack(
                service_props(template__scaling__maxInstanceCount="0"),
                queue_props(rateLimits__maxConcurrentDispatches=8000),
            ),
            id="instances-text-0-is-the-default-100",
        ),
        pytest.param(
            stack(
                service_props(template__maxInstanceRequestConcurrency="0"),
                queue_props(rateLimits__maxConcurrentDispatches=800),
            ),
            id="concurrency-text-0-is-the-default-80",
        ),
    ],
)  # fmt: skip
def test_queue_concurrency_passes_when_it_fits_or_is_unknown(resources: list[ResourceView]) -> None:
    assert rule_violations(resources, FITS) == []


# --- Who may sign as the invoker ---------------------------------------------------------------

INVOKER_ONLY_AGENT = "invoker-impersonation-only-by-cloud-tasks-agent"
AGENT_MINTS = "cloud-tasks-agent-mints-invoker-tokens"
ENQUEUER = "serviceAccount:orders-api@p.iam.gserviceaccount.com"


def with_grants(*grants: ResourceView) -> list[ResourceView]:
    """The compliant stack, its agent grant replaced by `grants`."""
    return [r for r in compliant_stack() if r.type != SA_IAM] + list(grants)


def sa_grant(role: str, member: str | None, account: str | None = INVOKER_ID, name: str = "g") -> ResourceView:
    """A grant on one service account; None for member or account means "unknown yet"."""
    return view(SA_IAM, {"role": role, "member": member, "serviceAccountId": account}, name)


@pytest.mark.parametrize(
    ("grant", "who"),
    [
        pytest.param(sa_grant("roles/iam.serviceAccountUser", ENQUEUER), ENQUEUER, id="enqueuer-actas"),
        pytest.param(
            sa_grant("roles/iam.serviceAccountTokenCreator", "group:producers@example.com"),
            "group:producers@example.com",
            id="group-token-creator",
        ),
        pytest.param(
            sa_grant(
                "roles/iam.serviceAccountOpenIdTokenCreator",
                "serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com",
            ),
            "gcp-sa-pubsub",
            id="another-agent",
        ),
        pytest.param(
            sa_grant("roles/iam.serviceAccountUser", ENQUEUER, "tw-prod-invoker@p.iam.gserviceaccount.com"),
            ENQUEUER,
            id="email-form",
        ),
        pytest.param(
            view(
                SA_IAM_BINDING,
                {
                    "role": "roles/iam.serviceAccountUser",
                    "members": [AGENT, "user:dev@example.com"],
                    "serviceAccountId": INVOKER_ID,
                },
            ),
            "user:dev@example.com",
            id="binding",
        ),
        pytest.param(
            view(
                "gcp:serviceaccount/iAMPolicy:IAMPolicy",
                {
                    "serviceAccountId": INVOKER_ID,
                    "policyData": policy_data(("roles/iam.serviceAccountUser", [ENQUEUER])),
                },
            ),
            ENQUEUER,
            id="policyData",
        ),
        pytest.param(
            sa_grant(
                "roles/iam.serviceAccountUser", "serviceAccount:service-1@gcp-sa-cloudtasks.iam.gserviceaccount.com\n"
            ),
            "gcp-sa-cloudtasks",
            id="agent-lookalike",
        ),
    ],
)
def test_only_the_cloud_tasks_agent_may_sign_as_the_invoker(grant: ResourceView, who: str) -> None:
    resources = with_grants(sa_grant("roles/iam.serviceAccountOpenIdTokenCreator", AGENT, name="a"), grant)
    found = rule_violations(resources, INVOKER_ONLY_AGENT)
    assert len(found) == 1
    assert found[0].mandatory
    assert found[0].urn == grant.urn
    assert who in found[0].message
    assert "tw-prod-invoker@p.iam.gserviceaccount.com" in found[0].message


@pytest.mark.parametrize(
    "grant",
    [
        pytest.param(sa_grant("roles/iam.serviceAccountUser", AGENT), id="agent-actas"),
        pytest.param(sa_grant("roles/iam.serviceAccountTokenCreator", AGENT), id="agent-token-creator"),
        pytest.param(sa_grant("roles/iam.serviceAccountUser", None), id="member-unknown"),
        pytest.param(sa_grant("roles/iam.serviceAccountUser", ENQUEUER, account=None), id="account-unknown"),
        pytest.param(
            sa_grant(
                "roles/iam.serviceAccountUser", ENQUEUER, "projects/p/serviceAccounts/other@p.iam.gserviceaccount.com"
            ),
            id="another-account",
        ),
        pytest.param(sa_grant("roles/iam.serviceAccountKeyAdmin", ENQUEUER), id="not-an-impersonation-role"),
        pytest.param(
            sa_grant("roles/iam.serviceAccountUser", ENQUEUER, "projects/p/serviceAccounts/1234"), id="unique-id"
        ),
    ],
)
def test_invoker_grants_that_are_allowed_or_unknowable(grant: ResourceView) -> None:
    resources = with_grants(sa_grant("roles/iam.serviceAccountOpenIdTokenCreator", AGENT, name="a"), grant)
    assert rule_violations(resources, INVOKER_ONLY_AGENT) == []


def test_invoker_rule_passes_when_the_queue_names_no_known_account() -> None:
    resources = [r for r in with_grants(sa_grant("roles/iam.serviceAccountUser", ENQUEUER)) if r.type != QUEUE]
    resources.append(view(QUEUE, queue_props(httpTarget__oidcToken__serviceAccountEmail=None), "q"))
    assert rule_violations(resources, INVOKER_ONLY_AGENT) == []


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param([], id="no-grant"),
        pytest.param([sa_grant("roles/iam.serviceAccountUser", AGENT)], id="actas-lacks-getOpenIdToken"),
        pytest.param(
            [
                sa_grant(
                    "roles/iam.serviceAccountOpenIdTokenCreator",
                    AGENT,
                    "projects/p/serviceAccounts/other@p.iam.gserviceaccount.com",
                )
            ],
            id="on-another-account",
        ),
        pytest.param(
            [sa_grant("roles/iam.serviceAccountOpenIdTokenCreator", "serviceAccount:a@p.iam.gserviceaccount.com")],
            id="to-someone-else",
        ),
        pytest.param(
            [view(PROJECT_IAM, iam(PROJECT_IAM, "roles/cloudtasks.viewer", AGENT, project="p"), "p")],
            id="project-role-without-it",
        ),
    ],
)
def test_missing_agent_token_grant_on_the_invoker_is_advised(grants: list[ResourceView]) -> None:
    found = rule_violations(with_grants(*grants), AGENT_MINTS)
    assert len(found) == 1
    assert not found[0].mandatory
    assert found[0].urn == urn(QUEUE, "q")
    assert "tw-prod-invoker@p.iam.gserviceaccount.com" in found[0].message
    assert "roles/iam.serviceAccountOpenIdTokenCreator" in found[0].message


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(compliant_stack(), id="openid-token-creator"),
        pytest.param(with_grants(sa_grant("roles/iam.serviceAccountTokenCreator", AGENT)), id="token-creator"),
        pytest.param(
            with_grants(view(PROJECT_IAM, iam(PROJECT_IAM, "roles/cloudtasks.serviceAgent", AGENT, project="p"), "p")),
            id="google-project-role",
        ),
        pytest.param(with_grants(sa_grant("roles/iam.serviceAccountOpenIdTokenCreator", None)), id="member-unknown"),
        pytest.param(
            with_grants(sa_grant("roles/iam.serviceAccountOpenIdTokenCreator", AGENT, None)), id="acct-unknown"
        ),
        pytest.param(
            with_grants(
                view("gcp:serviceaccount/iAMPolicy:IAMPolicy", {"serviceAccountId": INVOKER_ID, "policyData": None})
            ),
            id="policy-unknown",
        ),
        pytest.param([r for r in with_grants() if r.urn != urn(SA, "invoker")], id="invoker-made-elsewhere"),
    ],
)
def test_agent_token_grant_passes_when_present_or_unknowable(resources: list[ResourceView]) -> None:
    assert rule_violations(resources, AGENT_MINTS) == []


def test_offline_plan_of_a_generated_config_passes_every_rule() -> None:
    config = stack_config(
        enqueuers=["serviceAccount:orders-api@p.iam.gserviceaccount.com", "group:producers@example.com"],
        queues={"default": {}, "bulk": {"path": "/bulk"}},
    )
    result = plan.make_plan(run_ok(config))
    assert result.violations == ()
    # The rules do read this plan's shape: an enqueuer's actAs on its invoker, or the agent's
    # grant taken away, is caught in it.
    views = [ResourceView(r.urn, r.type, r.outputs) for r in result.run.resources if r.custom]
    (grant,) = [v for v in views if v.type == SA_IAM]
    actas = ResourceView("urn:x", SA_IAM, {**grant.props, "role": "roles/iam.serviceAccountUser", "member": ENQUEUER})
    assert [v.rule for v in check([*views, actas])] == [INVOKER_ONLY_AGENT]
    assert [v.rule for v in check([v for v in views if v is not grant])] == [AGENT_MINTS, AGENT_MINTS]


def test_agent_token_rule_knows_the_invoker_by_its_email_output() -> None:
    # The offline plan and a stack analysis see the account's outputs, not accountId + project.
    resources = [r for r in with_grants() if r.urn != urn(SA, "invoker")]
    resources.append(view(SA, {"email": "TW-prod-invoker@p.iam.gserviceaccount.com"}, "invoker"))
    assert len(rule_violations(resources, AGENT_MINTS)) == 1


# --- check() and RULES --------------------------------------------------------------------------


def test_rules_are_named_uniquely_and_check_orders_resources_then_stack() -> None:
    names = [r.name for r in rules.RULES]
    assert len(names) == len(set(names)) == 16 + len(DEAD_LETTER_RULES)
    assert [r.name for r in rules.RULES if not r.mandatory] == [AGENT_MINTS, FITS]
    resources = [
        view(SA_KEY, {}, "key"),
        view(RUN_V2, service_props(ingress="INGRESS_TRAFFIC_ALL"), "svc"),
        view(QUEUE, queue_props(location="europe-west4", rateLimits__maxConcurrentDispatches=900), "q"),
    ]
    found = check(resources)
    assert [(v.rule, v.urn) for v in found] == [
        ("no-service-account-keys", resources[0].urn),
        ("private-cloud-run-ingress", resources[1].urn),
        (SAME_LOCATION, resources[2].urn),
        (FITS, resources[2].urn),
    ]
    # Resource findings follow the input order.
    assert [v.rule for v in check(list(reversed(resources)))][:2] == [
        "private-cloud-run-ingress",
        "no-service-account-keys",
    ]


def test_a_policy_binding_reports_each_finding_once() -> None:
    props = {"policyData": policy_data(("roles/run.invoker", [INVOKER, "serviceAccount:b@p.iam.gserviceaccount.com"]))}
    found = rule_violations([view(PROJECT_POLICY, props)], "run-invoker-scope")
    assert len(found) == 1


# --- The pulumi-policy adapter ------------------------------------------------------------------


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _engine_props(raw: dict[str, Any]) -> Any:
    """Props exactly as pulumi-policy hands them to a policy: deserialized, unknown-checking proxy."""
    return unknown_checking_proxy(deserialize_properties(raw))


def test_build_policies_mirrors_rules() -> None:
    policies = pack.build_policies()
    assert [p.name for p in policies] == [r.name for r in rules.RULES]
    for policy, rule in zip(policies, rules.RULES, strict=True):
        kind = ResourceValidationPolicy if isinstance(rule, rules.ResourceRule) else StackValidationPolicy
        assert isinstance(policy, kind)
        assert policy.description == rule.description
        assert policy.enforcement_level is not None
        assert policy.enforcement_level.value == ("mandatory" if rule.mandatory else "advisory")


def _policy(name: str) -> Any:
    return next(p for p in pack.build_policies() if p.name == name)


def test_resource_policy_reports_through_pulumi_policy_args_with_unknowns() -> None:
    # template.serviceAccount is unknown: reading it through pulumi-policy's proxy would raise and
    # abort the policy; the adapter must still report the ingress violation it can see.
    raw = service_props(ingress="INGRESS_TRAFFIC_ALL", template__serviceAccount=UNKNOWN_STRING_VALUE)
    the_urn = urn(RUN_V2, "svc")
    args = ResourceValidationArgs(RUN_V2, _engine_props(raw), the_urn, "svc", _opts(), None)
    with pytest.raises(UnknownValueError):
        _ = args.props["template"]["serviceAccount"]
    reported: list[tuple[str, str | None]] = []
    for name in ("private-cloud-run-ingress", "cloud-run-named-service-account"):
        _policy(name).validate(args, lambda message, u=None: reported.append((message, u)))
    assert len(reported) == 1
    assert "INGRESS_TRAFFIC_ALL" in reported[0][0]
    assert reported[0][1] == the_urn


def test_resource_policy_sees_secret_wrapped_member() -> None:
    raw = iam(SERVICE_IAM, "roles/run.invoker", {**SECRET, "value": "allUsers"})
    args = ResourceValidationArgs(SERVICE_IAM, _engine_props(raw), urn(SERVICE_IAM, "i"), "i", _opts(), None)
    reported: list[str] = []
    _policy("no-public-members").validate(args, lambda message, u=None: reported.append(message))
    assert len(reported) == 1
    assert "allUsers" in reported[0]


def test_stack_policy_reports_on_the_queue() -> None:
    def resource(type_: str, name: str, raw: dict[str, Any]) -> PolicyResource:
        return PolicyResource(type_, _engine_props(raw), urn(type_, name), name, _opts(), None, None, [], {})

    args = StackValidationArgs(
        [
            resource(RUN_V2, "svc", service_props(uri=UNKNOWN_STRING_VALUE)),
            resource(
                QUEUE, "q", queue_props(location="asia-east1", httpTarget__uriOverride__host=UNKNOWN_STRING_VALUE)
            ),
        ]
    )
    reported: list[tuple[str, str | None]] = []
    _policy(SAME_LOCATION).validate(args, lambda message, u=None: reported.append((message, u)))
    assert len(reported) == 1
    assert reported[0][1] == urn(QUEUE, "q")
    assert "asia-east1" in reported[0][0]


def test_plain_copies_proxies_and_turns_unknowns_into_none() -> None:
    proxied = _engine_props({"a": [1, UNKNOWN_STRING_VALUE, {"b": UNKNOWN_OBJECT_VALUE}], "c": "d"})
    assert pack.plain(proxied) == {"a": [1, None, {"b": None}], "c": "d"}


# --- The real pack process, over the analyzer gRPC protocol -------------------------------------

# A hung pack must fail the test, not the CI run's time budget.
RPC_TIMEOUT = 30


@pytest.fixture(scope="module", autouse=True)
def pack_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """The real pack, started the way the CLI starts it: `python <pack dir>` from another cwd.

    Autouse so that it boots (about 0.7 s) while the in-process tests run.
    """
    process = subprocess.Popen(
        [sys.executable, str(POLICY_DIR)],
        cwd=tmp_path_factory.mktemp("pwd"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def analyzer(pack_process: subprocess.Popen[bytes]) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    assert pack_process.stdout is not None
    port = pack_process.stdout.readline().decode().strip()  # the pack prints its port, then serves
    assert port.isdigit(), pack_process.stderr.read().decode() if pack_process.stderr else port
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield analyzer_pb2_grpc.AnalyzerStub(channel)


def _struct(raw: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    json_format.ParseDict(raw, result)
    return result


def test_pack_process_describes_every_rule(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT)
    assert info.name == pack.PACK_NAME
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {r.name: (analyzer_pb2.MANDATORY if r.mandatory else analyzer_pb2.ADVISORY) for r in rules.RULES}


def test_pack_process_refuses_a_public_service_during_preview(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    raw = service_props(ingress="INGRESS_TRAFFIC_ALL", template__serviceAccount=UNKNOWN_STRING_VALUE)
    request = analyzer_pb2.AnalyzeRequest(type=RUN_V2, properties=_struct(raw), urn=urn(RUN_V2, "svc"), name="svc")
    response = analyzer.Analyze(request, timeout=RPC_TIMEOUT)
    assert [(d.policyName, d.enforcementLevel, d.urn) for d in response.diagnostics] == [
        ("private-cloud-run-ingress", analyzer_pb2.MANDATORY, urn(RUN_V2, "svc"))
    ]


def test_pack_process_checks_the_stack(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    resources = [
        analyzer_pb2.AnalyzerResource(type=t, properties=_struct(p), urn=urn(t, n), name=n)
        for t, p, n in [
            (RUN_V2, service_props(), "svc"),
            (QUEUE, queue_props(location="europe-west4", rateLimits__maxConcurrentDispatches=900), "q"),
        ]
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=RPC_TIMEOUT)
    assert sorted((d.policyName, d.enforcementLevel) for d in response.diagnostics) == [
        (FITS, analyzer_pb2.ADVISORY),
        (SAME_LOCATION, analyzer_pb2.MANDATORY),
    ]
