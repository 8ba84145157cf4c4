"""The VPC the stack runs in: subnets across the configured zones, NAT, and security groups that
open only the ports of the public services."""

from __future__ import annotations

from components.aws.network import Network, NetworkArgs
from infra.targets.aws.provider import AwsTarget


def build_network(target: AwsTarget) -> Network:
    """The load balancers listen on the public services' ports, so only those are opened."""
    settings = target.settings
    return Network(
        "network",
        NetworkArgs(
            vpc_cidr=settings.vpc_cidr,
            az_count=settings.availability_zones,
            nat_gateways=settings.nat_gateways,
            service_ports=[s.port for s in target.cfg.services.values() if s.public and s.port],
        ),
        opts=target.on_aws,
    )
