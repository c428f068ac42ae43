"""Google's limits this stack relies on: one table, each limit with its source.

Validators (settings/fields.py, settings/resolve.py), the monitoring component (filters, runbooks,
dashboard), the docs and the JSON Schema read these names; no number is written twice. Tests
(tests/test_resolved_model.py, tests/test_docs_numbers.py) check that every entry names a source and
that the docs quote the table's values, not their own.

Sources, by tag:
  [tasks-api]   Cloud Tasks v2 discovery document (google-api-python-client's discovery cache) and
                cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues
  [tasks-quota] cloud.google.com/tasks/docs/quotas
  [run-api]     Cloud Run v2 discovery document (run.v2), and cloud.google.com/run/docs/configuring/*
  [mon-api]     Cloud Monitoring v3 / v1 (dashboards) discovery documents
  [iam]         cloud.google.com/iam/docs/service-accounts-create and /iam/docs/quotas
  [labels]      cloud.google.com/resource-manager/docs/labels-overview ("Requirements for labels")
  [pubsub-api]  Pub/Sub v1 discovery document
  [protobuf]    google/protobuf/duration.proto
  [facts]       ../shared/gcp-facts.md (the project's checked facts; its "Corrections and additions")
"""

from typing import NamedTuple


class Limit(NamedTuple):
    value: int | float
    what: str
    source: str


LIMITS: dict[str, Limit] = {
    # --- Cloud Tasks -------------------------------------------------------------------------------
    "MAX_DISPATCHES_PER_SECOND": Limit(500.0, "rateLimits.maxDispatchesPerSecond per queue", "[tasks-api] RateLimits"),
    "MAX_CONCURRENT_DISPATCHES": Limit(5000, "rateLimits.maxConcurrentDispatches", "[tasks-api] RateLimits"),
    "MAX_QUEUES_PER_LOCATION": Limit(1000, "queues in one project and location", "[tasks-quota] Queues per region"),
    "MAX_QUEUE_ID_CHARS": Limit(100, "queue ID length (letters, digits, hyphens)", "[tasks-api] Queue.name"),
    "MAX_DURATION_SECONDS": Limit(315_576_000_000, "a protobuf Duration (backoffs, retry duration)", "[protobuf]"),
    "MIN_DISPATCH_DEADLINE_SECONDS": Limit(15, "a task's dispatchDeadline, least", "[tasks-api] Task.dispatchDeadline"),
    "MAX_DISPATCH_DEADLINE_SECONDS": Limit(
        1800, "a task's dispatchDeadline, most", "[tasks-api] Task.dispatchDeadline"
    ),
    "DEFAULT_DISPATCH_DEADLINE_SECONDS": Limit(600, "a task's dispatchDeadline when unset", "[tasks-api] Task"),
    "MAX_TASK_AGE_SECONDS": Limit(31 * 24 * 3600, "how long a task is kept", "[tasks-quota] Maximum task retention"),
    # --- Cloud Run ---------------------------------------------------------------------------------
    "INT32_MAX": Limit(2**31 - 1, "int32 fields (instance counts, attempts, doublings)", "[run-api] [tasks-api]"),
    "MAX_CONCURRENCY": Limit(1000, "maxInstanceRequestConcurrency", "[run-api] configuring/concurrency"),
    "MAX_REQUEST_TIMEOUT_SECONDS": Limit(
        3600, "the service's request timeout", "[run-api] configuring/request-timeout"
    ),
    "MAX_ENV_VARS": Limit(1000, "env vars per container", "[run-api] configuring/environment-variables"),
    "MAX_ENV_VALUE_BYTES": Limit(32 * 1024, "one env var's value", "[run-api] configuring/environment-variables"),
    "MIN_MEMORY_MIB": Limit(128, "memory limit, least", "[run-api] configuring/memory-limits"),
    "MAX_MEMORY_MIB": Limit(32 * 1024, "memory limit, most", "[run-api] configuring/memory-limits"),
    "STARTUP_MAX_SECONDS": Limit(240, "startup probe: failureThreshold × periodSeconds", "[run-api] healthchecks"),
    "LIVENESS_MAX_SECONDS": Limit(3600, "liveness probe period / delay", "[run-api] GoogleCloudRunV2Probe"),
    "MAX_VPC_NETWORK_INTERFACES": Limit(1, "vpcAccess.networkInterfaces entries", "[run-api] VpcAccess"),
    # --- Labels, IAM -------------------------------------------------------------------------------
    "MAX_LABELS": Limit(64, "labels per resource, the stack's own included", "[labels] [facts]"),
    "MAX_LABEL_CHARS": Limit(63, "a label key's or value's length", "[labels]"),
    "MIN_ACCOUNT_ID_CHARS": Limit(6, "a service account ID's length, least", "[iam] accountId"),
    "MAX_ACCOUNT_ID_CHARS": Limit(30, "a service account ID's length, most", "[iam] accountId"),
    "MAX_POLICY_PRINCIPALS": Limit(1500, "principals in one IAM policy", "[iam] quotas, [facts] IAM members"),
    "MAX_POLICY_GROUPS": Limit(250, "groups among a policy's principals", "[iam] quotas, [facts] IAM members"),
    # --- Pub/Sub (dead letters) --------------------------------------------------------------------
    "MIN_RETENTION_SECONDS": Limit(600, "Subscription.messageRetentionDuration, least", "[pubsub-api]"),
    "MAX_RETENTION_SECONDS": Limit(31 * 24 * 3600, "Subscription.messageRetentionDuration, most", "[pubsub-api]"),
    # --- Cloud Monitoring --------------------------------------------------------------------------
    "ALERT_MAX_MINUTES": Limit(1440, "a condition's duration, in whole minutes (ours: a day)", "[mon-api]"),
    "FILTER_MAX_CHARS": Limit(2048, "MetricThreshold.filter / denominatorFilter", "[mon-api] MetricThreshold"),
    "CONDITIONS_MAX": Limit(6, "conditions in one alert policy", "[mon-api] AlertPolicy.conditions"),
    "DOCUMENTATION_MAX_CHARS": Limit(8192, "Documentation.content, characters", "[mon-api] Documentation"),
    "DOCUMENTATION_MAX_BYTES": Limit(10240, "Documentation.content, bytes", "[mon-api] Documentation"),
    "SUBJECT_MAX_BYTES": Limit(255, "Documentation.subject after expansion", "[mon-api] Documentation"),
    "DASHBOARD_MAX_WIDGETS": Limit(
        100, "widgets on one dashboard", "Monitoring release notes 2025-05-02 (⚠ not on the quotas page)"
    ),
    "DASHBOARD_COLUMNS": Limit(48, "MosaicLayout.columns", "[mon-api] v1 MosaicLayout"),
}

