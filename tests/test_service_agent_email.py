"""The service agents' e-mails when ServiceIdentity reports none (issue 16, item 5).

`gcp.projects.ServiceIdentity` may return no e-mail (terraform-provider-google #18649). With
`task-worker:projectNumber` the e-mail is derived from the number (Google documents the form:
service-NUMBER@gcp-sa-cloudtasks…, service-NUMBER@serverless-robot-prod…); without it an empty
e-mail fails the run with a message naming that key, before any grant to "serviceAccount:".
The mocks' ServiceIdentity is made to answer "" here, as the provider did in that issue.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.conftest import run_ok, stack_config
from tests.test_limits import problems
from tools.harness import PROJECT_NUMBER, ProviderMocks, Run, StackConfig, run_program

IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
TOKEN_CREATOR = "gcp:serviceaccount/iAMMember:IAMMember"
SLEEP = "time:index/sleep:Sleep"
SUBNET_IAM = "gcp:compute/subnetworkIAMMember:SubnetworkIAMMember"
KEY = "task-worker:projectNumber"
NUMBER = "123456789012"
TASKS_AGENT = f"service-{NUMBER}@gcp-sa-cloudtasks.iam.gserviceaccount.com"
RUN_AGENT = f"service-{NUMBER}@serverless-robot-prod.iam.gserviceaccount.com"
SHARED_VPC = {"vpc": {"subnetwork": "projects/host-proj/regions/europe-west1/subnetworks/w", "grantNetworkUser": True}}


@pytest.fixture
def no_agent_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """ServiceIdentity answers with an empty e-mail and member (terraform-provider-google #18649)."""
    real = ProviderMocks.new_resource

    def new_resource(self: ProviderMocks, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        id_, out = real(self, args)
        if args.typ == IDENTITY:
            out = {**out, "email": "", "member": ""}
        return id_, out

    monkeypatch.setattr(ProviderMocks, "new_resource", new_resource)


def failed(config: StackConfig) -> str:
    run = run_program(config)
    assert isinstance(run.error, pulumi.RunError), run.error
    return str(run.error)


def token_creator_member(run: Run) -> str:
    return run.one(TOKEN_CREATOR).inputs["member"]


# --- ServiceIdentity reports none ---------------------------------------------------------------


@pytest.mark.usefixtures("no_agent_email")
def test_an_empty_agent_email_without_the_number_fails_naming_the_key() -> None:
    message = failed(stack_config())
    assert "cloudtasks.googleapis.com" in message
    assert f"pulumi config set {KEY} NUMBER" in message
    assert "gcloud projects describe test-project --format='value(projectNumber)'" in message


@pytest.mark.usefixtures("no_agent_email")
def test_an_empty_run_agent_email_without_the_number_fails_naming_the_key() -> None:
    message = failed(stack_config(service=SHARED_VPC))
    assert KEY in message
    assert "no e-mail" in message


@pytest.mark.usefixtures("no_agent_email")
def test_with_the_number_the_token_creator_goes_to_the_derived_agent() -> None:
    run = run_ok(stack_config(projectNumber=NUMBER))
    grant = run.one(TOKEN_CREATOR)
    assert grant.inputs["member"] == f"serviceAccount:{TASKS_AGENT}"
    assert grant.inputs["role"] == "roles/iam.serviceAccountOpenIdTokenCreator"
    # ServiceIdentity is still declared (it creates the agent if missing) and the grant waits for it.
    (agent,) = (r for r in run.of_type(IDENTITY) if r.inputs["service"] == "cloudtasks.googleapis.com")
    assert agent.urn in grant.dependencies


@pytest.mark.usefixtures("no_agent_email")
def test_with_the_number_the_sleep_is_triggered_by_the_derived_agent() -> None:
    run = run_ok(stack_config(projectNumber=NUMBER))
    assert run.one(SLEEP).inputs["triggers"] == {"agent": TASKS_AGENT}


@pytest.mark.usefixtures("no_agent_email")
def test_with_the_number_the_network_user_goes_to_the_derived_run_agent() -> None:
    run = run_ok(stack_config(projectNumber=NUMBER, service=SHARED_VPC))
    assert run.one(SUBNET_IAM).inputs["member"] == f"serviceAccount:{RUN_AGENT}"


# --- ServiceIdentity reports one ------------------------------------------------------------------


def test_a_number_that_is_not_the_projects_is_refused() -> None:
    # A wrong number would let another project's Cloud Tasks agent mint the invoker's tokens.
    message = failed(stack_config(projectNumber=NUMBER))
    assert f"{KEY} is {NUMBER}" in message
    assert f"service-{PROJECT_NUMBER}@gcp-sa-cloudtasks.iam.gserviceaccount.com" in message
    assert TASKS_AGENT in message


def test_the_right_number_changes_no_input() -> None:
    # Setting the key later must not replace the Sleep (its triggers) nor re-grant.
    without, with_number = (
        run_ok(stack_config(service=SHARED_VPC)),
        run_ok(stack_config(projectNumber=PROJECT_NUMBER, service=SHARED_VPC)),
    )
    for type_ in (TOKEN_CREATOR, SLEEP, SUBNET_IAM):
        assert without.one(type_).inputs == with_number.one(type_).inputs, type_
    reported = f"service-{PROJECT_NUMBER}@gcp-sa-cloudtasks.iam.gserviceaccount.com"
    assert token_creator_member(without) == f"serviceAccount:{reported}"


def test_without_the_number_the_reported_email_is_used() -> None:
    run = run_ok(stack_config())
    assert run.one(SLEEP).inputs["triggers"] == {
        "agent": f"service-{PROJECT_NUMBER}@gcp-sa-cloudtasks.iam.gserviceaccount.com"
    }
    assert run.invokes == []


# --- the key itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("1", True),
        ("9" * 19, True),
        ("1" + "0" * 19, False),  # 20 digits: beyond int64
        ("0123", False),
        ("12a", False),
        ("", False),
        ("-1", False),
        ("1e12", False),
    ],
)
def test_project_number_is_digits(value: str, accepted: bool) -> None:
    found = problems(projectNumber=value)
    assert (found == {}) is accepted
    if not accepted:
        assert list(found) == [KEY]
        assert "digits" in found[KEY]


def test_a_number_written_unquoted_in_yaml_is_read_as_written() -> None:
    # The engine passes `projectNumber: 123456789012` as the text "123456789012" (a text key).
    config = stack_config(projectNumber=int(NUMBER))
    assert config.values[KEY] == NUMBER
    assert problems(projectNumber=int(NUMBER)) == {}
