"""Parity: where each stack departs from its reference stack, and whether it may.

Data in, differences out: validated configs, registrations recorded under mocks and resources
read from `pulumi stack export`. Nothing here starts the Pulumi runtime (`parity_cmd.py` does).

Levels, each stack against the reference:
- config: every key path of the validated config. A difference is allowed only where the stack's
  `parity.allow` names the path: `*` matches one segment and a pattern covers everything under
  it, so `*` alone allows everything. `stack` and `parity` are never compared; `target`, `docker`
  and `aws` only between stacks of the same target (across targets the logical level holds).
- logical: the shape every stack is held to whatever its target or its wildcards: services
  (ports, public, readiness path, liveness and migration commands, secrets injected), secret
  names, enabled alert rules, database name, roles and engine major version. Only a literal
  allowance (no `*` segment) naming the path, or a prefix of it, accepts a logical difference.
- resource: the graphs evaluated under mocks. Same target: the same resources (type + logical
  name) under the same parents; a resource present on one side only must be explained by an
  allowed config difference through `PRESENCE_RULES`. Across targets: the same logical pieces,
  each built by the component `COMPONENT_PIECES` assigns it.
- live: the same graph checks on the deployed resources, plus the `KEY_INPUTS` of resources both
  stacks have. A key input that departs from what the stack's own config plans (a hand-made
  change) always fails; one that differs between the stacks as planned is allowed when the config
  path it follows is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from components.alerts import CATALOG
from components.type_tokens import (
    AWS_ALARMS,
    AWS_CLUSTER,
    AWS_DATABASE,
    AWS_DATABASE_BACKUPS,
    AWS_LOAD_BALANCER,
    AWS_NETWORK,
    AWS_SECRET_STORE,
    AWS_SERVICE,
    DOCKER_DATABASE,
    DOCKER_DATABASE_BACKUP,
    DOCKER_DATABASE_EXPORTERS,
    DOCKER_NETWORK,
    DOCKER_PROMETHEUS,
    DOCKER_SERVICE,
    POSTGRES_DATABASE_ACCESS,
    SECRET_VALUES,
)
from infra.config.models import StackConfig
from infractl.pulumi.resource import UNKNOWN, Resource
from infractl.pulumi.wire import SECRET_TEXT

ABSENT_TEXT = "<absent>"
NEVER_COMPARED = ("stack", "parity")
TARGET_KEYS = ("target", "docker", "aws")


class _Absent(Enum):
    """A key or resource one side does not have (distinct from a null value)."""

    ABSENT = ABSENT_TEXT


ABSENT = _Absent.ABSENT


class Level(StrEnum):
    CONFIG = "config"
    LOGICAL = "logical"
    RESOURCE = "resource"
    LIVE = "live"


LEVEL_ORDER = {level: index for index, level in enumerate(Level)}


@dataclass(frozen=True)
class Difference:
    stack: str
    level: Level
    path: str
    reference_value: Any
    value: Any
    allowed: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "level": str(self.level),
            "path": self.path,
            "reference_value": _shown(self.reference_value),
            "value": _shown(self.value),
            "allowed": self.allowed,
            "reason": self.reason,
        }


def _shown(value: Any) -> Any:
    if value is ABSENT:
        return ABSENT_TEXT
    if isinstance(value, Mapping):
        return {str(k): _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------
# Allowances


def pattern_covers(pattern: str, path: str) -> bool:
    """`*` matches exactly one segment; a pattern naming a prefix covers everything under it."""
    want = pattern.split(".")
    have = path.split(".")
    if len(want) > len(have):
        return False
    return all(w in ("*", h) for w, h in zip(want, have[: len(want)], strict=True))


@dataclass(frozen=True)
class Allowance:
    """One stack's `parity.allow`."""

    stack: str
    patterns: tuple[str, ...]

    @classmethod
    def of(cls, cfg: StackConfig) -> Allowance:
        return cls(cfg.stack, tuple(cfg.parity.allow))

    def covering(self, path: str) -> str | None:
        return next((p for p in self.patterns if pattern_covers(p, path)), None)

    def literal_covering(self, path: str) -> str | None:
        """Only patterns without a `*` segment: the explicit opt-out a logical difference needs."""
        return next(
            (p for p in self.patterns if "*" not in p.split(".") and pattern_covers(p, path)),
            None,
        )

    def judge(self, path: str) -> tuple[bool, str]:
        pattern = self.covering(path)
        if pattern is None:
            return False, f"not in parity.allow of {self.stack}"
        return True, f"allowed by parity.allow of {self.stack}: {pattern}"


