"""policy/rules.py's roles and limits rules with their whole messages (written out whole).

Each case is one resource (or one stack) and every message each rule in scope gives for it, written
out: a rule that stays silent, fires twice, names another scope or member, or moves a limit by one
fails here. Scope: public members, run.invoker scope, primitive roles, impersonation roles, the
Cloud Tasks agent's token minting on the invoker, Pub/Sub publisher and Secret Manager accessor
placement, and the queue limits (at the limit and one step past it).
"""

from __future__ import annotations

from typing import Any

import pytest

from policy import rules
from policy.rules import ResourceView

INV = "inv-acct@p-roj.iam.gserviceaccount.com"
INV_A, INV_B = "inv-a@p-roj.iam.gserviceaccount.com", "inv-b@p-roj.iam.gserviceaccount.com"
AGENT = "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com"
AGENT_ONLY = (
    "only the Cloud Tasks service agent "
    "(serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com) "
    "may act as or mint tokens for it: anyone else could sign as the invoker (Cloud Scheduler, Pub/Sub push) and "
    "reach the service without the queue"
)
VIEW_RULES = (
    "no_public_members",
    "run_invoker_scope",
    "no_primitive_roles",
    "impersonation_on_account_only",
    "pubsub_publisher_on_topic_only",
    "secret_accessor_on_secret_only",
    "queue_within_limits",
)


