"""The live level's key inputs: values of deployed resources worth comparing, and the config paths
they follow.

A key input that departs from what the stack's own config plans (a hand-made change) always
fails; one that differs between the stacks as planned is allowed when the config path it follows
is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infractl.parity.allowance import Allowance
from infractl.parity.difference import ABSENT, Difference, Level
from infractl.parity.graph_level import RULE_SLUGS, explain_by_config, fill_paths
from infractl.parity.stack_state import StackState
from infractl.pulumi.resource import UNKNOWN, Resource
from infractl.pulumi.wire import SECRET_TEXT


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
        return fill_paths(self.paths, match, parent)


_ANY = re.compile(r".*")


def _input(type_: str, name: str, *paths: str, pattern: str | None = None) -> KeyInput:
    return KeyInput(type_, name, paths, re.compile(pattern) if pattern else None)


_RDS = "aws:rds/instance:Instance"
_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
_ALARM_RULE = rf".+-(?:db|stack|svc-.+)-(?P<rule>{RULE_SLUGS})"
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
    *(
        _input("aws:ecr/repository:Repository", prop)
        for prop in (
            "imageTagMutability",
            "imageScanningConfiguration",
            "encryptionConfigurations",
        )
    ),
    # Only a review stack's repositories may be deleted with their images (it is disposable).
    _input("aws:ecr/repository:Repository", "forceDelete", "environment"),
    _input("aws:ecr/lifecyclePolicy:LifecyclePolicy", "policy"),
    # The access log bucket: private and encrypted everywhere; only its expiry and whether a
    # destroy may empty it follow the config.
    *(
        _input("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", flag)
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ),
    _input(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "rules",
    ),
    _input("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "rule"),
    _input(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "rules",
        "aws.access_log_retention_days",
    ),
    _input("aws:s3/bucket:Bucket", "forceDestroy", "environment"),
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
    _input(
        _ALARM,
        "threshold",
        "alerts.rules.{rule}.threshold",
        pattern=rf".+-svc-.+-(?P<rule>{RULE_SLUGS})-(?:long|short)",  # an SLO rule's windows
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