# ---------------------------------------------------------------------------------------------
# Config level


def walk_differences(
    reference: Any, value: Any, prefix: str = ""
) -> Iterator[tuple[str, Any, Any]]:
    """Flatten two config trees together into dotted key paths (`services.web.replicas`),
    yielding each path whose values differ.

    Mappings are descended; anything else (scalars, lists, null) is a leaf. A subtree facing a
    leaf or nothing is one difference at its own path, not one per key below it.
    """
    if isinstance(reference, Mapping) and isinstance(value, Mapping):
        keys = list(reference) + [key for key in value if key not in reference]
        for key in keys:
            path = f"{prefix}.{key}" if prefix else str(key)
            yield from walk_differences(reference.get(key, ABSENT), value.get(key, ABSENT), path)
    elif reference != value:
        yield prefix, reference, value


def config_tree(cfg: StackConfig, same_target: bool) -> dict[str, Any]:
    """What the config level compares: everything but identity and the allowance itself."""
    skipped = NEVER_COMPARED if same_target else NEVER_COMPARED + TARGET_KEYS
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in skipped}


def compare_config(reference: StackConfig, cfg: StackConfig) -> list[Difference]:
    same_target = reference.target == cfg.target
    allowance = Allowance.of(cfg)
    differences = []
    for path, ref_value, value in walk_differences(
        config_tree(reference, same_target), config_tree(cfg, same_target)
    ):
        allowed, reason = allowance.judge(path)
        differences.append(
            Difference(cfg.stack, Level.CONFIG, path, ref_value, value, allowed, reason)
        )
    return differences


# ---------------------------------------------------------------------------------------------
# Logical level

_MAJOR = re.compile(r"^(\d+)")


def engine_major(cfg: StackConfig) -> int | None:
    """The PostgreSQL major version the stack really runs: docker runs its image's tag, not
    `database.engine_version`, so a stale image would otherwise pass unnoticed."""
    if cfg.target == "docker" and cfg.docker is not None:
        tag = cfg.docker.postgres_image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
        match = _MAJOR.match(tag)
        return int(match.group(1)) if match else None
    return cfg.database.major_version


def logical_tree(cfg: StackConfig) -> dict[str, Any]:
    """The target-independent shape, keyed by the config paths that set it."""
    enabled = {
        rule.id: cfg.alerts.rules[rule.id].enabled if rule.id in cfg.alerts.rules else True
        for rule in CATALOG
    }
    return {
        "services": {
            name: {
                "port": service.port,
                "public": service.public,
                "readiness": {"path": service.readiness.path} if service.readiness else None,
                "liveness": {"command": service.liveness.command} if service.liveness else None,
                "migration": {"command": service.migration.command} if service.migration else None,
                "secrets": dict(service.secrets),
            }
            for name, service in cfg.services.items()
        },
        "secrets": dict.fromkeys(cfg.secrets, "declared"),
        "alerts": {"rules": {rule_id: {"enabled": on} for rule_id, on in enabled.items()}},
        "database": {
            "name": cfg.database.name,
            "engine_version": engine_major(cfg),
            "roles": cfg.database.roles.model_dump(),
        },
    }


def judge_logical(allowance: Allowance, path: str) -> tuple[bool, str]:
    pattern = allowance.literal_covering(path)
    if pattern is None:
        return False, (
            f"not in parity.allow of {allowance.stack} as a literal path "
            "(wildcards never waive a logical difference)"
        )
    return (
        True,
        f"logical, accepted by a literal allowance in parity.allow of {allowance.stack}: {pattern}",
    )


