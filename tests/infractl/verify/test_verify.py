"""Unit tests for `infractl verify`: retry schedule on a fake clock, output parsing, redaction,
and how the pulumi CLI is called (a fake `pulumi` on PATH that logs its argv)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.offline import run_stack
from infractl.cli import main
from infractl.context import CommandError
from infractl.verify import checks as verify
from infractl.verify.checks import (
    Attempt,
    Backoff,
    Check,
    CheckResult,
    Redactor,
    migrations_verdict,
    plan_checks,
    retry_check,
    run_checks,
)
from infractl.verify.command import load_outputs, render_json, render_text
from infractl.verify.outputs import (
    OutputsError,
    connection_params,
    connection_secrets,
    parse_outputs,
    read_outputs_file,
)
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
PASSWORD = "s3cr3t/Pa@ss-unit"
ENCODED = "s3cr3t%2FPa%40ss-unit"
URL = f"postgresql://shop_app:{ENCODED}@127.0.0.1:15432/shop"


def docker_outputs(**overrides: Any) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "stack": "dev",
        "target": "docker",
        "serviceUrls": {"web": "http://127.0.0.1:3000"},
        "readinessPaths": {"web": "/api/ready"},
        "databaseHost": "127.0.0.1",
        "databasePort": 15432,
        "databaseName": "shop",
        "databaseUrl": URL,
        "prometheusUrl": "http://127.0.0.1:19090",
        "alertRuleGroups": ["platform-availability"],
    }
    outputs.update(overrides)
    return outputs


def aws_outputs() -> dict[str, Any]:
    outputs = docker_outputs(
        stack="prod",
        target="aws",
        serviceUrls={"web": "https://shop.acme.example"},
        databaseHost="shop-prod.abc.eu-west-1.rds.amazonaws.com",
        databasePort=5432,
        databaseUrl=f"postgresql://shop_app:{ENCODED}@shop-prod.abc.eu-west-1.rds.amazonaws.com:5432/shop?sslmode=require",
    )
    del outputs["prometheusUrl"], outputs["alertRuleGroups"]
    return outputs


class FakeClock:
    """Time that moves only when slept in or when a check says it took a while."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(
    clock: FakeClock, outcomes: list[bool], cost: float = 0.0
) -> tuple[Check, list[float]]:
    """A check answering from `outcomes` (then failing), each look taking `cost` fake seconds."""
    timeouts: list[float] = []
    answers = iter(outcomes)

    def run(timeout: float) -> Attempt:
        timeouts.append(timeout)
        clock.now += cost
        ok = next(answers, False)
        return Attempt(ok, "ready" if ok else "503 starting")

    return Check("http web", run), timeouts


# --- retry schedule ------------------------------------------------------------------------------


def test_backoff_doubles_from_a_quarter_second_and_is_capped() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert Backoff(initial=1, factor=3, cap=10).delay(4) == 10


def test_retry_passes_once_the_check_does_with_backoff_between_attempts() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [False, False, False, True])
    result = retry_check(check, deadline=clock() + 60, clock=clock, sleep=clock.sleep)
    assert result == CheckResult("http web", True, "ready", 4, 1.75)
    assert clock.sleeps == [0.25, 0.5, 1.0]


def test_retry_gives_up_at_the_deadline_with_a_last_attempt_on_it() -> None:
    clock = FakeClock()
    start = clock()
    check, _ = scripted(clock, [])
    result = retry_check(check, deadline=start + 3, clock=clock, sleep=clock.sleep)
    assert not result.ok and result.detail == "503 starting"
    # 0.25 + 0.5 + 1 = 1.75; the next delay (2) is cut to the 1.25 left, then one last look.
    assert clock.sleeps == [0.25, 0.5, 1.0, 1.25]
    assert result.attempts == 5
    assert clock() == start + 3 and result.seconds == 3


def test_a_deadline_already_reached_means_one_look() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [])
    result = retry_check(check, deadline=clock(), clock=clock, sleep=clock.sleep)
    assert (result.ok, result.attempts, clock.sleeps) == (False, 1, [])


