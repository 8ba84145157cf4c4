"""Real servers for `infractl verify`: PostgreSQL, Prometheus and an HTTP service, on 127.0.0.1.

PostgreSQL and Prometheus come from Debian's `postgresql` and `prometheus` packages. When they
are missing the tests fail (not skip) and say what to install: a gate that silently stops being
tested is worse than a red build. Servers are session-scoped so the suite starts each once.
"""

from __future__ import annotations

import glob
import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

APP_ROLE = "shop_app"
# Characters that must be percent-encoded in a URL, so redaction is tested on both forms.
APP_PASSWORD = "Vf7q@Zx#2k/verify-Pw"
RULE_GROUPS = ("platform-availability", "platform-database")
INSTALL_HINT = "install it with `apt-get install -y {}` (CI installs postgresql and prometheus)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin(name: str) -> str:
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(
            f"PostgreSQL server binary '{name}' not found; " + INSTALL_HINT.format("postgresql")
        )
    return on_path


def wait_until(what: str, ready: Any, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not come up within {timeout}s")


# --- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    port: int
    socket_dir: str
    password: str = APP_PASSWORD

    def url(self, database: str, password: str = APP_PASSWORD) -> str:
        return (
            f"postgresql://{APP_ROLE}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
        )

    def admin(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname=database, autocommit=True
        )


def _as_postgres_user(argv: list[str]) -> list[str]:
    """initdb refuses to run as root, so as root the server runs as the `postgres` OS user."""
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root needs the `postgres` OS user; " + INSTALL_HINT.format("postgresql")
        )
    system_path = os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    )
    runuser = shutil.which("runuser", path=system_path)
    if runuser is not None:
        return [runuser, "-u", "postgres", "--", *argv]
    su = shutil.which("su", path=system_path)
    if su is None:
        pytest.fail("running as root needs `runuser` (util-linux) or `su` to start PostgreSQL")
    return [su, "postgres", "-s", "/bin/sh", "-c", " ".join(map(quote_sh, argv))]


