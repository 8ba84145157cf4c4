"""How infractl calls the `pulumi` CLI, against a fake `pulumi` on PATH: arguments, working
directory, environment, exit codes, stderr, missing binary and timeouts."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infractl.pulumi.runner import (
    PulumiFailed,
    PulumiNotFound,
    PulumiTimeout,
    refresh_preview,
    refresh_preview_args,
    run_pulumi,
)

if TYPE_CHECKING:
    from tests.infractl.conftest import FakePulumi


def test_refresh_preview_arguments_and_cwd(
    fake_pulumi_cli: FakePulumi, platform_project: Path
) -> None:
    fake_pulumi_cli.behave("prod", stdout='{"steps": []}\n')
    result = refresh_preview("prod", cwd=platform_project, timeout=10)
    assert result.stdout == '{"steps": []}\n'
    assert result.exit_code == 0
    call = fake_pulumi_cli.call("prod")
    assert call is not None
    assert call["args"] == [
        "refresh",
        "--preview-only",
        "--run-program",
        "--json",
        "--non-interactive",
        "--color",
        "never",
        "--stack",
        "prod",
    ]
    assert call["args"] == refresh_preview_args("prod")
    assert "--yes" not in call["args"] and "--skip-preview" not in call["args"]
    assert "--expect-no-changes" not in call["args"]
    assert Path(call["cwd"]).resolve() == platform_project.resolve()


def test_streaming_preview_env_is_removed(
    fake_pulumi_cli: FakePulumi, platform_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_ENABLE_STREAMING_JSON_PREVIEW", "true")
    fake_pulumi_cli.behave("prod", stdout="{}")
    refresh_preview("prod", cwd=platform_project, timeout=10)
    call = fake_pulumi_cli.call("prod")
    assert call is not None and call["streaming"] is None


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (1, "error"),
        (3, "authentication failed"),
        (6, "stack not found"),
        (7, "changes where none were expected"),
        (255, "internal error"),
        (42, "error"),
    ],
)
def test_non_zero_exit_raises_with_stderr_tail(
    fake_pulumi_cli: FakePulumi, platform_project: Path, code: int, meaning: str
) -> None:
    fake_pulumi_cli.behave(
        "dev",
        stdout='{"steps": [',
        stderr="warning: plugin noise\nerror: no stack named 'dev' found\n",
        exit=code,
    )
    with pytest.raises(PulumiFailed) as err:
        refresh_preview("dev", cwd=platform_project, timeout=10)
    assert err.value.exit_code == code
    message = str(err.value)
    assert f"exited {code} ({meaning})" in message
    assert "error: no stack named 'dev' found" in message
    assert "\n" not in message
    assert "no stack named" in err.value.stderr


def test_long_stderr_is_cut(fake_pulumi_cli: FakePulumi, platform_project: Path) -> None:
    fake_pulumi_cli.behave("dev", stderr="x" * 5000 + "\nerror: the end\n", exit=1)
    with pytest.raises(PulumiFailed) as err:
        refresh_preview("dev", cwd=platform_project, timeout=10)
    assert len(str(err.value)) < 500
    assert str(err.value).endswith("error: the end")


def test_missing_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PulumiNotFound, match="`pulumi` not found on PATH"):
        refresh_preview("prod", cwd=tmp_path, timeout=10)


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_timeout_kills_the_process_group(
    fake_pulumi_cli: FakePulumi, platform_project: Path
) -> None:
    fake_pulumi_cli.behave("prod", stdout='{"steps": [', sleep=30, child=True)
    started = time.monotonic()
    with pytest.raises(PulumiTimeout, match=r"timed out after 1s and was killed"):
        refresh_preview("prod", cwd=platform_project, timeout=1)
    assert time.monotonic() - started < 5
    child = fake_pulumi_cli.child_pid("prod")
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the CLI's child process (a plugin) survived the timeout"


def test_killed_by_signal(
    fake_pulumi_cli: FakePulumi, platform_project: Path, tmp_path: Path
) -> None:
    script = tmp_path / "fake-pulumi" / "bin" / "pulumi"
    script.write_text("#!/bin/sh\nkill -9 $$\n")
    with pytest.raises(PulumiFailed, match=r"exited -9 \(killed by signal 9\)"):
        run_pulumi(["version"], cwd=platform_project, timeout=10)


def test_explicit_env_is_used(fake_pulumi_cli: FakePulumi, platform_project: Path) -> None:
    env = {"PATH": os.environ["PATH"], "FAKE_PULUMI_HOME": os.environ["FAKE_PULUMI_HOME"]}
    fake_pulumi_cli.behave("qa", stdout="ok")
    result = run_pulumi(["refresh", "--stack", "qa"], cwd=platform_project, timeout=10, env=env)
    assert result.stdout == "ok" and result.args == ("refresh", "--stack", "qa")
