"""The resource level for stacks of one target: the same resources under the same parents.

A resource present on one side only must be explained by an allowed config difference, through
the `PRESENCE_RULES` that say which config paths make it exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.alerts import CATALOG
from components.type_tokens import (
    AWS_IMAGE_REPOSITORY,
    AWS_LOAD_BALANCER,
    AWS_SERVICE,
    AWS_UPTIME_CHECKS,
    DOCKER_SERVICE,
)
from infractl.parity.difference import ABSENT, Difference, Level
from infractl.pulumi.resource import Resource

_ZONE = r"[a-z]{2}(?:-[a-z]+)+-\d[a-z]"
RULE_SLUGS = "|".join(
    sorted((rule.id.replace("_", "-") for rule in CATALOG), key=len, reverse=True)
)
"""Alert rule ids as resource names spell them, longest first so a regex alternation takes the
whole id."""

SNAKE_GROUPS = frozenset({"secret", "rule"})
"""Pattern groups naming config keys spelled with underscores where resource names have hyphens
(`secrets-email-api-key` -> `secrets.email_api_key`); service names keep their hyphens."""


def fill_paths(
    templates: Sequence[str], match: re.Match[str], extra: Mapping[str, str]
) -> tuple[str, ...]:
    """The config paths `templates` name for one resource, from the groups its name matched
    (shared with the live level's key inputs, which name resources the same way)."""
    groups = {
        key: value.replace("-", "_") if key in SNAKE_GROUPS else value
        for key, value in match.groupdict().items()
        if value is not None
    }
    return tuple(template.format(**extra, **groups) for template in templates)


@dataclass(frozen=True)
class PresenceRule:
    """Resources of `type` named like `pattern` exist, and as many times, because of `paths`
    (templates over the pattern's groups)."""

    type: str
    pattern: re.Pattern[str]
    paths: tuple[str, ...]

    def config_paths(self, resource: Resource) -> tuple[str, ...] | None:
        if resource.type != self.type:
            return None
        match = self.pattern.fullmatch(resource.name)
        if match is None:
            return None
        return fill_paths(self.paths, match, {})


def _rule(type_: str, pattern: str, *paths: str) -> PresenceRule:
    return PresenceRule(type_, re.compile(pattern), paths)


PRESENCE_RULES: tuple[PresenceRule, ...] = (
    # Both targets: a service exists because the config declares it; a generated secret because
    # its source says so.
    _rule(DOCKER_SERVICE, r"(?P<service>.+)", "services.{service}"),
    _rule(AWS_SERVICE, r"(?P<service>.+)", "services.{service}"),
    # aws: each service's image repository (its children come with it).
    _rule(AWS_IMAGE_REPOSITORY, r"(?P<service>.+)-images", "services.{service}"),
    _rule(
        "random:index/randomPassword:RandomPassword",
        r"secrets-(?P<secret>.+)",
        "secrets.{secret}.source",
    ),
    # docker: one container per replica, one run-to-completion container per migration.
    _rule(
        "docker:index/container:Container",
        r"(?P<service>[a-z0-9-]+?)-\d+",
        "services.{service}.replicas",
    ),
    _rule(
        "docker:index/container:Container",
        r"(?P<service>[a-z0-9-]+)-migrate",
        "services.{service}.migration",
    ),
    # aws: subnets and private routes per availability zone, NAT gateways per zone or one.
    *(
        _rule(kind, rf".+-(?:public|private)-{_ZONE}", "aws.availability_zones")
        for kind in ("aws:ec2/subnet:Subnet", "aws:ec2/routeTableAssociation:RouteTableAssociation")
    ),
    _rule("aws:ec2/routeTable:RouteTable", rf".+-private-routes-{_ZONE}", "aws.availability_zones"),
    _rule("aws:ec2/route:Route", rf".+-private-default-{_ZONE}", "aws.availability_zones"),
    *(
        _rule(kind, rf".+-nat-{_ZONE}", "aws.nat_gateways", "aws.availability_zones")
        for kind in ("aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway")
    ),
    # aws: one e-mail subscription per address; scaling only with autoscaling; an ALB per
    # public service; one alarm per enabled rule (and service).
    _rule("aws:sns/topicSubscription:TopicSubscription", r".+-email-.+", "alerts.notify_emails"),
    *(
        _rule(kind, rf"(?P<service>.+)-{suffix}", "services.{service}.autoscaling")
        for kind, suffix in (
            ("aws:appautoscaling/target:Target", "scaling"),
            ("aws:appautoscaling/policy:Policy", "cpu-target"),
        )
    ),
    _rule(AWS_LOAD_BALANCER, r"(?P<service>.+)-lb", "services.{service}.public"),
    # aws: the alias record to a public service's ALB only where Route 53 holds the name.
    _rule("aws:route53/record:Record", r".+-lb-dns", "aws.route53_zone_id"),
    # An SLO rule has an alarm per window (-long, -short) and their composite.
    *(
        _rule(
            kind,
            rf".+-svc-(?P<service>.+)-(?P<rule>{RULE_SLUGS})(?:-long|-short)?",
            "alerts.rules.{rule}.enabled",
            "services.{service}.public",
        )
        for kind in (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        )
    ),
    _rule(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        rf".+-db-(?P<rule>{RULE_SLUGS})",
        "alerts.rules.{rule}.enabled",
    ),
    _rule(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        rf".+-stack-(?P<rule>{RULE_SLUGS})",
        "alerts.rules.{rule}.enabled",
        "aws.certificate_arn",
    ),
    # aws: a Route 53 health check per public service, with the component holding them and,
    # outside us-east-1, the topic their alarms notify there.
    _rule(
        AWS_UPTIME_CHECKS,
        r"uptime",
        "alerts.rules.uptime_check_failing.enabled",
        "services.*.public",
    ),
    _rule(
        "aws:route53/healthCheck:HealthCheck",
        r"uptime-(?P<service>.+)-check",
        "alerts.rules.uptime_check_failing.enabled",
        "services.{service}.public",
    ),
    _rule(
        "aws:sns/topic:Topic",
        r"uptime-topic",
        "alerts.rules.uptime_check_failing.enabled",
        "aws.region",
    ),
    # aws: a Secrets Manager secret per secret a service injects, and the owner's database URL
    # only while some service runs migrations.
    *(
        _rule(
            kind,
            rf"app-secrets-(?P<secret>.+?){suffix}",
            "secrets.{secret}",
            "services.*.secrets.*",
        )
        for kind, suffix in (
            ("aws:secretsmanager/secret:Secret", ""),
            ("aws:secretsmanager/secretVersion:SecretVersion", "-value"),
        )
    ),
    *(
        _rule(kind, rf".+-owner-url{suffix}", "services.*.migration")
        for kind, suffix in (
            ("aws:secretsmanager/secret:Secret", ""),
            ("aws:secretsmanager/secretVersion:SecretVersion", "-value"),
        )
    ),
)


def _segments_agree(short: str, long: str) -> bool:
    """`short` names `long` or one of its ancestors; `*` in either matches any one segment."""
    a, b = short.split("."), long.split(".")
    return len(a) <= len(b) and all(x == y or "*" in (x, y) for x, y in zip(a, b, strict=False))


def related(path: str, config_diffs: Sequence[Difference], descendants: bool) -> list[Difference]:
    """Config differences at `path` or above it (a whole service added) and, for a value that
    is a subtree (autoscaling), below it. Presence follows a key's existence or a leaf, so it
    never counts what differs below (a service's replicas do not explain its component)."""
    return [
        d
        for d in config_diffs
        if _segments_agree(d.path, path) or (descendants and _segments_agree(path, d.path))
    ]


def explain_by_config(
    paths: Sequence[str],
    stack: str,
    config_diffs: Sequence[Difference],
    descendants: bool = False,
) -> tuple[bool, str]:
    """Whether a resource-side difference that follows config `paths` is an allowed one: some
    config difference must cause it, and every one that could must be allowed."""
    found = [d for path in paths for d in related(path, config_diffs, descendants)]
    follows = ", ".join(paths)
    if not found:
        return False, f"follows {follows}, the same in both stacks"
    blocked = [d for d in found if not d.allowed]
    if blocked:
        return False, f"follows {follows}: {blocked[0].path} is not in parity.allow of {stack}"
    reasons = "; ".join(dict.fromkeys(d.reason for d in found))
    return True, f"follows {follows}, {reasons}"


def _parent_text(resource: Resource | None) -> Any:
    return ABSENT if resource is None else resource.parent


def compare_graphs(
    level: Level,
    stack: str,
    reference: Sequence[Resource],
    resources: Sequence[Resource],
    config_diffs: Sequence[Difference],
) -> list[Difference]:
    """Same target: the same `type::name` under the same parent, or a config-explained reason.

    A resource on one side only is explained by the first `PRESENCE_RULES` entry that matches it,
    or by its parent being on that side only (it comes with it). Values shown are the parents.
    """
    ref = {r.key: r for r in reference}
    mine = {r.key: r for r in resources}
    keys = list(ref) + [key for key in mine if key not in ref]
    verdicts: dict[str, tuple[bool, str]] = {}
    differences: list[Difference] = []
    for key in keys:
        ours, theirs = mine.get(key), ref.get(key)
        if ours is not None and theirs is not None:
            if ours.parent != theirs.parent:
                differences.append(
                    Difference(
                        stack,
                        level,
                        key,
                        theirs.parent,
                        ours.parent,
                        False,
                        f"under another parent (not in parity.allow of {stack})",
                    )
                )
            continue
        present = ours if ours is not None else theirs
        assert present is not None
        inherited = verdicts.get(present.parent)
        if inherited is not None:
            allowed, why = inherited[0], f"comes with {present.parent}: {inherited[1]}"
        else:
            paths = next(
                (p for rule in PRESENCE_RULES if (p := rule.config_paths(present)) is not None),
                None,
            )
            if paths is None:
                allowed, why = False, f"no config path explains it (not in parity.allow of {stack})"
            else:
                allowed, why = explain_by_config(paths, stack, config_diffs)
        verdicts[key] = (allowed, why)
        differences.append(
            Difference(stack, level, key, _parent_text(theirs), _parent_text(ours), allowed, why)
        )
    return differences
