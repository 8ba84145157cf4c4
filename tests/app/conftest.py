"""Fixtures of the app tests: the app's node_modules from its lockfile, and a PostgreSQL server.

The server is the local-server tier's (tests/integration/conftest.py), reused as is: Debian's
PostgreSQL on a free port, started once per session (per xdist worker).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from tests.app.node_app import APP_DIR
from tests.integration import conftest as local_servers

TEST_ADMIN = "shop_test_admin"

# The local-server tier's PostgreSQL fixture, re-exported for the tests here.
postgres = local_servers.postgres


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH; install Node.js 20 or newer with npm")
    return path


@pytest.fixture(scope="session")
def node() -> str:
    return _tool("node")


def _locked_versions(path: Path) -> dict[str, tuple[str | None, bool]]:
    packages: dict[str, Any] = json.loads(path.read_text()).get("packages", {})
    return {
        name: (spec.get("version"), bool(spec.get("optional")))
        for name, spec in packages.items()
        if name
    }


def node_modules_fresh() -> bool:
    """npm's own record of what is installed (node_modules/.package-lock.json) matches the
    lockfile: every package at the locked version, none missing but optional ones."""
    hidden = APP_DIR / "node_modules" / ".package-lock.json"
    if not hidden.exists():
        return False
    locked = _locked_versions(APP_DIR / "package-lock.json")
    installed = _locked_versions(hidden)
    return all(
        installed.get(name, (None, False))[0] == version
        for name, (version, optional) in locked.items()
        if not optional or name in installed
    ) and all(locked.get(name, (None, False))[0] == v for name, (v, _) in installed.items())


@pytest.fixture(scope="session")
def app_node_modules(node: str) -> Path:
    """`npm ci --ignore-scripts` in app/ when node_modules is missing or differs from the
    lockfile. Scripts stay off: Prisma's postinstall downloads engines from a host these
    machines cannot reach, and no test needs them. A lock file serialises xdist workers."""
    npm = _tool("npm")
    key = hashlib.sha256(str(APP_DIR).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"shop-app-npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not node_modules_fresh():
            done = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=APP_DIR,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                output = done.stdout + done.stderr
                pytest.fail(f"npm ci in app/ failed ({done.returncode}):\n{output}")
            assert node_modules_fresh(), "npm ci left node_modules different from the lockfile"
    return APP_DIR / "node_modules"


@pytest.fixture(scope="session")
def test_database_url(postgres: local_servers.Postgres) -> str:
    """An admin DSN for app/test (TEST_DATABASE_URL): a role that may create and drop its own
    databases, nothing more (CREATEDB, not a superuser)."""
    password = secrets.token_hex(16)
    with postgres.admin() as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [TEST_ADMIN]).fetchone()
        admin.execute(
            sql.SQL("{} ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.SQL("ALTER" if exists else "CREATE"),
                sql.Identifier(TEST_ADMIN),
                sql.Literal(password),
            )
        )
    return f"postgresql://{TEST_ADMIN}:{password}@127.0.0.1:{postgres.port}/postgres"
