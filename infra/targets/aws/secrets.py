"""Secrets Manager: the product's secrets under `<prefix>/` and the database URLs under
`<prefix>/database/`; containers receive them only by reference, never by value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.aws.secrets import SecretRef, SecretStore, SecretStoreArgs
from infra.config.models import ServiceSettings
from infra.targets.aws.database import StackDatabase
from infra.targets.aws.provider import AwsTarget
from infra.targets.database_access import DATABASE_URL_ENV

APP_URL = "app_url"
OWNER_URL = "owner_url"


@dataclass(frozen=True)
class SecretStores:
    """The two stores, and which of their secrets each container's env vars point at."""

    app: SecretStore
    database: SecretStore

    def service_secrets(self, service: ServiceSettings) -> dict[str, SecretRef]:
        """A service's own secrets plus its app-role database URL."""
        return {
            **{env: self.app.refs[secret] for env, secret in service.secrets.items()},
            DATABASE_URL_ENV: self.database.refs[APP_URL],
        }

    def migration_secrets(self, service: ServiceSettings) -> dict[str, SecretRef]:
        """Only a migration gets the owner-role URL (DDL rights)."""
        return {DATABASE_URL_ENV: self.database.refs[OWNER_URL]} if service.migration else {}

    @property
    def arns(self) -> dict[str, pulumi.Output[str]]:
        """Every secret's ARN, the database ones under `database/`."""
        return {
            **self.app.arns,
            **{f"database/{key}": arn for key, arn in self.database.arns.items()},
        }


def build_secrets(
    target: AwsTarget, secret_values: Mapping[str, pulumi.Output[str]], database: StackDatabase
) -> SecretStores:
    """Store only what some service uses; prod keeps deleted secrets recoverable for longer, a
    review stack not at all (0: deleted at once, so the same `pr-<n>` can be made again)."""
    cfg = target.cfg
    recovery_days = 30 if target.prod else 0 if target.disposable else 7
    named = sorted({secret for s in cfg.services.values() for secret in s.secrets.values()})
    app = SecretStore(
        "app-secrets",
        SecretStoreArgs(
            path=f"{target.prefix}/",
            values={name: secret_values[name] for name in named},
            descriptions={name: cfg.secrets[name].description for name in named},
            recovery_window_days=recovery_days,
        ),
        opts=target.on_aws,
    )
    return SecretStores(app=app, database=_database_urls(target, database, recovery_days))


def _database_urls(target: AwsTarget, database: StackDatabase, recovery_days: int) -> SecretStore:
    """The owner URL is stored only when some service runs a migration."""
    roles = target.cfg.database.roles
    values = {APP_URL: database.app_url}
    if any(s.migration for s in target.cfg.services.values()):
        values[OWNER_URL] = database.owner_url
    return SecretStore(
        "db-secrets",
        SecretStoreArgs(
            path=f"{target.prefix}/database/",
            values=values,
            descriptions={
                APP_URL: f"DATABASE_URL of the services ({roles.app}: no DDL)",
                OWNER_URL: f"DATABASE_URL of the migrations ({roles.owner})",
            },
            recovery_window_days=recovery_days,
        ),
        opts=target.on_aws,
    )
