"""The cross-field validators (settings/fields.py), each branch with its exact problems.

The validators' bodies are plain functions (`settings._check_*`) so that mutmut mutates them; each
case here writes out every problem expected (key, value as shown, what is allowed), and the
passing neighbour of each limit (limit and limit + 1). Expectations are never read from settings.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_settings_messages import problems

P = "projects/test-project"
EW1 = f"{P}/locations/europe-west1"
ACCOUNT = P + "/serviceAccounts/{}@test-project.iam.gserviceaccount.com"
SVC = "task-worker:service."
Q = "task-worker:queues."
STARTUP_240 = "Cloud Run gives a container at most 240 s to start"
LOCATIONS = (
    "asia-east1, asia-east2, asia-northeast1, asia-northeast2, asia-northeast3, asia-south1, asia-southeast1, "
    "asia-southeast2, australia-southeast1, europe-central2, europe-west1, europe-west2, europe-west3, "
    "europe-west6, northamerica-northeast1, southamerica-east1, us-central1, us-east1, us-east4, us-west1, "
    "us-west2, us-west3, us-west4"
)
OTHER_ACCOUNT = (
    "expected an account of the stack's project: "
    "projects/test-project/serviceAccounts/NAME@test-project.iam.gserviceaccount.com"
)


def _env(n: int, prefix: str, value: str) -> dict[str, str]:
    return {f"{prefix}{i}": value for i in range(n)}


CASES: list[tuple[dict[str, Any], list[tuple[str, str, str]]]] = [
    # _check_one_network
    (
        {"service": {"vpc": {}}},
        [(SVC + "vpc.network", "null", "expected network, subnetwork or both (Cloud Run needs one)")],
    ),
    (
        {
            "service": {
                "vpc": {
                    "network": "projects/other-proj/global/networks/n",
                    "subnetwork": f"{P}/regions/europe-west1/subnetworks/s",
                }
            }
        },
        [
            (
                SVC + "vpc.subnetwork",
                "'projects/test-project/regions/europe-west1/subnetworks/s'",
                "expected a subnetwork of projects/other-proj/global/networks/n (same project)",
            )
        ],
    ),
    (
        {
            "service": {
                "vpc": {"network": f"{P}/global/networks/n", "subnetwork": f"{P}/regions/europe-west1/subnetworks/s"}
            }
        },
        [],
    ),
    ({"service": {"vpc": {"network": f"{P}/global/networks/n", "subnetwork": "s"}}}, []),
    # _check_timeout_in_period, liveness over TCP
    (
        {"service": {"livenessProbe": {"httpPath": "/h", "timeoutSeconds": 6, "periodSeconds": 5}}},
        [(SVC + "livenessProbe.timeoutSeconds", "6", "expected ≤ periodSeconds (5)")],
    ),
    ({"service": {"livenessProbe": {"httpPath": "/h", "timeoutSeconds": 5, "periodSeconds": 5}}}, []),
    (
        {"service": {"livenessProbe": {"port": 8080}}},
        [(SVC + "livenessProbe.httpPath", "null", "required: Cloud Run liveness probes are HTTP (or gRPC), never TCP")],
    ),
    # A liveness probe's own limits (LIVENESS_MAX_SECONDS): 3600 and 3601 for each.
    (
        {
            "service": {
                "livenessProbe": {
                    "httpPath": "/h",
                    "initialDelaySeconds": 3600,
                    "periodSeconds": 3600,
                    "timeoutSeconds": 3600,
                }
            }
        },
        [],
    ),
    (
        {
            "service": {
                "livenessProbe": {
                    "httpPath": "/h",
                    "initialDelaySeconds": 3601,
                    "periodSeconds": 3601,
                    "timeoutSeconds": 3601,
                }
            }
        },
        [
            (
                SVC + "livenessProbe.initialDelaySeconds",
                "3601",
                "expected a whole number from 0 to 240 (startup) or 3600 (liveness)",
            ),
            (
                SVC + "livenessProbe.periodSeconds",
                "3601",
                "expected a whole number from 1 to 240 (startup) or 3600 (liveness)",
            ),
            (SVC + "livenessProbe.timeoutSeconds", "3601", "expected a whole number from 1 to periodSeconds"),
        ],
    ),
    # ProbeSettings.startup_problems
    (
        {
            "service": {
                "startupProbe": {
                    "initialDelaySeconds": 241,
                    "periodSeconds": 241,
                    "timeoutSeconds": 1,
                    "failureThreshold": 1,
                }
            }
        },
        [
            (SVC + "startupProbe.initialDelaySeconds", "241", "expected ≤ 240 for a startup probe"),
            (SVC + "startupProbe.periodSeconds", "241", "expected ≤ 240 for a startup probe"),
            (
                SVC + "startupProbe.failureThreshold",
                "1",
                f"expected failureThreshold × periodSeconds (241) ≤ 240: {STARTUP_240}",
            ),
        ],
    ),
    ({"service": {"startupProbe": {"initialDelaySeconds": 240, "periodSeconds": 240, "failureThreshold": 1}}}, []),
    ({"service": {"startupProbe": {"periodSeconds": 80, "failureThreshold": 3}}}, []),
    (
        {"service": {"startupProbe": {"periodSeconds": 60, "failureThreshold": 5}}},
        [
            (
                SVC + "startupProbe.failureThreshold",
                "5",
                f"expected failureThreshold × periodSeconds (60) ≤ 240: {STARTUP_240}",
            )
        ],
    ),
    # _check_cloud_run_accepts
    (
        {"service": {"minInstances": 3, "maxInstances": 2}},
        [(SVC + "maxInstances", "2", "expected maxInstances ≥ minInstances (3)")],
    ),
    ({"service": {"minInstances": 2, "maxInstances": 2}}, []),
    (
        {"service": {"cpu": "0.5", "concurrency": 2, "cpuIdle": False, "memory": "1025Mi"}},
        [
            (SVC + "concurrency", "2", "expected 1 with cpu 0.5: below 1 CPU Cloud Run serves one request"),
            (SVC + "cpuIdle", "false", "expected true with cpu 0.5: below 1 CPU billing is request-based"),
            (SVC + "memory", "'1025Mi'", "expected ≤ 1Gi with cpu 0.5 (below 1 CPU)"),
            (SVC + "cpu", "'0.5'", "expected ≥ 0.584 with memory 1025Mi (Cloud Run's minimum CPU per memory)"),
        ],
    ),
    (
        {"service": {"cpu": "0.499", "concurrency": 1, "memory": "513Mi"}},
        [(SVC + "memory", "'513Mi'", "expected ≤ 512Mi with cpu 0.499 (below 0.5 CPU)")],
    ),
    ({"service": {"cpu": "0.499", "concurrency": 1, "memory": "512Mi"}}, []),
    (
        {"service": {"cpu": "0.5", "concurrency": 1, "memory": "1Gi"}},
        [(SVC + "cpu", "'0.5'", "expected ≥ 0.583 with memory 1Gi (Cloud Run's minimum CPU per memory)")],
    ),
    (
        {"service": {"cpu": "0.999", "concurrency": 1, "memory": "1025Mi"}},
        [(SVC + "memory", "'1025Mi'", "expected ≤ 1Gi with cpu 0.999 (below 1 CPU)")],
    ),
    ({"service": {"cpu": "4", "memory": "2047Mi"}}, [(SVC + "memory", "'2047Mi'", "expected ≥ 2Gi with cpu 4")]),
    ({"service": {"cpu": "4", "memory": "2Gi"}}, []),
    ({"service": {"cpu": "6", "memory": "4095Mi"}}, [(SVC + "memory", "'4095Mi'", "expected ≥ 4Gi with cpu 6")]),
    ({"service": {"cpu": "8", "memory": "4095Mi"}}, [(SVC + "memory", "'4095Mi'", "expected ≥ 4Gi with cpu 8")]),
    ({"service": {"cpu": "2", "memory": "2047Mi"}}, []),
    (
        {"service": {"cpu": "1", "memory": "4097Mi"}},
        [(SVC + "cpu", "'1'", 'expected ≥ "2" with memory 4097Mi (above 4Gi)')],
    ),
    ({"service": {"cpu": "2", "memory": "4097Mi"}}, []),
    (
        {"service": {"cpu": "2", "memory": "8193Mi"}},
        [(SVC + "cpu", "'2'", 'expected ≥ "4" with memory 8193Mi (above 8Gi)')],
    ),
    (
        {"service": {"cpu": "4", "memory": "16385Mi"}},
        [(SVC + "cpu", "'4'", 'expected ≥ "6" with memory 16385Mi (above 16Gi)')],
    ),
    (
        {"service": {"cpu": "6", "memory": "24577Mi"}},
        [(SVC + "cpu", "'6'", 'expected ≥ "8" with memory 24577Mi (above 24Gi)')],
    ),
    ({"service": {"cpu": "8", "memory": "24577Mi"}}, []),
    # Between the 256Mi and 512Mi rows: 257Mi needs 0.168 (the 256Mi row is exact, not the next one up).
    (
        {"service": {"cpu": "0.167", "concurrency": 1, "memory": "257Mi"}},
        [(SVC + "cpu", "'0.167'", "expected ≥ 0.168 with memory 257Mi (Cloud Run's minimum CPU per memory)")],
    ),
    ({"service": {"cpu": "0.168", "concurrency": 1, "memory": "257Mi"}}, []),
    (
        {"service": {"cpu": "0.582", "concurrency": 1, "memory": "1Gi"}},
        [(SVC + "cpu", "'0.582'", "expected ≥ 0.583 with memory 1Gi (Cloud Run's minimum CPU per memory)")],
    ),
    (
        {"service": {"cpu": "0.999", "concurrency": 1, "memory": "2Gi"}},
        [
            (SVC + "memory", "'2Gi'", "expected ≤ 1Gi with cpu 0.999 (below 1 CPU)"),
            (SVC + "cpu", "'0.999'", "expected ≥ 1 with memory 2Gi (Cloud Run's minimum CPU per memory)"),
        ],
    ),
    (
        {"service": {"env": {"A": "1", "B": "2"}, "secrets": {"B": "s", "A": "s"}}},
        [
            (SVC + "secrets.A", "'A'", "expected a name not also in env: one value per variable"),
            (SVC + "secrets.B", "'B'", "expected a name not also in env: one value per variable"),
        ],
    ),
    (
        {"service": {"env": _env(600, "E", "v"), "secrets": _env(401, "S", "s")}},
        [(SVC + "secrets", "401", "expected env + secrets ≤ 1000 variables")],
    ),
    ({"service": {"env": _env(600, "E", "v"), "secrets": _env(400, "S", "s")}}, []),
    (
        {"service": {"memory": "511Mi", "cpu": "1", "executionEnvironment": "gen2"}},
        [(SVC + "executionEnvironment", "'gen2'", 'expected "gen1" with memory 511Mi: gen2 needs at least 512Mi')],
    ),
    ({"service": {"memory": "512Mi", "cpu": "1", "executionEnvironment": "gen2"}}, []),
    # _check_attempts, _check_import_matches_name, _check_backoffs
    ({"queues": {"q": {"maxAttempts": 0}}}, [(Q + "q.maxAttempts", "0", "expected -1 (unlimited) or ≥ 1")]),
    ({"queues": {"q": {"maxAttempts": -1}}}, []),
    (
        {"queues": {"q": {"name": "x", "importId": f"{EW1}/queues/y"}}},
        [(Q + "q.importId", f"'{EW1}/queues/y'", "expected the queue named by name (x)")],
    ),
    ({"queues": {"q": {"name": "y", "importId": f"{EW1}/queues/y"}}}, []),
    (
        # Compared as numbers: as strings "10s" < "9.5s".
        {"queues": {"q": {"minBackoff": "10s", "maxBackoff": "9.5s"}}},
        [(Q + "q.minBackoff", "'10s'", "expected minBackoff ≤ maxBackoff (9.5s)")],
    ),
    ({"queues": {"q": {"minBackoff": "10s", "maxBackoff": "10s"}}}, []),
    # _check_distinct_enqueuers
    (
        {"enqueuers": ["user:A@x.com", "user:b@x.com", "user:a@x.com", "user:B@X.COM"]},
        [
            ("task-worker:enqueuers[2]", "'user:a@x.com'", "each member once: it is enqueuers[0]"),
            ("task-worker:enqueuers[3]", "'user:B@X.COM'", "each member once: it is enqueuers[1]"),
        ],
    ),
    (
        {"enqueuers": ["user:b@x.com", "user:a.b@x.com", "user:a-b@x.com"]},
        [
            (
                "task-worker:enqueuers[2]",
                "'user:a-b@x.com'",
                "its resource names would collide with enqueuers[1] (user:a.b@x.com); "
                "Pulumi refuses two resources of one name",
            )
        ],
    ),
    # _check_queue_count
    (
        {"queues": {"a": {"shards": 600}, "b": {"shards": 401}}},
        [
            (
                "task-worker:queues",
                "'1001 queues (shards included)'",
                "expected at most 1000 queues in one location (Cloud Tasks' limit)",
            )
        ],
    ),
    ({"queues": {"a": {"shards": 600}, "b": {"shards": 400}}}, []),
    # One queue's own limit (MAX_SHARDS) at 1000 and 1001: the field's message, not the total's.
    ({"queues": {"q": {"shards": 1000}}}, []),
    (
        {"queues": {"q": {"shards": 1001}}},
        [(Q + "q.shards", "1001", "expected a whole number from 1 to 1000; all queues' shards together ≤ 1000")],
    ),
    (
        {"queues": {"a": {"shards": 3}, "a-1": {}, "a-2": {}, "a-3": {}}},
        [
            (Q + "a-1", "'a-1'", "its names collide with shard 1 of a"),
            (Q + "a-2", "'a-2'", "its names collide with shard 2 of a"),
        ],
    ),
    # Shard 0 keeps the queue's own name: a key "a-0" collides with nothing.
    ({"queues": {"a": {"shards": 2}, "a-0": {}}}, []),
    # _check_location_set
    (
        {"gcp:region": None},
        [
            (
                "gcp:region",
                "'(unset)'",
                f"required (or task-worker:location): a location where Cloud Tasks runs: {LOCATIONS}",
            )
        ],
    ),
    ({"gcp:region": None, "location": "europe-west2"}, []),
    # _check_same_project_and_location
    (
        {"service": {"vpc": {"subnetwork": f"{P}/regions/europe-west2/subnetworks/s"}}},
        [
            (
                SVC + "vpc.subnetwork",
                "'projects/test-project/regions/europe-west2/subnetworks/s'",
                "expected a subnetwork in the stack's location europe-west1: "
                "Direct VPC egress uses a subnetwork of the service's own region",
            )
        ],
    ),
    (
        {
            "gcp:region": None,
            "location": "europe-west2",
            "service": {"vpc": {"subnetwork": f"{P}/regions/europe-west2/subnetworks/s"}},
        },
        [],
    ),
    (
        {"service": {"importId": f"{P}/locations/europe-west2/services/s"}},
        [(SVC + "importId", f"'{P}/locations/europe-west2/services/s'", f"expected {EW1}/services/NAME")],
    ),
    (
        {"service": {"importId": "projects/other-proj/locations/europe-west1/services/s"}},
        [
            (
                SVC + "importId",
                "'projects/other-proj/locations/europe-west1/services/s'",
                f"expected {EW1}/services/NAME",
            )
        ],
    ),
    ({"service": {"importId": f"{EW1}/services/s"}}, []),
    (
        {
            "accounts": {
                "runtime": {
                    "importId": "projects/other-proj/serviceAccounts/run-acct@other-proj.iam.gserviceaccount.com"
                },
                "invoker": {"importId": f"{P}/serviceAccounts/inv-acct@other-proj.iam.gserviceaccount.com"},
            }
        },
        [
            (
                "task-worker:accounts.runtime.importId",
                "'projects/other-proj/serviceAccounts/run-acct@other-proj.iam.gserviceaccount....",
                OTHER_ACCOUNT,
            ),
            (
                "task-worker:accounts.invoker.importId",
                "'projects/test-project/serviceAccounts/inv-acct@other-proj.iam.gserviceaccoun...",
                OTHER_ACCOUNT,
            ),
        ],
    ),
    (
        {
            "accounts": {
                "runtime": {"importId": ACCOUNT.format("same-acct")},
                "invoker": {"importId": ACCOUNT.format("same-acct")},
            }
        },
        [
            (
                "task-worker:accounts.invoker.importId",
                "'projects/test-project/serviceAccounts/same-acct@test-project.iam.gserviceacc...",
                "expected an account other than runtime's",
            )
        ],
    ),
    (
        {
            "accounts": {
                "runtime": {"importId": ACCOUNT.format("r-acct")},
                "invoker": {"importId": ACCOUNT.format("i-acct")},
            }
        },
        [],
    ),
    ({"accounts": {"runtime": {"importId": ACCOUNT.format("r-acct")}}}, []),
    ({"accounts": {"invoker": {"importId": ACCOUNT.format("i-acct")}}}, []),
    (
        {
            "queues": {
                "a": {"importId": f"{P}/locations/europe-west2/queues/a"},
                "b": {"name": "n"},
                "c": {"name": "n"},
                "d": {"importId": f"{EW1}/queues/n"},
            }
        },
        [
            (Q + "a.importId", f"'{P}/locations/europe-west2/queues/a'", f"expected {EW1}/queues/QUEUE_ID"),
            (Q + "c.name", "'n'", "expected a queue ID not used by queues.b"),
            (Q + "d.name", "'n'", "expected a queue ID not used by queues.b"),
        ],
    ),
    ({"queues": {"a": {"importId": f"{EW1}/queues/a"}, "b": {"name": "b"}, "c": {}}}, []),
]


@pytest.mark.parametrize(("ours", "expected"), CASES, ids=[str(c)[:80] for c, _ in CASES])
def test_validator_problems(ours: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert problems(**ours) == expected


# --- Pattern and length limits at their edges (dev/mutate_limits.py moves each by one) -------------

SECRETS = (
    "expected a map of env var name (as in env, and not also in env) to a secret: a secret name (letters, digits, "
    '_ and -, ≤ 255), e.g. "db-password", or its ID "projects/P/secrets/S", or a map {secret, version} '
    '(version default "latest")'
)
# A bad secret or version is named with what that key allows (not the whole `secrets` map's text).
SECRET_ID = (
    'expected a secret name (letters, digits, _ and -, ≤ 255), e.g. "db-password", or its ID "projects/P/secrets/S"'
)
VERSION = 'expected "latest", a version number ("3") or a version alias (not "NEW")'
IMAGE = "expected an image reference [host[:port]/]path[:tag][@sha256:digest], e.g. us-docker.pkg.dev/p/repo/worker:1.2"
SERVICE_IMPORT = "expected projects/P/locations/L/services/NAME, P and L the stack's project and location"
QUEUE_IMPORT = (
    "expected projects/P/locations/L/queues/Q, P and L the stack's project and location, Q equal to name if set"
)
QUEUES = (
    "expected a map of key (lowercase letters, digits, -, starting with a letter, ≤ 50) to queue settings; "
    "1 to 1000 queues"
)
DURATION = 'expected a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most 315576000000s'


def _shown(value: str) -> str:
    """A value as problems show it: its repr, cut at 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


