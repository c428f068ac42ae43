"""Generated from settings/fields.py by `python -m task_worker_package.generate`; do not edit.

Every input of the TaskWorker component, typed and described for the SDK's analyzer (the
descriptions are the settings model's). All optional but project; defaults are the stack file's."""

from typing import Required, TypedDict

import pulumi


class QueueAlert(TypedDict, total=False):
    "A queue's own alert thresholds (`queues.<key>.alerts`); each unset one is the stack's."

    backlog_depth: int
    "Backlog alert: more tasks than this waiting in the queue … Unset: monitoring's. Allowed: a whole number from 1 to 2147483647"

    backlog_minutes: int
    "… for this many minutes. Unset: monitoring's. Allowed: whole minutes from 1 to 1440"

    failing_percent: float
    "Failing-tasks alert: share of attempts answered non-OK above this % … Unset: monitoring's. Allowed: a number > 0 and ≤ 100"

    failing_minutes: int
    "… for this many minutes. Unset: monitoring's. Allowed: whole minutes from 1 to 1440"

    delay_percentile: int
    "Falling-behind alert: this percentile of attempt delay … Unset: monitoring's. Allowed: 50, 95 or 99 (Cloud Monitoring's percentile aligners)"

    delay_seconds: float
    "… above this many seconds (scheduled → dispatched) … Unset: monitoring's. Allowed: a number > 0 and ≤ 2678400 (31 days, a task's longest life)"

    delay_minutes: int
    "… for this many minutes. Unset: monitoring's. Allowed: whole minutes from 1 to 1440"


class Account(TypedDict, total=False):
    "A service account the stack creates (`accounts.runtime`, `accounts.invoker`)."

    import_id: str
    "Adopt an existing account instead of creating one (Pulumi import): its ID. The account keeps its email; the stack then manages it. Allowed: projects/P/serviceAccounts/NAME@P.iam.gserviceaccount.com, P the stack's project"


class Probe(TypedDict, total=False):
    "A startup or liveness probe (`service.startupProbe`, `service.livenessProbe`)."

    http_path: str
    'HTTP GET this path; 200–399 is healthy. Unset: a TCP probe (startup only). Allowed: a path starting with "/", e.g. "/healthz"'

    port: int
    "Port probed. Unset: the container port (PORT, 8080). Allowed: a whole number from 1 to 65535"

    initial_delay_seconds: int
    "Wait after the container starts before the first probe. Allowed: a whole number from 0 to 240 (startup) or 3600 (liveness)"

    period_seconds: int
    "Time between probes. Allowed: a whole number from 1 to 240 (startup) or 3600 (liveness)"

    timeout_seconds: int
    "How long one probe may take. Allowed: a whole number from 1 to periodSeconds"

    failure_threshold: int
    "Failures in a row before the container is restarted (liveness) or shut down (startup). Allowed: a whole number ≥ 1; startup: failureThreshold × periodSeconds ≤ 240"


class Vpc(TypedDict, total=False):
    "Direct VPC egress (`service.vpc`): the service sends traffic into a VPC network."

    network: str
    'VPC network (a Shared VPC\'s host network by full ID). Unset: the subnetwork\'s network. Allowed: a network name, e.g. "default", or "projects/P/global/networks/N"'

    subnetwork: str
    "Subnetwork the instances take IPs from, in the stack's location. Unset: the one named as the network. Allowed: a subnetwork name, or \"projects/P/regions/R/subnetworks/S\" with R the stack's location"

    egress: str
    'Which traffic goes into the VPC: private (RFC 1918) ranges only, or all of it (then the VPC\'s routes and NAT decide how it reaches the internet). Allowed: "PRIVATE_RANGES_ONLY" or "ALL_TRAFFIC"'

    grant_network_user: bool
    "Shared VPC: declare roles/compute.networkUser on the subnetwork (in the host project) for this project's Cloud Run service agent, which Direct VPC egress into another project's subnet needs. The deployer then needs to set IAM on that subnetwork. false: the host project's admin grants it (the plan says what, to whom, on what). Allowed: true or false; true needs subnetwork as \"projects/HOST/regions/R/subnetworks/S\" with HOST another project"


