"""One service on ECS Fargate: its task definition, roles, logs, ECS service, autoscaling and, when
public, its load balancer.

Order, and why it holds:
- the migration container (essential: false) runs first in every task; the service container
  depends on it with condition SUCCESS, so it starts only if the migration exited 0. A failed
  migration leaves the task without a running service container: the task never becomes healthy,
  the deployment circuit breaker counts the failure and rolls back to the last good task
  definition, and the old tasks keep serving meanwhile (minimum healthy 100%);
- `prisma migrate deploy` takes an advisory lock, so tasks starting together migrate once;
- the service container's healthCheck and, when public, the target group's health check both come
  from the one readiness probe (`components/probes.py`);
- secrets reach containers only as `secrets: [{name, valueFrom: <ARN>}]`: the ECS agent resolves
  them with the execution role at start-up, so no value is in the task definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.access_logs import AccessLogDestination
from components.aws.load_balancer import LoadBalancer, LoadBalancerArgs
from components.aws.secrets import SecretRef
from components.probes import HttpProbeSpec, ProbeSpec, ecs_health_check
from components.type_tokens import AWS_SERVICE

MIGRATION_CONTAINER = "migrate"
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)


@dataclass(frozen=True)
class Scaling:
    min_replicas: int
    max_replicas: int
    cpu_target_percent: int


@dataclass(frozen=True)
class PublicEndpoint:
    """Where the service's load balancer goes; present only for public services."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    certificate_arn: str
    hostname: str
    """The name clients use (the certificate covers it); the service's `url` is built on it."""
    zone_id: str | None = None
    """Route 53 hosted zone for the alias record to the ALB; None = DNS is managed elsewhere."""
    deletion_protection: bool = False
    access_logs: AccessLogDestination | None = None
    """Where the ALB writes its access logs; None = it keeps none."""


