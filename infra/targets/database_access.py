"""The application database and its roles, the same on every target, and the env var through
which services and migrations find their connection string."""

from __future__ import annotations

import pulumi

from components.postgres import AdminConnection, DatabaseAccess, DatabaseAccessArgs
from infra.config.fields import DATABASE_URL_ENV as DATABASE_URL_ENV
from infra.config.models import StackConfig


def database_access(
    cfg: StackConfig, admin: AdminConnection, opts: pulumi.ResourceOptions | None = None
) -> DatabaseAccess:
    """The application database and its three roles, the same on every target; only how the
    provider logs in (`admin`) differs."""
    roles = cfg.database.roles
    return DatabaseAccess(
        "db-access",
        DatabaseAccessArgs(
            admin=admin,
            database=cfg.database.name,
            owner_role=roles.owner,
            app_role=roles.app,
            readonly_role=roles.readonly,
        ),
        opts=opts,
    )