def compare_logical(reference: StackConfig, cfg: StackConfig) -> list[Difference]:
    allowance = Allowance.of(cfg)
    differences = []
    for path, ref_value, value in walk_differences(logical_tree(reference), logical_tree(cfg)):
        allowed, reason = judge_logical(allowance, path)
        differences.append(
            Difference(cfg.stack, Level.LOGICAL, path, ref_value, value, allowed, reason)
        )
    return differences


# ---------------------------------------------------------------------------------------------
# Resource graphs of the same target


_ZONE = r"[a-z]{2}(?:-[a-z]+)+-\d[a-z]"
_RULE_SLUGS = "|".join(
    sorted((rule.id.replace("_", "-") for rule in CATALOG), key=len, reverse=True)
)


SNAKE_GROUPS = frozenset({"secret", "rule"})
"""Pattern groups naming config keys spelled with underscores where resource names have hyphens
(`secrets-email-api-key` -> `secrets.email_api_key`); service names keep their hyphens."""


def _config_paths(
    templates: Sequence[str], match: re.Match[str], extra: Mapping[str, str]
) -> tuple[str, ...]:
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
        return _config_paths(self.paths, match, {})


def _rule(type_: str, pattern: str, *paths: str) -> PresenceRule:
    return PresenceRule(type_, re.compile(pattern), paths)


