"""The components' resources, options and outputs, each field written out: a changed one fails here.

Two stacks cover every branch of components/{apis,invoker,queue,service,task_worker}.py: one with
secrets (two names of one secret, one in another project), Direct VPC egress, both probes, a named
queue in two shards and an enqueuer; one adopting every resource (import IDs), with deletion
protection, plain env, an HTTP startup probe and two queues. For each resource: type, name,
parent, dependencies (explicit and through inputs), import ID and every input; for each component
the outputs it registers; for the stack its exports; for the DeadLetter and TaskWorkerMonitoring
that TaskWorker makes, their parent and every argument. Expectations are written out, never built
from the code: a dropped `parent=`, `depends_on`, role, member, name or output key fails here.
Values the mocks invent (project number 900000000009, service hash a45ea0c) come from
tools/harness.py and are stable.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from components import task_worker
from components.dead_letter import DeadLetter, DeadLetterArgs
from components.monitoring import (
    QueueAlertThresholds,
    ServiceAlertThresholds,
    TaskWorkerMonitoring,
    TaskWorkerMonitoringArgs,
)
from components.queue import _host  # pyright: ignore[reportPrivateUsage]
from components.task_worker import TaskWorker, TaskWorkerArgs
from settings import parse_settings
from settings.resolve import Grant
from tests.component_run import run_components
from tests.conftest import run_ok, stack_config
from tools.harness import Run

P = "projects/test-project"
ACCOUNT = P + "/serviceAccounts/{}@test-project.iam.gserviceaccount.com"
# Resources of other components (monitoring, dead letter) are not compared here.
OUT_OF_SCOPE = ("TaskWorkerMonitoring", "DeadLetter")


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Each component's registered outputs, resolved, by component name."""
    recorded: dict[str, Any] = {}
    original = pulumi.ComponentResource.register_outputs

    def record(self: pulumi.ComponentResource, outputs: Any) -> None:
        name = self._name  # pyright: ignore[reportPrivateUsage]
        pulumi.Output.from_input(outputs).apply(lambda value: recorded.__setitem__(name, value))
        original(self, outputs)

    monkeypatch.setattr(pulumi.ComponentResource, "register_outputs", record)
    return recorded


def tree(run: Run) -> dict[str, dict[str, Any]]:
    names = {r.urn: r.name for r in run.resources}
    out_of_scope = {r.urn for r in run.resources if r.type.split(":")[-1] in OUT_OF_SCOPE}
    return {
        f"{r.name} {r.type.split(':')[-1]}": {
            "parent": names.get(r.parent, ""),
            "deps": sorted(names[d] for d in r.dependencies),
            "import": r.import_id,
            "inputs": r.inputs,
        }
        for r in run.resources
        if r.urn not in out_of_scope and r.parent not in out_of_scope and r.type != "pulumi:pulumi:Stack"
    }


def test_secrets_vpc_probes_shards(registered: dict[str, Any]) -> None:
    run = run_ok(
        stack_config(
            "t",
            enqueuers=["serviceAccount:a@p-roj.iam.gserviceaccount.com"],
            deletionProtection=False,
            service={
                "cpu": "1",
                "memory": "512Mi",
                "secrets": {"A": "db", "B": "db", "C": {"secret": "projects/other-proj/secrets/key", "version": "3"}},
                "vpc": {"subnetwork": "sub"},
                "startupProbe": {"periodSeconds": 5},
                "livenessProbe": {"httpPath": "/h", "port": 9000},
            },
            queues={"q": {"shards": 2, "name": "qq", "paused": True}},
        )
    )
    assert tree(run) == TREE_1
    assert {k: registered[k] for k in OUTPUTS_1} == OUTPUTS_1
    assert {k: run.exports[k] for k in EXPORTS_1} == EXPORTS_1


def test_adopted_protected(registered: dict[str, Any]) -> None:
    run = run_ok(
        stack_config(
            "imp",
            deletionProtection=True,
            accounts={
                "runtime": {"importId": ACCOUNT.format("old-run")},
                "invoker": {"importId": ACCOUNT.format("old-inv")},
            },
            service={
                "importId": f"{P}/locations/europe-west1/services/old-svc",
                "env": {"X": "1"},
                "cpu": "2",
                "memory": "1Gi",
                "minInstances": 1,
                "maxInstances": 3,
                "concurrency": 7,
                "timeoutSeconds": 900,
                "cpuIdle": False,
                "executionEnvironment": "gen1",
                "ingress": "internal-and-cloud-load-balancing",
                "image": "gcr.io/p/i:1",
                "vpc": {"network": "net", "egress": "ALL_TRAFFIC"},
                "startupProbe": {
                    "httpPath": "/s",
                    "port": 8081,
                    "initialDelaySeconds": 2,
                    "timeoutSeconds": 3,
                    "failureThreshold": 4,
                },
            },
            labels={"team": "x"},
            queues={
                "a": {
                    "importId": f"{P}/locations/europe-west1/queues/old-q",
                    "path": "/p",
                    "maxDispatchesPerSecond": 2.5,
                    "maxConcurrentDispatches": 7,
                    "maxAttempts": -1,
                    "minBackoff": "2s",
                    "maxBackoff": "20s",
                    "maxDoublings": 4,
                    "maxRetryDuration": "60s",
                    "loggingSamplingRatio": 0.5,
                },
                "b": {},
            },
        )
    )
    assert tree(run) == TREE_2
    assert {k: registered[k] for k in OUTPUTS_2} == OUTPUTS_2