def test_retry_caps_the_delay_on_a_long_deadline() -> None:
    clock = FakeClock()
    check, _ = scripted(clock, [False] * 8 + [True])
    retry_check(check, deadline=clock() + 600, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_each_attempt_gets_the_request_timeout_bounded_by_what_is_left() -> None:
    clock = FakeClock()
    check, timeouts = scripted(clock, [], cost=2.0)
    retry_check(check, deadline=clock() + 9, clock=clock, sleep=clock.sleep, attempt_timeout=5.0)
    # Attempts start at +0 (9 s left), +2.25 (6.75), +4.75 (4.25), +7.75 (1.25); it ends at +9.75.
    assert timeouts == [5.0, 5.0, 4.25, 1.25]

    # The last look, on the deadline itself, still gets the floor of one second.
    clock = FakeClock()
    check, timeouts = scripted(clock, [])
    retry_check(check, deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.25, 0.25]
    assert timeouts == [1.0, 1.0, 1.0]


def test_a_check_that_raises_fails_that_attempt_with_a_redacted_message() -> None:
    clock = FakeClock()

    def boom(timeout: float) -> Attempt:
        raise RuntimeError(f"could not use {URL}")

    result = retry_check(
        Check("database shop", boom),
        deadline=clock() + 1,
        clock=clock,
        sleep=clock.sleep,
        redact=Redactor(connection_secrets(URL)),
    )
    assert not result.ok
    assert result.detail == "RuntimeError: could not use ***"


def test_run_checks_keeps_the_order_of_the_checks() -> None:
    checks = [
        Check(name, lambda timeout, ok=ok: Attempt(ok, "seen"))
        for name, ok in [("b", True), ("a", False), ("c", True)]
    ]
    clock = FakeClock()
    results = run_checks(checks, deadline=clock(), clock=clock, sleep=clock.sleep)
    assert [(r.name, r.ok) for r in results] == [("b", True), ("a", False), ("c", True)]
    assert run_checks([], deadline=0, clock=clock, sleep=clock.sleep) == []


# --- redaction ----------------------------------------------------------------------------------


def test_redactor_replaces_the_url_and_the_password_in_both_encodings() -> None:
    redact = Redactor(connection_secrets(URL))
    text = f"dsn {URL} raw {PASSWORD} encoded {ENCODED}"
    assert redact(text) == "dsn *** raw *** encoded ***"


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


# --- migrations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applied", "failed", "latest", "latest_applied", "ok", "detail"),
    [
        (3, [], None, 0, True, "3 migrations applied"),
        (0, [], None, 0, False, "no finished migration in _prisma_migrations"),
        (2, ["20260301_orders"], None, 0, False, "failed or unfinished migration: 20260301_orders"),
        (3, [], "20260301_orders", 1, True, "3 migrations applied, including 20260301_orders"),
        (3, [], "20260401_refunds", 0, False, "migration 20260401_refunds is not applied"),
        (
            3,
            ["20260401_refunds"],
            "20260401_refunds",
            0,
            False,
            "failed or unfinished migration: 20260401_refunds",
        ),
    ],
)
def test_migrations_verdict(
    applied: int, failed: list[str], latest: str | None, latest_applied: int, ok: bool, detail: str
) -> None:
    assert migrations_verdict(applied, failed, latest, latest_applied) == Attempt(ok, detail)


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


# --- rendering ----------------------------------------------------------------------------------


def test_text_and_json_reports() -> None:
    outputs = parse_outputs(docker_outputs())
    results = [
        CheckResult("http web", True, "200 from http://127.0.0.1:3000/api/ready", 1, 0.012),
        CheckResult("database shop", False, "migration x is not applied", 6, 3.004),
    ]
    assert render_text(outputs, results, 3.01).splitlines() == [
        "verify stack dev (docker): 2 checks",
        "  PASS  http web         1 attempt    0.01s  200 from http://127.0.0.1:3000/api/ready",
        "  FAIL  database shop   6 attempts    3.00s  migration x is not applied",
        "1 of 2 checks failed after 3.0s",
    ]
    report = json.loads(render_json(outputs, results, 3.01, 3))
    assert report["ok"] is False and report["deadlineSeconds"] == 3
    assert report["checks"][1] == {
        "name": "database shop",
        "ok": False,
        "attempts": 6,
        "seconds": 3.004,
        "detail": "migration x is not applied",
    }