PRESENCE_RULES: tuple[PresenceRule, ...] = (
    # Both targets: a service exists because the config declares it; a generated secret because
    # its source says so.
    _rule(DOCKER_SERVICE, r"(?P<service>.+)", "services.{service}"),
    _rule(AWS_SERVICE, r"(?P<service>.+)", "services.{service}"),
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
    _rule(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        rf".+-svc-(?P<service>.+)-(?P<rule>{_RULE_SLUGS})",
        "alerts.rules.{rule}.enabled",
        "services.{service}.public",
    ),
    _rule(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        rf".+-db-(?P<rule>{_RULE_SLUGS})",
        "alerts.rules.{rule}.enabled",
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


# ---------------------------------------------------------------------------------------------
# Across targets: logical pieces and the components that build them


class Piece(StrEnum):
    NETWORK = "network"
    SERVICE = "service"
    DATABASE = "database"
    DATABASE_ACCESS = "database-access"
    SECRETS = "secrets"
    MONITORING = "monitoring"
    BACKUPS = "backups"


COMPONENT_PIECES: Mapping[str, Piece | None] = {
    # docker <-> aws: the component that builds each logical piece on each target. `None` marks
    # a component that only one target needs (no counterpart is expected).
    DOCKER_NETWORK: Piece.NETWORK,
    AWS_NETWORK: Piece.NETWORK,
    DOCKER_SERVICE: Piece.SERVICE,
    AWS_SERVICE: Piece.SERVICE,
    DOCKER_DATABASE: Piece.DATABASE,
    AWS_DATABASE: Piece.DATABASE,
    POSTGRES_DATABASE_ACCESS: Piece.DATABASE_ACCESS,
    SECRET_VALUES: Piece.SECRETS,
    DOCKER_PROMETHEUS: Piece.MONITORING,
    DOCKER_DATABASE_EXPORTERS: Piece.MONITORING,  # aws: RDS metrics in CloudWatch
    AWS_ALARMS: Piece.MONITORING,
    DOCKER_DATABASE_BACKUP: Piece.BACKUPS,
    AWS_DATABASE_BACKUPS: Piece.BACKUPS,
    AWS_CLUSTER: None,
    AWS_LOAD_BALANCER: None,
    AWS_SECRET_STORE: None,
}
PER_NAME = frozenset({Piece.SERVICE})
"""Pieces matched one per component name (each service); the others are one per stack."""


def _pieces(resources: Sequence[Resource]) -> tuple[dict[str, list[str]], list[str]]:
    """Piece path -> the components building it, and the `platform:` types nobody mapped."""
    pieces: dict[str, list[str]] = {}
    unmapped: list[str] = []
    for r in resources:
        if not r.type.startswith("platform:"):
            continue
        if r.type not in COMPONENT_PIECES:
            unmapped.append(r.type)
            continue
        piece = COMPONENT_PIECES[r.type]
        if piece is None:
            continue
        path = f"components.{piece}.{r.name}" if piece in PER_NAME else f"components.{piece}"
        pieces.setdefault(path, []).append(r.key)
    return pieces, unmapped


def compare_components(
    level: Level,
    allowance: Allowance,
    reference: Sequence[Resource],
    resources: Sequence[Resource],
) -> list[Difference]:
    """Across targets: every logical piece of the reference built on this stack, and no other.

    A service piece follows the logical path `services.<name>`, so only a literal allowance
    accepts one missing or extra; the other pieces are never optional.
    """
    ref_pieces, ref_unmapped = _pieces(reference)
    my_pieces, my_unmapped = _pieces(resources)
    differences: list[Difference] = []
    # An unmapped type both sides build stands for itself; one side only has no counterpart.
    for type_ in dict.fromkeys(ref_unmapped + my_unmapped):
        if (type_ in ref_unmapped) == (type_ in my_unmapped):
            continue
        differences.append(
            Difference(
                allowance.stack,
                level,
                f"components.{type_}",
                type_ if type_ in ref_unmapped else ABSENT,
                type_ if type_ in my_unmapped else ABSENT,
                False,
                "no counterpart on the other target, and none declared in COMPONENT_PIECES",
            )
        )
    for path in list(ref_pieces) + [p for p in my_pieces if p not in ref_pieces]:
        if (path in ref_pieces) == (path in my_pieces):
            continue
        logical = path.replace(f"components.{Piece.SERVICE}.", "services.", 1)
        allowed, why = judge_logical(allowance, logical)
        differences.append(
            Difference(
                allowance.stack,
                level,
                path,
                ", ".join(ref_pieces[path]) if path in ref_pieces else ABSENT,
                ", ".join(my_pieces[path]) if path in my_pieces else ABSENT,
                allowed,
                why,
            )
        )
    return differences


# ---------------------------------------------------------------------------------------------
# Key inputs of deployed resources


@dataclass(frozen=True)
class KeyInput:
    """An input worth comparing between deployed stacks, and the config paths it follows.

    It applies to resources of `type` whose name matches `pattern` (any name without one); the
    first that applies to a resource decides for its input `name`. `paths` are templates over
    the pattern's groups and `{parent}`, the parent component's name. No paths: no config sets
    the input, so a difference between the stacks always fails.
    """

    type: str
    name: str
    paths: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    def config_paths(self, resource: Resource) -> tuple[str, ...] | None:
        """The config paths for this resource, or None when the input does not apply to it."""
        if resource.type != self.type:
            return None
        match = (self.pattern or _ANY).fullmatch(resource.name)
        if match is None:
            return None
        parent = {"parent": resource.parent.rpartition("::")[2]}
        return _config_paths(self.paths, match, parent)


_ANY = re.compile(r".*")


def _input(type_: str, name: str, *paths: str, pattern: str | None = None) -> KeyInput:
    return KeyInput(type_, name, paths, re.compile(pattern) if pattern else None)


_RDS = "aws:rds/instance:Instance"
_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
_ALARM_RULE = rf".+-(?:db|svc-.+)-(?P<rule>{_RULE_SLUGS})"
_ROLE = r".+-(?P<role>owner|app|readonly)"

# Only inputs whose values the program writes as literals: never another resource's id or ARN,
# which differ between stacks and between a mock plan and a real deployment.
KEY_INPUT_LIST: tuple[KeyInput, ...] = (
    _input(_RDS, "multiAz", "database.multi_az"),
    _input(_RDS, "storageEncrypted"),
    _input(_RDS, "publiclyAccessible"),
    _input(_RDS, "engine"),
    _input(_RDS, "instanceClass", "database.instance_class"),
    _input(_RDS, "engineVersion", "database.engine_version"),
    _input(_RDS, "allocatedStorage", "database.allocated_storage_gb"),
    _input(_RDS, "maxAllocatedStorage", "database.max_allocated_storage_gb"),
    _input(_RDS, "backupRetentionPeriod", "database.backup_retention_days"),
    _input(_RDS, "deletionProtection", "database.deletion_protection"),
    _input(_RDS, "performanceInsightsEnabled", "database.performance_insights"),
    _input(_RDS, "performanceInsightsRetentionPeriod", "database.performance_insights"),
    _input("aws:rds/parameterGroup:ParameterGroup", "family", "database.engine_version"),
    _input("aws:rds/parameterGroup:ParameterGroup", "parameters", "database.max_connections"),
    *(
        _input(kind, prop)
        for kind in (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        )
        for prop in ("cidrIpv4", "cidrIpv6", "fromPort", "toPort", "ipProtocol")
    ),
    _input("aws:ec2/vpc:Vpc", "cidrBlock", "aws.vpc_cidr"),
    _input("aws:ec2/subnet:Subnet", "cidrBlock", "aws.vpc_cidr"),
    _input("aws:ec2/subnet:Subnet", "mapPublicIpOnLaunch"),
    _input("aws:ec2/route:Route", "destinationCidrBlock"),
    _input("aws:lb/loadBalancer:LoadBalancer", "internal"),
    _input("aws:lb/loadBalancer:LoadBalancer", "enableDeletionProtection", "environment"),
    _input("aws:lb/listener:Listener", "port"),
    _input("aws:lb/listener:Listener", "protocol"),
    _input("aws:lb/listener:Listener", "sslPolicy"),
    _input("aws:lb/listener:Listener", "certificateArn", "aws.certificate_arn"),
    _input(
        "aws:lb/targetGroup:TargetGroup",
        "healthCheck",
        "services.{service}.readiness",
        pattern=r"(?P<service>.+)-lb-targets",
    ),
    _input("aws:ecs/cluster:Cluster", "settings", "aws.container_insights"),
    _input("aws:ecs/service:Service", "desiredCount", "services.{parent}.replicas"),
    _input("aws:ecs/service:Service", "launchType"),
    _input("aws:ecs/service:Service", "deploymentCircuitBreaker"),
    _input("aws:ecs/taskDefinition:TaskDefinition", "cpu", "services.{parent}.cpu"),
    _input("aws:ecs/taskDefinition:TaskDefinition", "memory", "services.{parent}.memory_mb"),
    _input("aws:appautoscaling/target:Target", "minCapacity", "services.{parent}.autoscaling"),
    _input("aws:appautoscaling/target:Target", "maxCapacity", "services.{parent}.autoscaling"),
    _input("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", "aws.log_retention_days"),
    _input("aws:secretsmanager/secret:Secret", "recoveryWindowInDays", "environment"),
    _input(
        _ALARM,
        "threshold",
        "alerts.rules.db_connections_high.threshold",
        "database.max_connections",
        pattern=r".+-db-db-connections-high",
    ),
    _input(
        _ALARM,
        "threshold",
        "alerts.rules.db_storage_low.threshold",
        "database.allocated_storage_gb",
        pattern=r".+-db-db-storage-low",
    ),
    _input(_ALARM, "threshold", "alerts.rules.{rule}.threshold", pattern=_ALARM_RULE),
    _input(_ALARM, "evaluationPeriods", "alerts.rules.{rule}.window_minutes", pattern=_ALARM_RULE),
    _input(_ALARM, "datapointsToAlarm", "alerts.rules.{rule}", pattern=_ALARM_RULE),
    _input(_ALARM, "comparisonOperator"),
    _input("postgresql:index/role:Role", "name", "database.roles.{role}", pattern=_ROLE),
    _input("postgresql:index/role:Role", "superuser"),
    _input("postgresql:index/role:Role", "createDatabase"),
    _input("postgresql:index/role:Role", "createRole"),
    _input("postgresql:index/database:Database", "name", "database.name"),
    _input("postgresql:index/grant:Grant", "privileges"),
    _input("postgresql:index/grant:Grant", "objectType"),
    _input("postgresql:index/defaultPrivileges:DefaultPrivileges", "privileges"),
)
KEY_INPUTS: Mapping[str, tuple[KeyInput, ...]] = {
    kind: tuple(k for k in KEY_INPUT_LIST if k.type == kind)
    for kind in dict.fromkeys(k.type for k in KEY_INPUT_LIST)
}


def key_inputs(resource: Resource) -> dict[str, tuple[str, ...]]:
    """Input name -> the config paths it follows, for the key inputs of this resource."""
    chosen: dict[str, tuple[str, ...]] = {}
    for key_input in KEY_INPUTS.get(resource.type, ()):
        if key_input.name in chosen:
            continue
        paths = key_input.config_paths(resource)
        if paths is not None:
            chosen[key_input.name] = paths
    return chosen


# Inputs the providers keep as sets: stored in whatever order the provider chose (the
# postgresql plugin sorts privileges), so order is never a difference.
UNORDERED_INPUTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("postgresql:index/grant:Grant", "privileges"),
        ("postgresql:index/defaultPrivileges:DefaultPrivileges", "privileges"),
    }
)