class SecretRef(TypedDict, total=False):
    "One secret version from Secret Manager (`service.secrets.<ENV>` as a map)."

    secret: Required[str]
    'The secret: its name in the stack\'s project, or its full ID in another project. Allowed: a secret name (letters, digits, _ and -, ≤ 255), e.g. "db-password", or its ID "projects/P/secrets/S"'

    version: str
    'Which version. Google recommends pinning one ("3"): "latest" is resolved at each instance start, so instances of one revision can read different values (the plan warns). Allowed: "latest", a version number ("3") or a version alias (not "NEW")'


class Queue(TypedDict, total=False):
    "One Cloud Tasks queue (`queues.<key>`)."

    path: str
    'Path on the service that the queue\'s tasks are sent to. Allowed: a URL path starting with "/", e.g. "/tasks" (letters, digits and -._~!$&\'()*+,;=:@%/)'

    max_dispatches_per_second: float
    "Most tasks dispatched per second (rateLimits.maxDispatchesPerSecond). Allowed: a number > 0 and ≤ 500 (more throughput means more queues)"

    max_concurrent_dispatches: int
    "Most tasks in flight at once (rateLimits.maxConcurrentDispatches). Allowed: a whole number from 1 to 5000"

    max_attempts: int
    "Attempts per task, the first included (retryConfig.maxAttempts). Allowed: -1 (unlimited) or a whole number from 1 to 2147483647"

    min_backoff: str
    'Shortest wait before a retry. Allowed: a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most 315576000000s'

    max_backoff: str
    'Longest wait before a retry. Allowed: a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most 315576000000s'

    max_doublings: int
    "Times the wait doubles before it grows linearly. Allowed: a whole number from 0 to 2147483647"

    max_retry_duration: str
    'How long a task is retried; 0s is unlimited. Allowed: a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most 315576000000s'

    logging_sampling_ratio: float
    "Share of task operations logged (stackdriverLoggingConfig.samplingRatio); 0 logs nothing. Allowed: a number from 0 to 1"

    shards: int
    "Queues with these same settings and path; producers spread tasks over them. One queue dispatches at most 500/s: more throughput means more queues. Allowed: a whole number from 1 to 1000; all queues' shards together ≤ 1000"

    paused: bool
    "true pauses dispatch (tasks can still be added). Pulumi pauses or resumes the queue only when this key changes: a queue paused by hand (gcloud) stays paused through every pulumi up, --refresh or not. Allowed: true or false"

    name: str
    "Queue ID, when producers call the queue by name. Unset: Pulumi names it (key + random suffix), so a replacement never waits out a deleted name's tombstone. Allowed: letters, digits and hyphens, 1–100 characters (Cloud Tasks' queue ID rule); unique in the stack"

    import_id: str
    "Adopt an existing queue (Pulumi import) instead of creating one: its ID. Tasks in it are kept. Allowed: projects/P/locations/L/queues/Q, P and L the stack's project and location, Q equal to name if set"

    alerts: QueueAlert
    "This queue's own alert thresholds; each key unset is monitoring's. Allowed: a map of the queue threshold keys of monitoring (backlogDepth, …, delayMinutes)"


class DeadLetter(TypedDict, total=False):
    "Opt-in dead letters (`deadLetter`); see docs/operations.md."

    enabled: bool
    "true: a Pub/Sub topic and pull subscription for tasks whose last attempt failed, publish on it for the runtime account, and TASK_WORKER_* env vars telling the worker its queues' retry limits. Allowed: true or false"

    retention_seconds: int
    "How long the subscription keeps a dead letter nobody acknowledged. Allowed: a whole number from 600 (10 minutes) to 2678400 (31 days)"

    subscribers: list[str]
    "Who may pull dead letters (operators, a replay job): roles/pubsub.subscriber on the subscription only. Allowed: a list of IAM members as for enqueuers; each once; never allUsers"