VIEW_CASES: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = [
    (
        "gcp:projects/iAMMember:IAMMember",
        {"member": "allUsers", "role": "roles/run.invoker"},
        {
            "no_public_members": [
                'IAM member "allUsers" (role roles/run.invoker) on gcp:projects/iAMMember:IAMMember '
                "makes the resource public; grant roles only to named principals (serviceAccount:, "
                "user:, group:)"
            ],
            "run_invoker_scope": [
                "roles/run.invoker is granted on project-wide or wider IAM "
                "(gcp:projects/iAMMember:IAMMember), not on one Cloud Run service; grant it only on "
                "the service (gcp:cloudrunv2/serviceIamMember)",
                'roles/run.invoker is granted to "allUsers"; only service accounts '
                '("serviceAccount:...") may invoke the service',
            ],
        },
    ),
    (
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
        {"member": "ALLAUTHENTICATEDUSERS", "role": "ROLES/RUN.INVOKER"},
        {
            "no_public_members": [
                'IAM member "ALLAUTHENTICATEDUSERS" (role ROLES/RUN.INVOKER) on '
                "gcp:cloudrunv2/serviceIamMember:ServiceIamMember makes the resource public; grant "
                "roles only to named principals (serviceAccount:, user:, group:)"
            ],
            "run_invoker_scope": [
                'roles/run.invoker is granted to "ALLAUTHENTICATEDUSERS"; only service accounts '
                '("serviceAccount:...") may invoke the service'
            ],
        },
    ),
    (
        "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
        {"members": ["serviceAccount:a@p.iam.gserviceaccount.com", "user:x@y.com", None], "role": "roles/run.invoker"},
        {
            "run_invoker_scope": [
                'roles/run.invoker is granted to "user:x@y.com"; only service accounts '
                '("serviceAccount:...") may invoke the service'
            ]
        },
    ),
    (
        "gcp:cloudrun/iamMember:IamMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "roles/run.invoker"},
        {},
    ),
    ("gcp:cloudrun/iamBinding:IamBinding", {"members": None, "role": "roles/run.invoker"}, {}),
    (
        "gcp:cloudtasks/queueIamMember:QueueIamMember",
        {"members": None, "role": "roles/run.invoker"},
        {
            "run_invoker_scope": [
                "roles/run.invoker is granted on gcp:cloudtasks/queueIamMember:QueueIamMember, not "
                "on one Cloud Run service; grant it only on the service "
                "(gcp:cloudrunv2/serviceIamMember)"
            ]
        },
    ),
    (
        "gcp:projects/iAMPolicy:IAMPolicy",
        {
            "policyData": '{"bindings": [{"role": "roles/owner", "members": ["user:a@x.com"]}, {"role": '
            '"roles/iam.serviceAccountUser", "members": '
            '["serviceAccount:a@p.iam.gserviceaccount.com"]}, {"role": "roles/run.invoker", "members": '
            '["group:g@x.com"]}, "not a binding", {"role": "roles/secretmanager.secretAccessor", '
            '"members": ["allUsers"]}, {"role": "roles/pubsub.publisher", "members": null}]}'
        },
        {
            "impersonation_on_account_only": [
                "roles/iam.serviceAccountUser is granted on project-wide or wider IAM "
                "(gcp:projects/iAMPolicy:IAMPolicy), which lets the member act as every "
                "service account in that scope; grant it only on the one service "
                "account (gcp:serviceaccount/iAMMember)"
            ],
            "no_primitive_roles": [
                'primitive role roles/owner is granted to "user:a@x.com" on '
                "gcp:projects/iAMPolicy:IAMPolicy; grant a predefined role scoped to the job "
                "instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)"
            ],
            "no_public_members": [
                'IAM member "allUsers" (role roles/secretmanager.secretAccessor) on '
                "gcp:projects/iAMPolicy:IAMPolicy makes the resource public; grant roles only to "
                "named principals (serviceAccount:, user:, group:)"
            ],
            "pubsub_publisher_on_topic_only": [
                "roles/pubsub.publisher is granted on project-wide or wider IAM "
                "(gcp:projects/iAMPolicy:IAMPolicy), not on one Pub/Sub topic; grant "
                "it only on the dead-letter topic (gcp:pubsub/topicIAMMember)"
            ],
            "run_invoker_scope": [
                "roles/run.invoker is granted on project-wide or wider IAM "
                "(gcp:projects/iAMPolicy:IAMPolicy), not on one Cloud Run service; grant it only on "
                "the service (gcp:cloudrunv2/serviceIamMember)",
                'roles/run.invoker is granted to "group:g@x.com"; only service accounts '
                '("serviceAccount:...") may invoke the service',
            ],
            "secret_accessor_on_secret_only": [
                "roles/secretmanager.secretAccessor is granted by "
                "gcp:projects/iAMPolicy:IAMPolicy: grant it on one secret only "
                "(gcp:secretmanager/secretIamMember), never project-wide"
            ],
        },
    ),
    (
        "gcp:projects/iAMPolicy:IAMPolicy",
        {"policyData": {"bindings": [{"members": ["user:b@x.com"], "role": "roles/viewer"}]}},
        {
            "no_primitive_roles": [
                'primitive role roles/viewer is granted to "user:b@x.com" on '
                "gcp:projects/iAMPolicy:IAMPolicy; grant a predefined role scoped to the job "
                "instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)"
            ]
        },
    ),
    ("gcp:projects/iAMPolicy:IAMPolicy", {"policyData": "not json"}, {}),
    ("gcp:projects/iAMPolicy:IAMPolicy", {"policyData": '["a list"]'}, {}),
    ("gcp:projects/iAMPolicy:IAMPolicy", {"policyData": '{"bindings": {"role": "roles/owner"}}'}, {}),
    ("gcp:projects/iAMPolicy:IAMPolicy", {"policyData": None}, {}),
    (
        "gcp:folder/iAMMember:IAMMember",
        {"member": None, "role": "roles/editor"},
        {
            "no_primitive_roles": [
                "primitive role roles/editor is granted on gcp:folder/iAMMember:IAMMember; grant a "
                "predefined role scoped to the job instead (e.g. roles/run.invoker, "
                "roles/cloudtasks.enqueuer)"
            ]
        },
    ),
    (
        "gcp:organizations/iAMMember:IAMMember",
        {"member": "user:a@x.com", "role": "roles/iam.serviceAccountTokenCreator"},
        {
            "impersonation_on_account_only": [
                "roles/iam.serviceAccountTokenCreator is granted on project-wide or "
                "wider IAM (gcp:organizations/iAMMember:IAMMember), which lets the "
                "member act as every service account in that scope; grant it only on "
                "the one service account (gcp:serviceaccount/iAMMember)"
            ]
        },
    ),
    ("gcp:serviceaccount/iAMMember:IAMMember", {"member": "user:a@x.com", "role": "roles/iam.serviceAccountUser"}, {}),
    (
        "gcp:serviceaccount/iAMPolicy:IAMPolicy",
        {"policyData": '{"bindings": [{"role": "roles/owner", "members": ["user:a@x.com"]}]}'},
        {
            "no_primitive_roles": [
                'primitive role roles/owner is granted to "user:a@x.com" on '
                "gcp:serviceaccount/iAMPolicy:IAMPolicy; grant a predefined role scoped to the job "
                "instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)"
            ]
        },
    ),
    (
        "gcp:cloudtasks/queueIamMember:QueueIamMember",
        {"member": "user:a@x.com", "role": "roles/iam.serviceAccountOpenIdTokenCreator"},
        {
            "impersonation_on_account_only": [
                "roles/iam.serviceAccountOpenIdTokenCreator is granted on "
                "gcp:cloudtasks/queueIamMember:QueueIamMember, which lets the member "
                "act as every service account in that scope; grant it only on the one "
                "service account (gcp:serviceaccount/iAMMember)"
            ]
        },
    ),
    (
        "gcp:projects/iAMMember:IAMMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "roles/pubsub.publisher"},
        {
            "pubsub_publisher_on_topic_only": [
                "roles/pubsub.publisher is granted on project-wide or wider IAM "
                "(gcp:projects/iAMMember:IAMMember), not on one Pub/Sub topic; grant "
                "it only on the dead-letter topic (gcp:pubsub/topicIAMMember)"
            ]
        },
    ),
    (
        "gcp:pubsub/topicIAMMember:TopicIAMMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "roles/pubsub.publisher"},
        {},
    ),
    (
        "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "Roles/PubSub.Publisher"},
        {
            "pubsub_publisher_on_topic_only": [
                "roles/pubsub.publisher is granted on "
                "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember, not on one "
                "Pub/Sub topic; grant it only on the dead-letter topic "
                "(gcp:pubsub/topicIAMMember)"
            ]
        },
    ),
    (
        "gcp:projects/iAMMember:IAMMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "roles/secretmanager.secretAccessor"},
        {
            "secret_accessor_on_secret_only": [
                "roles/secretmanager.secretAccessor is granted by "
                "gcp:projects/iAMMember:IAMMember: grant it on one secret only "
                "(gcp:secretmanager/secretIamMember), never project-wide"
            ]
        },
    ),
    (
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        {"member": "serviceAccount:a@p.iam.gserviceaccount.com", "role": "roles/secretmanager.secretAccessor"},
        {},
    ),
    ("gcp:projects/iAMCustomRole:IAMCustomRole", {"role": "roles/owner"}, {}),
    ("gcp:cloudtasks/queue:Queue", {"member": "allUsers", "role": "roles/owner"}, {}),
    (
        "gcp:cloudtasks/queue:Queue",
        {
            "rateLimits": {"maxConcurrentDispatches": 0, "maxDispatchesPerSecond": 0},
            "retryConfig": {"maxAttempts": -2},
            "stackdriverLoggingConfig": {"samplingRatio": -0.1},
        },
        {
            "queue_within_limits": [
                "queue rateLimits.maxDispatchesPerSecond is 0; Cloud Tasks allows more than 0 and at most 500",
                "queue rateLimits.maxConcurrentDispatches is 0; Cloud Tasks allows a whole number from 1 to 5000",
                "queue stackdriverLoggingConfig.samplingRatio is -0.1; Cloud Tasks allows 0.0 to 1.0",
                "queue retryConfig.maxAttempts is -2; Cloud Tasks allows a whole number of at "
                "least -1 (-1 means unlimited)",
            ]
        },
    ),
    (
        "gcp:cloudtasks/queue:Queue",
        {
            "rateLimits": {"maxConcurrentDispatches": 5001, "maxDispatchesPerSecond": 500.5},
            "retryConfig": {"maxAttempts": 1.5},
            "stackdriverLoggingConfig": {"samplingRatio": 1.1},
        },
        {
            "queue_within_limits": [
                "queue rateLimits.maxDispatchesPerSecond is 500.5; Cloud Tasks allows more than 0 and at most 500",
                "queue rateLimits.maxConcurrentDispatches is 5001; Cloud Tasks allows a whole number from 1 to 5000",
                "queue stackdriverLoggingConfig.samplingRatio is 1.1; Cloud Tasks allows 0.0 to 1.0",
                "queue retryConfig.maxAttempts is 1.5; Cloud Tasks allows a whole number of at "
                "least -1 (-1 means unlimited)",
            ]
        },
    ),
    (
        "gcp:cloudtasks/queue:Queue",
        {
            "rateLimits": {"maxConcurrentDispatches": 5000, "maxDispatchesPerSecond": 500},
            "retryConfig": {"maxAttempts": -1},
            "stackdriverLoggingConfig": {"samplingRatio": 1},
        },
        {},
    ),
    (
        "gcp:cloudtasks/queue:Queue",
        {
            "rateLimits": {"maxConcurrentDispatches": 1, "maxDispatchesPerSecond": 0.001},
            "retryConfig": {"maxAttempts": 1},
            "stackdriverLoggingConfig": {"samplingRatio": 0},
        },
        {},
    ),
    (
        "gcp:cloudtasks/queue:Queue",
        {"rateLimits": {"maxBurstSize": 10, "maxConcurrentDispatches": 2.5}},
        {
            "queue_within_limits": [
                "queue rateLimits.maxConcurrentDispatches is 2.5; Cloud Tasks allows a whole number from 1 to 5000",
                "queue rateLimits.maxBurstSize is set (10); it is output-only (Cloud Tasks "
                "derives it from maxDispatchesPerSecond): leave it unset",
            ]
        },
    ),
    ("gcp:cloudtasks/queue:Queue", {"rateLimits": {"maxBurstSize": None, "maxDispatchesPerSecond": None}}, {}),
    # member, members and policyData together: every grant counts.
    (
        "gcp:projects/iAMMember:IAMMember",
        {"member": "allUsers", "members": ["user:b@x.com"], "policyData": "{}", "role": "roles/owner"},
        {
            "no_primitive_roles": [
                'primitive role roles/owner is granted to "allUsers" on gcp:projects/iAMMember:IAMMember; grant a '
                "predefined role scoped to the job instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)",
                'primitive role roles/owner is granted to "user:b@x.com" on gcp:projects/iAMMember:IAMMember; '
                "grant a predefined role scoped to the job instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)",
            ],
            "no_public_members": [
                'IAM member "allUsers" (role roles/owner) on gcp:projects/iAMMember:IAMMember makes the resource '
                "public; grant roles only to named principals (serviceAccount:, user:, group:)"
            ],
        },
    ),
    # Cloud Run v2 IAM that is not on a service (a job) is not where run.invoker belongs.
    (
        "gcp:cloudrunv2/jobIamMember:JobIamMember",
        {"role": "roles/run.invoker", "member": "serviceAccount:a@p.iam.gserviceaccount.com"},
        {
            "run_invoker_scope": [
                "roles/run.invoker is granted on gcp:cloudrunv2/jobIamMember:JobIamMember, not on one Cloud Run "
                "service; grant it only on the service (gcp:cloudrunv2/serviceIamMember)"
            ]
        },
    ),
    # A public member whose role is not known yet.
    (
        "gcp:projects/iAMMember:IAMMember",
        {"member": "allUsers", "role": None},
        {
            "no_public_members": [
                'IAM member "allUsers" (role unknown) on gcp:projects/iAMMember:IAMMember makes the resource '
                "public; grant roles only to named principals (serviceAccount:, user:, group:)"
            ]
        },
    ),
]