def comparable(resource_type: str, prop: str, value: Any) -> Any:
    """`value` as compared: a set-valued input's list sorted, anything else as it is."""
    if (resource_type, prop) in UNORDERED_INPUTS and isinstance(value, list):
        return sorted(value, key=str)
    return value


def departs(deployed: Resource, planned: Resource | None, prop: str) -> bool:
    """Whether the deployed value of `prop` differs from what the stack's config plans.

    Secrets, unknowns, provider defaults and inputs under `ignoreChanges` cannot depart; neither
    can an unplanned resource (there is nothing to hold it to).
    """
    if planned is None or prop in deployed.ignored:
        return False
    want = planned.inputs.get(prop, ABSENT)
    have = deployed.inputs.get(prop, ABSENT)
    if want in (SECRET_TEXT, UNKNOWN) or have == SECRET_TEXT:
        return False
    if want is ABSENT and prop in deployed.defaults:
        return False
    return bool(comparable(deployed.type, prop, want) != comparable(deployed.type, prop, have))


def _follows(paths: tuple[str, ...]) -> str:
    return f" ({', '.join(paths)})" if paths else ""


def departures(state: StackState) -> list[Difference]:
    """Key inputs of a stack's deployed resources that depart from what its own config plans: a
    change made outside Pulumi, never allowed. Checked for every live stack, the reference too,
    whatever the other stacks' target, so a stack compared with no other is still checked."""
    planned = {r.key: r for r in state.planned}
    differences: list[Difference] = []
    for deployed in state.deployed or ():
        plan = planned.get(deployed.key)
        if plan is None:
            continue
        for prop, paths in key_inputs(deployed).items():
            if departs(deployed, plan, prop):
                differences.append(
                    Difference(
                        state.name,
                        Level.LIVE,
                        f"{deployed.key}.{prop}",
                        plan.inputs.get(prop, ABSENT),
                        deployed.inputs.get(prop, ABSENT),
                        False,
                        f"deployed value departs from what {state.name}'s config plans"
                        f"{_follows(paths)}: a change made outside Pulumi",
                    )
                )
    return differences


