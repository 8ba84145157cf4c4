"""`infractl rollback`: the exact pulumi commands it runs (a fake `pulumi` first on PATH logs
every call), confirmation, and how each failure is reported."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.context import CommandError
from infractl.rollback.command import run_rollback
from tests.infractl.rollback.fake_cli import FakePulumi
from tests.infractl.rollback.history_inputs import (
    HISTORY_FIXTURES,
    UP_CALL,
    WEB,
    WORKER,
    entry,
    history,
)


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    return FakePulumi(tmp_path, monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    (root / "Pulumi.prod.yaml").write_text("config: {}\n")
    return root


HISTORY_CALL = [
    "stack",
    "history",
    "--json",
    "--show-secrets=false",
    "--page-size",
    "100",
    "--non-interactive",
    "--stack",
    "prod",
]
SET_WEB = ["config", "set", "--path", "platform:services.web.image", f"{WEB}:1.4.3"]
SET_WORKER = ["config", "set", "--path", "platform:services.worker.image", f"{WORKER}:1.4.2"]


def rollback(capsys: pytest.CaptureFixture[str], project: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["rollback", "--stack", "prod", "--cwd", str(project), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_yes_sets_exactly_the_changed_images_then_runs_up(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = rollback(capsys, project, "--yes")
    assert code == 0, err
    assert pulumi.calls() == [
        HISTORY_CALL,
        [*SET_WEB, "--stack", "prod"],
        [*SET_WORKER, "--stack", "prod"],
        UP_CALL,
    ]
    assert {r["cwd"] for r in pulumi.records()} == {str(project)}
    assert out.splitlines() == [
        "rollback stack prod: version 27 (failed, 2026-11-21T16:02:11.000Z) -> version 25 "
        "(2026-11-19T14:31:47.000Z, 'deploy shop-web 1.4.3')",
        f"  web: {WEB}:1.5.0 -> {WEB}:1.4.3",
        f"  worker: {WORKER}:1.5.0 -> {WORKER}:1.4.2",
        "then: pulumi up --stack prod --yes --skip-preview=false --non-interactive "
        "--policy-pack policy --message 'infractl rollback to version 25'",
        "stack prod rolled back to the images of version 25",
    ]


def test_to_version_with_no_override_removes_the_keys(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = rollback(capsys, project, "--to", "22", "--yes")
    assert code == 0, err
    assert pulumi.calls()[1:3] == [
        ["config", "rm", "--path", "platform:services.web.image", "--stack", "prod"],
        ["config", "rm", "--path", "platform:services.worker.image", "--stack", "prod"],
    ]
    assert pulumi.calls()[3][-1] == "infractl rollback to version 22"


def test_nothing_to_roll_back_is_a_failure_not_a_rollback(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = history("prod")
    entry(raw, 27)["config"] = entry(raw, 25)["config"]
    (tmp_path / "same.json").write_text(json.dumps(raw))
    pulumi.behave(**{"stack history": {"stdout_file": str(tmp_path / "same.json")}})
    code, out, err = rollback(capsys, project, "--yes")
    assert code == 2
    assert "already match version 25" in err
    assert "revert the merge commit" in err
    assert "rolled back" not in out
    assert pulumi.calls() == [HISTORY_CALL]


def test_failed_up_exits_1_and_says_the_config_changed(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(
        **{
            "stack history": {"stdout_file": str(HISTORY_FIXTURES / "prod.json")},
            "up": {"exit": 1, "stderr": "update failed"},
        }
    )
    code, _, err = rollback(capsys, project, "--yes")
    assert code == 1
    assert pulumi.calls()[-1] == UP_CALL
    assert "`pulumi up` failed (exit 1)" in err
    assert "stack config already names the images of version 25" in err


def test_up_past_its_timeout_is_interrupted_like_ctrl_c(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(
        **{
            "stack history": {"stdout_file": str(HISTORY_FIXTURES / "prod.json")},
            "up": {"sleep": 30},
        }
    )
    started = time.monotonic()
    code = run_rollback("prod", None, True, project, confirm=None, up_timeout=0.5)
    assert code == 1
    assert time.monotonic() - started < 10
    assert pulumi.records()[-1] == {"signal": "SIGINT"}
    assert "did not finish within 0.5s and was interrupted" in capsys.readouterr().err


def test_history_timeout_exits_2_before_any_change(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(**{"stack history": {"sleep": 10}})
    with pytest.raises(CommandError, match=r"timed out after 0\.5s"):
        run_rollback("prod", None, True, project, confirm=None, cli_timeout=0.5)
    assert pulumi.calls() == [HISTORY_CALL]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"exit": 6, "stderr": "no stack named 'prod' found"}, "no stack named 'prod' found"),
        ({"stdout": '[{"version": 3,'}, "printed invalid JSON (line 1, column"),
        ({"stdout": "[]"}, "the stack's history has no updates"),
        ({"stdout": "[" * 100_000}, "nested too deeply"),  # was a RecursionError traceback
    ],
)
def test_unusable_history_exits_2(
    pulumi: FakePulumi,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any],
    message: str,
) -> None:
    pulumi.behave(**{"stack history": spec})
    code, _, err = rollback(capsys, project, "--yes")
    assert code == 2
    assert message in err
    assert pulumi.calls() == [HISTORY_CALL]


def test_failing_config_set_stops_before_up_and_lists_what_changed(
    pulumi: FakePulumi, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(
        **{
            "stack history": {"stdout_file": str(HISTORY_FIXTURES / "prod.json")},
            "config set": {
                "when": "platform:services.worker.image",
                "exit": 1,
                "stderr": "the stack is locked",
            },
        }
    )
    code, _, err = rollback(capsys, project, "--yes")
    assert code == 2
    assert [c[0] for c in pulumi.calls()] == ["stack", "config", "config"]
    assert "could not change platform:services.worker.image" in err
    assert "already changed in the stack config, not deployed: platform:services.web.image" in err


def test_missing_pulumi_cli_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(project))
    code, _, err = rollback(capsys, project, "--yes")
    assert code == 2 and "`pulumi` not found on PATH" in err


class Terminal(io.StringIO):
    """Stdin that claims to be a terminal, with the operator's answer already typed."""

    def isatty(self) -> bool:
        return True


def test_without_yes_and_without_a_terminal_it_refuses(
    pulumi: FakePulumi,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, out, err = rollback(capsys, project)
    assert code == 2
    assert "rerun with --yes" in err
    assert f"{WEB}:1.5.0 -> {WEB}:1.4.3" in out
    assert pulumi.calls() == [HISTORY_CALL]


@pytest.mark.parametrize(("answer", "code", "calls"), [("y\n", 0, 4), ("n\n", 2, 1), ("\n", 2, 1)])
def test_on_a_terminal_it_asks_first(
    pulumi: FakePulumi,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    calls: int,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    result, out, _ = rollback(capsys, project)
    assert result == code
    assert "Roll back stack prod to version 25? [y/N]" in out
    assert len(pulumi.calls()) == calls


def test_confirm_callback_sees_the_target(pulumi: FakePulumi, project: Path) -> None:
    prompts: list[str] = []

    def decline(prompt: str) -> bool:
        prompts.append(prompt)
        return False

    with pytest.raises(CommandError, match="cancelled; nothing changed"):
        run_rollback("prod", 23, False, project, confirm=decline)
    assert prompts == ["Roll back stack prod to version 23?"]
    assert pulumi.calls() == [HISTORY_CALL]
