"""How the aws target's tests read a stack evaluated under mocks: resource type tokens, the
values the mocks answer with, and helpers to look registrations up and open what they carry.

Shared by test_aws_network_database.py, test_aws_services.py and test_aws_alarms_outputs.py;
their fixtures are in conftest.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import rpc

from infra.offline import Registration, StackRun, run_stack
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
AWS_STACKS = ("staging", "prod")
ANYWHERE = "0.0.0.0/0"
PROVIDER_TYPE = "pulumi:providers:aws"
SUBNET = "aws:ec2/subnet:Subnet"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RDS = "aws:rds/instance:Instance"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
TOPIC = "aws:sns/topic:Topic"
VAULT = "aws:backup/vault:Vault"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ALB = "aws:lb/loadBalancer:LoadBalancer"
RECORD = "aws:route53/record:Record"
ALB_DNS_NAME = "web-lb-alb-1234567890.eu-west-1.elb.amazonaws.com"
"""The mock's DNS name for the web ALB (never a name the certificate covers)."""
HOSTNAMES = {"staging": "staging.shop.acme.example", "prod": "shop.acme.example"}
ZONES = {"staging": "Z0718245QX3N9STGSHOP", "prod": "Z0491736K2WJ8PRDSHOP"}
LEAK_MARKERS = ("mock-password-", "mock-rds-master-password", "[placeholder", "postgresql://")


@dataclass(frozen=True)
class Evaluated:
    run: StackRun

    @property
    def ignore_changes(self) -> dict[tuple[str, str], list[str]]:
        """(type, name) -> the ignoreChanges the program registered."""
        return {(r.type, r.name): list(r.ignore_changes) for r in self.run.resources}

    def one(self, type_: str, name: str) -> Registration:
        (match,) = [r for r in self.run.resources if r.type == type_ and r.name == name]
        return match

    def all(self, type_: str) -> list[Registration]:
        return self.run.by_type(type_)


def evaluate(stack: str, overrides: dict[str, str] | None = None) -> Evaluated:
    return Evaluated(run=run_stack(ROOT, stack, config_overrides=overrides))


def plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def id_name(mock_id: str) -> str:
    """The resource name inside a mock id (`<name>-<8 hex>`)."""
    return mock_id.rsplit("-", 1)[0]


def arn_name(arn: str) -> str:
    """The resource name at the end of a mock ARN (a `valueFrom` may pin `:::<version-id>`)."""
    return arn.split(":::", 1)[0].rsplit(":", 1)[1]


def non_secret_strings(value: Any) -> Iterator[str]:
    """Every string reachable without opening a secret."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from non_secret_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from non_secret_strings(item)


def containers(stack: Evaluated, service: str) -> dict[str, dict[str, Any]]:
    rendered = stack.one(TASK_DEFINITION, f"{service}-task").inputs["containerDefinitions"]
    return {c["name"]: c for c in json.loads(rendered)}


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)
