"""A Cloud Tasks queue that pushes to the service, signed as the invoker."""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp

from settings.resolve import QueuePlan

ENQUEUER = "roles/cloudtasks.enqueuer"


class TaskQueueArgs(NamedTuple):
    project: str
    location: str
    # The queue's settings and, per shard, its resource name, queue ID and grants (settings/resolve.py).
    plan: QueuePlan
    deletion_protection: bool
    # The service's base URL ("https://…run.app"): host of every task, and the audience.
    service_uri: pulumi.Input[str]
    invoker_email: pulumi.Input[str]
    cloud_tasks_api: pulumi.Resource


class TaskQueue(pulumi.ComponentResource):
    """One queue, or N shards of it with the same settings and path.

    Producers need only a queue's path: host, path and token come from the queue. One queue
    dispatches at most 500 tasks/s; Google's advice for more is more queues (gcp-facts.md).
    """

    queues: list[gcp.cloudtasks.Queue]
    queue: gcp.cloudtasks.Queue
    queue_paths: list[pulumi.Output[str]]
    queue_path: pulumi.Output[str]
    target_path: str

    def __init__(self, name: str, args: TaskQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:TaskQueue", name, None, opts)
        q = args.plan.settings
        host = pulumi.Output.from_input(args.service_uri).apply(_host)
        self.queues = []
        self.queue_paths = []
        for shard in args.plan.shards:
            queue = self._queue(shard.resource_name, args, host, shard.queue_id, shard.import_id)
            for grant in shard.grants:
                gcp.cloudtasks.QueueIamMember(
                    grant.resource_name,
                    gcp.cloudtasks.QueueIamMemberArgs(
                        project=args.project,
                        location=args.location,
                        name=queue.name,
                        role=ENQUEUER,
                        member=grant.member,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            self.queues.append(queue)
            self.queue_paths.append(
                pulumi.Output.concat("projects/", args.project, "/locations/", args.location, "/queues/", queue.name)
            )
        self.queue, self.queue_path = self.queues[0], self.queue_paths[0]
        self.target_path = q.path
        self.register_outputs({"paths": self.queue_paths, "target_path": self.target_path})

    def _queue(
        self, name: str, args: TaskQueueArgs, host: pulumi.Input[str], queue_id: str | None, import_id: str | None
    ) -> gcp.cloudtasks.Queue:
        q = args.plan.settings
        # Auto-named unless the config names it (or adopts a queue): a deleted queue's
        # name stays blocked for days, and a replacement under it would fail.
        return gcp.cloudtasks.Queue(
            name,
            gcp.cloudtasks.QueueArgs(
                name=queue_id,
                project=args.project,
                location=args.location,
                rate_limits=gcp.cloudtasks.QueueRateLimitsArgs(
                    max_dispatches_per_second=q.max_dispatches_per_second,
                    max_concurrent_dispatches=q.max_concurrent_dispatches,
                    # max_burst_size is output-only: Cloud Tasks derives it.
                ),
                retry_config=gcp.cloudtasks.QueueRetryConfigArgs(
                    max_attempts=q.max_attempts,
                    min_backoff=q.min_backoff,
                    max_backoff=q.max_backoff,
                    max_doublings=q.max_doublings,
                    max_retry_duration=q.max_retry_duration,
                ),
                stackdriver_logging_config=gcp.cloudtasks.QueueStackdriverLoggingConfigArgs(
                    sampling_ratio=q.logging_sampling_ratio,
                ),
                desired_state="PAUSED" if q.paused else "RUNNING",
                deletion_policy="PREVENT" if args.deletion_protection else "DELETE",
                http_target=gcp.cloudtasks.QueueHttpTargetArgs(
                    http_method="POST",
                    uri_override=gcp.cloudtasks.QueueHttpTargetUriOverrideArgs(
                        scheme="HTTPS",
                        host=host,
                        path_override=gcp.cloudtasks.QueueHttpTargetUriOverridePathOverrideArgs(path=q.path),
                    ),
                    # Audience set explicitly to the base URL: a defaulted one carries
                    # the path and query, which Cloud Run answers with 401.
                    oidc_token=gcp.cloudtasks.QueueHttpTargetOidcTokenArgs(
                        service_account_email=args.invoker_email,
                        audience=args.service_uri,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cloud_tasks_api], import_=import_id),
        )


def _host(uri: str) -> str:
    return uri.removeprefix("https://").rstrip("/")
