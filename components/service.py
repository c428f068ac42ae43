"""The private Cloud Run v2 service and the identity it runs as."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import _utilities as gcp_utilities  # pyright: ignore[reportPrivateUsage]

from components.service_agents import agent_email, member
from settings import EXECUTION_ENVIRONMENTS, ProbeSettings, ServiceSettings
from settings.names import cloud_run_agent_email
from settings.resolve import NetworkUserGrant, SecretGrant

SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
# Direct VPC egress into a Shared VPC host's subnet: Cloud Run's service agent uses the subnet
# (Cloud Run "Direct VPC egress with a Shared VPC network", IAM permissions).
NETWORK_USER = "roles/compute.networkUser"


class PrivateServiceArgs(NamedTuple):
    project: str
    location: str
    account_id: str
    service: ServiceSettings
    deletion_protection: bool
    # What must exist first: the Cloud Run API for the service, IAM for its account.
    run_api: pulumi.Resource
    iam_api: pulumi.Resource
    labels: Mapping[str, str] = MappingProxyType({})
    # Needed only when service.secrets is set: the Secret Manager API, before the grants.
    secretmanager_api: pulumi.Resource | None = None
    # Adopt an existing runtime account (Pulumi import): its ID; account_id is then its name.
    account_import_id: str | None = None
    # secretAccessor for the runtime account, one per secret named (settings/resolve.py names them).
    secret_grants: Sequence[SecretGrant] = ()
    # The stack's own env vars (TASK_WORKER_*, dead letters), made once the runtime account exists:
    # given its member, declare what the env refers to (the dead-letter topic) and return the env.
    program_env: Callable[[pulumi.Output[str]], Mapping[str, pulumi.Input[str]]] | None = None
    # service.vpc.grantNetworkUser: networkUser on the host's subnetwork for Cloud Run's service agent.
    network_user: NetworkUserGrant | None = None
    # task-worker:projectNumber: the service agent's e-mail is derived from it (components/service_agents.py).
    project_number: str | None = None


class PrivateService(pulumi.ComponentResource):
    """A Cloud Run service reachable only from inside the project, by IAM-checked callers."""

    runtime_account: gcp.serviceaccount.Account
    service: gcp.cloudrunv2.Service
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    runtime_email: pulumi.Output[str]
    run_agent: gcp.projects.ServiceIdentity | None = None  # with service.vpc.grantNetworkUser
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.iam_api], import_=args.account_import_id),
        )
        # secretAccessor on each secret named, never on the project: the account reads
        # these secrets and no others. One grant per secret, however many variables use it.
        secret_grants = [
            gcp.secretmanager.SecretIamMember(
                grant.resource_name,
                gcp.secretmanager.SecretIamMemberArgs(
                    project=grant.project,
                    secret_id=grant.secret_id,
                    role=SECRET_ACCESSOR,
                    member=self.runtime_account.member,
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.secretmanager_api] if args.secretmanager_api else []
                ),
            )
            for grant in args.secret_grants
        ]
        network_user = self._network_user(name, args)
        program_env = args.program_env(self.runtime_account.member) if args.program_env else {}
        envs = [
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=key,
                value=pulumi.Output.secret(value) if svc.env_is_secret else value,
            )
            for key, value in svc.env.items()
        ]
        envs += [gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v) for k, v in program_env.items()]
        # Cloud Run reads the secret when an instance starts: the value never passes through Pulumi.
        # Google's format: the secret's name in the service's project, its full ID in another.
        envs += [
            gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                name=key,
                value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=ref.secret_id() if ref.project(args.project) == args.project else ref.secret,
                        version=ref.version,
                    )
                ),
            )
            for key, ref in svc.secrets.items()
        ]
        vpc = svc.vpc
        self.service = gcp.cloudrunv2.Service(
            name,
            gcp.cloudrunv2.ServiceArgs(
                # An adopted service keeps its name; a new one is auto-named.
                name=svc.import_id.rsplit("/", 1)[-1] if svc.import_id else None,
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
                    # Direct VPC egress (no connector): egress always explicit, as configured.
                    vpc_access=gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
                        network_interfaces=[
                            gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                                network=vpc.network, subnetwork=vpc.subnetwork
                            )
                        ],
                        egress=vpc.egress,
                    )
                    if vpc
                    else None,
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
                            startup_probe=_startup_probe(svc.startup_probe),
                            liveness_probe=_liveness_probe(svc.liveness_probe),
                        )
                    ],
                ),
            ),
            # The grants first: a revision whose account cannot read its secrets fails to start.
            # and the subnetwork's: a revision that cannot take IPs in the subnet fails to start.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.run_api, *secret_grants, *network_user], import_=svc.import_id
            ),
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

    def _network_user(self, name: str, args: PrivateServiceArgs) -> list[pulumi.Resource]:
        """Shared VPC, opt-in: roles/compute.networkUser for Cloud Run's service agent on the one
        subnetwork the service uses, in the host project (never on the whole host project)."""
        grant = args.network_user
        if grant is None:
            return []
        self.run_agent = gcp.projects.ServiceIdentity(
            f"{name}-run-agent",
            gcp.projects.ServiceIdentityArgs(project=args.project, service="run.googleapis.com"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.run_api]),
        )
        email = agent_email(self.run_agent, args.project, args.project_number, cloud_run_agent_email)
        return [
            SubnetworkIamMember(
                grant.resource_name,
                project=grant.project,
                region=grant.region,
                subnetwork=grant.subnetwork,
                role=NETWORK_USER,
                member=member(email),
                opts=pulumi.ResourceOptions(parent=self),
            )
        ]


class SubnetworkIamMember(pulumi.CustomResource):
    """gcp.compute.SubnetworkIAMMember, declared as pulumi_gcp declares it (type token, inputs, the
    provider's version in the options), without its module: `gcp.compute` imports its 1,000-odd
    resources at once, ~5 s on a 2-core machine, for this one grant. tests/test_shared_vpc.py checks
    the token and inputs against pulumi_gcp's own source."""

    TYPE = "gcp:compute/subnetworkIAMMember:SubnetworkIAMMember"
    etag: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        project: pulumi.Input[str],
        region: pulumi.Input[str],
        subnetwork: pulumi.Input[str],
        role: pulumi.Input[str],
        member: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        props = {
            "condition": None,
            "member": member,
            "project": project,
            "region": region,
            "role": role,
            "subnetwork": subnetwork,
            "etag": None,
        }
        opts = pulumi.ResourceOptions.merge(gcp_utilities.get_resource_opts_defaults(), opts)
        super().__init__(self.TYPE, name, props, opts)


def _startup_probe(probe: ProbeSettings | None) -> gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs | None:
    """Unset: Cloud Run's default TCP startup probe applies (timeout and period 240 s, threshold 1)."""
    if probe is None:
        return None
    return gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        timeout_seconds=probe.timeout_seconds,
        failure_threshold=probe.failure_threshold,
        http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path=probe.http_path, port=probe.port)
        if probe.http_path
        else None,
        tcp_socket=None
        if probe.http_path
        else gcp.cloudrunv2.ServiceTemplateContainerStartupProbeTcpSocketArgs(port=probe.port),
    )


def _liveness_probe(probe: ProbeSettings | None) -> gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs | None:
    """HTTP only (settings require httpPath): Cloud Run has no TCP liveness probe."""
    if probe is None:
        return None
    return gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        timeout_seconds=probe.timeout_seconds,
        failure_threshold=probe.failure_threshold,
        http_get=gcp.cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(path=probe.http_path, port=probe.port),
    )