@dataclass(frozen=True)
class ServiceArgs:
    family: str
    """Task definition family, e.g. `platform-prod-web`; also the log group's last segment."""
    service_name: str
    """The ECS service's name inside the cluster."""
    region: str
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    image: str
    probe: ProbeSpec
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets; tasks get no public IP."""
    security_group_ids: Sequence[pulumi.Input[str]]
    cpu: int
    memory_mb: int
    replicas: int
    log_retention_days: int
    command: Sequence[str] | None = None
    port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    """Env var -> stored secret, for the service container."""
    migration_command: Sequence[str] | None = None
    migration_secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    """Env var -> stored secret for the migration container (the owner role's DATABASE_URL)."""
    scaling: Scaling | None = None
    public: PublicEndpoint | None = None
    health_check_grace_seconds: int = 60
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for this service's resources (the provider adds the stack-wide ones)."""


def _environment(env: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(env.items())]


def _secrets(refs: Mapping[str, SecretRef]) -> list[dict[str, Any]]:
    return [{"name": key, "valueFrom": ref.value_from} for key, ref in sorted(refs.items())]


def _assume_role_policy(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # Only ECS acting for this account may assume it (confused-deputy guard).
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


class Service(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    url: pulumi.Output[str] | None
    load_balancer: LoadBalancer | None
    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_SERVICE, name, None, opts)
        self._name = name
        self._args = args
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/ecs/{args.family}",
            retention_in_days=args.log_retention_days,
            tags=dict(args.tags),
            opts=self._child(),
        )
        self.log_group_name = log_group.name
        execution_role, execution_policy, task_role = self._roles(log_group)
        task = self._task_definition(log_group, execution_role, execution_policy, task_role)
        self.load_balancer = self._load_balancer()
        service = self._ecs_service(task)
        if args.scaling is not None:
            self._autoscaling(service, args.scaling)
        self.service_name = service.name
        self.url = self.load_balancer.url if self.load_balancer is not None else None
        self.execution_role_arn = execution_role.arn
        self.task_role_arn = task_role.arn
        self.register_outputs(
            {
                "service_name": self.service_name,
                "url": self.url,
                "execution_role_arn": self.execution_role_arn,
                "task_role_arn": self.task_role_arn,
                "log_group_name": self.log_group_name,
            }
        )

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _roles(
        self, log_group: aws.cloudwatch.LogGroup
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy, aws.iam.Role]:
        args = self._args
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        trust = _assume_role_policy(account.account_id)
        execution = aws.iam.Role(
            f"{self._name}-execution",
            description=f"ECS agent for {args.family}: pull, logs, this service's secrets",
            assume_role_policy=trust,
            tags=dict(args.tags),
            opts=self._child(),
        )
        execution_policy = aws.iam.RolePolicy(
            f"{self._name}-execution",
            role=execution.id,
            policy=self._execution_policy(log_group),
            opts=self._child(),
        )
        # The application makes no AWS API calls: its task role has no policy at all. Grant it
        # only what the code itself calls, here, if that changes; never other services' secrets.
        task = aws.iam.Role(
            f"{self._name}-task",
            description=f"Application identity of {args.family}: no AWS permissions",
            assume_role_policy=trust,
            tags=dict(args.tags),
            opts=self._child(),
        )
        return execution, execution_policy, task

    def _execution_policy(self, log_group: aws.cloudwatch.LogGroup) -> pulumi.Output[str]:
        args = self._args
        secret_arns: list[pulumi.Input[str]] = []
        for _, ref in [
            *sorted(args.secrets.items()),
            *sorted(args.migration_secrets.items()),
        ]:
            arn = ref.arn
            if not any(arn is seen for seen in secret_arns):  # one secret, many env vars
                secret_arns.append(arn)
        statements: list[dict[str, Any]] = [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": pulumi.Output.concat(log_group.arn, ":*"),
            },
        ]
        if secret_arns:
            statements.append(
                {
                    "Sid": "OwnSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": secret_arns,
                }
            )
        ecr = ECR_IMAGE.match(args.image)
        if ecr is not None:  # images from other registries need no IAM to pull
            repository = f"arn:aws:ecr:{ecr['region']}:{ecr['account']}:repository/{ecr['repo']}"
            statements += [
                {
                    "Sid": "EcrLogin",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "EcrPull",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage",
                    ],
                    "Resource": repository,
                },
            ]
        return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})

    def _log_options(self, log_group: aws.cloudwatch.LogGroup, prefix: str) -> dict[str, Any]:
        return {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group.name,
                "awslogs-region": self._args.region,
                "awslogs-stream-prefix": prefix,
            },
        }

    def _containers(self, log_group: aws.cloudwatch.LogGroup) -> list[dict[str, Any]]:
        args = self._args
        service: dict[str, Any] = {
            "name": self._name,
            "image": args.image,
            "essential": True,
            "environment": _environment(args.env),
            "secrets": _secrets(args.secrets),
            "healthCheck": ecs_health_check(args.probe),
            "logConfiguration": self._log_options(log_group, self._name),
        }
        if args.command:
            service["command"] = list(args.command)
        if args.port is not None:
            service["portMappings"] = [{"containerPort": args.port, "protocol": "tcp"}]
        if args.migration_command is None:
            return [service]
        migration = {
            "name": MIGRATION_CONTAINER,
            "image": args.image,
            "essential": False,
            "command": list(args.migration_command),
            "environment": _environment(args.env),
            "secrets": _secrets(args.migration_secrets),
            "logConfiguration": self._log_options(log_group, MIGRATION_CONTAINER),
        }
        service["dependsOn"] = [{"containerName": MIGRATION_CONTAINER, "condition": "SUCCESS"}]
        return [migration, service]

    def _task_definition(
        self,
        log_group: aws.cloudwatch.LogGroup,
        execution_role: aws.iam.Role,
        execution_policy: aws.iam.RolePolicy,
        task_role: aws.iam.Role,
    ) -> aws.ecs.TaskDefinition:
        args = self._args
        # cpu and memory are the task's; its containers share them (the migration finishes before
        # the service container starts).
        return aws.ecs.TaskDefinition(
            f"{self._name}-task",
            family=args.family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.cpu),
            memory=str(args.memory_mb),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps(self._containers(log_group)),
            tags=dict(args.tags),
            # The ARN alone does not wait for the role's policy; without it the first tasks can
            # start before they may read their secrets or write logs, and fail.
            opts=self._child(depends_on=[execution_policy]),
        )

    def _load_balancer(self) -> LoadBalancer | None:
        args = self._args
        if args.public is None:
            return None
        if not isinstance(args.probe, HttpProbeSpec):
            raise ValueError(f"public service '{self._name}' needs an HTTP readiness probe")
        return LoadBalancer(
            f"{self._name}-lb",
            LoadBalancerArgs(
                vpc_id=args.public.vpc_id,
                subnet_ids=args.public.subnet_ids,
                security_group_id=args.public.security_group_id,
                certificate_arn=args.public.certificate_arn,
                hostname=args.public.hostname,
                zone_id=args.public.zone_id,
                probe=args.probe,
                deletion_protection=args.public.deletion_protection,
                access_logs=args.public.access_logs,
                tags=args.tags,
            ),
            opts=self._child(),
        )

    def _ecs_service(self, task: aws.ecs.TaskDefinition) -> aws.ecs.Service:
        args = self._args
        lb = self.load_balancer
        return aws.ecs.Service(
            f"{self._name}-service",
            name=args.service_name,
            cluster=args.cluster_arn,
            task_definition=task.arn,
            launch_type="FARGATE",
            desired_count=args.replicas,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids),
                security_groups=list(args.security_group_ids),
                assign_public_ip=False,
            ),
            load_balancers=(
                [
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=lb.target_group_arn,
                        container_name=self._name,
                        container_port=lb.target_port,
                    )
                ]
                if lb is not None
                else None
            ),
            health_check_grace_period_seconds=(
                args.health_check_grace_seconds if lb is not None else None
            ),
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # `pulumi up` waits for the rollout, so a rolled-back deployment fails the update.
            wait_for_steady_state=True,
            tags=dict(args.tags),
            opts=self._child(
                # The target group must be attached to a listener before ECS registers targets.
                depends_on=[lb] if lb is not None else None,
                # With autoscaling, the scaler owns the running count; without this, every
                # `pulumi up` would reset it to `replicas` and undo a scale-out under load.
                ignore_changes=["desired_count"] if args.scaling is not None else None,
            ),
        )

    def _autoscaling(self, service: aws.ecs.Service, scaling: Scaling) -> None:
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat(
                "service/", self._args.cluster_name, "/", service.name
            ),
            min_capacity=scaling.min_replicas,
            max_capacity=scaling.max_replicas,
            tags=dict(self._args.tags),
            opts=self._child(),
        )
        aws.appautoscaling.Policy(
            f"{self._name}-cpu-target",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=(
                aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=scaling.cpu_target_percent,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ECSServiceAverageCPUUtilization"
                    ),
                    scale_in_cooldown=300,
                    scale_out_cooldown=60,
                )
            ),
            opts=self._child(),
        )