def test_dead_letter(registered: dict[str, Any]) -> None:
    def build() -> None:
        api = gcp.projects.Service(
            "pubsub-api", gcp.projects.ServiceArgs(project="p-roj", service="pubsub.googleapis.com")
        )
        DeadLetter(
            "dl",
            DeadLetterArgs(
                project="p-roj",
                publisher_member="serviceAccount:run@p-roj.iam.gserviceaccount.com",
                message_retention_seconds=3600,
                subscribers=[
                    Grant("dl-subscriber-group-ops-x-com", "group:ops@x.com", "k[0]"),
                    Grant("dl-subscriber-user-a-x-com", "user:a@x.com", "k[1]"),
                ],
                labels={"team": "x"},
                depends_on=[api],
            ),
        )

    run = run_components(build)
    names = {r.urn: r.name for r in run.resources}
    assert {
        f"{r.name} {r.type.split(':')[-1]}": {
            "parent": names.get(r.parent, ""),
            "deps": sorted(names[d] for d in r.dependencies),
            "inputs": r.inputs,
        }
        for r in run.resources
        if r.type != "pulumi:pulumi:Stack"
    } == DEAD_LETTER_TREE
    assert registered["dl"] == DEAD_LETTER_OUTPUTS


DEAD_LETTER_TREE: dict[str, Any] = {
    "dl DeadLetter": {"deps": [], "inputs": {}, "parent": ""},
    "dl Topic": {
        "deps": ["pubsub-api"],
        "inputs": {"labels": {"task-worker-purpose": "dead-letter", "team": "x"}, "project": "p-roj"},
        "parent": "dl",
    },
    "dl-publisher TopicIAMMember": {
        "deps": ["dl"],
        "inputs": {
            "member": "serviceAccount:run@p-roj.iam.gserviceaccount.com",
            "project": "p-roj",
            "role": "roles/pubsub.publisher",
            "topic": "dl-c4c8222",
        },
        "parent": "dl",
    },
    "dl-pull Subscription": {
        "deps": ["dl"],
        "inputs": {
            "ackDeadlineSeconds": 60,
            "expirationPolicy": {"ttl": ""},
            "labels": {"task-worker-purpose": "dead-letter", "team": "x"},
            "messageRetentionDuration": "3600s",
            "project": "p-roj",
            "topic": "projects/p-roj/topics/dl-c4c8222",
        },
        "parent": "dl",
    },
    "dl-subscriber-group-ops-x-com SubscriptionIAMMember": {
        "deps": ["dl-pull"],
        "inputs": {
            "member": "group:ops@x.com",
            "project": "p-roj",
            "role": "roles/pubsub.subscriber",
            "subscription": "dl-pull-041f765",
        },
        "parent": "dl",
    },
    "dl-subscriber-user-a-x-com SubscriptionIAMMember": {
        "deps": ["dl-pull"],
        "inputs": {
            "member": "user:a@x.com",
            "project": "p-roj",
            "role": "roles/pubsub.subscriber",
            "subscription": "dl-pull-041f765",
        },
        "parent": "dl",
    },
    "pubsub-api Service": {
        "deps": [],
        "inputs": {"project": "p-roj", "service": "pubsub.googleapis.com"},
        "parent": "",
    },
}


DEAD_LETTER_OUTPUTS: dict[str, Any] = {
    "subscription": "projects/p-roj/subscriptions/dl-pull-041f765",
    "topic": "projects/p-roj/topics/dl-c4c8222",
}


