"""`infractl verify` as a command: the text and JSON reports, the exit 2 paths, and how the
pulumi CLI is called (a fake `pulumi` on PATH that logs its argv)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.context import CommandError
from infractl.verify.checks import CheckResult
from infractl.verify.command import load_outputs, render_json, render_text
from infractl.verify.outputs import parse_outputs
from tests.infractl.verify.outputs_inputs import ENCODED, PASSWORD, URL, docker_outputs

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
    assert code == 2 and "cannot read: no such file" in err


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
