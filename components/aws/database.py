"""RDS PostgreSQL in the private subnets: encrypted, TLS-only, an RDS-managed master password,
automated backups (point-in-time recovery comes with any retention above zero), a final snapshot
on delete, and prod's instance protected from `pulumi destroy` and kept if its resource is removed.

How the postgresql provider reaches it during `pulumi up`: the instance is private and its
security group admits only the service tasks, so the machine running `pulumi up` must be inside
the VPC's reach. Two ways, both configured by `database.admin_endpoint`:
- a runner inside the VPC (a self-hosted CI runner task in a private subnet, attached to the
  services' security group): leave `admin_endpoint` unset and the provider uses the instance's
  address directly;
- an SSM port-forward through a bastion (an ECS task or instance in the services' group with the
  SSM agent): `aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost
  --parameters host=<instance address>,portNumber=5432,localPortNumber=15432`, then set
  `admin_endpoint: {host: 127.0.0.1, port: 15432}` for that run. TLS is still required end to end
  (`sslmode=require`); the tunnel only carries the bytes.
The admin login is the RDS master user, whose password RDS generates, rotates and keeps in its own
Secrets Manager secret; it is read from there into a secret Output and never stored elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_DATABASE

MASTER_USERNAME = "platform_admin"
BACKUP_WINDOW = "02:00-03:00"
MAINTENANCE_WINDOW = "sun:03:30-sun:04:30"
"""UTC; after the backup window, never overlapping it."""


@dataclass(frozen=True)
class DatabaseArgs:
    identifier: str
    """The instance identifier, e.g. `platform-prod-db`; also names its final snapshot."""
    engine_version: str
    major_version: int
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int | None
    backup_retention_days: int
    multi_az: bool
    deletion_protection: bool
    performance_insights: bool
    max_connections: int
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, at least two AZs."""
    security_group_id: pulumi.Input[str]
    protect: bool
    """Prod: `protect` and `retain_on_delete` on the instance (decided by the caller)."""
    admin_host: str | None = None
    """The tunnel override (`database.admin_endpoint.host`); None = the instance address."""
    admin_port: int | None = None
    log_min_duration_ms: int = 500
    final_snapshot: bool = True
    """Snapshot the instance when it is deleted, and keep its automated backups. False for a
    disposable stack: a second delete of the same identifier would find the snapshot name taken,
    and nobody restores a pull request's test data."""


class Database(pulumi.ComponentResource):
    """Outputs: where tasks reach it (`address`, `port`, `endpoint`), where `pulumi up` reaches it
    (`admin_host`, `admin_port`), the master login (`master_username`, `master_password`, secret),
    `identifier` for CloudWatch dimensions and `arn` for AWS Backup's selection."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    endpoint: pulumi.Output[str]
    identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    admin_host: pulumi.Output[str]
    admin_port: pulumi.Output[int]
    master_username: pulumi.Output[str]
    master_password: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_DATABASE, name, None, opts)
        self._name = name
        self._args = args
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"{args.identifier}: private subnets only",
            subnet_ids=list(args.subnet_ids),
            opts=pulumi.ResourceOptions(parent=self),
        )
        parameters = self._parameter_group()
        instance = self._instance(subnets, parameters)
        self.address = instance.address
        self.port = instance.port
        self.endpoint = instance.endpoint
        self.identifier = instance.identifier
        self.arn = instance.arn
        self.master_username = instance.username
        self.master_password = self._master_password(instance)
        self.admin_host = (
            pulumi.Output.from_input(args.admin_host)
            if args.admin_host is not None
            else instance.address
        )
        self.admin_port = (
            pulumi.Output.from_input(args.admin_port)
            if args.admin_port is not None
            else instance.port
        )
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "endpoint": self.endpoint,
                "identifier": self.identifier,
                "arn": self.arn,
                "admin_host": self.admin_host,
                "admin_port": self.admin_port,
                "master_username": self.master_username,
                "master_password": self.master_password,
            }
        )

    def _parameter_group(self) -> aws.rds.ParameterGroup:
        args = self._args
        static = "pending-reboot"
        return aws.rds.ParameterGroup(
            f"{self._name}-parameters",
            family=f"postgres{args.major_version}",
            description=f"{args.identifier}: TLS only, slow-query log, max_connections",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="log_min_duration_statement", value=str(args.log_min_duration_ms)
                ),
                # The connections alarm is a percentage of this; keep them the same number.
                aws.rds.ParameterGroupParameterArgs(
                    name="max_connections", value=str(args.max_connections), apply_method=static
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _instance(
        self, subnets: aws.rds.SubnetGroup, parameters: aws.rds.ParameterGroup
    ) -> aws.rds.Instance:
        args = self._args
        return aws.rds.Instance(
            f"{self._name}-instance",
            identifier=args.identifier,
            engine="postgres",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            # A major bump (16 -> 17) comes with a parameter group of the new family (it follows
            # the major version); RDS refuses that change without this flag, failing the update.
            allow_major_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            multi_az=args.multi_az,
            deletion_protection=args.deletion_protection,
            backup_retention_period=args.backup_retention_days,
            backup_window=BACKUP_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=f"{args.identifier}-final" if args.final_snapshot else None,
            delete_automated_backups=not args.final_snapshot,
            performance_insights_enabled=args.performance_insights,
            performance_insights_retention_period=7 if args.performance_insights else None,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )

    def _master_password(self, instance: aws.rds.Instance) -> pulumi.Output[str]:
        """The master password from the RDS-managed secret, read (never stored) as a secret."""
        secret_arn = instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        version = aws.secretsmanager.get_secret_version_output(
            secret_id=secret_arn, opts=pulumi.InvokeOptions(parent=self)
        )
        return pulumi.Output.secret(version.secret_string.apply(_password))


def _password(secret_string: str) -> str:
    password = json.loads(secret_string)["password"]
    if not isinstance(password, str):
        raise ValueError("the RDS master user secret has no string 'password'")
    return password