class Monitoring(TypedDict, total=False):
    "Alert policies and a dashboard (`monitoring`); see docs/operations.md."

    enabled: bool
    "true: alert policies over the queues (an incident per queue) and for the service, and one dashboard (Monitoring API enabled). Allowed: true or false"

    notification_channels: list[str]
    'Existing notification channels every policy notifies. Empty: the policies exist and show incidents in the console, but page nobody. Allowed: a channel ID, e.g. "1234567890", or "projects/P/notificationChannels/ID"; each once'

    error_percent: float
    "Service 5xx alert: share of requests above this % … Allowed: a number > 0 and ≤ 100"

    error_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"

    latency_fraction: float
    "Latency alert: the percentile's latency above this fraction of timeoutSeconds … Allowed: a number > 0 and ≤ 1"

    latency_percentile: int
    "… at this percentile … Allowed: 50, 95 or 99 (Cloud Monitoring's percentile aligners)"

    latency_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"

    saturation_fraction: float
    "Saturation alert: instances at this fraction of maxInstances (rounded up) … Allowed: a number > 0 and ≤ 1"

    saturation_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"

    backlog_depth: int
    "Backlog alert: more tasks than this waiting in the queue … Allowed: a whole number from 1 to 2147483647"

    backlog_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"

    failing_percent: float
    "Failing-tasks alert: share of attempts answered non-OK above this % … Allowed: a number > 0 and ≤ 100"

    failing_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"

    delay_percentile: int
    "Falling-behind alert: this percentile of attempt delay … Allowed: 50, 95 or 99 (Cloud Monitoring's percentile aligners)"

    delay_seconds: float
    "… above this many seconds (scheduled → dispatched) … Allowed: a number > 0 and ≤ 2678400 (31 days, a task's longest life)"

    delay_minutes: int
    "… for this many minutes. Allowed: whole minutes from 1 to 1440"


class Accounts(TypedDict, total=False):
    "The stack's two service accounts (`accounts`)."

    runtime: Account
    "The identity the service runs as. Allowed: a map with importId"

    invoker: Account
    "The identity Cloud Tasks signs tokens as. Allowed: a map with importId"


class Service(TypedDict, total=False):
    "The Cloud Run v2 service (`service`)."

    image: pulumi.Input[str]
    "Container image the service runs. Allowed: an image reference [host[:port]/]path[:tag][@sha256:digest], e.g. us-docker.pkg.dev/p/repo/worker:1.2"

    min_instances: int
    "Instances kept warm. Allowed: a whole number from 0 to 2147483647, ≤ maxInstances"

    max_instances: int
    "Most instances Cloud Run starts. Allowed: a whole number from 1 to 2147483647"

    concurrency: int
    "Requests one instance serves at once. Allowed: a whole number from 1 to 1000; exactly 1 when cpu is below 1"

    timeout_seconds: int
    "Request timeout, and each task's dispatch deadline (equal, so a task never runs twice on purpose). Allowed: a whole number from 600 to 1800: it is also each task's dispatch deadline, at least Cloud Tasks' 600 s default (a shorter service timeout answers 504 while the task waits) and at most its 1800 s maximum"

    cpu: str
    'CPU limit of the container. Allowed: "0.08" to "1" in steps of 0.001 (or millicores, "80m"–"1000m"), or "2", "4", "6", "8"; see the CPU × memory rules'

    memory: str
    'Memory limit of the container. Allowed: "128Mi" to "32Gi" ("<n>Mi" or "<n>Gi"); see the CPU × memory rules'

    cpu_idle: bool
    "true: CPU only while a request is served (request-based billing, right for a task worker); false: CPU always allocated (instance-based billing). Allowed: true or false; true when cpu is below 1"

    execution_environment: str
    'Cloud Run execution environment. Unset: gen2, or gen1 below 512Mi (Google advises gen1 there). Allowed: "gen1" or "gen2"; gen2 needs memory ≥ 512Mi'

    env: dict[str, pulumi.Input[str]]
    "Environment variables of the container. Allowed: a map of name (letters, digits, _; not starting with a digit; not K_CONFIGURATION, K_REVISION, K_SERVICE, PORT) to a string of ≤ 32768 bytes; at most 1000"

    ingress: str
    'Who can reach the service over the network (Cloud Tasks in the same project counts as internal). Allowed: "internal" or "internal-and-cloud-load-balancing"; public ingress is refused'

    secrets: dict[str, SecretRef]
    'Environment variables from Secret Manager: the value is read by Cloud Run when an instance starts, never by Pulumi. The runtime account gets secretAccessor on each secret named, only. Allowed: a map of env var name (as in env, and not also in env) to a secret: a secret name (letters, digits, _ and -, ≤ 255), e.g. "db-password", or its ID "projects/P/secrets/S", or a map {secret, version} (version default "latest")'

    vpc: Vpc
    "Direct VPC egress, e.g. to reach Cloud SQL or Memorystore on private IPs. Unset: no VPC. Allowed: a map {network, subnetwork, egress}"

    startup_probe: Probe
    "Startup probe. Unset: Cloud Run's default TCP probe on the container port (timeout 240 s, period 240 s, failure threshold 1). Allowed: a map of the probe keys below; HTTP (httpPath) or TCP"

    liveness_probe: Probe
    "Liveness probe: restarts a container that stops answering. Unset: none. Allowed: a map of the probe keys below; HTTP only (httpPath required: Cloud Run has no TCP liveness probe)"

    import_id: str
    "Adopt an existing Cloud Run service (Pulumi import) instead of creating one: its ID. Allowed: projects/P/locations/L/services/NAME, P and L the stack's project and location"