def quote_sh(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


MIGRATIONS_TABLE = """
CREATE TABLE _prisma_migrations (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    finished_at TIMESTAMPTZ,
    migration_name VARCHAR(255) NOT NULL,
    logs TEXT,
    rolled_back_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count INTEGER NOT NULL DEFAULT 0
)
"""
MIGRATION_ROW = """
INSERT INTO _prisma_migrations
    (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,
     applied_steps_count)
VALUES (gen_random_uuid()::text, md5(%(name)s) || md5(%(name)s), %(finished)s, %(name)s,
        %(logs)s, NULL, now() - %(age)s::interval, %(steps)s)
"""


def _seed(pg: Postgres, database: str, migrations: list[tuple[str, bool]] | None) -> None:
    """A database the app role may use; `migrations` (name, finished) or None for no table."""
    with pg.admin() as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    with pg.admin(database) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{APP_ROLE}"')
        if migrations is None:
            return
        conn.execute(MIGRATIONS_TABLE)
        for age, (name, finished) in enumerate(reversed(migrations)):
            conn.execute(
                MIGRATION_ROW,
                {
                    "name": name,
                    "finished": datetime.now(UTC) if finished else None,
                    "logs": None if finished else "Error: P3018 relation already exists",
                    "age": f"{age + 1} minutes",
                    "steps": 1 if finished else 0,
                },
            )
        conn.execute(f'GRANT SELECT ON _prisma_migrations TO "{APP_ROLE}"')


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway cluster: TCP on 127.0.0.1 only (password auth), setup over a private socket."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    base = tempfile.mkdtemp(prefix="verify-pg-")
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, log = os.path.join(base, "data"), os.path.join(base, "server.log")
    port = free_port()
    try:
        initialised = subprocess.run(
            _as_postgres_user(
                [
                    initdb,
                    "-D",
                    data,
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if initialised.returncode != 0:
            pytest.fail(f"initdb failed: {initialised.stderr or initialised.stdout}")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = subprocess.run(
            _as_postgres_user(
                [pg_ctl, "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"]
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if started.returncode != 0:
            server_log = Path(log).read_text() if os.path.exists(log) else ""
            pytest.fail(f"pg_ctl start failed: {started.stderr}\n{server_log}")
        pg = Postgres(port=port, socket_dir=base)
        with pg.admin() as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(APP_ROLE), sql.Literal(APP_PASSWORD)
                )
            )
        _seed(pg, "shop", [("20260101000000_init", True), ("20260301000000_orders", True)])
        _seed(pg, "shop_nomigrations", None)
        _seed(pg, "shop_failed", [("20260101000000_init", True), ("20260301000000_orders", False)])
        yield pg
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(
                _as_postgres_user([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


# --- Prometheus ---------------------------------------------------------------------------------

RULES = """
groups:
  - name: platform-availability
    rules:
      - alert: WebDown
        expr: up{job="web"} == 0
        for: 2m
        labels: {severity: page}
  - name: platform-database
    rules:
      - alert: PostgresDown
        expr: up{job="postgres"} == 0
        for: 1m
        labels: {severity: page}
"""


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass(frozen=True)
class Prometheus:
    url: str
    rule_groups: tuple[str, ...] = RULE_GROUPS


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Debian's Prometheus with two rule groups loaded."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the `prometheus` binary is not on PATH; " + INSTALL_HINT.format("prometheus"))
    base = tmp_path_factory.mktemp("prometheus")
    (base / "rules.yml").write_text(RULES)
    (base / "prometheus.yml").write_text(
        "global: {scrape_interval: 1m, evaluation_interval: 1m}\nrule_files: [rules.yml]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (base / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={base / 'prometheus.yml'}",
            f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            "prometheus",
            lambda: process.poll() is None and _http_status(f"{url}/-/ready") == 200,
            20,
        )
        yield Prometheus(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# --- HTTP service -------------------------------------------------------------------------------


class Service:
    """Readiness by the URL's first segment: /healthy, /never, /redirect, an armed delay, or a
    503 whose body is set by the test (`echo`)."""

    def __init__(self) -> None:
        self.ready_at: dict[str, float] = {}
        self.bodies: dict[str, str] = {}
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def base(self, name: str) -> str:
        return f"{self.url}/{name}"

    def arm(self, name: str, delay: float) -> str:
        """Base URL of a service that turns ready `delay` seconds from now."""
        self.ready_at[name] = time.monotonic() + delay
        return self.base(name)

    def echo(self, name: str, body: str) -> str:
        """Base URL of a service that is never ready and says `body` about it."""
        self.bodies[name] = body
        return self.base(name)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mode, _, rest = self.path.lstrip("/").partition("/")
                if rest != "api/ready":
                    self._send(404, "not found")
                elif mode == "healthy":
                    self._send(200, "ok")
                elif mode == "redirect":
                    self._send(302, "moved", location="/healthy/api/ready")
                elif mode in service.bodies:
                    self._send(503, service.bodies[mode])
                elif mode in service.ready_at and time.monotonic() >= service.ready_at[mode]:
                    self._send(200, "ok")
                else:
                    self._send(503, "starting")

            def _send(self, status: int, body: str, location: str | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                if location is not None:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture(scope="session")
def service() -> Iterator[Service]:
    svc = Service()
    svc.thread.start()
    try:
        yield svc
    finally:
        svc.server.shutdown()
        svc.server.server_close()


# --- outputs ------------------------------------------------------------------------------------


@pytest.fixture
def write_outputs(
    tmp_path: Path, postgres: Postgres, prometheus: Prometheus, service: Service
) -> Callable[..., Path]:
    """Write a docker stack's outputs (as `pulumi stack output --json --show-secrets` prints
    them) pointing at the real servers; keyword arguments replace top-level keys."""

    def write(**overrides: Any) -> Path:
        outputs: dict[str, Any] = {
            "stack": "dev",
            "target": "docker",
            "serviceUrls": {"web": service.base("healthy")},
            "readinessPaths": {"web": "/api/ready"},
            "databaseHost": "127.0.0.1",
            "databasePort": postgres.port,
            "databaseName": "shop",
            "databaseUrl": postgres.url("shop"),
            "prometheusUrl": prometheus.url,
            "alertRuleGroups": list(prometheus.rule_groups),
        }
        outputs.update(overrides)
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs, indent=2) + "\n")
        return path

    return write


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound and released just now)."""
    return free_port()
