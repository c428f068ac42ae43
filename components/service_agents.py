"""A service agent's e-mail: derived from the project number when the stack gives it
(`task-worker:projectNumber`), else the one `gcp.projects.ServiceIdentity` reports.

ServiceIdentity may report no e-mail (the API "may not return the service identity's details";
terraform-provider-google #18649). A grant to "serviceAccount:" would then fail at `pulumi up` with
Google's error, far from the cause: fail first, saying which key fixes it. A number that does not
match the agent Google reports is refused too: it would grant another project's agent.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_gcp as gcp

from settings import NAMESPACE

PROJECT_NUMBER_KEY = f"{NAMESPACE}:projectNumber"


def agent_email(
    identity: gcp.projects.ServiceIdentity,
    project: str,
    project_number: str | None,
    derive: Callable[[str], str],
) -> pulumi.Output[str]:
    """The agent's e-mail; the Output fails with a message naming the key when it cannot be known."""
    api = identity.service

    def check(values: list[str | None]) -> str:
        email, service = values
        if project_number is None:
            if not email:
                raise pulumi.RunError(
                    f"Google returned no e-mail for project {project}'s {service} service agent "
                    "(ServiceIdentity; terraform-provider-google #18649). Set the project's number: "
                    f"pulumi config set {PROJECT_NUMBER_KEY} NUMBER (NUMBER: gcloud projects describe {project} "
                    "--format='value(projectNumber)'); the agent's e-mail is then derived from it"
                )
            return email
        derived = derive(project_number)
        if email and email.lower() != derived.lower():
            raise pulumi.RunError(
                f"{PROJECT_NUMBER_KEY} is {project_number}, but Google reports project {project}'s {service} "
                f"service agent as {email}, not {derived}: set {PROJECT_NUMBER_KEY} to {project}'s own number "
                f"(gcloud projects describe {project} --format='value(projectNumber)')"
            )
        return derived

    return pulumi.Output.all(identity.email, api).apply(check)


def member(email: pulumi.Output[str]) -> pulumi.Output[str]:
    return email.apply(lambda e: f"serviceAccount:{e}")
