"""An internet-facing ALB for one public service: HTTPS with the stack's certificate, HTTP only
to redirect, and a target group (ip targets, for Fargate) checking the service's readiness probe
exactly as its container health check does (`components/probes.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.probes import HttpProbeSpec, alb_health_check

# TLS 1.3 and 1.2 with forward-secret ciphers only (AWS's recommended policy for new listeners).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Public subnets, one per AZ."""
    security_group_id: pulumi.Input[str]
    certificate_arn: str
    probe: HttpProbeSpec
    """The service's readiness probe; its port is the target port."""
    deletion_protection: bool = False
    deregistration_delay_seconds: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class LoadBalancer(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    target_port: int
    """The container port the target group forwards to."""

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platform:aws:LoadBalancer", name, None, opts)
        self._name = name
        self._args = args
        self.target_port = args.probe.port
        child = pulumi.ResourceOptions(parent=self)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(args.subnet_ids),
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            tags=dict(args.tags),
            opts=child,
        )
        targets = aws.lb.TargetGroup(
            f"{name}-targets",
            vpc_id=args.vpc_id,
            target_type="ip",
            port=args.probe.port,
            protocol="HTTP",
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(**alb_health_check(args.probe)),
            tags=dict(args.tags),
            opts=child,
        )
        self._listeners(alb, targets)
        self.dns_name = alb.dns_name
        self.arn_suffix = alb.arn_suffix
        self.target_group_arn = targets.arn
        self.target_group_arn_suffix = targets.arn_suffix
        self.register_outputs(
            {
                "dns_name": self.dns_name,
                "arn_suffix": self.arn_suffix,
                "target_group_arn": self.target_group_arn,
                "target_group_arn_suffix": self.target_group_arn_suffix,
                "target_port": self.target_port,
            }
        )

    def _listeners(self, alb: aws.lb.LoadBalancer, targets: aws.lb.TargetGroup) -> None:
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(self._args.tags)
        aws.lb.Listener(
            f"{self._name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=self._args.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=targets.arn)
            ],
            tags=tags,
            opts=child,
        )
        aws.lb.Listener(
            f"{self._name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=tags,
            opts=child,
        )