STACK_CASES: list[tuple[str, list[tuple[str, str, dict[str, Any]]], list[tuple[str, str]]]] = [
    (
        "invoker_impersonation_only_by_cloud_tasks_agent",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "Inv-Acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "user",
                {
                    "member": "user:a@x.com",
                    "role": "roles/iam.serviceAccountUser",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "agent",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "unknown-member",
                {
                    "members": None,
                    "role": "roles/iam.serviceAccountTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "unknown-role",
                {
                    "member": "user:a@x.com",
                    "role": None,
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "other-role",
                {
                    "member": "user:a@x.com",
                    "role": "roles/iam.serviceAccountKeyAdmin",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "unique-id",
                {
                    "member": "user:a@x.com",
                    "role": "roles/iam.serviceAccountUser",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/1234567890",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "other-account",
                {
                    "member": "user:a@x.com",
                    "role": "roles/iam.serviceAccountUser",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/other@p-roj.iam.gserviceaccount.com",
                },
            ),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "no-account",
                {"member": "user:a@x.com", "role": "roles/iam.serviceAccountUser"},
            ),
            (
                "gcp:projects/iAMMember:IAMMember",
                "project",
                {"member": "user:a@x.com", "role": "roles/iam.serviceAccountUser"},
            ),
            (
                "gcp:serviceaccount/iAMPolicy:IAMPolicy",
                "policy",
                {
                    "policyData": '{"bindings": [{"role": "roles/iam.serviceAccountTokenCreator", "members": '
                    '["group:g@x.com", '
                    '"serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com"]}]}',
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [
            (
                "urn:user",
                "roles/iam.serviceAccountUser on the invoker account inv-acct@p-roj.iam.gserviceaccount.com is granted "
                'to "user:a@x.com"; only the Cloud Tasks service agent '
                "(serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com) may act as or mint "
                "tokens for it: anyone else could sign as the invoker (Cloud Scheduler, Pub/Sub push) and reach the "
                "service without the queue",
            ),
            (
                "urn:policy",
                "roles/iam.serviceAccountTokenCreator on the invoker account inv-acct@p-roj.iam.gserviceaccount.com is "
                'granted to "group:g@x.com"; only the Cloud Tasks service agent '
                "(serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com) may act as or mint "
                "tokens for it: anyone else could sign as the invoker (Cloud Scheduler, Pub/Sub push) and reach the "
                "service without the queue",
            ),
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "Inv-Acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names Inv-Acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountUser",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/other@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "user:a@x.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "serviceAccountId": "projects/p-roj/serviceAccounts/1234",
                },
            ),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": None,
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMPolicy:IAMPolicy",
                "g",
                {
                    "policyData": None,
                    "serviceAccountId": "projects/p-roj/serviceAccounts/inv-acct@p-roj.iam.gserviceaccount.com",
                },
            ),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:projects/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/cloudtasks.serviceAgent",
                },
            ),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:projects/iAMMember:IAMMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                },
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
            (
                "gcp:cloudtasks/queueIamMember:QueueIamMember",
                "g",
                {
                    "member": "serviceAccount:service-123@gcp-sa-cloudtasks.iam.gserviceaccount.com",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                },
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            (
                "gcp:serviceaccount/account:Account",
                "inv",
                {"accountId": "x", "email": "inv-acct@p-roj.iam.gserviceaccount.com", "project": "y"},
            ),
        ],
        [
            (
                "urn:q",
                "queue httpTarget.oidcToken names inv-acct@p-roj.iam.gserviceaccount.com, but nothing lets the Cloud "
                "Tasks service agent mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
                "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
                "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "other-proj"}),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            (
                "gcp:cloudtasks/queue:Queue",
                "q",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "inv-acct@p-roj.iam.gserviceaccount.com"}}},
            ),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct"}),
        ],
        [],
    ),
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            ("gcp:cloudtasks/queue:Queue", "q", {"httpTarget": {"oidcToken": {"serviceAccountEmail": None}}}),
            ("gcp:serviceaccount/account:Account", "inv", {"accountId": "inv-acct", "project": "p-roj"}),
        ],
        [],
    ),
    (
        "pubsub_publisher_on_dead_letter_topic",
        [
            ("gcp:pubsub/topic:Topic", "t", {"labels": {"task-worker-purpose": "dead-letter"}, "name": "dl-abc"}),
            (
                "gcp:pubsub/topic:Topic",
                "t2",
                {"id": "projects/p/topics/other-dl", "labels": {"task-worker-purpose": "dead-letter"}},
            ),
            ("gcp:pubsub/topic:Topic", "t3", {"labels": {"task-worker-purpose": "other"}, "name": "plain"}),
            ("gcp:pubsub/topic:Topic", "t4", {"name": "nolabels"}),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "ok1",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher", "topic": "projects/p/topics/dl-abc"},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "ok2",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher", "topic": "other-dl"},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "bad1",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher", "topic": "plain"},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "bad2",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher"},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "unknown",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher", "topic": None},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "sub",
                {"member": "user:a@x.com", "role": "roles/pubsub.subscriber", "topic": "plain"},
            ),
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "nolabels",
                {"member": "user:a@x.com", "role": "roles/pubsub.publisher", "topic": "projects/p/topics/nolabels"},
            ),
        ],
        [
            (
                "urn:bad1",
                'roles/pubsub.publisher is granted on topic "plain", which is not a dead-letter topic declared in this '
                "stack (a gcp:pubsub/topic:Topic labelled task-worker-purpose: dead-letter); grant publish only on the "
                "stack's dead-letter topic",
            ),
            (
                "urn:bad2",
                'roles/pubsub.publisher is granted on topic "(unset)", which is not a dead-letter topic declared '
                "in this stack (a gcp:pubsub/topic:Topic labelled task-worker-purpose: dead-letter); "
                "grant publish only on the stack's dead-letter topic",
            ),
            (
                "urn:nolabels",
                'roles/pubsub.publisher is granted on topic "nolabels", which is not a dead-letter topic declared in '
                "this stack (a gcp:pubsub/topic:Topic labelled task-worker-purpose: dead-letter); "
                "grant publish only on the stack's dead-letter topic",
            ),
        ],
    ),
    # The agent first, then someone else, in one binding: the second is still seen.
    (
        "invoker_impersonation_only_by_cloud_tasks_agent",
        [
            ("gcp:cloudtasks/queue:Queue", "q", {"httpTarget": {"oidcToken": {"serviceAccountEmail": INV}}}),
            (
                "gcp:serviceaccount/iAMBinding:IAMBinding",
                "b",
                {
                    "serviceAccountId": f"projects/p-roj/serviceAccounts/{INV}",
                    "role": "roles/iam.serviceAccountTokenCreator",
                    "members": [AGENT, "group:g@x.com"],
                },
            ),
            # A serviceAccountId is matched by what follows its last "/serviceAccounts/".
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "twice",
                {
                    "serviceAccountId": f"projects/p-roj/serviceAccounts/x/serviceAccounts/{INV}",
                    "role": "roles/iam.serviceAccountUser",
                    "member": "user:a@x.com",
                },
            ),
            # Not service-account IAM: another rule's business, not this one's.
            (
                "gcp:projects/iAMMember:IAMMember",
                "project",
                {
                    "serviceAccountId": f"projects/p-roj/serviceAccounts/{INV}",
                    "role": "roles/iam.serviceAccountUser",
                    "member": "user:a@x.com",
                },
            ),
        ],
        [
            (
                "urn:b",
                f'roles/iam.serviceAccountTokenCreator on the invoker account {INV} is granted to "group:g@x.com"; '
                + AGENT_ONLY,
            ),
            (
                "urn:twice",
                f'roles/iam.serviceAccountUser on the invoker account {INV} is granted to "user:a@x.com"; '
                + AGENT_ONLY,
            ),
        ],
    ),
    # A binding naming someone else first and the agent second still lets the agent mint.
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            ("gcp:cloudtasks/queue:Queue", "q", {"httpTarget": {"oidcToken": {"serviceAccountEmail": INV_A}}}),
            ("gcp:serviceaccount/account:Account", "a", {"accountId": "inv-a", "project": "p-roj"}),
            (
                "gcp:serviceaccount/iAMBinding:IAMBinding",
                "g",
                {
                    "serviceAccountId": f"projects/p-roj/serviceAccounts/{INV_A}",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "members": ["user:u@x.com", AGENT],
                },
            ),
        ],
        [],
    ),
    # Accounts before queues, a queue of someone else's account, and two invokers of which one has no grant.
    (
        "cloud_tasks_agent_mints_invoker_tokens",
        [
            ("gcp:serviceaccount/account:Account", "a", {"accountId": "inv-a", "project": "p-roj"}),
            ("gcp:serviceaccount/account:Account", "b", {"accountId": "inv-b", "project": "p-roj"}),
            ("gcp:cloudtasks/queue:Queue", "qa", {"httpTarget": {"oidcToken": {"serviceAccountEmail": INV_A}}}),
            (
                "gcp:cloudtasks/queue:Queue",
                "other",
                {"httpTarget": {"oidcToken": {"serviceAccountEmail": "someone@else.iam.gserviceaccount.com"}}},
            ),
            ("gcp:cloudtasks/queue:Queue", "qb", {"httpTarget": {"oidcToken": {"serviceAccountEmail": INV_B}}}),
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "g",
                {
                    "serviceAccountId": f"projects/p-roj/serviceAccounts/{INV_A}",
                    "role": "roles/iam.serviceAccountOpenIdTokenCreator",
                    "member": AGENT,
                },
            ),
        ],
        [
            (
                "urn:qb",
                f"queue httpTarget.oidcToken names {INV_B}, but nothing lets the Cloud Tasks service agent mint its "
                "tokens (iam.serviceAccounts.getOpenIdToken): grant roles/iam.serviceAccountOpenIdTokenCreator on "
                "that account to serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
                "(roles/iam.serviceAccountUser does not contain it)",
            )
        ],
    ),
    # The grant before the topic it names.
    (
        "pubsub_publisher_on_dead_letter_topic",
        [
            (
                "gcp:pubsub/topicIAMMember:TopicIAMMember",
                "ok",
                {"topic": "dl", "role": "roles/pubsub.publisher", "member": "user:a@x.com"},
            ),
            ("gcp:pubsub/topic:Topic", "t", {"name": "dl", "labels": {"task-worker-purpose": "dead-letter"}}),
        ],
        [],
    ),
]


@pytest.mark.parametrize(
    ("type_", "props", "expected"), VIEW_CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(VIEW_CASES)]
)
def test_resource_rules(type_: str, props: dict[str, Any], expected: dict[str, list[str]]) -> None:
    view = ResourceView(urn=f"urn:pulumi:test::task-worker::{type_}::r", type=type_, props=props)
    assert {rule: list(getattr(rules, rule)(view)) for rule in VIEW_RULES} == {
        rule: expected.get(rule, []) for rule in VIEW_RULES
    }


@pytest.mark.parametrize(
    ("rule", "resources", "expected"), STACK_CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(STACK_CASES)]
)
def test_stack_rules(
    rule: str, resources: list[tuple[str, str, dict[str, Any]]], expected: list[tuple[str, str]]
) -> None:
    views = [ResourceView(urn=f"urn:{name}", type=type_, props=props) for type_, name, props in resources]
    assert list(getattr(rules, rule)(views)) == expected
