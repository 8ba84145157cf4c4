"""What infra/product.py declares about the product holds for app/.

The commands the platform runs exist in the app and are its images' commands, and the
platform's own probe commands (components/probes.py, as Docker and ECS run them inside the
container) give the right answers against the real processes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from components.probes import CommandProbeSpec, HttpProbeSpec, in_container_command
from infra.config.models import ServiceSettings
from infra.targets.database_access import DATABASE_URL_ENV
from infra.targets.monitoring import probe_spec
from tests.app import node_app
from tests.app.node_app import APP_DIR
from tests.components.alert_rendering import stack_config
from tests.paths import REPO_ROOT

MIGRATIONS = APP_DIR / "prisma" / "migrations"
# The production Dockerfile, and the e2e tier's (same app, no registry to build the other).
DOCKERFILES = [APP_DIR / "Dockerfile", REPO_ROOT / "tests/e2e/images/shop/Dockerfile"]


def services() -> dict[str, ServiceSettings]:
    return dict(stack_config("dev").services)


def dockerfile_cmd(dockerfile: Path, target: str) -> list[str]:
    """The CMD of `target` in a Dockerfile (exec form)."""
    stages = re.split(r"^FROM ", dockerfile.read_text(), flags=re.MULTILINE)
    stage = next(s for s in stages if re.match(rf"\S+ AS {target}\n", s))
    match = re.search(r"^CMD (\[.*\])$", stage, re.MULTILINE)
    assert match, f"no CMD in target {target}"
    return [part.strip().strip('"') for part in match.group(1).strip("[]").split(",")]


def run_probe(
    spec: CommandProbeSpec | HttpProbeSpec, node: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The platform's in-container check, run in app/ (the image's WORKDIR) with this node and
    the container's environment (this process's, plus `env`)."""
    argv = in_container_command(spec)[1:]
    argv = [node if argv[0] == "node" else argv[0], *argv[1:]]
    return subprocess.run(
        argv,
        cwd=APP_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_the_images_run_the_commands_the_product_declares(dockerfile: Path) -> None:
    declared = services()
    assert declared["web"].command is None, "web runs its image's CMD"
    assert dockerfile_cmd(dockerfile, "web") == ["node", "src/web.js"]
    assert dockerfile_cmd(dockerfile, "worker") == list(declared["worker"].command or [])
    for service in declared.values():
        commands = [service.command, service.liveness.command if service.liveness else None]
        for command in filter(None, commands):
            assert command[0] == "node" and (APP_DIR / command[1]).is_file(), command
    exposed = re.findall(r"^EXPOSE (\d+)$", dockerfile.read_text(), re.MULTILINE)
    assert exposed == [str(declared["web"].port)]


def test_the_migration_command_finds_prisma_and_the_datasource_it_is_given() -> None:
    migration = services()["web"].migration
    assert migration is not None and migration.command == ["npx", "prisma", "migrate", "deploy"]
    package = (APP_DIR / "package.json").read_text()
    assert re.search(r'"dependencies": \{[^}]*"prisma": "6\.\d+\.\d+"', package), package
    schema = (APP_DIR / "prisma" / "schema.prisma").read_text()
    assert f'url      = env("{DATABASE_URL_ENV}")' in schema
    assert (MIGRATIONS / "migration_lock.toml").is_file()


# --------------------------------------------------------------- probes against real processes


@pytest.fixture
def migrated_database(test_database_url: str) -> Iterator[str]:
    """A new database with every committed migration applied and recorded as Prisma does."""
    name = f"shop_contract_{secrets.token_hex(4)}"
    with psycopg.connect(test_database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(test_database_url)._replace(path=f"/{name}"))
    try:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64)"
                " NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs"
                " TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
                " applied_steps_count INTEGER NOT NULL DEFAULT 0)"
            )
            for path in sorted(MIGRATIONS.glob("*/migration.sql")):
                db.execute(path.read_text())
                db.execute(
                    "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name,"
                    " applied_steps_count) VALUES (%s, %s, now(), %s, 1)",
                    [str(uuid.uuid4()), "0" * 64, path.parent.name],
                )
        yield url
    finally:
        with psycopg.connect(test_database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _web(node: str, database_url: str) -> tuple[Any, int]:
    web = node_app.start(node, "src/web.js", {"PORT": "0", "DATABASE_URL": database_url})
    return web, int(node_app.wait_for_log(web, "listening")["port"])


def test_the_readiness_probe_passes_only_on_a_migrated_database(
    node: str, app_node_modules: Path, migrated_database: str
) -> None:
    spec = probe_spec(services()["web"])
    assert isinstance(spec, HttpProbeSpec)
    for database_url, expected in [
        (node_app.UNREACHABLE_DATABASE_URL, 1),
        (migrated_database, 0),
    ]:
        web, port = _web(node, database_url)
        try:
            done = run_probe(dataclasses.replace(spec, port=port), node)
            assert done.returncode == expected, (database_url, done.stdout + done.stderr)
        finally:
            node_app.stop(web)


def test_the_liveness_probe_passes_while_the_worker_runs_and_fails_after(
    node: str, app_node_modules: Path, tmp_path: Path
) -> None:
    spec = probe_spec(services()["worker"])
    assert isinstance(spec, CommandProbeSpec)
    heartbeat = {"WORKER_HEARTBEAT_FILE": str(tmp_path / "heartbeat")}
    worker = node_app.start(
        node, "src/worker.js", {"DATABASE_URL": node_app.UNREACHABLE_DATABASE_URL, **heartbeat}
    )
    try:
        node_app.wait_for_log(worker, "started")
        alive = run_probe(spec, node, heartbeat)
        assert alive.returncode == 0, alive.stdout + alive.stderr
        worker.terminate()
        assert worker.wait(timeout=10) == 0
        gone = run_probe(spec, node, heartbeat)
        assert gone.returncode == 1, gone.stdout + gone.stderr
    finally:
        node_app.stop(worker)