# --- the command: exit 2 paths and the pulumi CLI call ------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unreadable_outputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("{not json " + URL)
    code, out, err = run_cli(capsys, "--stack", "dev", "--outputs", str(path))
    assert code == 2
    assert err.startswith("infractl verify: outputs file ")
    assert PASSWORD not in out + err and ENCODED not in out + err

    code, _, err = run_cli(capsys, "--stack", "dev", "--outputs", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read outputs file" in err


def test_secret_not_shown_exits_2_with_json_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(docker_outputs(databaseUrl="[secret]")))
    code, out, err = run_cli(capsys, "--stack", "dev", "--outputs", str(path), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False and "--show-secrets" in report["error"]
    assert "--show-secrets" in err


def test_outputs_of_another_stack_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(docker_outputs()))
    code, _, err = run_cli(capsys, "--stack", "staging", "--outputs", str(path))
    assert code == 2 and "outputs are for stack 'dev', not 'staging'" in err


def test_missing_stack_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys)
    assert code == 2 and "--stack" in err


FAKE_PULUMI = """\
    #!{python} -S
    import json, os, sys, time
    with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
        log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
    spec = json.loads(os.environ.get("FAKE_PULUMI", "{{}}"))
    time.sleep(spec.get("sleep", 0))
    sys.stdout.write(spec.get("stdout", ""))
    sys.stderr.write(spec.get("stderr", ""))
    sys.exit(spec.get("exit", 0))
"""


@pytest.fixture
def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Put a logging `pulumi` first on PATH; returns a setter for its behaviour and the log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(textwrap.dedent(FAKE_PULUMI.format(python=sys.executable)))
    script.chmod(0o755)
    log = tmp_path / "pulumi.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))

    def behave(**spec: Any) -> Path:
        monkeypatch.setenv("FAKE_PULUMI", json.dumps(spec))
        return log

    yield behave


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "infra").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    return root


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_outputs_come_from_pulumi_stack_output_with_secrets_in_the_project(
    fake_pulumi: Callable[..., Path], project: Path
) -> None:
    log = fake_pulumi(stdout=json.dumps(docker_outputs(), indent=2) + "\n")
    outputs = load_outputs("dev", None, project / "infra", cli_timeout=10)
    assert outputs.database_url == URL
    assert calls(log) == [
        {
            "argv": [
                "stack",
                "output",
                "--json",
                "--show-secrets",
                "--non-interactive",
                "--stack",
                "dev",
            ],
            "cwd": str(project),
        }
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"exit": 6, "stderr": "error: no stack named 'dev' found\n"},
            "no stack named 'dev' found",
        ),
        ({"stdout": '{"stack": '}, "`pulumi stack output --json` is not valid JSON"),
        ({"stdout": "{}"}, "the stack has no outputs"),
        ({"sleep": 5}, "timed out after 0.5s"),
    ],
)
def test_pulumi_failures_exit_2(
    fake_pulumi: Callable[..., Path],
    project: Path,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any],
    message: str,
) -> None:
    from infractl.verify import command as verify_cmd

    fake_pulumi(**spec)
    with pytest.raises(CommandError) as failure:
        verify_cmd.run_verify("dev", None, 5, False, project, cli_timeout=0.5)
    assert message in str(failure.value)


def test_missing_pulumi_cli_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(project))
    code, _, err = run_cli(capsys, "--stack", "dev", "--cwd", str(project))
    assert code == 2 and "not found on PATH" in err


def test_outside_the_project_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--stack", "dev", "--cwd", str(tmp_path))
    assert code == 2 and "no Pulumi.yaml for project 'platform'" in err
