"""`infractl verify` against real PostgreSQL, Prometheus and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from infractl.cli import main

WRONG_PASSWORD = "Wr0ng#Pass@verify-77"
WriteOutputs = Callable[..., Path]


def run_verify(
    capsys: pytest.CaptureFixture[str], outputs: Path, deadline: float, *extra: str
) -> tuple[int, str, str]:
    code = main(
        ["verify", "--stack", "dev", "--outputs", str(outputs), "--deadline", str(deadline), *extra]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_secret(postgres: Any, *texts: str) -> None:
    """Neither the real nor the wrong password shows, raw or percent-encoded."""
    for password in (postgres.password, WRONG_PASSWORD):
        for secret in (password, quote(password, safe="")):
            for text in texts:
                assert secret not in text


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def test_healthy_stack_passes_every_check_on_the_first_attempt(
    write_outputs: WriteOutputs, postgres: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_verify(capsys, write_outputs(), 10, "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "http web",
        "database shop",
        "prometheus ready",
        "prometheus rules",
    ]
    assert all(c["ok"] and c["attempts"] == 1 for c in report["checks"])
    assert check(report, "database shop")["detail"] == "2 migrations applied"
    assert_no_secret(postgres, out, err)


def test_text_report_names_each_check_with_attempts_and_time(
    write_outputs: WriteOutputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_verify(capsys, write_outputs(), 10)
    assert code == 0
    assert out.splitlines()[0] == "verify stack dev (docker): 4 checks"
    web = next(line for line in out.splitlines() if "http web" in line)
    assert web.split()[0] == "PASS" and "1 attempt" in web and "/healthy/api/ready" in web
    assert out.splitlines()[-1].startswith("all 4 checks passed in ")


def test_latest_migration_must_be_applied(
    write_outputs: WriteOutputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_verify(
        capsys, write_outputs(latestMigration="20260301000000_orders"), 5, "--json"
    )
    assert code == 0, out
    code, out, _ = run_verify(
        capsys, write_outputs(latestMigration="20260401000000_refunds"), 0, "--json"
    )
    assert code == 1
    detail = check(json.loads(out), "database shop")["detail"]
    assert detail == "migration 20260401000000_refunds is not applied"


def test_service_that_turns_ready_after_a_delay_passes_within_the_deadline(
    write_outputs: WriteOutputs, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    outputs = write_outputs(serviceUrls={"web": service.arm("delayed", 0.6)})
    code, out, err = run_verify(capsys, outputs, 10, "--json")
    elapsed = time.monotonic() - started
    assert code == 0, out + err
    web = check(json.loads(out), "http web")
    assert web["attempts"] > 1
    assert 0.6 <= web["seconds"] < 4
    assert elapsed < 5


def test_service_that_never_turns_ready_fails_at_the_deadline(
    write_outputs: WriteOutputs, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code, out, _ = run_verify(capsys, write_outputs(serviceUrls={"web": service.base("never")}), 1)
    elapsed = time.monotonic() - started
    assert code == 1
    assert 1 <= elapsed < 3
    web = next(line for line in out.splitlines() if "http web" in line)
    assert web.split()[0] == "FAIL" and "503" in web and "starting" in web
    assert out.splitlines()[-1].startswith("1 of 4 checks failed after ")


def test_readiness_redirect_is_reported_not_followed(
    write_outputs: WriteOutputs, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = write_outputs(serviceUrls={"web": service.base("redirect")})
    code, out, _ = run_verify(capsys, outputs, 0, "--json")
    assert code == 1
    detail = check(json.loads(out), "http web")["detail"]
    assert "302" in detail and "redirect to /healthy/api/ready not followed" in detail


def test_database_without_migrations_table_fails(
    write_outputs: WriteOutputs, postgres: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = write_outputs(
        databaseName="shop_nomigrations", databaseUrl=postgres.url("shop_nomigrations")
    )
    code, out, err = run_verify(capsys, outputs, 0, "--json")
    assert code == 1
    report = json.loads(out)
    database = check(report, "database shop_nomigrations")
    assert database["detail"] == "connected, but there is no _prisma_migrations table"
    assert all(c["ok"] for c in report["checks"] if c is not database)
    assert_no_secret(postgres, out, err)


def test_database_with_a_failed_migration_fails(
    write_outputs: WriteOutputs, postgres: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = write_outputs(databaseName="shop_failed", databaseUrl=postgres.url("shop_failed"))
    code, out, _ = run_verify(capsys, outputs, 0, "--json")
    assert code == 1
    detail = check(json.loads(out), "database shop_failed")["detail"]
    assert detail == "failed or unfinished migration: 20260301000000_orders"


def test_wrong_password_fails_and_no_password_is_printed(
    write_outputs: WriteOutputs, postgres: Any, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The service also quotes the outputs' database password in its 503 body: it is redacted.
    leaky = service.echo("leaky", f"db login {WRONG_PASSWORD} rejected")
    outputs = write_outputs(
        serviceUrls={"web": leaky}, databaseUrl=postgres.url("shop", password=WRONG_PASSWORD)
    )
    for extra in ((), ("--json",)):
        code, out, err = run_verify(capsys, outputs, 0, *extra)
        assert code == 1
        assert "password authentication failed for user" in out
        assert "db login *** rejected" in out
        assert_no_secret(postgres, out, err)


def test_prisma_url_parameters_are_understood(
    write_outputs: WriteOutputs, postgres: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.url("shop") + "?schema=public&connection_limit=5&pgbouncer=true"
    code, out, _ = run_verify(capsys, write_outputs(databaseUrl=url), 5, "--json")
    assert code == 0, out
    # Prisma keeps its migrations table in the URL's schema: another schema has none.
    url = postgres.url("shop") + "?schema=billing"
    code, out, _ = run_verify(capsys, write_outputs(databaseUrl=url), 0, "--json")
    assert code == 1
    detail = check(json.loads(out), "database shop")["detail"]
    assert detail == "connected, but there is no _prisma_migrations table"


def test_prometheus_missing_a_rule_group_fails(
    write_outputs: WriteOutputs, prometheus: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = write_outputs(alertRuleGroups=[*prometheus.rule_groups, "platform-payments"])
    code, out, _ = run_verify(capsys, outputs, 0, "--json")
    assert code == 1
    report = json.loads(out)
    rules = check(report, "prometheus rules")
    assert not rules["ok"]
    assert rules["detail"].startswith("rule groups not loaded: platform-payments (loaded: ")
    assert check(report, "prometheus ready")["ok"]


def test_unreachable_prometheus_fails(
    write_outputs: WriteOutputs, unused_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = write_outputs(prometheusUrl=f"http://127.0.0.1:{unused_port}")
    code, out, _ = run_verify(capsys, outputs, 0, "--json")
    assert code == 1
    assert "unreachable" in check(json.loads(out), "prometheus ready")["detail"]
