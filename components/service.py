"""The private Cloud Run v2 service and the identity it runs as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from settings import EXECUTION_ENVIRONMENTS, ServiceSettings


@dataclass(frozen=True)
class PrivateServiceArgs:
    project: str
    location: str
    account_id: str
    service: ServiceSettings
    deletion_protection: bool
    # What must exist first: the Cloud Run API for the service, IAM for its account.
    run_api: pulumi.Resource
    iam_api: pulumi.Resource
    labels: Mapping[str, str] = field(default_factory=dict)


class PrivateService(pulumi.ComponentResource):
    """A Cloud Run service reachable only from inside the project, by IAM-checked callers."""

    runtime_account: gcp.serviceaccount.Account
    service: gcp.cloudrunv2.Service
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    runtime_email: pulumi.Output[str]
    timeout_seconds: int

    def __init__(self, name: str, args: PrivateServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:PrivateService", name, None, opts)
        svc = args.service
        # A dedicated identity: never the default compute account, which is Editor.
        # No roles are granted to it here; the workload's own needs belong to it.
        self.runtime_account = gcp.serviceaccount.Account(
            f"{name}-runtime",
            gcp.serviceaccount.AccountArgs(
                project=args.project,
                account_id=args.account_id,
                display_name="task-worker runtime",
                description="Identity the task-worker Cloud Run service runs as",
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.iam_api]),
        )
        envs = [
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=key,
                value=pulumi.Output.secret(value) if svc.env_is_secret else value,
            )
            for key, value in svc.env.items()
        ]
        self.service = gcp.cloudrunv2.Service(
            name,
            gcp.cloudrunv2.ServiceArgs(
                project=args.project,
                location=args.location,
                ingress=svc.ingress_value,
                # Never public: every request must carry a token IAM accepts.
                invoker_iam_disabled=False,
                deletion_protection=args.deletion_protection,
                labels=dict(args.labels),
                template=gcp.cloudrunv2.ServiceTemplateArgs(
                    service_account=self.runtime_account.email,
                    timeout=f"{svc.timeout_seconds}s",
                    # Pinned, not left to Cloud Run's choice: gen2 by default, gen1 below 512Mi.
                    execution_environment=EXECUTION_ENVIRONMENTS[svc.generation],
                    max_instance_request_concurrency=svc.concurrency,
                    scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(
                        min_instance_count=svc.min_instances,
                        max_instance_count=svc.max_instances,
                    ),
                    containers=[
                        gcp.cloudrunv2.ServiceTemplateContainerArgs(
                            image=svc.image,
                            resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                                limits={"cpu": svc.cpu, "memory": svc.memory},
                                # Explicit: once resources are set, unset means CPU always
                                # allocated (instance billing), and fractional CPU fails.
                                cpu_idle=svc.cpu_idle,
                            ),
                            envs=envs or None,
                        )
                    ],
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.run_api]),
        )
        self.name = self.service.name
        self.uri = self.service.uri
        self.runtime_email = self.runtime_account.email
        self.timeout_seconds = svc.timeout_seconds
        self.register_outputs(
            {
                "name": self.name,
                "uri": self.uri,
                "runtime_email": self.runtime_email,
                "timeout_seconds": self.timeout_seconds,
            }
        )