def compare_key_inputs(
    allowance: Allowance,
    reference: StackState,
    state: StackState,
    config_diffs: Sequence[Difference],
) -> list[Difference]:
    """Key inputs of the resources both deployments have, where they differ between the stacks.

    An input that departs from either stack's own plan is left to `departures` (reported once,
    against the stack that departs). Otherwise a difference between the stacks is allowed when
    the config path the input follows differs in an allowed way.
    """
    ref_deployed = {r.key: r for r in reference.deployed or ()}
    ref_planned = {r.key: r for r in reference.planned}
    my_planned = {r.key: r for r in state.planned}
    stack = allowance.stack
    differences: list[Difference] = []
    for ours in state.deployed or ():
        theirs = ref_deployed.get(ours.key)
        if theirs is None:
            continue
        for prop, paths in key_inputs(ours).items():
            if prop in ours.ignored and prop in theirs.ignored:
                continue  # something else owns it on both sides (e.g. the autoscaler's count)
            if departs(theirs, ref_planned.get(ours.key), prop) or departs(
                ours, my_planned.get(ours.key), prop
            ):
                continue
            ref_value = theirs.inputs.get(prop, ABSENT)
            value = ours.inputs.get(prop, ABSENT)
            if comparable(ours.type, prop, ref_value) == comparable(ours.type, prop, value):
                continue
            if paths:
                allowed, why = explain_by_config(paths, stack, config_diffs, descendants=True)
            else:
                allowed, why = False, f"follows no config path (not in parity.allow of {stack})"
            path = f"{ours.key}.{prop}"
            differences.append(Difference(stack, Level.LIVE, path, ref_value, value, allowed, why))
    return differences


