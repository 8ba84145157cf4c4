"""RDS PostgreSQL in the private subnets, backed up by AWS Backup, with the application database
and its roles created over TLS through the RDS master login."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.aws.backup import DatabaseBackups, DatabaseBackupsArgs
from components.aws.database import Database, DatabaseArgs
from components.aws.network import Network
from components.postgres import AdminConnection, DatabaseAccess
from infra.targets.aws.provider import AwsTarget
from infra.targets.database_access import database_access


@dataclass(frozen=True)
class StackDatabase:
    """The instance, its backups and its roles, with the connection strings (secret Outputs)
    the services (`app_url`) and their migrations (`owner_url`) use."""

    instance: Database
    backups: DatabaseBackups
    access: DatabaseAccess
    app_url: pulumi.Output[str]
    owner_url: pulumi.Output[str]


def build_database(target: AwsTarget, network: Network) -> StackDatabase:
    """Roles are created only once the instance exists, and always over TLS."""
    instance = _instance(target, network)
    backups = DatabaseBackups(
        "db-backups",
        DatabaseBackupsArgs(
            vault_name=f"{target.prefix}-db-backups",
            database_arn=instance.arn,
            retention_days=target.cfg.database.backup_retention_days,
            protect=target.prod,
            force_destroy=target.disposable,
        ),
        opts=target.on_aws,
    )
    access = database_access(
        target.cfg,
        AdminConnection(
            host=instance.admin_host,
            port=instance.admin_port,
            username=instance.master_username,
            password=instance.master_password,
            sslmode="require",
            superuser=False,  # the RDS master is rds_superuser, not a superuser
        ),
        opts=pulumi.ResourceOptions(depends_on=[instance]),
    )
    return StackDatabase(
        instance=instance,
        backups=backups,
        access=access,
        app_url=access.url(access.app, instance.address, instance.port, "sslmode=require"),
        owner_url=access.url(access.owner, instance.address, instance.port, "sslmode=require"),
    )


def _instance(target: AwsTarget, network: Network) -> Database:
    db = target.cfg.database
    return Database(
        "db",
        DatabaseArgs(
            identifier=f"{target.prefix}-db",
            engine_version=db.engine_version,
            major_version=db.major_version,
            instance_class=db.instance_class,
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            backup_retention_days=db.backup_retention_days,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            performance_insights=db.performance_insights,
            max_connections=db.max_connections,
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.database_security_group_id,
            protect=target.prod,
            final_snapshot=not target.disposable,
            admin_host=db.admin_endpoint.host if db.admin_endpoint else None,
            admin_port=db.admin_endpoint.port if db.admin_endpoint else None,
        ),
        opts=target.on_aws,
    )
