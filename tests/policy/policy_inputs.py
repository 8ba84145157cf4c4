"""Shared policy test helpers: the pack run as the engine runs it, and sound resource props."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime import rpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.offline import StackRun
from policy.pack import build_policies
from tests.paths import REPO_ROOT

POLICY_DIR = REPO_ROOT / "policy"
STACKS = ("dev", "staging", "prod")
RESOURCE_POLICIES = {
    "database-private-and-encrypted",
    "prod-database-durable",
    "containers-health-checked",
    "no-secrets-in-plain-env",
    "services-roll-back",
    "target-groups-health-checked",
    "image-repositories-immutable-and-scanned",
}
STACK_POLICIES = {"no-world-open-ingress", "buckets-private-and-encrypted"}
WORLD = ("0.0.0.0/0", "::/0")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

Violation = tuple[str, str, str]
"""(policy name, resource name, message)."""


def plain(value: Any) -> Any:
    """Inputs as the policy engine sees them: secrets unwrapped, however deep."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource(
    resource_type: str,
    props: Mapping[str, Any],
    name: str = "r",
    dependencies: list[PolicyResource] | None = None,
) -> PolicyResource:
    urn = f"urn:pulumi:test::platform::{resource_type}::{name}"
    return PolicyResource(
        resource_type, props, urn, name, options(), None, None, dependencies or [], {}
    )


def policy_resources(run: StackRun) -> list[PolicyResource]:
    """A stack's registrations as the pack sees them: plain props, parents and dependencies."""
    by_urn = {
        r.urn: PolicyResource(
            r.type, plain(r.inputs), r.urn, r.name, options(r.protect), None, None, [], {}
        )
        for r in run.resources
    }
    for registration in run.resources:
        current = by_urn[registration.urn]
        current.parent = by_urn.get(registration.parent)
        current.dependencies.extend(by_urn[u] for u in registration.dependencies if u in by_urn)
    return list(by_urn.values())


def run_pack(resources: list[PolicyResource]) -> list[Violation]:
    """Every policy of the pack over `resources`, through the callbacks the analyzer calls."""
    names = {r.urn: r.name for r in resources}
    found: list[Violation] = []
    for policy in build_policies():
        if isinstance(policy, StackValidationPolicy):

            def report(
                message: str, urn: str | None = None, policy_name: str = policy.name
            ) -> None:
                found.append((policy_name, names.get(urn or "", ""), message))

            policy.validate(StackValidationArgs(resources), report)
            continue
        assert isinstance(policy, ResourceValidationPolicy)
        for each in resources:
            args = ResourceValidationArgs(
                each.resource_type, each.props, each.urn, each.name, each.opts, None
            )

            def report_resource(
                message: str,
                urn: str | None = None,
                key: tuple[str, str] = (policy.name, each.name),
            ) -> None:
                found.append((*key, message))

            policy.validate(args, report_resource)
    return found


def caught(resources: list[PolicyResource]) -> set[tuple[str, str]]:
    return {(policy, name) for policy, name, _ in run_pack(resources)}


def find(resources: list[PolicyResource], resource_type: str, name: str) -> PolicyResource:
    (match,) = [r for r in resources if r.resource_type == resource_type and r.name == name]
    return match


def edit_containers(task: PolicyResource, change: Callable[[list[dict[str, Any]]], None]) -> None:
    props = dict(task.props)
    containers = json.loads(props["containerDefinitions"])
    change(containers)
    props["containerDefinitions"] = json.dumps(containers)
    task.props = props


def rds_instance() -> dict[str, Any]:
    return {
        "identifier": "platform-prod-db",
        "engine": "postgres",
        "publiclyAccessible": False,
        "storageEncrypted": True,
        "multiAz": True,
        "deletionProtection": True,
        "backupRetentionPeriod": 14,
    }


def health() -> dict[str, Any]:
    return {"command": ["CMD", "node", "-e", "..."], "interval": 10, "retries": 3}


def task_definition(containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    default = [
        {
            "name": "migrate",
            "essential": False,
            "command": ["npx", "prisma", "migrate", "deploy"],
            "environment": [{"name": "NODE_ENV", "value": "production"}],
        },
        {
            "name": "web",
            "essential": True,
            "healthCheck": health(),
            "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}],
            "environment": [
                {"name": "NODE_ENV", "value": "production"},
                {"name": "DB_SECRET_ARN", "value": "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
                {"name": "READONLY_URL", "value": "postgresql://reader@db/shop"},
            ],
            "secrets": [{"name": "PAYMENTS_API_KEY", "valueFrom": "arn:aws:secretsmanager:..."}],
        },
    ]
    return {
        "family": "platform-prod-web",
        "containerDefinitions": json.dumps(default if containers is None else containers),
    }


def target_group() -> dict[str, Any]:
    return {
        "name": "platform-prod-web",
        "protocol": "HTTP",
        "targetType": "ip",
        "healthCheck": {"enabled": True, "path": "/api/ready", "matcher": "200-299"},
    }


def ecr_repository() -> dict[str, Any]:
    return {
        "name": "platform-prod-web",
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "AES256"}],
        "forceDelete": False,
    }


def bucket() -> dict[str, Any]:
    return {"bucket": "platform-prod-alb-logs-123456789012", "forceDestroy": False}


def bucket_parts() -> list[tuple[str, dict[str, Any]]]:
    """What `components/aws/access_logs.py` attaches to its bucket, as (type, props)."""
    return [
        (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            {
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        ),
        (
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
        ),
    ]
