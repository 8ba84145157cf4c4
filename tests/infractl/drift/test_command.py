"""`infractl drift` end to end against a fake `pulumi` that plays back realistic refresh
previews: exit codes, failed checks, and the files it writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infractl.drift.command import drift
from tests.infractl.drift.drift_inputs import SECRET

if TYPE_CHECKING:
    from tests.infractl.conftest import FakePulumi

Invoke = Callable[[Callable[..., Any], list[str]], Any]


def _play(fake: FakePulumi, pulumi_fixtures: Path) -> None:
    fake.behave("prod", stdout_file=pulumi_fixtures / "refresh" / "prod.json")
    fake.behave("staging", stdout_file=pulumi_fixtures / "refresh" / "staging.json")
    fake.behave(
        "dev",
        stderr="error: no stack named 'dev' found\n",
        exit=6,
    )


def test_command_failed_and_drifted_stacks(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    out = tmp_path / "out"
    run = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--out-dir",
            str(out),
            "--ignore",
            str(pulumi_fixtures / "drift-ignore.yaml"),
        ],
    )
    assert run.code == 2
    assert "dev: failed (`pulumi refresh --preview-only" in run.stdout
    assert "exited 6 (stack not found)" in run.stdout
    assert "prod: drift" in run.stdout and "staging: clean" in run.stdout
    md = (out / "drift.md").read_text()
    data = json.loads((out / "drift.json").read_text())
    assert {s["stack"]: s["status"] for s in data["stacks"]} == {
        "dev": "failed",
        "prod": "drift",
        "staging": "clean",
    }
    assert "## ❌ dev: check failed" in md and "## ⚠️ prod: drift" in md
    assert SECRET not in md and SECRET not in (out / "drift.json").read_text()
    for stack in ("dev", "staging", "prod"):
        call = fake_pulumi_cli.call(stack)
        assert call is not None and call["args"][:2] == ["refresh", "--preview-only"]


def test_command_exit_1_on_drift_and_0_when_clean(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    drifted = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--stacks",
            "prod,staging",
            "--out-dir",
            str(tmp_path / "a"),
        ],
    )
    assert drifted.code == 1
    assert fake_pulumi_cli.call("dev") is None
    clean = run_command(
        drift,
        ["--cwd", str(platform_project), "--stacks", "staging", "--out-dir", str(tmp_path / "b")],
    )
    assert clean.code == 0
    assert (
        (tmp_path / "b" / "drift.md")
        .read_text()
        .startswith("# Infrastructure drift: no drift in 1 stack(s)")
    )


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ({"stdout": ""}, "empty input"),
        ({"stdout": '{\n    "steps": [\n        {"op": "refresh"'}, "invalid JSON at line 3"),
        ({"stdout": '{"sequence":0,"timestamp":0,"preludeEvent":{}}\n{"sequence":1}\n'}, "NDJSON"),
        ({"stdout": "{}", "exit": 255, "stderr": "panic: oh no\n"}, "exited 255 (internal error)"),
    ],
)
def test_unusable_output_is_a_failed_check(
    fake_pulumi_cli: FakePulumi,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
    behaviour: dict[str, Any],
    message: str,
) -> None:
    fake_pulumi_cli.behave("prod", **behaviour)
    run = run_command(
        drift, ["--cwd", str(platform_project), "--stacks", "prod", "--out-dir", str(tmp_path)]
    )
    assert run.code == 2
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["stacks"][0]["status"] == "failed"
    assert message in data["stacks"][0]["error"]
    assert "✅" not in (tmp_path / "drift.md").read_text()


def test_command_timeout_is_a_failed_check(
    fake_pulumi_cli: FakePulumi,
    pulumi_fixtures: Path,
    platform_project: Path,
    tmp_path: Path,
    run_command: Invoke,
) -> None:
    _play(fake_pulumi_cli, pulumi_fixtures)
    fake_pulumi_cli.behave("staging", stdout='{"steps": [', sleep=30)
    run = run_command(
        drift,
        [
            "--cwd",
            str(platform_project),
            "--stacks",
            "staging,prod",
            "--timeout",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert run.code == 2
    data = json.loads((tmp_path / "drift.json").read_text())
    staging = next(s for s in data["stacks"] if s["stack"] == "staging")
    assert staging["status"] == "failed" and "timed out after 1s" in staging["error"]
    assert next(s for s in data["stacks"] if s["stack"] == "prod")["status"] == "drift"


def test_command_without_pulumi(
    platform_project: Path, tmp_path: Path, run_command: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = run_command(drift, ["--cwd", str(platform_project), "--out-dir", str(tmp_path / "out")])
    assert run.code == 2
    data = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert [s["stack"] for s in data["stacks"]] == ["dev", "prod", "staging"]
    assert all(
        s["status"] == "failed" and "not found on PATH" in s["error"] for s in data["stacks"]
    )


def test_bad_ignore_file_stops_before_running(
    fake_pulumi_cli: FakePulumi, platform_project: Path, tmp_path: Path, run_command: Invoke
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("- type: aws:ecs/service:Service\n  property: desiredCount\n")
    run = run_command(
        drift, ["--cwd", str(platform_project), "--ignore", str(ignore), "--out-dir", str(tmp_path)]
    )
    assert run.code == 2
    assert run.stderr.strip() == f"infractl drift: {ignore}: entry 1: 'reason' is missing"
    assert fake_pulumi_cli.call("prod") is None
    assert not (tmp_path / "drift.md").exists()


def test_not_a_project(tmp_path: Path, run_command: Invoke) -> None:
    run = run_command(drift, ["--cwd", str(tmp_path)])
    assert run.code == 2 and "no Pulumi.yaml for project 'platform'" in run.stderr
