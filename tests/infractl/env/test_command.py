"""`infractl env` through the command line: the exit convention, the real contract, and how it
asks the pulumi CLI for secrets (a fake pulumi: it proves the call, not the feature; the e2e tier
runs it against a real deployment)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infractl.env.command import env
from tests.infractl.conftest import FakePulumi, Invocation
from tests.paths import REPO_ROOT

Run = Callable[[Callable[..., Any], list[str]], Invocation]
EXAMPLE = str(REPO_ROOT / "app" / ".env.example")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for path in REPO_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_every_stack_keeps_the_real_contract(run_command: Run) -> None:
    result = run_command(env, ["--check", "--cwd", str(REPO_ROOT)])
    assert result.code == 0, result.stdout + result.stderr
    assert "dev, prod, staging provide them all" in result.stdout


def test_a_variable_only_one_stack_injects_fails_the_check(run_command: Run, project: Path) -> None:
    dev = project / "Pulumi.dev.yaml"
    dev.write_text(
        dev.read_text().replace(
            "        LOG_LEVEL: debug\n", "        LOG_LEVEL: debug\n        CACHE_TTL: '60'\n", 1
        )
    )
    result = run_command(env, ["--check", "--cwd", str(project), "--example", EXAMPLE])
    assert result.code == 1
    assert result.stdout.splitlines() == [
        f"stack 'dev' injects CACHE_TTL into web but {EXAMPLE} does not document it; "
        "add it there with a comment saying what it is"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --check or --stack STACK"),
        (["--check", "--stack", "dev"], "give exactly one of --check or --stack STACK"),
        (["--stack", "nope"], "unknown stack"),
        (["--stack", "dev", "--service", "db"], "stack 'dev' has no service 'db'"),
        (["--check", "--example", "/nonexistent/.env.example"], "cannot read"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    run_command: Run, project: Path, args: list[str], message: str
) -> None:
    result = run_command(env, [*args, "--cwd", str(project)])
    assert result.code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_secrets_the_cli_is_not_asked(
    run_command: Run, project: Path, fake_pulumi_cli: FakePulumi
) -> None:
    result = run_command(env, ["--stack", "dev", "--cwd", str(project), "--example", EXAMPLE])
    assert result.code == 0
    assert fake_pulumi_cli.call("dev") is None
    assert "PAYMENTS_API_KEY=\n" in result.stdout
    assert "NODE_ENV=development\n" in result.stdout


def test_secrets_come_from_the_stack_outputs(
    run_command: Run, project: Path, fake_pulumi_cli: FakePulumi
) -> None:
    outputs = {
        "databaseUrl": "postgresql://shop_app:pw-123@127.0.0.1:5432/shop",
        "appSecrets": {"payments_api_key": "pay-XYZ", "email_api_key": "mail-XYZ"},
    }
    fake_pulumi_cli.behave("dev", stdout=json.dumps(outputs))
    args = ["--stack", "dev", "--secrets", "--cwd", str(project), "--example", EXAMPLE]
    result = run_command(env, args)
    assert result.code == 0, result.stderr
    call = fake_pulumi_cli.call("dev")
    assert call is not None and "--show-secrets" in call["args"]
    lines = result.stdout.splitlines()
    assert f"DATABASE_URL={outputs['databaseUrl']}" in lines
    assert "PAYMENTS_API_KEY=pay-XYZ" in lines
    assert "SESSION_SECRET=" in lines  # not in these outputs: left empty, and said so
    assert "pw-123" not in result.stderr


def test_a_failing_cli_is_an_error_that_prints_no_partial_file(
    run_command: Run, project: Path, fake_pulumi_cli: FakePulumi
) -> None:
    fake_pulumi_cli.behave("dev", stderr="error: no stack named 'dev' found", exit=255)
    args = ["--stack", "dev", "--secrets", "--cwd", str(project), "--example", EXAMPLE]
    result = run_command(env, args)
    assert result.code == 2
    assert result.stdout == ""
    assert "cannot read stack 'dev' outputs" in result.stderr


def test_secrets_are_never_printed_to_a_terminal(
    run_command: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    result = run_command(env, ["--stack", "dev", "--secrets", "--cwd", str(project)])
    assert result.code == 2
    assert "redirect to a file" in result.stderr
