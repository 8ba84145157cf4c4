"""The application database and its least-privilege roles, through pulumi-postgresql.

Roles:
- owner: owns the database and its schema; migrations run as it (DDL allowed).
- app: reads and writes rows; no DDL (it owns nothing and has no CREATE on the schema).
- readonly: SELECT only.
Default privileges make tables and sequences the owner creates later usable by app and readable
by readonly, so a migration never has to remember to grant.

The same component serves dev (a postgres container) and aws (RDS); only the admin connection
differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql
import pulumi_random as random

from components.type_tokens import POSTGRES_DATABASE_ACCESS

TABLE_WRITE = ["SELECT", "INSERT", "UPDATE", "DELETE"]
SEQUENCE_WRITE = ["USAGE", "SELECT", "UPDATE"]


@dataclass(frozen=True)
class AdminConnection:
    """How the postgresql provider reaches the server while `pulumi up` runs."""

    host: pulumi.Input[str]
    port: pulumi.Input[int]
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    sslmode: str
    superuser: bool


@dataclass(frozen=True)
class DatabaseAccessArgs:
    admin: AdminConnection
    database: str
    owner_role: str
    app_role: str
    readonly_role: str
    app_connection_limit: int = -1
    schema: str = "public"


@dataclass(frozen=True)
class RoleLogin:
    name: pulumi.Output[str]
    password: pulumi.Output[str]


class DatabaseAccess(pulumi.ComponentResource):
    database_name: pulumi.Output[str]
    owner: RoleLogin
    app: RoleLogin
    readonly: RoleLogin

    def __init__(
        self, name: str, args: DatabaseAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(POSTGRES_DATABASE_ACCESS, name, None, opts)
        self._name = name
        self._args = args
        admin = args.admin
        self._provider = postgresql.Provider(
            f"{name}-provider",
            host=admin.host,
            port=admin.port,
            username=admin.username,
            password=admin.password,
            sslmode=admin.sslmode,
            superuser=admin.superuser,
            database="postgres",
            connect_timeout=30,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.owner, owner_role = self._role("owner", args.owner_role, -1)
        self.app, app_role = self._role("app", args.app_role, args.app_connection_limit)
        self.readonly, readonly_role = self._role("readonly", args.readonly_role, 10)
        database = postgresql.Database(
            f"{name}-database",
            name=args.database,
            owner=owner_role.name,
            encoding="UTF8",
            lc_collate="C.UTF-8",
            lc_ctype="C.UTF-8",
            template="template0",
            opts=self._child(),
        )
        self.database_name = database.name
        self._grants(database, owner_role, app_role, readonly_role)
        self.register_outputs(
            {
                "database_name": self.database_name,
                "owner": self.owner.name,
                "app": self.app.name,
                "readonly": self.readonly.name,
            }
        )

    def _child(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=depends_on)

    def _role(
        self, kind: str, role_name: str, connection_limit: int
    ) -> tuple[RoleLogin, postgresql.Role]:
        password = random.RandomPassword(
            f"{self._name}-{kind}-password",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = postgresql.Role(
            f"{self._name}-{kind}",
            name=role_name,
            login=True,
            password=password.result,
            connection_limit=connection_limit,
            create_database=False,
            create_role=False,
            superuser=False,
            inherit=True,
            opts=self._child(),
        )
        return RoleLogin(name=role.name, password=pulumi.Output.secret(password.result)), role

    def _grants(
        self,
        database: postgresql.Database,
        owner: postgresql.Role,
        app: postgresql.Role,
        readonly: postgresql.Role,
    ) -> None:
        schema = self._args.schema
        name = self._name
        postgresql.Grant(
            f"{name}-revoke-public",
            database=database.name,
            role="public",
            object_type="database",
            privileges=[],
            opts=self._child(),
        )
        for kind, role, tables, sequences in (
            ("app", app, TABLE_WRITE, SEQUENCE_WRITE),
            ("readonly", readonly, ["SELECT"], ["SELECT"]),
        ):
            postgresql.Grant(
                f"{name}-{kind}-connect",
                database=database.name,
                role=role.name,
                object_type="database",
                privileges=["CONNECT"],
                opts=self._child(),
            )
            postgresql.Grant(
                f"{name}-{kind}-schema",
                database=database.name,
                role=role.name,
                schema=schema,
                object_type="schema",
                privileges=["USAGE"],
                opts=self._child(),
            )
            for object_type, privileges in (("table", tables), ("sequence", sequences)):
                postgresql.Grant(
                    f"{name}-{kind}-{object_type}s",
                    database=database.name,
                    role=role.name,
                    schema=schema,
                    object_type=object_type,
                    objects=[],
                    privileges=privileges,
                    opts=self._child(),
                )
                postgresql.DefaultPrivileges(
                    f"{name}-{kind}-future-{object_type}s",
                    database=database.name,
                    owner=owner.name,
                    role=role.name,
                    schema=schema,
                    object_type=object_type,
                    privileges=privileges,
                    opts=self._child(),
                )

    def url(
        self,
        login: RoleLogin,
        host: pulumi.Input[str],
        port: pulumi.Input[int],
        params: str = "",
    ) -> pulumi.Output[str]:
        """A connection string for `login`; secret, since it carries the password."""
        query = f"?{params}" if params else ""
        return pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}{5}",
                login.name,
                login.password,
                host,
                port,
                self.database_name,
                query,
            )
        )