# The names validators read (a typo here is an import error, not a silent default).
MAX_DISPATCHES_PER_SECOND = float(LIMITS["MAX_DISPATCHES_PER_SECOND"].value)
MAX_CONCURRENT_DISPATCHES = int(LIMITS["MAX_CONCURRENT_DISPATCHES"].value)
MAX_QUEUES_PER_LOCATION = int(LIMITS["MAX_QUEUES_PER_LOCATION"].value)
MAX_SHARDS = MAX_QUEUES_PER_LOCATION
MAX_QUEUE_ID_CHARS = int(LIMITS["MAX_QUEUE_ID_CHARS"].value)
MAX_DURATION_SECONDS = int(LIMITS["MAX_DURATION_SECONDS"].value)
MIN_DISPATCH_DEADLINE_SECONDS = int(LIMITS["MIN_DISPATCH_DEADLINE_SECONDS"].value)
MAX_DISPATCH_DEADLINE_SECONDS = int(LIMITS["MAX_DISPATCH_DEADLINE_SECONDS"].value)
DEFAULT_DISPATCH_DEADLINE_SECONDS = int(LIMITS["DEFAULT_DISPATCH_DEADLINE_SECONDS"].value)
MAX_TASK_AGE_SECONDS = int(LIMITS["MAX_TASK_AGE_SECONDS"].value)
INT32_MAX = int(LIMITS["INT32_MAX"].value)
MAX_CONCURRENCY = int(LIMITS["MAX_CONCURRENCY"].value)
MAX_REQUEST_TIMEOUT_SECONDS = int(LIMITS["MAX_REQUEST_TIMEOUT_SECONDS"].value)
# The service timeout equals each task's dispatch deadline, so it stays in what both allow: at
# least Cloud Tasks' default deadline (10 min), at most its largest deadline (30 min), which is
# below Cloud Run's own ceiling (MAX_REQUEST_TIMEOUT_SECONDS).
MIN_TIMEOUT_SECONDS = DEFAULT_DISPATCH_DEADLINE_SECONDS
MAX_TIMEOUT_SECONDS = min(MAX_DISPATCH_DEADLINE_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS)
MAX_ENV_VARS = int(LIMITS["MAX_ENV_VARS"].value)
MAX_ENV_VALUE_BYTES = int(LIMITS["MAX_ENV_VALUE_BYTES"].value)
MIN_MEMORY_MIB = int(LIMITS["MIN_MEMORY_MIB"].value)
MAX_MEMORY_MIB = int(LIMITS["MAX_MEMORY_MIB"].value)
STARTUP_MAX_SECONDS = int(LIMITS["STARTUP_MAX_SECONDS"].value)
LIVENESS_MAX_SECONDS = int(LIMITS["LIVENESS_MAX_SECONDS"].value)
MAX_VPC_NETWORK_INTERFACES = int(LIMITS["MAX_VPC_NETWORK_INTERFACES"].value)
MAX_LABELS = int(LIMITS["MAX_LABELS"].value)
MAX_LABEL_CHARS = int(LIMITS["MAX_LABEL_CHARS"].value)
MIN_ACCOUNT_ID_CHARS = int(LIMITS["MIN_ACCOUNT_ID_CHARS"].value)
MAX_ACCOUNT_ID_CHARS = int(LIMITS["MAX_ACCOUNT_ID_CHARS"].value)
MAX_POLICY_PRINCIPALS = int(LIMITS["MAX_POLICY_PRINCIPALS"].value)
MAX_POLICY_GROUPS = int(LIMITS["MAX_POLICY_GROUPS"].value)
MIN_RETENTION_SECONDS = int(LIMITS["MIN_RETENTION_SECONDS"].value)
MAX_RETENTION_SECONDS = int(LIMITS["MAX_RETENTION_SECONDS"].value)
ALERT_MAX_MINUTES = int(LIMITS["ALERT_MAX_MINUTES"].value)
FILTER_MAX_CHARS = int(LIMITS["FILTER_MAX_CHARS"].value)
CONDITIONS_MAX = int(LIMITS["CONDITIONS_MAX"].value)
DOCUMENTATION_MAX_CHARS = int(LIMITS["DOCUMENTATION_MAX_CHARS"].value)
DOCUMENTATION_MAX_BYTES = int(LIMITS["DOCUMENTATION_MAX_BYTES"].value)
SUBJECT_MAX_BYTES = int(LIMITS["SUBJECT_MAX_BYTES"].value)
DASHBOARD_MAX_WIDGETS = int(LIMITS["DASHBOARD_MAX_WIDGETS"].value)
DASHBOARD_COLUMNS = int(LIMITS["DASHBOARD_COLUMNS"].value)

# Where Cloud Tasks runs (queue and service share one location). Source:
# https://cloud.google.com/tasks/docs/locations, read 2026-11. Cloud Run runs in
# more regions (e.g. europe-west4, europe-north1): those are refused here.
CLOUD_TASKS_LOCATIONS: frozenset[str] = frozenset(
    {
        "northamerica-northeast1",
        "southamerica-east1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
        "europe-central2",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west6",
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-southeast1",
        "asia-southeast2",
        "australia-southeast1",
    }
)
# Project IDs may not contain these (Resource Manager: "Cannot contain restricted strings").
RESTRICTED_PROJECT_STRINGS = ("google", "null", "undefined", "ssl")
# Env vars Cloud Run sets itself; a container may not set them ([run-api] container contract).
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
