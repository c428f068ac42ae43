"""Shared VPC: Direct VPC egress into another project's subnet (issue 16, item 4).

Cloud Run's service agent, service-PROJECT_NUMBER@serverless-robot-prod.iam.gserviceaccount.com,
needs roles/compute.networkUser on the host project's subnet (Cloud Run "Direct VPC egress with a
Shared VPC network"; gcp-facts.md "Corrections and additions"). `service.vpc.grantNetworkUser: true`
declares it on the one subnetwork; otherwise the plan says what to grant, to whom, on what.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.rules import ResourceView, check
from settings import parse_settings
from settings.resolve import resolve_stack
from tests.conftest import run_ok, stack_config
from tests.test_limits import problems
from tools.harness import PROJECT_NUMBER, Run
from tools.plan import make_plan

SUBNET_IAM = "gcp:compute/subnetworkIAMMember:SubnetworkIAMMember"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
SERVICE = "gcp:cloudrunv2/service:Service"
HOST_SUBNET = "projects/host-proj/regions/europe-west1/subnetworks/workers"
RUN_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@serverless-robot-prod.iam.gserviceaccount.com"
KEY = "task-worker:service.vpc.grantNetworkUser"


def shared(**vpc: Any) -> dict[str, Any]:
    return {"vpc": {"subnetwork": HOST_SUBNET, **vpc}}


def shared_vpc_warnings(run: Run) -> list[str]:
    return [w for w in run.warnings if "Shared VPC" in w]


@pytest.fixture(scope="module")
def granted() -> Run:
    return run_ok(stack_config(service=shared(grantNetworkUser=True)))


# --- the grant, declared ---------------------------------------------------------------------------


def test_the_grant_is_network_user_on_the_host_subnetwork_for_the_run_agent(granted: Run) -> None:
    grant = granted.one(SUBNET_IAM)
    assert grant.inputs == {
        "project": "host-proj",
        "region": "europe-west1",
        "subnetwork": "workers",
        "role": "roles/compute.networkUser",
        "member": RUN_AGENT,
    }


def test_the_run_agent_comes_from_service_identity_without_an_invoke(granted: Run) -> None:
    agents = {r.inputs["service"]: r for r in granted.of_type(IDENTITY)}
    run_agent = agents["run.googleapis.com"]
    assert run_agent.inputs["project"] == "test-project"  # the service's project, not the host
    assert run_agent.urn in granted.one(SUBNET_IAM).dependencies
    assert granted.invokes == []


def test_the_service_waits_for_the_grant(granted: Run) -> None:
    assert granted.one(SUBNET_IAM).urn in granted.one(SERVICE).dependencies


def test_the_grant_is_never_project_wide(granted: Run) -> None:
    roles = [r for r in granted.resources if r.inputs.get("role") == "roles/compute.networkUser"]
    assert [r.type for r in roles] == [SUBNET_IAM]


def test_a_declared_grant_leaves_no_shared_vpc_warning(granted: Run) -> None:
    assert shared_vpc_warnings(granted) == []


def test_the_policy_pack_accepts_the_grant(granted: Run) -> None:
    assert list(make_plan(granted).violations) == []
    grant = granted.one(SUBNET_IAM)
    assert check([ResourceView(grant.urn, grant.type, dict(grant.inputs))]) == []


def test_no_grant_without_the_key() -> None:
    run = run_ok(stack_config(service=shared()))
    assert run.of_type(SUBNET_IAM) == []
    assert "run.googleapis.com" not in {r.inputs["service"] for r in run.of_type(IDENTITY)}


# --- otherwise, the plan says what to grant ----------------------------------------------------------


def test_without_the_key_the_plan_names_role_agent_and_subnetwork() -> None:
    (warning,) = shared_vpc_warnings(run_ok(stack_config(service=shared())))
    assert "roles/compute.networkUser" in warning
    assert "serviceAccount:service-PROJECT_NUMBER@serverless-robot-prod.iam.gserviceaccount.com" in warning
    assert "gcloud projects describe test-project --format='value(projectNumber)'" in warning
    assert f"on the subnetwork {HOST_SUBNET}" in warning
    assert f"{KEY}: true" in warning


def test_with_the_project_number_the_warning_names_the_agent_itself() -> None:
    # The mocks' agents carry PROJECT_NUMBER; a projectNumber that differs is refused
    # (tests/test_service_agent_email.py).
    run = run_ok(stack_config(projectNumber=PROJECT_NUMBER, service=shared()))
    (warning,) = shared_vpc_warnings(run)
    assert RUN_AGENT in warning
    assert "PROJECT_NUMBER" not in warning


def test_a_host_network_without_a_subnetwork_names_the_host_project() -> None:
    run = run_ok(stack_config(service={"vpc": {"network": "projects/host-proj/global/networks/shared"}}))
    (warning,) = shared_vpc_warnings(run)
    assert "roles/compute.networkUser" in warning
    assert "on the host project host-proj" in warning
    assert "service.vpc.subnetwork" in warning  # how to let the stack declare it
    assert run.of_type(SUBNET_IAM) == []


@pytest.mark.parametrize(
    "vpc",
    [
        {"network": "default"},
        {"subnetwork": "workers"},
        {"subnetwork": "projects/test-project/regions/europe-west1/subnetworks/workers"},
        {"network": "projects/test-project/global/networks/n"},
    ],
)
def test_the_stacks_own_network_needs_no_grant_and_no_warning(vpc: dict[str, str]) -> None:
    run = run_ok(stack_config(service={"vpc": vpc}))
    assert shared_vpc_warnings(run) == []
    assert run.of_type(SUBNET_IAM) == []


def test_a_host_given_by_the_stacks_own_number_is_the_stacks_project() -> None:
    own = "projects/123456789012/regions/europe-west1/subnetworks/w"
    settings = parse_settings(
        stack_config(projectNumber="123456789012", service={"vpc": {"subnetwork": own}}).values, "test"
    )
    assert [w for w in settings.warnings if "Shared VPC" in w] == []
    other = parse_settings(stack_config(projectNumber="1", service={"vpc": {"subnetwork": own}}).values, "test")
    assert len([w for w in other.warnings if "Shared VPC" in w]) == 1


# --- grantNetworkUser refused where it cannot be declared --------------------------------------------


@pytest.mark.parametrize(
    ("extra", "vpc", "says"),
    [
        ({}, {"network": "projects/host-proj/global/networks/n"}, "projects/HOST/regions/R/subnetworks/S"),
        ({}, {"subnetwork": "workers"}, "projects/HOST/regions/R/subnetworks/S"),
        ({}, {"subnetwork": "projects/test-project/regions/europe-west1/subnetworks/w"}, "stack's own project"),
        (
            {"projectNumber": "42"},
            {"subnetwork": "projects/42/regions/europe-west1/subnetworks/w"},
            "stack's own project",
        ),
    ],
)
def test_grant_network_user_needs_a_subnetwork_of_another_project(
    extra: dict[str, Any], vpc: dict[str, Any], says: str
) -> None:
    found = problems(service={"vpc": {**vpc, "grantNetworkUser": True}}, **extra)
    assert list(found) == [KEY]
    assert says in found[KEY]


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", fullmatch=True).filter(lambda p: p != "test-project"),
    subnet=st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True),
)
def test_the_resolved_grant_is_the_subnetwork_named(host: str, subnet: str) -> None:
    vpc = {"subnetwork": f"projects/{host}/regions/europe-west1/subnetworks/{subnet}", "grantNetworkUser": True}
    grant = resolve_stack(parse_settings(stack_config(service={"vpc": vpc}).values, "test")).network_user
    assert grant is not None
    assert (grant.project, grant.region, grant.subnetwork) == (host, "europe-west1", subnet)


def test_the_light_subnetwork_grant_declares_what_pulumi_gcp_declares() -> None:
    # components/service.py declares the resource without importing gcp.compute (~5 s): its type
    # token and inputs must be pulumi_gcp's own, read from the installed source (no import).
    import importlib.util
    from pathlib import Path

    from components.service import SubnetworkIamMember

    spec = importlib.util.find_spec("pulumi_gcp")
    assert spec is not None
    assert spec.origin is not None
    source = (Path(spec.origin).parent / "compute" / "subnetwork_iam_member.py").read_text()
    assert f"'{SubnetworkIamMember.TYPE}'" in source
    declared = set(re.findall(r'__props__\.__dict__\["(\w+)"\]', source))
    assert declared == {"condition", "member", "project", "region", "role", "subnetwork", "etag"}
    assert "opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)" in source


def test_the_grant_adds_at_most_one_step_to_the_deploy() -> None:
    # API → run agent → grant → service, against API → runtime account → service (docs/operations.md).
    from tools.plan import critical_path

    without = run_ok(stack_config(service=shared()))
    with_grant = run_ok(stack_config(service=shared(grantNetworkUser=True)))
    assert critical_path(with_grant.resources) == critical_path(without.resources) + 1
