"""Reading stack outputs: the contract `pulumi up` exports, the database URL as libpq keywords,
the checks the outputs call for, and errors that never quote the secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.offline import run_stack
from infractl.verify import checks as verify
from infractl.verify.checks import plan_checks
from infractl.verify.outputs import (
    OutputsError,
    connection_params,
    parse_outputs,
    read_outputs_file,
)
from tests.infractl.verify.outputs_inputs import (
    ENCODED,
    PASSWORD,
    URL,
    aws_outputs,
    docker_outputs,
)
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_connection_params_hand_libpq_keywords_not_the_url() -> None:
    params = connection_params(URL + "?schema=app&connection_limit=5&sslmode=require")
    assert params == {
        "host": "127.0.0.1",
        "user": "shop_app",
        "password": PASSWORD,
        "port": 15432,
        "dbname": "shop",
        "options": "-c search_path=app",
        "sslmode": "require",
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/db", "is not a postgresql:// URL"),
        ("postgresql://u:p@h:notaport/db", "is not a valid URL"),
        ("postgresql://h/db", "must name a user and a host"),
        ("postgresql://u:p@h/db?schema=a;drop", "invalid schema parameter"),
    ],
)
def test_bad_database_urls_are_refused_without_quoting_them(url: str, message: str) -> None:
    with pytest.raises(OutputsError) as raised:
        parse_outputs(docker_outputs(databaseUrl=url))
    assert message in str(raised.value)
    assert url not in str(raised.value) and ":p@" not in str(raised.value)


# --- outputs ------------------------------------------------------------------------------------


def test_docker_outputs_plan_http_database_and_prometheus_checks() -> None:
    outputs = parse_outputs(docker_outputs(latestMigration="20260301_orders"))
    assert outputs.latest_migration == "20260301_orders"
    assert [c.name for c in plan_checks(outputs)] == [
        "http web",
        "database shop",
        "prometheus ready",
        "prometheus rules",
    ]
    assert PASSWORD not in repr(outputs)


def test_aws_outputs_need_no_prometheus() -> None:
    outputs = parse_outputs(aws_outputs())
    assert outputs.prometheus_url is None
    assert [c.name for c in plan_checks(outputs)] == ["http web", "database shop"]


@pytest.mark.parametrize(
    ("stack", "hostname"), [("staging", "staging.shop.acme.example"), ("prod", "shop.acme.example")]
)
def test_on_aws_the_gate_requests_the_host_name_the_certificate_covers(
    stack: str, hostname: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs the aws program resolves send verify to the configured host name: the HTTPS
    listener's certificate covers it, and not the ALB's `*.elb.amazonaws.com` name."""
    run = run_stack(ROOT, stack)
    assert run.config.aws is not None
    assert run.config.aws.public_hostnames == {"web": hostname}
    outputs = parse_outputs({key: value for key, (value, _) in run.outputs.items()})
    requested: list[str] = []

    def answer(url: str, timeout: float) -> tuple[int, bytes, str | None]:
        requested.append(url)
        return 200, b"ready", None

    monkeypatch.setattr(verify, "http_get", answer)
    [web] = [check for check in plan_checks(outputs) if check.name == "http web"]
    assert web.run(1.0).ok
    assert requested == [f"https://{hostname}/api/ready"]
    alb = run.outputs["loadBalancerDnsNames"][0]["web"]
    assert alb.endswith(".elb.amazonaws.com")
    assert urlsplit(requested[0]).hostname == hostname != alb


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"serviceUrls": None}, "stack output 'serviceUrls' must be a dict"),
        ({"readinessPaths": {}}, "'readinessPaths' has no path for service 'web'"),
        ({"readinessPaths": {"web": "api/ready"}}, "'readinessPaths.web' must start with '/'"),
        ({"databasePort": "5432"}, "'databasePort' must be a int"),
        ({"target": "k8s"}, "must be 'docker' or 'aws'"),
        ({"alertRuleGroups": "platform"}, "'alertRuleGroups' must be a list"),
        ({"serviceUrls": {"web": "ftp://x"}}, "'serviceUrls.web' is not an http(s) URL"),
    ],
)
def test_outputs_that_break_the_contract_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(OutputsError, match=None) as raised:
        parse_outputs(docker_outputs(**change))
    assert message in str(raised.value)


@pytest.mark.parametrize("key", ["databaseUrl", "serviceUrls", "prometheusUrl", "stack"])
def test_missing_keys_are_named(key: str) -> None:
    raw = docker_outputs()
    del raw[key]
    with pytest.raises(OutputsError, match=f"stack outputs have no '{key}'"):
        parse_outputs(raw)


def test_blinded_secret_asks_for_show_secrets() -> None:
    with pytest.raises(OutputsError, match="--show-secrets"):
        parse_outputs(docker_outputs(databaseUrl="[secret]"))


def test_malformed_outputs_file_is_reported_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(docker_outputs())[:-5])
    with pytest.raises(OutputsError) as raised:
        read_outputs_file(path)
    assert "is not valid JSON (line 1, column" in str(raised.value)
    assert ENCODED not in str(raised.value)