LONG_NAME = "a" + "b" * 47 + "c"  # a Cloud Run service name: 49 characters is the most
EDGES: list[tuple[dict[str, Any], list[tuple[str, str, str]]]] = [
    ({"service": {"secrets": {"A": "s" * 255}}}, []),
    ({"service": {"secrets": {"A": "s" * 256}}}, [(SVC + "secrets.A.secret", _shown("s" * 256), SECRET_ID)]),
    ({"service": {"secrets": {"A": {"secret": "s", "version": "1" + "0" * 18}}}}, []),
    (
        {"service": {"secrets": {"A": {"secret": "s", "version": "1" + "0" * 19}}}},
        [(SVC + "secrets.A.version", _shown("1" + "0" * 19), VERSION)],
    ),
    ({"service": {"secrets": {"A": {"secret": "s", "version": "a" * 63}}}}, []),
    (
        {"service": {"secrets": {"A": {"secret": "s", "version": "a" * 64}}}},
        [(SVC + "secrets.A.version", _shown("a" * 64), VERSION)],
    ),
    ({"service": {"image": "gcr.io/p/i@sha256:" + "a" * 32}}, []),
    (
        {"service": {"image": "gcr.io/p/i@sha256:" + "a" * 31}},
        [(SVC + "image", _shown("gcr.io/p/i@sha256:" + "a" * 31), IMAGE)],
    ),
    (
        # A 31-character project ID is no project ID: refused by the pattern, not by the project check.
        {"service": {"importId": "projects/" + "a" * 31 + "/locations/europe-west1/services/s"}},
        [(SVC + "importId", _shown("projects/" + "a" * 31 + "/locations/europe-west1/services/s"), SERVICE_IMPORT)],
    ),
    ({"service": {"importId": f"{EW1}/services/{LONG_NAME}"}}, []),
    (
        {"service": {"importId": f"{EW1}/services/{LONG_NAME}x"}},
        [(SVC + "importId", _shown(f"{EW1}/services/{LONG_NAME}x"), SERVICE_IMPORT)],
    ),
    ({"queues": {"q": {"importId": f"{EW1}/queues/" + "q" * 100}}}, []),
    (
        {"queues": {"q": {"importId": f"{EW1}/queues/" + "q" * 101}}},
        [(Q + "q.importId", _shown(f"{EW1}/queues/" + "q" * 101), QUEUE_IMPORT)],
    ),
    ({"queues": {"q": {"minBackoff": "000000000001s"}}}, []),
    ({"queues": {"q": {"minBackoff": "0000000000001s"}}}, [(Q + "q.minBackoff", "'0000000000001s'", DURATION)]),
    # Probe fields at their lower bounds and one below; the port at 65535 and 65536.
    (
        {
            "service": {
                "livenessProbe": {
                    "httpPath": "/h",
                    "port": 1,
                    "initialDelaySeconds": 0,
                    "periodSeconds": 1,
                    "timeoutSeconds": 1,
                    "failureThreshold": 1,
                }
            }
        },
        [],
    ),
    (
        {
            "service": {
                "livenessProbe": {
                    "httpPath": "/h",
                    "port": 0,
                    "initialDelaySeconds": -1,
                    "periodSeconds": 0,
                    "timeoutSeconds": 0,
                    "failureThreshold": 0,
                }
            }
        },
        [
            (SVC + "livenessProbe.port", "0", "expected a whole number from 1 to 65535"),
            (
                SVC + "livenessProbe.initialDelaySeconds",
                "-1",
                "expected a whole number from 0 to 240 (startup) or 3600 (liveness)",
            ),
            (
                SVC + "livenessProbe.periodSeconds",
                "0",
                "expected a whole number from 1 to 240 (startup) or 3600 (liveness)",
            ),
            (SVC + "livenessProbe.timeoutSeconds", "0", "expected a whole number from 1 to periodSeconds"),
            (
                SVC + "livenessProbe.failureThreshold",
                "0",
                "expected a whole number ≥ 1; startup: failureThreshold × periodSeconds ≤ 240",
            ),
        ],
    ),
    ({"service": {"livenessProbe": {"httpPath": "/h", "port": 65535}}}, []),
    (
        {"service": {"livenessProbe": {"httpPath": "/h", "port": 65536}}},
        [(SVC + "livenessProbe.port", "65536", "expected a whole number from 1 to 65535")],
    ),
    ({"service": {"image": "gcr.io/p/" + "a" * 1015}}, []),  # 1024 characters
    ({"service": {"image": "gcr.io/p/" + "a" * 1016}}, [(SVC + "image", _shown("gcr.io/p/" + "a" * 1016), IMAGE)]),
    ({"queues": {"q": {"shards": 1}}}, []),
    (
        {"queues": {"q": {"shards": 0}}},
        [(Q + "q.shards", "0", "expected a whole number from 1 to 1000; all queues' shards together ≤ 1000")],
    ),
    ({"queues": {"q": {"name": "n" * 100}}}, []),
    (
        {"queues": {"q": {"name": "n" * 101}}},
        [
            (
                Q + "q.name",
                _shown("n" * 101),
                "expected letters, digits and hyphens, 1–100 characters (Cloud Tasks' queue ID rule); "
                "unique in the stack",
            )
        ],
    ),
    # At least one queue, at most 1000 (the map's own limit, before the shard total).
    ({"queues": {}}, [("task-worker:queues", "{}", QUEUES)]),
    (
        {"queues": {f"q{i}": {} for i in range(1001)}},
        [
            (
                "task-worker:queues",
                '{"q0": {}, "q1": {}, "q2": {}, "q3": {}, "q4": {}, "q5": {}, "q6": {}, "q7": ...',
                QUEUES,
            )
        ],
    ),
    # 1000 secrets at most (the map's own limit, before env + secrets).
    ({"service": {"secrets": {f"S{i}": "s" for i in range(1000)}}}, []),
    (
        {"service": {"secrets": {f"S{i}": "s" for i in range(1001)}}},
        [
            (
                SVC + "secrets",
                '{"S0": "s", "S1": "s", "S2": "s", "S3": "s", "S4": "s", "S5": "s", "S6": "s",...',
                SECRETS,
            )
        ],
    ),
    ({"service": {"startupProbe": {"httpPath": "/" + "a" * 2047}}}, []),
    (
        {"service": {"startupProbe": {"httpPath": "/" + "a" * 2048}}},
        [
            (
                SVC + "startupProbe.httpPath",
                _shown("/" + "a" * 2048),
                'expected a path starting with "/", e.g. "/healthz"',
            )
        ],
    ),
]


@pytest.mark.parametrize(("ours", "expected"), EDGES, ids=[str(c)[:80] for c, _ in EDGES])
def test_pattern_edges(ours: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert problems(**ours) == expected
