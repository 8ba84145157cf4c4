"""The dev program, run for real: `pulumi up` from empty on a real Docker engine, then checked
from the outside (containers, the database, Prometheus, the backup), verified by the readiness
gate, previewed again for perpetual diffs, broken by a failing migration, and destroyed.

The tests run in file order on one deployment; each says what it proves.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from typing import Any

import psycopg
import pytest

from tests.e2e.e2e_harness import (
    IMAGES,
    PREFIX,
    REPO_ROOT,
    STACK,
    E2EStack,
    docker,
    inspect,
    ready_status,
)
from tests.e2e.e2e_harness import stack_containers as containers

# Containers that run for as long as the stack exists, each with a healthcheck.
LONG_RUNNING = {
    f"{PREFIX}-db",
    f"{PREFIX}-web-1",
    f"{PREFIX}-worker-1",
    f"{PREFIX}-prometheus",
    f"{PREFIX}-pushgateway",
    f"{PREFIX}-postgres-exporter",
    f"{PREFIX}-node-exporter",
    f"{PREFIX}-db-backup",
}


def _time(value: str) -> dt.datetime:
    # Docker prints nanoseconds; Python parses microseconds.
    head, _, tail = value.rstrip("Z").partition(".")
    return dt.datetime.fromisoformat(f"{head}.{(tail + '000000')[:6]}+00:00")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def deployed(e2e_stack: E2EStack) -> dict[str, Any]:
    run = e2e_stack.pulumi("up", "--yes", "--skip-preview")
    outputs = e2e_stack.outputs()
    return {"up": run, "outputs": outputs}


def test_up_from_empty_creates_every_long_running_container_healthy(
    deployed: dict[str, Any],
) -> None:
    names = set(containers())
    assert names >= LONG_RUNNING, f"missing: {sorted(LONG_RUNNING - names)}"
    for name in sorted(LONG_RUNNING):
        state = inspect(name)["State"]
        assert state["Running"], f"{name} is not running: {state}"
        assert state["Health"]["Status"] == "healthy", f"{name}: {state['Health']}"


def test_the_migration_ran_to_completion_before_any_service_container_started(
    deployed: dict[str, Any],
) -> None:
    migration = inspect(f"{PREFIX}-web-migrate")["State"]
    assert migration["ExitCode"] == 0 and not migration["Running"]
    finished = _time(migration["FinishedAt"])
    web_started = _time(inspect(f"{PREFIX}-web-1")["State"]["StartedAt"])
    assert finished <= web_started, f"web started {web_started}, migration finished {finished}"


def _connect(outputs: dict[str, Any], role: str, password: str) -> psycopg.Connection[Any]:
    """Keyword arguments, not a URL: a failed connection's message then carries no password."""
    return psycopg.connect(
        host=outputs["databaseHost"],
        port=outputs["databasePort"],
        dbname=outputs["databaseName"],
        user=role,
        password=password,
        autocommit=True,
        connect_timeout=10,
    )


