"""Policy rules for dead letters: roles/pubsub.publisher only on a topic, and only on the stack's
dead-letter topic. Each rule refuses a violating case and passes the compliant stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import dead_letter
from policy import rules
from policy.rules import ResourceView, check

DEAD_LETTER_RULES = frozenset({"pubsub-publisher-on-topic-only", "pubsub-publisher-on-dead-letter-topic"})

TOPIC = "gcp:pubsub/topic:Topic"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
TOPIC_IAM_BINDING = "gcp:pubsub/topicIAMBinding:TopicIAMBinding"
TOPIC_IAM_POLICY = "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
RUNTIME = "serviceAccount:tw-test-run@p.iam.gserviceaccount.com"
PUBLISHER = "roles/pubsub.publisher"


def view(type_: str, props: dict[str, Any], name: str) -> ResourceView:
    return ResourceView(urn=f"urn:pulumi:test::task-worker::{type_}::{name}", type=type_, props=props)


def dead_letter_topic(name: str = "dl-1a2b3c4") -> ResourceView:
    labels = {"stack": "test", dead_letter.PURPOSE_LABEL: dead_letter.DEAD_LETTER}
    return view(TOPIC, {"project": "p", "name": name, "id": f"projects/p/topics/{name}", "labels": labels}, "dl")


def other_topic() -> ResourceView:
    return view(TOPIC, {"project": "p", "name": "orders", "id": "projects/p/topics/orders", "labels": {}}, "orders")


def grant(topic: Any, type_: str = TOPIC_IAM, member: str = RUNTIME, name: str = "pub") -> ResourceView:
    return view(type_, {"project": "p", "topic": topic, "role": PUBLISHER, "member": member}, name)


def found(resources: list[ResourceView], rule: str) -> list[str]:
    return [v.message for v in check(resources) if v.rule == rule and v.mandatory]


def test_rules_are_registered_mandatory() -> None:
    names = [r.name for r in rules.RULES]
    assert set(names) >= DEAD_LETTER_RULES
    assert all(r.mandatory for r in rules.RULES if r.name in DEAD_LETTER_RULES)


def test_label_matches_the_component() -> None:
    assert rules.DEAD_LETTER_LABEL == (dead_letter.PURPOSE_LABEL, dead_letter.DEAD_LETTER)
    assert rules.PUBSUB_PUBLISHER == dead_letter.PUBLISHER


@pytest.mark.parametrize("topic", ["dl-1a2b3c4", "projects/p/topics/dl-1a2b3c4"])
def test_publisher_on_the_dead_letter_topic_passes(topic: str) -> None:
    stack = [dead_letter_topic(), other_topic(), grant(topic)]
    assert not [v for v in check(stack) if v.rule in DEAD_LETTER_RULES]


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        pytest.param(view(PROJECT_IAM, {"role": PUBLISHER, "member": RUNTIME, "project": "p"}, "p"), "project-wide"),
        pytest.param(
            view("gcp:projects/iAMBinding:IAMBinding", {"role": PUBLISHER, "members": [RUNTIME]}, "b"), "project-wide"
        ),
        pytest.param(
            view(SUBSCRIPTION_IAM, {"role": PUBLISHER, "member": RUNTIME, "subscription": "s"}, "s"),
            "gcp:pubsub/subscriptionIAMMember",
        ),
    ],
)
def test_publisher_off_a_topic_is_refused(resource: ResourceView, words: str) -> None:
    messages = found([dead_letter_topic(), resource], "pubsub-publisher-on-topic-only")
    assert messages
    assert words in messages[0]


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(grant("orders"), id="member-other-topic"),
        pytest.param(grant("projects/p/topics/orders"), id="member-other-topic-id"),
        pytest.param(
            view(TOPIC_IAM_BINDING, {"topic": "orders", "role": PUBLISHER, "members": [RUNTIME]}, "b"), id="binding"
        ),
        pytest.param(
            view(
                TOPIC_IAM_POLICY,
                {
                    "topic": "undeclared",
                    "policyData": json.dumps({"bindings": [{"role": PUBLISHER, "members": [RUNTIME]}]}),
                },
                "pol",
            ),
            id="policy-undeclared-topic",
        ),
    ],
)
def test_publisher_on_another_topic_is_refused(resource: ResourceView) -> None:
    messages = found([dead_letter_topic(), other_topic(), resource], "pubsub-publisher-on-dead-letter-topic")
    assert len(messages) == 1
    assert "not a dead-letter topic declared in this stack" in messages[0]


def test_a_topic_without_the_label_is_not_a_dead_letter_topic() -> None:
    unlabelled = view(TOPIC, {"project": "p", "name": "dl-1a2b3c4", "labels": {"stack": "test"}}, "dl")
    assert found([unlabelled, grant("dl-1a2b3c4")], "pubsub-publisher-on-dead-letter-topic")


def test_unknown_topic_is_not_judged() -> None:
    # During a preview the new topic's name is unknown (None): nothing to judge yet.
    assert not found([dead_letter_topic(), grant(None)], "pubsub-publisher-on-dead-letter-topic")


def test_other_roles_on_other_topics_are_not_this_rules_matter() -> None:
    viewer = view(TOPIC_IAM, {"topic": "orders", "role": "roles/pubsub.viewer", "member": RUNTIME}, "v")
    assert not [v for v in check([other_topic(), viewer]) if v.rule in DEAD_LETTER_RULES]
