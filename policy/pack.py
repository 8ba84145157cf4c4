"""The policy pack's wiring: every rule in `policy/rules.py` as a MANDATORY policy.

Kept apart from `__main__.py` because constructing `PolicyPack` starts the analyzer's gRPC
server and never returns; tests import this module to check what the pack registers.

Prod-ness (`prod-database-durable`) is decided when a resource is validated, by
`stack_environment`: the CLI starts the pack with the stack's config in `PULUMI_CONFIG` and its
name in `PULUMI_STACK`, so the pack reads `platform:environment`, the very key the program's
config model builds the stack from, and the stack name, plus an optional override in the pack's
own config. Any of them saying prod makes it prod, so renaming one cannot dodge the rule; none of
them naming a known tier makes it prod too, because a guardrail that cannot tell fails closed.

`no-world-open-ingress` is the one stack policy: the network component opens 80/443 with
standalone `SecurityGroupIngressRule`s whose own props name no group (`securityGroupId` is an
opaque id, unknown before creation), so only the stack's dependency graph can say which group a
rule belongs to. Stack policies run at the end of a preview, and `pulumi up` previews first
unless `--skip-preview`, so a violation still stops the update before anything is created.
`buckets-private-and-encrypted` is a stack policy for the same reason: a bucket's public access
block and encryption are resources of their own, tied to it only through the graph.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy import buckets, rules

PACK_NAME = "platform-guardrails"
ENFORCEMENT = EnforcementLevel.MANDATORY
ENVIRONMENTS = ("dev", "staging", "prod", "review")
"""`review`: a pull request's stack, `pr-<number>`, in the staging account."""
ENVIRONMENT_CONFIG_KEY = "platform:environment"
"""The stack config key every `Pulumi.<stack>.yaml` sets and `infra/config/models.py` validates."""
INGRESS_TYPES = (rules.SECURITY_GROUP, rules.SECURITY_GROUP_RULE, rules.INGRESS_RULE)

Check = Callable[[ResourceValidationArgs], list[str]]


def _tier_of_stack_name(stack: str | None) -> str | None:
    if not stack:
        return None
    tokens = re.split(r"[^a-z0-9]+", stack.lower().rsplit("/", 1)[-1])
    if "prod" in tokens or "production" in tokens:
        return rules.PROD
    return next((token for token in tokens if token in ENVIRONMENTS), None)


def stack_environment(
    override: Any = None, configured: Any = None, stack: str | None = None
) -> str:
    """The stack's tier from the pack config `override`, the stack's `platform:environment`
    (`configured`) and its name: prod if any says prod or none names a tier, else the tier."""
    named: list[str] = [
        value
        for value in (override, configured)
        if isinstance(value, str) and value in ENVIRONMENTS
    ]
    from_name = _tier_of_stack_name(stack)
    if from_name:
        named.append(from_name)
    if not named or rules.PROD in named:
        return rules.PROD
    return named[0]


def current_environment(args: ResourceValidationArgs) -> str:
    """The tier of the stack the CLI is previewing or updating (see the module docstring)."""
    return stack_environment(
        args.get_config().get("environment"),
        pulumi.runtime.get_config_env().get(ENVIRONMENT_CONFIG_KEY),
        os.environ.get("PULUMI_STACK"),
    )


def _props_only(rule: rules.Rule) -> Check:
    return lambda args: rule(args.resource_type, args.props)


