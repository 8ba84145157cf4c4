"""The roles and grants the program declares, applied to a real PostgreSQL, give least privilege.

The dev stack is evaluated under mocks; its postgresql Role, Database, Grant and
DefaultPrivileges registrations are turned into the SQL the postgresql provider issues for them
(GRANT ... ON ALL TABLES IN SCHEMA, ALTER DEFAULT PRIVILEGES FOR ROLE ...) and run on a real
server. Then each role does what a migration, the app and a reporting job would do. The
translation to SQL is ours, not the provider's: this checks the privilege design, not the
provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pulumi.runtime import rpc

from infra.offline import Registration, run_stack

Postgres = Any  # the `postgres` fixture of tests/integration/conftest.py

ROLES = {"owner": "gc_owner", "app": "gc_app", "readonly": "gc_readonly"}
DATABASE = "grants_check"
OBJECTS = {"table": "TABLES", "sequence": "SEQUENCES"}


def plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def statements(resources: list[Registration]) -> tuple[list[sql.Composed], list[sql.Composed]]:
    """(cluster-level statements, statements run inside the application database): roles
    first, then databases, then grants, as the provider's dependency order runs them."""
    of = {kind: [r.inputs for r in resources if r.type == kind] for kind in TYPES}
    cluster = [_create_role(i) for i in of[ROLE]] + [_create_database(i) for i in of[DATABASE_T]]
    inside: list[sql.Composed] = []
    for i in of[GRANT]:
        if i["objectType"] == "database":
            cluster += _database_grant(i)
        else:
            inside.append(_grant(i))
    inside += [_default_privileges(i) for i in of[DEFAULT_PRIVILEGES]]
    return cluster, inside


ROLE = "postgresql:index/role:Role"
DATABASE_T = "postgresql:index/database:Database"
GRANT = "postgresql:index/grant:Grant"
DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
TYPES = (ROLE, DATABASE_T, GRANT, DEFAULT_PRIVILEGES)


def _role(i: Any) -> sql.Composable:
    return sql.SQL("PUBLIC") if i.get("role") == "public" else sql.Identifier(i.get("role", ""))


def _privileges(i: Any) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(p) for p in i.get("privileges", []))


def _create_role(i: Any) -> sql.Composed:
    return sql.SQL(
        "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT {}"
    ).format(
        sql.Identifier(i["name"]),
        sql.Literal(plain(i["password"])),
        sql.Literal(int(i.get("connectionLimit", -1))),
    )


def _create_database(i: Any) -> sql.Composed:
    return sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
        sql.Identifier(i["name"]), sql.Identifier(i["owner"])
    )


def _database_grant(i: Any) -> list[sql.Composed]:
    database = sql.Identifier(i["database"])
    revoke = sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(database, _role(i))
    if not i["privileges"]:
        return [revoke]
    grant = sql.SQL("GRANT {} ON DATABASE {} TO {}")
    return [revoke, grant.format(_privileges(i), database, _role(i))]


def _grant(i: Any) -> sql.Composed:
    if i["objectType"] == "schema":
        return sql.SQL("GRANT {} ON SCHEMA {} TO {}").format(
            _privileges(i), sql.Identifier(i["schema"]), _role(i)
        )
    return sql.SQL("GRANT {} ON ALL {} IN SCHEMA {} TO {}").format(
        _privileges(i), sql.SQL(OBJECTS[i["objectType"]]), sql.Identifier(i["schema"]), _role(i)
    )


def _default_privileges(i: Any) -> sql.Composed:
    return sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON {} TO {}").format(
        sql.Identifier(i["owner"]),
        sql.Identifier(i["schema"]),
        _privileges(i),
        sql.SQL(OBJECTS[i["objectType"]]),
        _role(i),
    )


@pytest.fixture(scope="module")
def logins(postgres: Postgres, repo_root: Path) -> Iterator[dict[str, str]]:
    """Apply the dev stack's declared access model; yield each role's password."""
    run = run_stack(
        repo_root,
        "dev",
        config_overrides={"platform:database": json.dumps({"name": DATABASE, "roles": ROLES})},
    )
    pg_resources = [r for r in run.resources if r.type.startswith("postgresql:")]
    cluster, inside = statements(pg_resources)
    with postgres.admin() as admin:
        for statement in cluster:
            admin.execute(statement)
    with postgres.admin(DATABASE) as admin:
        for statement in inside:
            admin.execute(statement)
    yield {
        r.inputs["name"]: plain(r.inputs["password"])
        for r in pg_resources
        if r.type == "postgresql:index/role:Role"
    }
    with postgres.admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DATABASE)))
        for role in ROLES.values():
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def connect(postgres: Postgres, role: str, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1",
        port=postgres.port,
        user=role,
        password=password,
        dbname=DATABASE,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="module")
