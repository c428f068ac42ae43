"""The Google APIs the stack needs, enabled and never disabled on teardown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp

CLOUD_TASKS_API = "cloudtasks.googleapis.com"
CLOUD_RUN_API = "run.googleapis.com"
IAM_API = "iam.googleapis.com"
# Only when the service reads secrets (service.secrets): no API the stack does not use.
SECRET_MANAGER_API = "secretmanager.googleapis.com"
# Only when monitoring is on (alert policies, dashboard) / dead letters are on (topic, subscription).
MONITORING_API = "monitoring.googleapis.com"
PUBSUB_API = "pubsub.googleapis.com"


class ProjectApisArgs(NamedTuple):
    project: str
    services: Sequence[str] = (CLOUD_TASKS_API, CLOUD_RUN_API, IAM_API)


class ProjectApis(pulumi.ComponentResource):
    """Enables each API; `api(name)` gives the resource to depend on."""

    enabled: dict[str, gcp.projects.Service]

    def __init__(self, name: str, args: ProjectApisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:ProjectApis", name, None, opts)
        self.enabled = {
            service: gcp.projects.Service(
                f"{name}-{service.split('.')[0]}",
                gcp.projects.ServiceArgs(
                    project=args.project,
                    service=service,
                    # Tearing down this stack must never switch off an API the rest
                    # of the project uses.
                    disable_on_destroy=False,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for service in args.services
        }
        self.register_outputs({"services": list(self.enabled)})

    def api(self, service: str) -> gcp.projects.Service:
        return self.enabled[service]