# ---------------------------------------------------------------------------------------------
# The whole check


@dataclass(frozen=True)
class StackState:
    """One stack as parity sees it: its validated config, its planned graph and, in live mode,
    its deployed one."""

    config: StackConfig
    planned: Sequence[Resource]
    deployed: Sequence[Resource] | None = None

    @property
    def name(self) -> str:
        return self.config.stack


@dataclass(frozen=True)
class ParityReport:
    reference: str
    stacks: tuple[str, ...]
    differences: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        return all(d.allowed for d in self.differences)

    @property
    def failures(self) -> list[Difference]:
        return [d for d in self.differences if not d.allowed]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "stacks": list(self.stacks),
            "differences": [d.to_json() for d in self.differences],
            "ok": self.ok,
        }


def compare_stack(reference: StackState, state: StackState, live: bool) -> list[Difference]:
    """Every difference of one stack from the reference, at every level."""
    allowance = Allowance.of(state.config)
    config_diffs = compare_config(reference.config, state.config)
    differences = config_diffs + compare_logical(reference.config, state.config)
    level = Level.LIVE if live else Level.RESOURCE
    if live:
        if reference.deployed is None or state.deployed is None:
            raise ValueError("live parity needs the deployed resources of both stacks")
        ref_graph, my_graph = reference.deployed, state.deployed
    else:
        ref_graph, my_graph = reference.planned, state.planned
    if reference.config.target == state.config.target:
        differences += compare_graphs(level, state.name, ref_graph, my_graph, config_diffs)
        if live:
            differences += compare_key_inputs(allowance, reference, state, config_diffs)
    else:
        differences += compare_components(level, allowance, ref_graph, my_graph)
    return differences


def check(reference: StackState, stacks: Sequence[StackState], live: bool = False) -> ParityReport:
    """Compare every stack with the reference; a departure of the reference itself is reported
    once, however many stacks see it."""
    seen: set[tuple[str, Level, str]] = set()
    differences: list[Difference] = []
    found: list[Difference] = []
    if live:
        checked = {reference.name: reference, **{state.name: state for state in stacks}}
        for state in checked.values():
            found += departures(state)
    for state in stacks:
        if state.name != reference.name:
            found += compare_stack(reference, state, live)
    for difference in found:
        identity = (difference.stack, difference.level, difference.path)
        if identity not in seen:
            seen.add(identity)
            differences.append(difference)
    order = {state.name: index for index, state in enumerate(stacks)}
    differences.sort(key=lambda d: (order.get(d.stack, -1), LEVEL_ORDER[d.level]))
    return ParityReport(
        reference=reference.name,
        stacks=tuple(state.name for state in stacks),
        differences=tuple(differences),
    )