def migrated(postgres: Postgres, logins: dict[str, str]) -> None:
    """What `prisma migrate deploy` does as the owner, after the grants exist."""
    with connect(postgres, ROLES["owner"], logins[ROLES["owner"]]) as owner:
        owner.execute("CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL)")


def test_owner_runs_migrations(postgres: Postgres, logins: dict[str, str], migrated: None) -> None:
    with connect(postgres, ROLES["owner"], logins[ROLES["owner"]]) as owner:
        owner.execute("ALTER TABLE orders ADD COLUMN note text")
        owner.execute("ALTER TABLE orders DROP COLUMN note")


def test_app_reads_and_writes_rows_of_tables_created_later(
    postgres: Postgres, logins: dict[str, str], migrated: None
) -> None:
    with connect(postgres, ROLES["app"], logins[ROLES["app"]]) as app:
        app.execute("INSERT INTO orders (total) VALUES (42)")  # nextval on the serial too
        app.execute("UPDATE orders SET total = 43 WHERE total = 42")
        assert app.execute("SELECT count(*) FROM orders").fetchone() == (1,)
        app.execute("DELETE FROM orders")


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE sneaky (id int)",
        "DROP TABLE orders",
        "ALTER TABLE orders ADD COLUMN x int",
        "TRUNCATE orders",
    ],
)
def test_app_cannot_run_ddl(
    postgres: Postgres, logins: dict[str, str], migrated: None, ddl: str
) -> None:
    with (
        connect(postgres, ROLES["app"], logins[ROLES["app"]]) as app,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        app.execute(ddl)


def test_readonly_reads_but_cannot_write(
    postgres: Postgres, logins: dict[str, str], migrated: None
) -> None:
    with connect(postgres, ROLES["readonly"], logins[ROLES["readonly"]]) as readonly:
        readonly.execute("SELECT * FROM orders").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            readonly.execute("INSERT INTO orders (total) VALUES (1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            readonly.execute("CREATE TABLE t (id int)")


def test_other_roles_cannot_connect(postgres: Postgres, logins: dict[str, str]) -> None:
    with postgres.admin() as admin:
        admin.execute("CREATE ROLE gc_stranger LOGIN PASSWORD 'stranger-pw'")
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            connect(postgres, "gc_stranger", "stranger-pw")
    finally:
        with postgres.admin() as admin:
            admin.execute("DROP ROLE gc_stranger")


# postgres_exporter v0.15.0's own queries for the series `db_connections_high` reads
# (collector/pg_stat_database.go, cmd/postgres_exporter/pg_setting.go): the dev stack's exporter
# runs them as the readonly role, which has no monitoring grant.
STAT_DATABASE = (
    "SELECT datid, datname, numbackends, xact_commit, xact_rollback, blks_read, blks_hit, "
    "tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, conflicts, temp_files, "
    "temp_bytes, deadlocks, blk_read_time, blk_write_time, stats_reset FROM pg_stat_database"
)
SETTINGS = (
    "SELECT name, setting, COALESCE(unit, ''), short_desc, vartype FROM pg_settings "
    "WHERE vartype IN ('bool', 'integer', 'real')"
)


def test_readonly_reads_what_postgres_exporter_needs_for_the_connections_alert(
    postgres: Postgres, logins: dict[str, str]
) -> None:
    with (
        connect(postgres, ROLES["app"], logins[ROLES["app"]]),
        connect(postgres, ROLES["readonly"], logins[ROLES["readonly"]]) as readonly,
    ):
        backends = {row[1]: row[2] for row in readonly.execute(STAT_DATABASE) if row[1]}
        assert backends[DATABASE] >= 2  # the app's backend counts too, not only its own
        settings = {row[0]: row for row in readonly.execute(SETTINGS)}
        with postgres.admin() as admin:
            (expected,) = admin.execute("SHOW max_connections").fetchone() or ("",)
        _, setting, unit, _, vartype = settings["max_connections"]
        assert (setting, unit, vartype) == (expected, "", "integer")  # pg_settings_max_connections
