"""The dev backup script (`components/docker/backup.sh`, the file the backup container runs) run
for real against the real PostgreSQL fixture.

PATH holds nothing but busybox applets and pg_dump, as in the postgres alpine image, so a GNU-only
option or a bash-ism fails here as it would in the container. A tiny HTTP server stands in for
the Pushgateway and records what is pushed. Each dump is checked with pg_restore, and one is
restored into a fresh database.
"""

from __future__ import annotations

import glob
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from components.docker.backup import SCRIPT

Postgres = Any  # the `postgres` fixture of tests/integration/conftest.py

OWNER = "bk_owner"
OWNER_PASSWORD = "bk-owner-Pw-1"
DATABASE = "shop_backup"
METRIC = "platform_backup_last_success_timestamp_seconds"
APPLETS = (
    "sh", "wget", "timeout", "date", "ls", "grep", "sort", "tail", "rm", "mv", "mkdir", "cat",
    "wc", "sleep",
)  # fmt: skip


def postgres_tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"{name} not found; install it with `apt-get install -y postgresql`")
    return found[-1]


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin directory of busybox applets plus pg_dump: all the script may call."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox is not on PATH; install it with `apt-get install -y busybox`")
    bin_dir = tmp_path_factory.mktemp("bin")
    for applet in APPLETS:
        (bin_dir / applet).symlink_to(busybox)
    (bin_dir / "pg_dump").symlink_to(postgres_tool("pg_dump"))
    return bin_dir


@pytest.fixture(scope="module")
def owned_database(postgres: Postgres) -> str:
    """A database whose owner role owns every object in it, as on the platform."""
    with postgres.admin() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(OWNER), sql.Literal(OWNER_PASSWORD)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(OWNER)
            )
        )
    with postgres.admin(DATABASE) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER)))
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)")
        conn.execute("INSERT INTO orders (total) SELECT g * 1.5 FROM generate_series(1, 250) g")
    return DATABASE


@dataclass
class Pushgateway:
    """Records every POST: (path, content type, body)."""

    status: int = 200
    pushes: list[tuple[str, str, str]] = field(default_factory=list)

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                gateway.pushes.append((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def pushgateway() -> Iterator[tuple[Pushgateway, str]]:
    gateway = Pushgateway()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), gateway.handler())
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield gateway, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def backup_env(
    postgres: Postgres,
    owned_database: str,
    tools: Path,
    tmp_path: Path,
    pushgateway: tuple[Pushgateway, str],
) -> dict[str, str]:
    """The container's environment (components/docker/backup.py), pointed at the fixtures."""
    return {
        "PATH": str(tools),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGDATABASE": owned_database,
        "PGUSER": OWNER,
        "PGPASSWORD": OWNER_PASSWORD,
        "PUSHGATEWAY_URL": pushgateway[1],
        "BACKUP_DIR": str(tmp_path / "backups"),
        "BACKUP_KEEP": "3",
        "BACKUP_JOB": "db-backup",
    }


def run(env: dict[str, str], mode: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(env["PATH"]) / "sh"), str(SCRIPT), mode],
        env={**env, **overrides},
        capture_output=True,
        text=True,
        timeout=30,
    )


def dumps(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["BACKUP_DIR"]).glob(f"{DATABASE}-*.dump"))