class TaskWorkerArgs(TypedDict, total=False):
    "The TaskWorker's inputs: the stack file's keys, each without its namespace (gcp or task-worker)."

    project: Required[str]
    "The Google Cloud project to deploy to. Allowed: a project ID: 6–30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, without google, null, undefined, ssl"

    region: str
    "Where everything is, unless location is set. Allowed: a location where Cloud Tasks runs: asia-east1, asia-east2, asia-northeast1, asia-northeast2, asia-northeast3, asia-south1, asia-southeast1, asia-southeast2, australia-southeast1, europe-central2, europe-west1, europe-west2, europe-west3, europe-west6, northamerica-northeast1, southamerica-east1, us-central1, us-east1, us-east4, us-west1, us-west2, us-west3, us-west4"

    location: str
    "Overrides region for every resource (queues and service share one location). Allowed: a location where Cloud Tasks runs: asia-east1, asia-east2, asia-northeast1, asia-northeast2, asia-northeast3, asia-south1, asia-southeast1, asia-southeast2, australia-southeast1, europe-central2, europe-west1, europe-west2, europe-west3, europe-west6, northamerica-northeast1, southamerica-east1, us-central1, us-east1, us-east4, us-west1, us-west2, us-west3, us-west4"

    deletion_protection: bool
    "true: the service has deletion_protection and queues deletion_policy PREVENT; false: both deletable. Allowed: true or false"

    labels: dict[str, str]
    "GCP labels on the service (managed-by: pulumi and stack: <stack> are always set). Allowed: a map of key (lowercase letters, international ones too, digits, _ and -, starting with a letter, ≤ 63) to value (the same characters, ≤ 63); at most 62, 61 with dead letters on (Google allows 64 per resource, the stack's own included); not managed-by, stack"

    enqueuers: list[str]
    "Who may create tasks: each gets roles/cloudtasks.enqueuer on every queue, and nothing else. Allowed: a list of IAM members: serviceAccount:…, group:…, user:…, domain:…, principal://…, principalSet://…; each once; never allUsers"

    project_number: str
    "The project's number (`gcloud projects describe PROJECT --format='value(projectNumber)'`). Set: the service agents' e-mails are derived from it (service-NUMBER@gcp-sa-cloudtasks…, service-NUMBER@serverless-robot-prod…) instead of read from ServiceIdentity, which may return none (terraform-provider-google #18649); a number that does not match the agent Google reports is refused at `pulumi up`. Allowed: the project number: 1 to 19 digits, not starting with 0"

    service: Service
    "The Cloud Run service. Allowed: a map of the service keys below"

    accounts: Accounts
    "The stack's service accounts, to adopt existing ones. Allowed: a map {runtime, invoker}, each {importId}"

    monitoring: Monitoring
    "Alert policies and a dashboard (docs/operations.md). Allowed: a map of the monitoring keys below"

    dead_letter: DeadLetter
    "Dead letters, opt-in (docs/operations.md). Allowed: a map {enabled, retentionSeconds, subscribers}"

    queues: dict[str, Queue]
    "The queues, by key (names their resources). Left out: one queue `default` at /. Allowed: a map of key (lowercase letters, digits, -, starting with a letter, ≤ 50) to queue settings; 1 to 1000 queues"
