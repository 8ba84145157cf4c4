"""The stack's VPC: public subnets for the load balancer only, private subnets for tasks and the
database, NAT egress, and the three security groups that say who may talk to whom.

Traffic allowed, and nothing else:
- internet -> load balancer: 443 (HTTPS), and 80 only so the listener can redirect to 443;
- load balancer -> services: each public service's container port;
- services -> database: 5432;
- services -> internet: 443 through NAT, for image pulls (ECR or the registry), Secrets Manager,
  CloudWatch Logs and the third-party APIs the product calls.
Every rule is its own `aws.vpc.SecurityGroupIngressRule`/`EgressRule`, so drift on one rule shows
as that rule, and a group without egress rules has none: the AWS provider removes the default
allow-all egress rule when it creates a group.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_NETWORK

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
HTTP = 80
POSTGRES = 5432


@dataclass(frozen=True)
class NetworkArgs:
    vpc_cidr: str
    """A /16 to /20 IPv4 network (the config checks it)."""
    az_count: int
    nat_gateways: Literal["single", "per_az"]
    service_ports: Sequence[int] = ()
    """Container ports the load balancer forwards to (public services only)."""
    database_port: int = POSTGRES


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(public, private) CIDRs: the VPC split in 16; public from the first half, private from the
    second, one of each per AZ, so adding an AZ never renumbers an existing subnet."""
    blocks = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=4))
    half = len(blocks) // 2
    return (
        [str(block) for block in blocks[:az_count]],
        [str(block) for block in blocks[half : half + az_count]],
    )


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    availability_zones: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    lb_security_group_id: pulumi.Output[str]
    service_security_group_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_NETWORK, name, None, opts)
        self._name = name
        self._args = args
        self.availability_zones = self._zones()
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            opts=self._child(),
        )
        self.vpc_id = vpc.id
        public_cidrs, private_cidrs = subnet_cidrs(args.vpc_cidr, args.az_count)
        public = [self._subnet("public", i, cidr) for i, cidr in enumerate(public_cidrs)]
        private = [self._subnet("private", i, cidr) for i, cidr in enumerate(private_cidrs)]
        self.public_subnet_ids = [subnet.id for subnet in public]
        self.private_subnet_ids = [subnet.id for subnet in private]
        gateway = self._public_routes(public)
        self._private_routes(public, private, gateway)
        self._security_groups()
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "lb_security_group_id": self.lb_security_group_id,
                "service_security_group_id": self.service_security_group_id,
                "database_security_group_id": self.database_security_group_id,
            }
        )

    def _child(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    def _zones(self) -> list[str]:
        """The first `az_count` zones of the region that need no opt-in (no Local Zones)."""
        zones = aws.get_availability_zones(
            state="available",
            filters=[
                aws.GetAvailabilityZonesFilterArgs(
                    name="opt-in-status", values=["opt-in-not-required"]
                )
            ],
            opts=pulumi.InvokeOptions(parent=self),
        ).names
        if len(zones) < self._args.az_count:
            raise ValueError(
                f"aws.availability_zones is {self._args.az_count} but the region has only "
                f"{len(zones)} available zones: {', '.join(zones)}"
            )
        return list(zones[: self._args.az_count])

    def _subnet(self, tier: str, index: int, cidr: str) -> aws.ec2.Subnet:
        zone = self.availability_zones[index]
        return aws.ec2.Subnet(
            f"{self._name}-{tier}-{zone}",
            vpc_id=self.vpc_id,
            cidr_block=cidr,
            availability_zone=zone,
            # Nothing in a public subnet gets a public IP but the load balancer's own nodes.
            map_public_ip_on_launch=False,
            tags={"tier": tier, "Name": f"{self._name}-{tier}-{zone}"},
            opts=self._child(),
        )

    def _public_routes(self, public: list[aws.ec2.Subnet]) -> aws.ec2.InternetGateway:
        name = self._name
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc_id, opts=self._child())
        table = aws.ec2.RouteTable(f"{name}-public-routes", vpc_id=self.vpc_id, opts=self._child())
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=gateway.id,
            opts=self._child(),
        )
        for zone, subnet in zip(self.availability_zones, public, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}",
                route_table_id=table.id,
                subnet_id=subnet.id,
                opts=self._child(),
            )
        return gateway

    def _private_routes(
        self,
        public: list[aws.ec2.Subnet],
        private: list[aws.ec2.Subnet],
        gateway: aws.ec2.InternetGateway,
    ) -> None:
        """One route table per AZ, so `single` -> `per_az` only changes each table's NAT."""
        name = self._name
        nat_zones = (
            self.availability_zones
            if self._args.nat_gateways == "per_az"
            else self.availability_zones[:1]
        )
        nats: list[aws.ec2.NatGateway] = []
        for zone, subnet in zip(nat_zones, public, strict=False):
            address = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", opts=self._child())
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=address.allocation_id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    opts=self._child(depends_on=[gateway]),
                )
            )
        for index, (zone, subnet) in enumerate(zip(self.availability_zones, private, strict=True)):
            nat = nats[index] if index < len(nats) else nats[0]
            table = aws.ec2.RouteTable(
                f"{name}-private-routes-{zone}", vpc_id=self.vpc_id, opts=self._child()
            )
            aws.ec2.Route(
                f"{name}-private-default-{zone}",
                route_table_id=table.id,
                destination_cidr_block=ANYWHERE,
                nat_gateway_id=nat.id,
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}",
                route_table_id=table.id,
                subnet_id=subnet.id,
                opts=self._child(),
            )

    def _group(self, role: str, description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{self._name}-{role}",
            vpc_id=self.vpc_id,
            description=description,
            revoke_rules_on_delete=True,
            tags={"Name": f"{self._name}-{role}"},
            opts=self._child(),
        )

    def _security_groups(self) -> None:
        args = self._args
        lb = self._group("lb", "Load balancer: HTTPS from the internet, HTTP only to redirect")
        services = self._group("services", "Service tasks: reachable only from the load balancer")
        database = self._group("database", "Database: reachable only from the service tasks")
        if args.service_ports:  # without a public service, nothing is open to the internet
            for port, description in ((HTTPS, "HTTPS"), (HTTP, "HTTP, redirected to HTTPS")):
                self._ingress(f"lb-{port}-in", lb, port, description, cidr=ANYWHERE)
        for port in sorted(set(args.service_ports)):
            self._egress(f"lb-to-services-{port}", lb, port, "to service tasks", peer=services)
            self._ingress(
                f"services-from-lb-{port}", services, port, "from the load balancer", peer=lb
            )
        # Tasks reach ECR/the image registry, Secrets Manager, CloudWatch Logs and the product's
        # third-party APIs over HTTPS only, through the NAT gateways. DNS (the VPC resolver) and
        # the time service are link-local and not filtered by security groups, so need no rule.
        self._egress("services-https-out", services, HTTPS, "HTTPS out via NAT", cidr=ANYWHERE)
        self._egress(
            "services-to-database", services, args.database_port, "to the database", peer=database
        )
        self._ingress(
            "database-from-services",
            database,
            args.database_port,
            "PostgreSQL from the service tasks",
            peer=services,
        )
        # The database gets no egress rule: it never opens a connection.
        self.lb_security_group_id = lb.id
        self.service_security_group_id = services.id
        self.database_security_group_id = database.id

    def _ingress(
        self,
        role: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        cidr: str | None = None,
        peer: aws.ec2.SecurityGroup | None = None,
    ) -> None:
        self._rule(aws.vpc.SecurityGroupIngressRule, role, group, port, description, cidr, peer)

    def _egress(
        self,
        role: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        cidr: str | None = None,
        peer: aws.ec2.SecurityGroup | None = None,
    ) -> None:
        self._rule(aws.vpc.SecurityGroupEgressRule, role, group, port, description, cidr, peer)

    def _rule(
        self,
        kind: type[aws.vpc.SecurityGroupIngressRule] | type[aws.vpc.SecurityGroupEgressRule],
        role: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        cidr: str | None,
        peer: aws.ec2.SecurityGroup | None,
    ) -> None:
        """One TCP port, to or from one CIDR or one peer group, as its own resource."""
        kind(
            f"{self._name}-{role}",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer.id if peer is not None else None,
            description=description,
            opts=self._child(),
        )
