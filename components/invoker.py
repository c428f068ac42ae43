"""The invoker identity: the one way into the service, through OIDC tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.naming import slug

RUN_INVOKER = "roles/run.invoker"
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"


@dataclass(frozen=True)
class TaskInvokerArgs:
    project: str
    location: str
    account_id: str
    service_name: pulumi.Input[str]
    iam_api: pulumi.Resource
    cloud_tasks_api: pulumi.Resource
    # Members that create tasks carrying their own OIDC token need actAs on the invoker.
    enqueuers: Sequence[str] = ()
    # Adopt an existing invoker account (Pulumi import): its ID; account_id is then its name.
    account_import_id: str | None = None


class TaskInvoker(pulumi.ComponentResource):
    """Invoker service account, its run.invoker grant on one service, and actAs grants on it."""

    account: gcp.serviceaccount.Account
    email: pulumi.Output[str]
    member: pulumi.Output[str]
    cloud_tasks_agent: gcp.projects.ServiceIdentity

    def __init__(self, name: str, args: TaskInvokerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:TaskInvoker", name, None, opts)
        self.account = gcp.serviceaccount.Account(
            name,
            gcp.serviceaccount.AccountArgs(
                project=args.project,
                account_id=args.account_id,
                display_name="task-worker invoker",
                description="Cloud Tasks signs OIDC tokens as this account to call the task-worker service",
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.iam_api], import_=args.account_import_id),
        )
        self.email = self.account.email
        self.member = self.account.member

        # Resource-scoped: run.invoker on this one service, never project-wide.
        gcp.cloudrunv2.ServiceIamMember(
            f"{name}-run-invoker",
            gcp.cloudrunv2.ServiceIamMemberArgs(
                project=args.project,
                location=args.location,
                name=args.service_name,
                role=RUN_INVOKER,
                member=self.account.member,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # The Cloud Tasks service agent, as a resource: no invoke, no project number.
        self.cloud_tasks_agent = gcp.projects.ServiceIdentity(
            f"{name}-cloudtasks-agent",
            gcp.projects.ServiceIdentityArgs(project=args.project, service="cloudtasks.googleapis.com"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cloud_tasks_api]),
        )
        # actAs on the invoker account only (never project-wide, which would let the
        # member mint tokens as any account): the agent, and each enqueuer.
        self._act_as(f"{name}-agent-actas", self.cloud_tasks_agent.member)
        for member in args.enqueuers:
            self._act_as(f"{name}-actas-{slug(member)}", member)

        self.register_outputs({"email": self.email, "member": self.member})

    def _act_as(self, resource_name: str, member: pulumi.Input[str]) -> None:
        gcp.serviceaccount.IAMMember(
            resource_name,
            gcp.serviceaccount.IAMMemberArgs(
                service_account_id=self.account.name,
                role=SERVICE_ACCOUNT_USER,
                member=member,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
