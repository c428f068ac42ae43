"""The invoker identity: the one way into the service, through OIDC tokens."""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp
import pulumiverse_time as time

from components.service_agents import agent_email, member
from settings.names import cloud_tasks_agent_email

RUN_INVOKER = "roles/run.invoker"
# Minting an OIDC token as an account is iam.serviceAccounts.getOpenIdToken; this is the
# smallest predefined role holding it (roles/iam.serviceAccountUser does not).
OPENID_TOKEN_CREATOR = "roles/iam.serviceAccountOpenIdTokenCreator"
# A service agent created on request is not usable at once (cloud-foundation-fabric #3334);
# the wait sits on the agent's own branch, off the critical path (docs/deploy.md, "First deploy in a fresh project").
AGENT_PROPAGATION = "30s"


class TaskInvokerArgs(NamedTuple):
    project: str
    location: str
    account_id: str
    service_name: pulumi.Input[str]
    iam_api: pulumi.Resource
    cloud_tasks_api: pulumi.Resource
    # Adopt an existing invoker account (Pulumi import): its ID; account_id is then its name.
    account_import_id: str | None = None
    # task-worker:projectNumber: the agent's e-mail is derived from it, not read from ServiceIdentity.
    project_number: str | None = None


class TaskInvoker(pulumi.ComponentResource):
    """Invoker service account, its run.invoker grant on one service, and the Cloud Tasks
    service agent's right to mint its OIDC tokens. Enqueuers get nothing here: the queue's
    own token names the invoker, so creating a task needs no actAs on it."""

    account: gcp.serviceaccount.Account
    email: pulumi.Output[str]
    member: pulumi.Output[str]
    cloud_tasks_agent: gcp.projects.ServiceIdentity
    cloud_tasks_agent_email: pulumi.Output[str]

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

        # The Cloud Tasks service agent, as a resource: no invoke.
        self.cloud_tasks_agent = gcp.projects.ServiceIdentity(
            f"{name}-cloudtasks-agent",
            gcp.projects.ServiceIdentityArgs(project=args.project, service="cloudtasks.googleapis.com"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cloud_tasks_api]),
        )
        # ServiceIdentity still creates the agent if missing; its e-mail comes from the project
        # number when given (ServiceIdentity may report none: components/service_agents.py).
        self.cloud_tasks_agent_email = agent_email(
            self.cloud_tasks_agent, args.project, args.project_number, cloud_tasks_agent_email
        )
        # First deploy in a fresh project: a just-created agent can be refused as "does not
        # exist" by setIamPolicy (cloud-foundation-fabric #3334). pulumi-gcp already waits 10 s
        # after creating each service account (magic-modules #10813); nothing waits after the
        # agent, so wait here, once, before its grant. See docs/deploy.md, "First deploy in a fresh project".
        agent_ready = time.Sleep(
            f"{name}-cloudtasks-agent-ready",
            create_duration=AGENT_PROPAGATION,
            # A new agent (another project) waits again; a plain re-run never does.
            triggers={"agent": self.cloud_tasks_agent_email},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The agent mints the invoker's tokens (getOpenIdToken): on this one account only.
        # A project-wide grant would let it sign as every account in the project; Google's
        # own project-level roles/cloudtasks.serviceAgent is there only when Google created
        # the agent at API enablement, never when ServiceIdentity did.
        gcp.serviceaccount.IAMMember(
            f"{name}-agent-token-creator",
            gcp.serviceaccount.IAMMemberArgs(
                service_account_id=self.account.name,
                role=OPENID_TOKEN_CREATOR,
                member=member(self.cloud_tasks_agent_email),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[agent_ready]),
        )

        self.register_outputs({"email": self.email, "member": self.member})
