"""An internet-facing ALB for one public service: HTTPS with the stack's certificate, HTTP only
to redirect, a target group (ip targets, for Fargate) checking the service's readiness probe
exactly as its container health check does (`components/probes.py`), and the service's public
host name pointed at it.

The certificate is issued for the host name, not for the ALB's generated `*.elb.amazonaws.com`
name, so clients (and `infractl verify`) must come in by the host name. With a Route 53 zone id
the component keeps an alias A record `<hostname>` -> the ALB in that zone (alias records follow
the ALB's changing addresses and cost no queries); without one it creates no DNS at all: the name
is managed elsewhere (another account's zone, an external DNS provider) and must be pointed, as a
CNAME or alias, at the `dns_name` output. An existing record of that name in the zone is never
overwritten: import it into the stack or delete it first.

Given an access log destination (`components/aws/access_logs.py`), the ALB writes its access logs
under its prefix in that bucket, and is created or changed only after the bucket's policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.access_logs import AccessLogDestination
from components.probes import HttpProbeSpec, alb_health_check
from components.type_tokens import AWS_LOAD_BALANCER

# TLS 1.3 and 1.2 with forward-secret ciphers only (AWS's recommended policy for new listeners).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Public subnets, one per AZ."""
    security_group_id: pulumi.Input[str]
    certificate_arn: str
    hostname: str
    """The public host name clients use; the certificate must cover it."""
    probe: HttpProbeSpec
    """The service's readiness probe; its port is the target port."""
    zone_id: str | None = None
    """The Route 53 hosted zone that holds `hostname`; None = DNS is managed elsewhere."""
    deletion_protection: bool = False
    deregistration_delay_seconds: int = 30
    access_logs: AccessLogDestination | None = None
    """Where the ALB writes its access logs (`components/aws/access_logs.py`); None = none."""
    tags: Mapping[str, str] = field(default_factory=dict)


class LoadBalancer(pulumi.ComponentResource):
    hostname: str
    """The public host name; `url` is `https://<hostname>`."""
    url: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    """The ALB's own name, for operators and for DNS managed outside this stack."""
    arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    target_port: int
    """The container port the target group forwards to."""

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_LOAD_BALANCER, name, None, opts)
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
            access_logs=_access_logs(args.access_logs),
            tags=dict(args.tags),
            # Enabling access logs makes ELB write a test object: the bucket policy comes first.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.access_logs.ready] if args.access_logs is not None else None,
            ),
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
        if args.zone_id is not None:
            self._alias_record(alb, args.zone_id)
        self.hostname = args.hostname
        self.url = pulumi.Output.from_input(f"https://{args.hostname}")
        self.dns_name = alb.dns_name
        self.arn_suffix = alb.arn_suffix
        self.target_group_arn = targets.arn
        self.target_group_arn_suffix = targets.arn_suffix
        self.register_outputs(
            {
                "hostname": self.hostname,
                "url": self.url,
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

    def _alias_record(self, alb: aws.lb.LoadBalancer, zone_id: str) -> aws.route53.Record:
        # evaluate_target_health hands the ALB's target health to Route 53, for any failover or
        # weighted routing added beside this record; a lone record is answered either way.
        return aws.route53.Record(
            f"{self._name}-dns",
            zone_id=zone_id,
            name=self._args.hostname,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )


def _access_logs(
    destination: AccessLogDestination | None,
) -> aws.lb.LoadBalancerAccessLogsArgs | None:
    if destination is None:
        return None
    return aws.lb.LoadBalancerAccessLogsArgs(
        bucket=destination.bucket, prefix=destination.prefix, enabled=True
    )