def _prod_database_durable(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type not in (rules.RDS_INSTANCE, rules.RDS_CLUSTER):
        return []
    return rules.prod_database_durable(
        args.resource_type,
        args.props,
        environment=current_environment(args),
        protected=bool(args.opts is not None and args.opts.protect),
    )


def owning_group(resource: PolicyResource) -> PolicyResource | None:
    """The security group a standalone rule belongs to: the one its `securityGroupId` came from
    (the engine's property dependencies), else the only group it depends on at all."""
    candidates = resource.property_dependencies.get("securityGroupId") or resource.dependencies
    groups = [dep for dep in candidates if dep.resource_type == rules.SECURITY_GROUP]
    return groups[0] if len(groups) == 1 else None


def world_open_ingress(resources: Iterable[PolicyResource]) -> list[tuple[str, str]]:
    """(message, urn) for every group or rule admitting the world beyond the LB's 80/443.

    A resource whose props are not known yet (a new group's computed `ingress` in a preview) is
    left out, as pulumi-policy itself does with unknowns; the stack check after `up` sees it.
    """
    found: list[tuple[str, str]] = []
    for resource in resources:
        if resource.resource_type not in INGRESS_TYPES:
            continue
        group = None if resource.resource_type == rules.SECURITY_GROUP else owning_group(resource)
        try:
            messages = rules.no_world_open_ingress(
                resource.resource_type,
                resource.props,
                group=group.props if group is not None else None,
            )
        except UnknownValueError:
            continue
        found += [(message, resource.urn) for message in messages]
    return found


def bucket_parts(
    bucket: PolicyResource, resources: Iterable[PolicyResource]
) -> list[tuple[str, Mapping[str, Any]]]:
    """(type, props) of the resources that configure `bucket`: those whose `bucket` input came
    from it (the engine's property dependencies; else the only bucket they depend on), or, with
    no bucket to depend on, that name it literally. A new bucket's id is unknown in a preview,
    which is why the graph decides first."""
    parts: list[tuple[str, Mapping[str, Any]]] = []
    for resource in resources:
        if resource.resource_type not in buckets.PARTS:
            continue
        candidates = resource.property_dependencies.get("bucket") or resource.dependencies
        owners = [dep for dep in candidates if dep.resource_type in buckets.BUCKETS]
        if owners:
            belongs = len(owners) == 1 and owners[0].urn == bucket.urn
        else:
            belongs = _names_bucket(resource, bucket)
        if belongs:
            parts.append((resource.resource_type, resource.props))
    return parts


def _names_bucket(part: PolicyResource, bucket: PolicyResource) -> bool:
    try:
        named = part.props.get("bucket")
        return isinstance(named, str) and named == bucket.props.get("bucket")
    except UnknownValueError:
        return False


def unsafe_buckets(resources: Sequence[PolicyResource]) -> list[tuple[str, str]]:
    """(message, urn) for every bucket that is public or unencrypted, judged with its parts.
    A bucket whose props or parts are not known yet is left out, as for ingress."""
    found: list[tuple[str, str]] = []
    for resource in resources:
        if resource.resource_type not in buckets.BUCKETS:
            continue
        try:
            messages = buckets.bucket_private_and_encrypted(
                resource.resource_type, resource.props, parts=bucket_parts(resource, resources)
            )
        except UnknownValueError:
            continue
        found += [(message, resource.urn) for message in messages]
    return found


@dataclass(frozen=True)
class Guardrail:
    """A rule on one resource at a time: it blocks that resource before it is created."""

    name: str
    description: str
    check: Check
    config_schema: PolicyConfigSchema | None = None

    def policy(self) -> ResourceValidationPolicy:
        check = self.check

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in check(args):
                report_violation(message, None)

        return ResourceValidationPolicy(
            name=self.name,
            description=self.description,
            validate=validate,
            enforcement_level=ENFORCEMENT,
            config_schema=self.config_schema,
        )


def _ingress_policy() -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in world_open_ingress(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name="no-world-open-ingress",
        description="No security group admits 0.0.0.0/0 or ::/0, except the load balancer's "
        "on tcp 80/443.",
        validate=validate,
        enforcement_level=ENFORCEMENT,
    )


GUARDRAILS: tuple[Guardrail, ...] = (
    Guardrail(
        "database-private-and-encrypted",
        "Databases are not publicly accessible and are encrypted at rest.",
        _props_only(rules.database_private_and_encrypted),
    ),
    Guardrail(
        "prod-database-durable",
        "Prod databases are multi-AZ, deletion-protected, `protect`ed and keep at least "
        f"{rules.PROD_MIN_BACKUP_DAYS} days of backups.",
        _prod_database_durable,
        PolicyConfigSchema(
            properties={
                "environment": {
                    "type": "string",
                    "enum": list(ENVIRONMENTS),
                    "description": "Treat the stack as this tier (prod still wins if the "
                    "stack's platform:environment or name says prod).",
                }
            }
        ),
    ),
    Guardrail(
        "containers-health-checked",
        "Every long-running container (ECS or docker) has a health check.",
        _props_only(rules.containers_health_checked),
    ),
    Guardrail(
        "no-secrets-in-plain-env",
        "No secret-looking name or value in an ECS container's plain environment.",
        _props_only(rules.no_secrets_in_plain_env),
    ),
    Guardrail(
        "services-roll-back",
        "Every ECS service has the deployment circuit breaker with rollback.",
        _props_only(rules.services_roll_back),
    ),
    Guardrail(
        "target-groups-health-checked",
        "Every target group has an enabled health check with a path.",
        _props_only(rules.target_groups_health_checked),
    ),
    Guardrail(
        "image-repositories-immutable-and-scanned",
        "Every ECR repository has immutable tags and scans each image on push.",
        _props_only(rules.image_repositories_immutable_and_scanned),
    ),
)


def _buckets_policy() -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in unsafe_buckets(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name="buckets-private-and-encrypted",
        description="Every S3 bucket blocks public access (all four flags), has no public ACL "
        "and has default encryption configured.",
        validate=validate,
        enforcement_level=ENFORCEMENT,
    )


def build_policies() -> list[Policy]:
    return [
        *(guardrail.policy() for guardrail in GUARDRAILS),
        _ingress_policy(),
        _buckets_policy(),
    ]


def pack_arguments() -> Mapping[str, Any]:
    """What `__main__.py` hands `PolicyPack`."""
    return {
        "name": PACK_NAME,
        "description": "The rules every platform stack must satisfy.",
        "enforcement_level": ENFORCEMENT,
        "policies": build_policies(),
    }