def test_roles_exist_and_behave_least_privilege(
    deployed: dict[str, Any], e2e_stack: E2EStack
) -> None:
    """Created by the real postgresql plugin: app writes rows but runs no DDL; readonly reads."""
    outputs = deployed["outputs"]
    passwords = e2e_stack.secret_values()

    def password_of(kind: str) -> str:
        return next(v for k, v in passwords.items() if k.endswith(f"-{kind}-password"))

    with _connect(outputs, "shop_app", password_of("app")) as app:
        roles = app.execute(
            "select rolname, rolsuper, rolcreatedb, rolcreaterole from pg_roles "
            "where rolname like 'shop\\_%' order by 1"
        ).fetchall()
        assert roles == [
            ("shop_app", False, False, False),
            ("shop_owner", False, False, False),
            ("shop_readonly", False, False, False),
        ]
        app.execute("insert into orders (total_cents) values (1250)")
        assert app.execute("select count(*) from orders").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("create table e2e_forbidden (id int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("drop table orders")
    with _connect(outputs, "shop_readonly", password_of("readonly")) as readonly:
        assert readonly.execute("select count(*) from orders").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            readonly.execute("delete from orders")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            readonly.execute("insert into orders (total_cents) values (1)")


def test_prometheus_loaded_every_rule_group_and_scrapes_every_target(
    deployed: dict[str, Any],
) -> None:
    base = deployed["outputs"]["prometheusUrl"].rstrip("/")
    loaded = _get_json(f"{base}/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in loaded} == set(deployed["outputs"]["alertRuleGroups"])
    assert all(g["rules"] for g in loaded), "a rule group loaded empty"
    # The first scrape of each target happens within one scrape interval of start.
    deadline = time.monotonic() + 90
    while True:
        targets = _get_json(f"{base}/api/v1/targets")["data"]["activeTargets"]
        down = [
            (t["labels"].get("job"), t["health"], t.get("lastError"))
            for t in targets
            if t["health"] != "up"
        ]
        if targets and not down:
            break
        assert time.monotonic() < deadline, f"targets not up after 90 s: {down or 'none'}"
        time.sleep(3)


def test_the_backup_job_wrote_a_dump_that_restores(deployed: dict[str, Any], tmp_path: Any) -> None:
    """`up` waited for the backup container's healthcheck, which passes only after a dump."""
    dumps = docker("exec", f"{PREFIX}-db-backup", "ls", "/backups").split()
    dumps = [d for d in dumps if d.endswith(".dump")]
    assert dumps, "no dump in the backups volume"
    local = tmp_path / dumps[-1]
    docker("cp", f"{PREFIX}-db-backup:/backups/{dumps[-1]}", str(local))
    docker("cp", str(local), f"{PREFIX}-db:/tmp/restore.dump")
    docker("exec", f"{PREFIX}-db", "chmod", "0644", "/tmp/restore.dump")
    psql = ["exec", "-u", "postgres", f"{PREFIX}-db"]
    docker(*psql, "createdb", "e2e_restore_check")
    docker(
        *psql,
        "pg_restore",
        "--no-owner",
        "--no-acl",
        "-d",
        "e2e_restore_check",
        "/tmp/restore.dump",
    )
    applied = docker(
        *psql,
        "psql",
        "-At",
        "-d",
        "e2e_restore_check",
        "-c",
        "select count(*) from _prisma_migrations where finished_at is not null",
    )
    assert int(applied) == 2
    docker(*psql, "dropdb", "e2e_restore_check")


def test_the_readiness_gate_passes_on_the_real_outputs(
    deployed: dict[str, Any], e2e_stack: E2EStack
) -> None:
    run = e2e_stack.run(
        [
            str(REPO_ROOT / "venv" / "bin" / "infractl"),
            "verify",
            "--stack",
            STACK,
            "--deadline",
            "120",
        ],
        timeout=300,
    )
    assert "checks passed" in run.stdout, run.stdout


def test_a_second_preview_has_no_changes(deployed: dict[str, Any], e2e_stack: E2EStack) -> None:
    """No perpetual diff: provider defaults, list order and secrets all round-trip."""
    e2e_stack.pulumi("preview", "--expect-no-changes", "--diff")


def test_a_failing_migration_stops_the_rollout_and_the_old_service_keeps_serving(
    deployed: dict[str, Any], e2e_stack: E2EStack
) -> None:
    web = f"{PREFIX}-web-1"
    before = inspect(web)
    e2e_stack.set_config("platform:services.web.image", IMAGES["web_bad"])
    run = e2e_stack.pulumi("up", "--yes", "--skip-preview", expect=None)
    assert run.exit_code != 0
    assert "20260601000000_broken" in run.stdout + run.stderr
    after = inspect(web)
    assert after["Id"] == before["Id"], "the service container was replaced"
    assert after["Image"] == before["Image"]
    assert after["State"]["Running"]
    assert ready_status(e2e_stack.ports["web"]) == 200
    assert inspect(f"{PREFIX}-web-migrate")["State"]["ExitCode"] == 1

    # The runbook's way back: mark the failed migration rolled back, redeploy the good release.
    owner = next(v for k, v in e2e_stack.secret_values().items() if k.endswith("-owner-password"))
    docker(
        "run",
        "--rm",
        "--network",
        PREFIX,
        "-e",
        "DATABASE_URL",
        IMAGES["web_bad"],
        "npx",
        "prisma",
        "migrate",
        "resolve",
        "--rolled-back",
        "20260601000000_broken",
        env={"DATABASE_URL": f"postgresql://shop_owner:{owner}@db:5432/shop"},
    )
    e2e_stack.set_config("platform:services.web.image", IMAGES["web"])
    e2e_stack.pulumi("up", "--yes", "--skip-preview")
    assert inspect(f"{PREFIX}-web-migrate")["State"]["ExitCode"] == 0
    assert ready_status(e2e_stack.ports["web"]) == 200


def test_destroy_leaves_no_container_or_network_and_keeps_only_the_backups_volume(
    deployed: dict[str, Any], e2e_stack: E2EStack
) -> None:
    e2e_stack.secret_values()  # remembered for test_e2e_secrets.py
    e2e_stack.capture_logs()
    e2e_stack.pulumi("destroy", "--yes", "--skip-preview")
    assert containers() == []
    assert docker("network", "ls", "-q", "--filter", f"name=^{PREFIX}$").split() == []
    volumes = docker("volume", "ls", "-q", "--filter", f"name=^{PREFIX}-").split()
    # The database's data goes with the stack; its dumps stay, so a recreated dev can restore.
    assert volumes == [f"{PREFIX}-db-backups"]
