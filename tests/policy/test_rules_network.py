"""Rules 3 and 7 of policy/rules.py: no world-open ingress; target groups health-checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.offline import StackRun
from policy import rules
from tests.policy.policy_inputs import (
    WORLD,
    caught,
    find,
    policy_resources,
    target_group,
)

# 3. no-world-open-ingress


def lb_group() -> dict[str, Any]:
    return {
        "tags": {"Name": "network-lb"},
        "description": "Load balancer: HTTPS from the internet, HTTP only to redirect",
        "ingress": [
            {"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": ["0.0.0.0/0"]}
            for port in (80, 443)
        ]
        + [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}],
    }


def services_group() -> dict[str, Any]:
    return {
        "tags": {"Name": "network-services"},
        "description": "Service tasks: reachable only from the load balancer",
        "ingress": [
            {"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroups": ["sg-lb"]}
        ],
    }


def test_only_the_load_balancer_group_may_take_http_and_https_from_anywhere() -> None:
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP, lb_group()) == []
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP, services_group()) == []


@pytest.mark.parametrize(
    "rule",
    [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "fromPort": 80, "toPort": 443, "ipv6CidrBlocks": ["::/0"]},
        {"protocol": "udp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
    ],
)
def test_the_load_balancer_group_opens_nothing_else_to_the_world(rule: dict[str, Any]) -> None:
    group = lb_group()
    group["ingress"].append(rule)
    (message,) = rules.no_world_open_ingress(rules.SECURITY_GROUP, group)
    assert "only tcp 80 and 443" in message


@pytest.mark.parametrize("cidr", WORLD)
def test_no_other_group_is_open_to_the_world_even_on_https(cidr: str) -> None:
    """The services group's description mentions the load balancer; that must not count."""
    group = services_group()
    key = "cidrBlocks" if "." in cidr else "ipv6CidrBlocks"
    group["ingress"].append({"protocol": "tcp", "fromPort": 443, "toPort": 443, key: [cidr]})
    (message,) = rules.no_world_open_ingress(rules.SECURITY_GROUP, group)
    assert cidr in message and "only the load balancer's group" in message


def test_standalone_rules_are_judged_by_the_group_they_belong_to() -> None:
    https = {"cidrIpv4": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https, group=lb_group()) == []
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https, group=services_group())
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, https)
    postgres = {**https, "fromPort": 5432, "toPort": 5432}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, postgres, group=lb_group())
    private = {**postgres, "cidrIpv4": "10.30.0.0/16"}
    assert rules.no_world_open_ingress(rules.INGRESS_RULE, private) == []
    legacy = {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22}
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP_RULE, {**legacy, "cidrBlocks": WORLD})
    egress = {**legacy, "type": "egress", "cidrBlocks": ["0.0.0.0/0"]}
    assert rules.no_world_open_ingress(rules.SECURITY_GROUP_RULE, egress) == []


def test_the_real_load_balancer_rule_opened_on_ssh_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    https = find(resources, rules.INGRESS_RULE, "network-lb-443-in")
    https.props = {**https.props, "fromPort": 22, "toPort": 22}
    assert caught(resources) == {("no-world-open-ingress", "network-lb-443-in")}


def test_the_real_https_rule_moved_to_the_services_group_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    https = find(resources, rules.INGRESS_RULE, "network-lb-443-in")
    https.dependencies[:] = [find(resources, rules.SECURITY_GROUP, "network-services")]
    assert caught(resources) == {("no-world-open-ingress", "network-lb-443-in")}


# 7. target-groups-health-checked


def test_a_target_group_checking_its_readiness_path_passes() -> None:
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[0], target_group()) == []
    tcp = {"protocol": "TCP", "healthCheck": {"enabled": True, "protocol": "TCP"}}
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[1], tcp) == []
    lambda_targets = {"targetType": "lambda"}
    assert rules.target_groups_health_checked(rules.TARGET_GROUPS[0], lambda_targets) == []


@pytest.mark.parametrize(
    ("health_check", "expected"),
    [
        (None, "no enabled health check"),
        ({"enabled": False, "path": "/api/ready"}, "no enabled health check"),
        ({"enabled": True}, "no path"),
        ({"enabled": True, "path": ""}, "no path"),
    ],
)
def test_a_target_group_without_a_real_health_check_is_refused(
    health_check: dict[str, Any] | None, expected: str
) -> None:
    props = {**target_group(), "healthCheck": health_check}
    (message,) = rules.target_groups_health_checked(rules.TARGET_GROUPS[0], props)
    assert expected in message and "platform-prod-web" in message


def test_the_real_target_group_without_a_path_is_caught(
    stack_runs: dict[str, StackRun], as_stack: Callable[[str, str], None]
) -> None:
    as_stack("prod", "prod")
    resources = policy_resources(stack_runs["prod"])
    targets = find(resources, rules.TARGET_GROUPS[0], "web-lb-targets")
    check = {k: v for k, v in targets.props["healthCheck"].items() if k != "path"}
    targets.props = {**targets.props, "healthCheck": check}
    assert caught(resources) == {("target-groups-health-checked", "web-lb-targets")}