TREE_1: dict[str, Any] = {
    "task-worker TaskWorker": {"deps": [], "import": "", "inputs": {}, "parent": ""},
    "task-worker-apis ProjectApis": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-apis-cloudtasks Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "cloudtasks.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-iam Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "iam.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-monitoring Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "monitoring.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-run Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "run.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-secretmanager Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "secretmanager.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-invoker Account": {
        "deps": ["task-worker-apis-iam"],
        "import": "",
        "inputs": {
            "accountId": "task-worker-t-invoker",
            "description": "Cloud Tasks signs OIDC tokens as this account to call the task-worker service",
            "displayName": "task-worker invoker",
            "project": "test-project",
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker TaskInvoker": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-invoker-agent-token-creator IAMMember": {
        "deps": [
            "task-worker-invoker",
            "task-worker-invoker-cloudtasks-agent",
            "task-worker-invoker-cloudtasks-agent-ready",
        ],
        "import": "",
        "inputs": {
            "member": "serviceAccount:service-900000000009@gcp-sa-cloudtasks.iam.gserviceaccount.com",
            "role": "roles/iam.serviceAccountOpenIdTokenCreator",
            "serviceAccountId": ACCOUNT.format("task-worker-t-invoker"),
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-cloudtasks-agent ServiceIdentity": {
        "deps": ["task-worker-apis-cloudtasks"],
        "import": "",
        "inputs": {"project": "test-project", "service": "cloudtasks.googleapis.com"},
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-cloudtasks-agent-ready Sleep": {
        "deps": ["task-worker-invoker-cloudtasks-agent"],
        "import": "",
        "inputs": {
            "createDuration": "30s",
            "triggers": {"agent": "service-900000000009@gcp-sa-cloudtasks.iam.gserviceaccount.com"},
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-run-invoker ServiceIamMember": {
        "deps": ["task-worker-invoker", "task-worker-service"],
        "import": "",
        "inputs": {
            "location": "europe-west1",
            "member": "serviceAccount:task-worker-t-invoker@test-project.iam.gserviceaccount.com",
            "name": "task-worker-service-a45ea0c",
            "project": "test-project",
            "role": "roles/run.invoker",
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-q Queue": {
        "deps": ["task-worker-apis-cloudtasks", "task-worker-invoker", "task-worker-service"],
        "import": "",
        "inputs": {
            "deletionPolicy": "DELETE",
            "desiredState": "PAUSED",
            "httpTarget": {
                "httpMethod": "POST",
                "oidcToken": {
                    "audience": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
                    "serviceAccountEmail": "task-worker-t-invoker@test-project.iam.gserviceaccount.com",
                },
                "uriOverride": {
                    "host": "task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
                    "pathOverride": {"path": "/"},
                    "scheme": "HTTPS",
                },
            },
            "location": "europe-west1",
            "name": "qq",
            "project": "test-project",
            "rateLimits": {"maxConcurrentDispatches": 100, "maxDispatchesPerSecond": 10},
            "retryConfig": {
                "maxAttempts": 100,
                "maxBackoff": "3600s",
                "maxDoublings": 16,
                "maxRetryDuration": "0s",
                "minBackoff": "0.1s",
            },
            "stackdriverLoggingConfig": {"samplingRatio": 0},
        },
        "parent": "task-worker-q",
    },
    "task-worker-q TaskQueue": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-q-1 Queue": {
        "deps": ["task-worker-apis-cloudtasks", "task-worker-invoker", "task-worker-service"],
        "import": "",
        "inputs": {
            "deletionPolicy": "DELETE",
            "desiredState": "PAUSED",
            "httpTarget": {
                "httpMethod": "POST",
                "oidcToken": {
                    "audience": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
                    "serviceAccountEmail": "task-worker-t-invoker@test-project.iam.gserviceaccount.com",
                },
                "uriOverride": {
                    "host": "task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
                    "pathOverride": {"path": "/"},
                    "scheme": "HTTPS",
                },
            },
            "location": "europe-west1",
            "name": "qq-1",
            "project": "test-project",
            "rateLimits": {"maxConcurrentDispatches": 100, "maxDispatchesPerSecond": 10},
            "retryConfig": {
                "maxAttempts": 100,
                "maxBackoff": "3600s",
                "maxDoublings": 16,
                "maxRetryDuration": "0s",
                "minBackoff": "0.1s",
            },
            "stackdriverLoggingConfig": {"samplingRatio": 0},
        },
        "parent": "task-worker-q",
    },
    "task-worker-q-1-enqueuer-serviceaccount-a-p-roj-iam-gserviceaccount-com QueueIamMember": {
        "deps": ["task-worker-q-1"],
        "import": "",
        "inputs": {
            "location": "europe-west1",
            "member": "serviceAccount:a@p-roj.iam.gserviceaccount.com",
            "name": "qq-1",
            "project": "test-project",
            "role": "roles/cloudtasks.enqueuer",
        },
        "parent": "task-worker-q",
    },
    "task-worker-q-enqueuer-serviceaccount-a-p-roj-iam-gserviceaccount-com QueueIamMember": {
        "deps": ["task-worker-q"],
        "import": "",
        "inputs": {
            "location": "europe-west1",
            "member": "serviceAccount:a@p-roj.iam.gserviceaccount.com",
            "name": "qq",
            "project": "test-project",
            "role": "roles/cloudtasks.enqueuer",
        },
        "parent": "task-worker-q",
    },
    "task-worker-service PrivateService": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-service Service": {
        "deps": [
            "task-worker-apis-run",
            "task-worker-service-runtime",
            "task-worker-service-secret-other-proj-key",
            "task-worker-service-secret-test-project-db",
        ],
        "import": "",
        "inputs": {
            "deletionProtection": False,
            "ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY",
            "invokerIamDisabled": False,
            "labels": {"managed-by": "pulumi", "stack": "t"},
            "location": "europe-west1",
            "project": "test-project",
            "template": {
                "containers": [
                    {
                        "envs": [
                            {"name": "A", "valueSource": {"secretKeyRef": {"secret": "db", "version": "latest"}}},
                            {"name": "B", "valueSource": {"secretKeyRef": {"secret": "db", "version": "latest"}}},
                            {
                                "name": "C",
                                "valueSource": {
                                    "secretKeyRef": {"secret": "projects/other-proj/secrets/key", "version": "3"}
                                },
                            },
                        ],
                        "image": "us-docker.pkg.dev/cloudrun/container/hello",
                        "livenessProbe": {
                            "failureThreshold": 3,
                            "httpGet": {"path": "/h", "port": 9000},
                            "initialDelaySeconds": 0,
                            "periodSeconds": 10,
                            "timeoutSeconds": 1,
                        },
                        "resources": {"cpuIdle": True, "limits": {"cpu": "1", "memory": "512Mi"}},
                        "startupProbe": {
                            "failureThreshold": 3,
                            "initialDelaySeconds": 0,
                            "periodSeconds": 5,
                            "tcpSocket": {},
                            "timeoutSeconds": 1,
                        },
                    }
                ],
                "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2",
                "maxInstanceRequestConcurrency": 80,
                "scaling": {"maxInstanceCount": 10, "minInstanceCount": 0},
                "serviceAccount": "task-worker-t-run@test-project.iam.gserviceaccount.com",
                "timeout": "600s",
                "vpcAccess": {"egress": "PRIVATE_RANGES_ONLY", "networkInterfaces": [{"subnetwork": "sub"}]},
            },
        },
        "parent": "task-worker-service",
    },
    "task-worker-service-runtime Account": {
        "deps": ["task-worker-apis-iam"],
        "import": "",
        "inputs": {
            "accountId": "task-worker-t-run",
            "description": "Identity the task-worker Cloud Run service runs as",
            "displayName": "task-worker runtime",
            "project": "test-project",
        },
        "parent": "task-worker-service",
    },
    "task-worker-service-secret-other-proj-key SecretIamMember": {
        "deps": ["task-worker-apis-secretmanager", "task-worker-service-runtime"],
        "import": "",
        "inputs": {
            "member": "serviceAccount:task-worker-t-run@test-project.iam.gserviceaccount.com",
            "project": "other-proj",
            "role": "roles/secretmanager.secretAccessor",
            "secretId": "key",
        },
        "parent": "task-worker-service",
    },
    "task-worker-service-secret-test-project-db SecretIamMember": {
        "deps": ["task-worker-apis-secretmanager", "task-worker-service-runtime"],
        "import": "",
        "inputs": {
            "member": "serviceAccount:task-worker-t-run@test-project.iam.gserviceaccount.com",
            "project": "test-project",
            "role": "roles/secretmanager.secretAccessor",
            "secretId": "db",
        },
        "parent": "task-worker-service",
    },
}

OUTPUTS_1: dict[str, Any] = {
    "task-worker": {
        "audience": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
        "invokerEmail": "task-worker-t-invoker@test-project.iam.gserviceaccount.com",
        "location": "europe-west1",
        "project": "test-project",
        "queues": {
            "q": {
                "path": "projects/test-project/locations/europe-west1/queues/qq",
                "paths": [
                    "projects/test-project/locations/europe-west1/queues/qq",
                    "projects/test-project/locations/europe-west1/queues/qq-1",
                ],
                "targetPath": "/",
            }
        },
        "runtimeEmail": "task-worker-t-run@test-project.iam.gserviceaccount.com",
        "serviceName": "task-worker-service-a45ea0c",
        "serviceUrl": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
        "timeoutSeconds": 600,
        # Alerts are on by default: 3 over the queues (both shards, one thresholds) and 3 for the service.
        "monitoring": {
            "dashboard": "projects/test-project/dashboards/e764f798f5cfbc2c",
            "alertPolicies": 6,
            "pagesNobody": True,
        },
    },
    "task-worker-apis": {
        "services": [
            "cloudtasks.googleapis.com",
            "run.googleapis.com",
            "iam.googleapis.com",
            "secretmanager.googleapis.com",
            "monitoring.googleapis.com",
        ]
    },
    "task-worker-invoker": {
        "email": "task-worker-t-invoker@test-project.iam.gserviceaccount.com",
        "member": "serviceAccount:task-worker-t-invoker@test-project.iam.gserviceaccount.com",
    },
    "task-worker-q": {
        "paths": [
            "projects/test-project/locations/europe-west1/queues/qq",
            "projects/test-project/locations/europe-west1/queues/qq-1",
        ],
        "target_path": "/",
    },
    "task-worker-service": {
        "name": "task-worker-service-a45ea0c",
        "runtime_email": "task-worker-t-run@test-project.iam.gserviceaccount.com",
        "timeout_seconds": 600,
        "uri": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
    },
    "task-worker-t": {},
}

EXPORTS_1: dict[str, Any] = {
    "audience": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
    "invokerEmail": "task-worker-t-invoker@test-project.iam.gserviceaccount.com",
    "location": "europe-west1",
    "project": "test-project",
    "queues": {
        "q": {
            "path": "projects/test-project/locations/europe-west1/queues/qq",
            "paths": [
                "projects/test-project/locations/europe-west1/queues/qq",
                "projects/test-project/locations/europe-west1/queues/qq-1",
            ],
            "targetPath": "/",
        }
    },
    "runtimeEmail": "task-worker-t-run@test-project.iam.gserviceaccount.com",
    "serviceName": "task-worker-service-a45ea0c",
    "serviceUrl": "https://task-worker-service-a45ea0c-900000000009.europe-west1.run.app",
    "timeoutSeconds": 600,
}


TREE_2: dict[str, Any] = {
    "task-worker TaskWorker": {"deps": [], "import": "", "inputs": {}, "parent": ""},
    "task-worker-a Queue": {
        "deps": ["task-worker-apis-cloudtasks", "task-worker-invoker", "task-worker-service"],
        "import": "projects/test-project/locations/europe-west1/queues/old-q",
        "inputs": {
            "deletionPolicy": "PREVENT",
            "desiredState": "RUNNING",
            "httpTarget": {
                "httpMethod": "POST",
                "oidcToken": {
                    "audience": "https://old-svc-900000000009.europe-west1.run.app",
                    "serviceAccountEmail": "old-inv@test-project.iam.gserviceaccount.com",
                },
                "uriOverride": {
                    "host": "old-svc-900000000009.europe-west1.run.app",
                    "pathOverride": {"path": "/p"},
                    "scheme": "HTTPS",
                },
            },
            "location": "europe-west1",
            "name": "old-q",
            "project": "test-project",
            "rateLimits": {"maxConcurrentDispatches": 7, "maxDispatchesPerSecond": 2.5},
            "retryConfig": {
                "maxAttempts": -1,
                "maxBackoff": "20s",
                "maxDoublings": 4,
                "maxRetryDuration": "60s",
                "minBackoff": "2s",
            },
            "stackdriverLoggingConfig": {"samplingRatio": 0.5},
        },
        "parent": "task-worker-a",
    },
    "task-worker-a TaskQueue": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-apis ProjectApis": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-apis-cloudtasks Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "cloudtasks.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-iam Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "iam.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-monitoring Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "monitoring.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-apis-run Service": {
        "deps": [],
        "import": "",
        "inputs": {"disableOnDestroy": False, "project": "test-project", "service": "run.googleapis.com"},
        "parent": "task-worker-apis",
    },
    "task-worker-b Queue": {
        "deps": ["task-worker-apis-cloudtasks", "task-worker-invoker", "task-worker-service"],
        "import": "",
        "inputs": {
            "deletionPolicy": "PREVENT",
            "desiredState": "RUNNING",
            "httpTarget": {
                "httpMethod": "POST",
                "oidcToken": {
                    "audience": "https://old-svc-900000000009.europe-west1.run.app",
                    "serviceAccountEmail": "old-inv@test-project.iam.gserviceaccount.com",
                },
                "uriOverride": {
                    "host": "old-svc-900000000009.europe-west1.run.app",
                    "pathOverride": {"path": "/"},
                    "scheme": "HTTPS",
                },
            },
            "location": "europe-west1",
            "project": "test-project",
            "rateLimits": {"maxConcurrentDispatches": 100, "maxDispatchesPerSecond": 10},
            "retryConfig": {
                "maxAttempts": 100,
                "maxBackoff": "3600s",
                "maxDoublings": 16,
                "maxRetryDuration": "0s",
                "minBackoff": "0.1s",
            },
            "stackdriverLoggingConfig": {"samplingRatio": 0},
        },
        "parent": "task-worker-b",
    },
    "task-worker-b TaskQueue": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-invoker Account": {
        "deps": ["task-worker-apis-iam"],
        "import": "projects/test-project/serviceAccounts/old-inv@test-project.iam.gserviceaccount.com",
        "inputs": {
            "accountId": "old-inv",
            "description": "Cloud Tasks signs OIDC tokens as this account to call the task-worker service",
            "displayName": "task-worker invoker",
            "project": "test-project",
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker TaskInvoker": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-invoker-agent-token-creator IAMMember": {
        "deps": [
            "task-worker-invoker",
            "task-worker-invoker-cloudtasks-agent",
            "task-worker-invoker-cloudtasks-agent-ready",
        ],
        "import": "",
        "inputs": {
            "member": "serviceAccount:service-900000000009@gcp-sa-cloudtasks.iam.gserviceaccount.com",
            "role": "roles/iam.serviceAccountOpenIdTokenCreator",
            "serviceAccountId": "projects/test-project/serviceAccounts/old-inv@test-project.iam.gserviceaccount.com",
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-cloudtasks-agent ServiceIdentity": {
        "deps": ["task-worker-apis-cloudtasks"],
        "import": "",
        "inputs": {"project": "test-project", "service": "cloudtasks.googleapis.com"},
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-cloudtasks-agent-ready Sleep": {
        "deps": ["task-worker-invoker-cloudtasks-agent"],
        "import": "",
        "inputs": {
            "createDuration": "30s",
            "triggers": {"agent": "service-900000000009@gcp-sa-cloudtasks.iam.gserviceaccount.com"},
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-invoker-run-invoker ServiceIamMember": {
        "deps": ["task-worker-invoker", "task-worker-service"],
        "import": "",
        "inputs": {
            "location": "europe-west1",
            "member": "serviceAccount:old-inv@test-project.iam.gserviceaccount.com",
            "name": "old-svc",
            "project": "test-project",
            "role": "roles/run.invoker",
        },
        "parent": "task-worker-invoker",
    },
    "task-worker-service PrivateService": {"deps": [], "import": "", "inputs": {}, "parent": "task-worker"},
    "task-worker-service Service": {
        "deps": ["task-worker-apis-run", "task-worker-service-runtime"],
        "import": "projects/test-project/locations/europe-west1/services/old-svc",
        "inputs": {
            "deletionProtection": True,
            "ingress": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
            "invokerIamDisabled": False,
            "labels": {"managed-by": "pulumi", "stack": "imp", "team": "x"},
            "location": "europe-west1",
            "name": "old-svc",
            "project": "test-project",
            "template": {
                "containers": [
                    {
                        "envs": [{"name": "X", "value": "1"}],
                        "image": "gcr.io/p/i:1",
                        "resources": {"cpuIdle": False, "limits": {"cpu": "2", "memory": "1Gi"}},
                        "startupProbe": {
                            "failureThreshold": 4,
                            "httpGet": {"path": "/s", "port": 8081},
                            "initialDelaySeconds": 2,
                            "periodSeconds": 10,
                            "timeoutSeconds": 3,
                        },
                    }
                ],
                "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN1",
                "maxInstanceRequestConcurrency": 7,
                "scaling": {"maxInstanceCount": 3, "minInstanceCount": 1},
                "serviceAccount": "old-run@test-project.iam.gserviceaccount.com",
                "timeout": "900s",
                "vpcAccess": {"egress": "ALL_TRAFFIC", "networkInterfaces": [{"network": "net"}]},
            },
        },
        "parent": "task-worker-service",
    },
    "task-worker-service-runtime Account": {
        "deps": ["task-worker-apis-iam"],
        "import": "projects/test-project/serviceAccounts/old-run@test-project.iam.gserviceaccount.com",
        "inputs": {
            "accountId": "old-run",
            "description": "Identity the task-worker Cloud Run service runs as",
            "displayName": "task-worker runtime",
            "project": "test-project",
        },
        "parent": "task-worker-service",
    },
}

OUTPUTS_2: dict[str, Any] = {
    "task-worker": {
        "audience": "https://old-svc-900000000009.europe-west1.run.app",
        "invokerEmail": "old-inv@test-project.iam.gserviceaccount.com",
        "location": "europe-west1",
        "project": "test-project",
        "queues": {
            "a": {
                "path": "projects/test-project/locations/europe-west1/queues/old-q",
                "paths": ["projects/test-project/locations/europe-west1/queues/old-q"],
                "targetPath": "/p",
            },
            "b": {
                "path": "projects/test-project/locations/europe-west1/queues/task-worker-b-d7077f5",
                "paths": ["projects/test-project/locations/europe-west1/queues/task-worker-b-d7077f5"],
                "targetPath": "/",
            },
        },
        "runtimeEmail": "old-run@test-project.iam.gserviceaccount.com",
        "serviceName": "old-svc",
        "serviceUrl": "https://old-svc-900000000009.europe-west1.run.app",
        "timeoutSeconds": 900,
        # Two queues at the stack's thresholds: they share the 3 queue policies; 3 for the service.
        "monitoring": {
            "dashboard": "projects/test-project/dashboards/e764f798f5cfbc2c",
            "alertPolicies": 6,
            "pagesNobody": True,
        },
    },
    "task-worker-a": {"paths": ["projects/test-project/locations/europe-west1/queues/old-q"], "target_path": "/p"},
    "task-worker-apis": {
        "services": [
            "cloudtasks.googleapis.com",
            "run.googleapis.com",
            "iam.googleapis.com",
            "monitoring.googleapis.com",
        ]
    },
    "task-worker-b": {
        "paths": ["projects/test-project/locations/europe-west1/queues/task-worker-b-d7077f5"],
        "target_path": "/",
    },
    "task-worker-imp": {},
    "task-worker-invoker": {
        "email": "old-inv@test-project.iam.gserviceaccount.com",
        "member": "serviceAccount:old-inv@test-project.iam.gserviceaccount.com",
    },
    "task-worker-service": {
        "name": "old-svc",
        "runtime_email": "old-run@test-project.iam.gserviceaccount.com",
        "timeout_seconds": 900,
        "uri": "https://old-svc-900000000009.europe-west1.run.app",
    },
}


def test_options_reach_the_components(registered: dict[str, Any]) -> None:
    """`opts` given to TaskWorker and DeadLetter apply to them (here: depends_on), and the queue
    component exposes its first queue."""
    built: dict[str, Any] = {}
    settings = parse_settings(stack_config("o").values, "o")

    def build() -> None:
        marker = gcp.projects.Service("marker", gcp.projects.ServiceArgs(project="p-roj", service="x.googleapis.com"))
        opts = pulumi.ResourceOptions(depends_on=[marker])
        built["worker"] = TaskWorker("tw", TaskWorkerArgs(settings=settings), opts)
        DeadLetter(
            "dl", DeadLetterArgs(project="p-roj", publisher_member="serviceAccount:a@p.iam.gserviceaccount.com"), opts
        )

    run = run_components(build)
    names = {r.urn: r.name for r in run.resources}
    deps = {r.name: sorted(names[d] for d in r.dependencies) for r in run.resources if not r.custom}
    assert (deps["tw"], deps["dl"]) == (["marker"], ["marker"])
    queue = built["worker"].queues["default"]
    assert isinstance(queue.queue, gcp.cloudtasks.Queue)
    assert queue.queues == [queue.queue]


def test_an_adopted_sharded_queue_adopts_shard_0_only() -> None:
    run = run_ok(stack_config("s", queues={"a": {"importId": f"{P}/locations/europe-west1/queues/old-q", "shards": 2}}))
    queues = {r.name: (r.inputs["name"], r.import_id) for r in run.of_type("gcp:cloudtasks/queue:Queue")}
    assert queues == {
        "task-worker-a": ("old-q", f"{P}/locations/europe-west1/queues/old-q"),
        "task-worker-a-1": ("old-q-1", ""),
    }


@pytest.mark.parametrize(
    ("uri", "host"),
    [("https://svc-abc.a.run.app", "svc-abc.a.run.app"), ("https://svc-abc.a.run.app/", "svc-abc.a.run.app")],
)
def test_queue_host_of_the_service_uri(uri: str, host: str) -> None:
    assert _host(uri) == host


def test_secret_env_values_and_secret_references(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the whole service key secret, each env value is declared secret, value intact; a secret of
    the service's own project is referenced by name even when given by its full ID."""
    secret_values: list[Any] = []
    original = pulumi.Output.secret

    def secret(value: Any) -> Any:
        secret_values.append(value)
        return original(value)

    monkeypatch.setattr(pulumi.Output, "secret", staticmethod(secret))
    service = {
        "env": {"A": "one", "B": "two"},
        "secrets": {"S": f"{P}/secrets/db", "T": "projects/other-proj/secrets/k"},
    }
    run = run_ok(stack_config("e", secret_keys=frozenset({"task-worker:service"}), service=service))
    assert sorted(v for v in secret_values if isinstance(v, str)) == ["one", "two"]
    (container,) = run.one("gcp:cloudrunv2/service:Service").inputs["template"]["containers"]
    assert container["envs"] == [
        {"name": "A", "value": "[secret]"},
        {"name": "B", "value": "[secret]"},
        {"name": "S", "valueSource": {"secretKeyRef": {"secret": "db", "version": "latest"}}},
        {
            "name": "T",
            "valueSource": {"secretKeyRef": {"secret": "projects/other-proj/secrets/k", "version": "latest"}},
        },
    ]


def test_a_tcp_startup_probe_probes_the_port_given() -> None:
    """A startup probe without httpPath is a TCP probe: of the port given (unset: the container's)."""
    run = run_ok(stack_config("p", service={"startupProbe": {"port": 8081, "periodSeconds": 5}}))
    (container,) = run.one("gcp:cloudrunv2/service:Service").inputs["template"]["containers"]
    assert container["startupProbe"] == {
        "failureThreshold": 3,
        "initialDelaySeconds": 0,
        "periodSeconds": 5,
        "tcpSocket": {"port": 8081},
        "timeoutSeconds": 1,
    }


@pytest.fixture
def passed(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What TaskWorker gives the DeadLetter and TaskWorkerMonitoring it makes: by component name, its
    parent's name and its args, resolved (`depends_on` as names). Subclasses, not functions, stand in
    for them: TaskWorker's annotations name the classes."""
    recorded: dict[str, Any] = {}

    def record(name: str, args: Any, opts: pulumi.ResourceOptions | None) -> None:
        given = {**args._asdict(), "depends_on": [r._name for r in args.depends_on]}
        parent = opts.parent._name if opts is not None and opts.parent is not None else None  # pyright: ignore[reportPrivateUsage]
        pulumi.Output.from_input(given).apply(lambda v: recorded.__setitem__(name, {"parent": parent, "args": v}))

    class RecordedDeadLetter(DeadLetter):
        def __init__(self, name: str, args: DeadLetterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
            record(name, args, opts)
            super().__init__(name, args, opts)

    class RecordedMonitoring(TaskWorkerMonitoring):
        def __init__(
            self, name: str, args: TaskWorkerMonitoringArgs, opts: pulumi.ResourceOptions | None = None
        ) -> None:
            record(name, args, opts)
            super().__init__(name, args, opts)

    monkeypatch.setattr(task_worker, "DeadLetter", RecordedDeadLetter)
    monkeypatch.setattr(task_worker, "TaskWorkerMonitoring", RecordedMonitoring)
    return recorded


def test_dead_letter_and_monitoring_get_the_stacks_settings(passed: dict[str, Any]) -> None:
    """The components kept out of the trees above: what TaskWorker passes them, and their parent."""
    run_ok(
        stack_config(
            "t",
            labels={"team": "x"},
            deadLetter={"enabled": True, "retentionSeconds": 3600, "subscribers": ["group:ops@example.com"]},
            monitoring={"notificationChannels": ["42"], "errorPercent": 7, "backlogDepth": 50},
            service={"maxInstances": 4, "timeoutSeconds": 900},
            queues={"a": {"name": "qq", "shards": 2, "alerts": {"backlogDepth": 9}}, "b": {}},
        )
    )
    at_9 = QueueAlertThresholds(
        backlog_depth=9,
        backlog_minutes=15,
        failing_percent=10.0,
        failing_minutes=10,
        delay_percentile=99,
        delay_seconds=300.0,
        delay_minutes=10,
    )
    at_50 = at_9._replace(backlog_depth=50)
    assert passed == {
        "task-worker-dead-letter": {
            "parent": "task-worker",
            "args": {
                "project": "test-project",
                "publisher_member": "serviceAccount:task-worker-t-run@test-project.iam.gserviceaccount.com",
                "message_retention_seconds": 3600,
                "subscribers": (
                    Grant(
                        "task-worker-dead-letter-subscriber-group-ops-example-com",
                        "group:ops@example.com",
                        "task-worker:deadLetter.subscribers[0]",
                    ),
                ),
                "labels": {"managed-by": "pulumi", "stack": "t", "team": "x", "task-worker-purpose": "dead-letter"},
                "depends_on": ["task-worker-apis-pubsub"],
            },
        },
        "task-worker-monitoring": {
            "parent": "task-worker",
            "args": {
                "project": "test-project",
                "location": "europe-west1",
                "service_name": "task-worker-service-a45ea0c",
                "queue_ids": {"a": "qq", "a-1": "qq-1", "b": "task-worker-b-d7077f5"},
                "max_instances": 4,
                "timeout_seconds": 900,
                "queue_thresholds": {"a": at_9, "a-1": at_9, "b": at_50},
                "queue_defaults": at_50,
                "service_thresholds": ServiceAlertThresholds(
                    error_percent=7.0,
                    error_minutes=5,
                    latency_fraction=0.8,
                    latency_percentile=99,
                    latency_minutes=5,
                    saturation_fraction=1.0,
                    saturation_minutes=10,
                ),
                "notification_channels": ("42",),
                # managed-by and stack only: the user's labels stay off the monitoring resources.
                "labels": {"managed-by": "pulumi", "stack": "t"},
                "title": "task-worker (t)",
                "depends_on": ["task-worker-apis-monitoring"],
            },
        },
    }