def test_one_run_writes_a_restorable_dump_and_pushes_a_current_timestamp(
    postgres: Postgres, backup_env: dict[str, str], pushgateway: tuple[Pushgateway, str]
) -> None:
    before = time.time()
    done = run(backup_env, "once")
    after = time.time()
    assert done.returncode == 0, done.stderr
    (dump,) = dumps(backup_env)
    assert not list(Path(backup_env["BACKUP_DIR"]).glob("*.partial"))
    assert dump.stat().st_mode & 0o077 == 0  # the dump holds the data: owner-only

    listing = subprocess.run(
        [postgres_tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert f"TABLE public orders {OWNER}" in listing.stdout
    assert "TABLE DATA public orders" in listing.stdout

    with postgres.admin() as admin:
        admin.execute("CREATE DATABASE restored_backup")
    restored = subprocess.run(
        [
            postgres_tool("pg_restore"),
            f"--host={postgres.socket_dir}",
            f"--port={postgres.port}",
            "--username=postgres",
            "--dbname=restored_backup",
            "--exit-on-error",
            str(dump),
        ],
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    with postgres.admin("restored_backup") as conn:
        row = conn.execute("SELECT count(*), sum(total) FROM orders").fetchone()
    assert row is not None and (row[0], float(row[1])) == (250, 1.5 * 250 * 251 / 2)

    gateway, _ = pushgateway
    (push,) = gateway.pushes
    path, content_type, body = push
    assert path == f"/metrics/job/db-backup/database/{DATABASE}"
    assert content_type.startswith("text/plain")
    lines = body.splitlines()
    assert f"# TYPE {METRIC} gauge" in lines
    (sample,) = [line for line in lines if line.startswith(f"{METRIC} ")]
    pushed = int(sample.split()[1])
    assert int(before) <= pushed <= after
    assert (Path(backup_env["BACKUP_DIR"]) / ".last-success").read_text().strip() == str(pushed)
    assert run(backup_env, "check").returncode == 0


def test_a_failed_dump_pushes_nothing_and_exits_non_zero(
    backup_env: dict[str, str], pushgateway: tuple[Pushgateway, str]
) -> None:
    done = run(backup_env, "once", PGPASSWORD="not-the-owner-password")
    assert done.returncode == 1
    assert "password authentication failed" in done.stderr
    assert "pg_dump of shop_backup as bk_owner failed; nothing pushed" in done.stderr
    assert not list(Path(backup_env["BACKUP_DIR"]).iterdir())  # no dump, no partial, no marker
    assert pushgateway[0].pushes == []
    check = run(backup_env, "check")
    assert check.returncode == 1 and "no successful dump yet" in check.stderr


def test_retention_keeps_only_the_newest_dumps(backup_env: dict[str, str]) -> None:
    backups = Path(backup_env["BACKUP_DIR"])
    backups.mkdir()
    old = [backups / f"{DATABASE}-2025010{day}T020000Z.dump" for day in range(1, 6)]
    for path in old:
        path.write_bytes(b"old dump")
    unrelated = [backups / "notes.txt", backups / "other_db-20250101T020000Z.dump"]
    for path in unrelated:
        path.write_text("not ours")
    done = run(backup_env, "once")
    assert done.returncode == 0, done.stderr
    kept = dumps(backup_env)
    assert len(kept) == int(backup_env["BACKUP_KEEP"]) == 3
    assert kept[:2] == old[-2:]  # the two newest old ones, then today's
    assert kept[2].read_bytes().startswith(b"PGDMP")  # a custom-format archive
    assert all(path.exists() for path in unrelated)


def test_a_failed_push_keeps_the_dump_and_says_so(
    backup_env: dict[str, str], pushgateway: tuple[Pushgateway, str]
) -> None:
    pushgateway[0].status = 500
    done = run(backup_env, "once")
    assert done.returncode == 2
    assert "dump kept, but the push" in done.stderr
    assert len(dumps(backup_env)) == 1
    assert len(pushgateway[0].pushes) == 1
    assert run(backup_env, "check").returncode == 0  # the dump itself is healthy


def test_the_healthcheck_fails_once_the_last_success_is_too_old(
    backup_env: dict[str, str],
) -> None:
    assert run(backup_env, "once").returncode == 0
    assert run(backup_env, "check", BACKUP_MAX_AGE_SECONDS="3600").returncode == 0
    marker = Path(backup_env["BACKUP_DIR"]) / ".last-success"
    marker.write_text(f"{int(time.time()) - 7200}\n")
    stale = run(backup_env, "check", BACKUP_MAX_AGE_SECONDS="3600")
    assert stale.returncode == 1 and "old" in stale.stderr


def test_the_loop_dumps_at_once_re_pushes_between_dumps_and_stops_on_sigterm(
    backup_env: dict[str, str], pushgateway: tuple[Pushgateway, str]
) -> None:
    """A restarted Pushgateway has the last success again within a tick."""
    env = {**backup_env, "BACKUP_INTERVAL_SECONDS": "3600", "BACKUP_TICK_SECONDS": "0.2"}
    process = subprocess.Popen(
        [str(Path(env["PATH"]) / "sh"), str(SCRIPT), "loop"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while len(pushgateway[0].pushes) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(15)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
    bodies = [body for _, _, body in pushgateway[0].pushes]
    assert len(bodies) >= 3 and len(set(bodies)) == 1  # one dump, then the same time re-pushed
    assert len(dumps(env)) == 1
    assert os.path.exists(Path(env["BACKUP_DIR"]) / ".last-success")
