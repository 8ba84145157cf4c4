"""`infractl pin`: the stack file names the images the newest succeeded update deployed. The
history is the real format (tests/fixtures/history/prod.json: the newest update, 27, failed;
25 is the newest that succeeded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infractl.cli import main
from infractl.rollback.history import parse_history, running_images
from tests.infractl.rollback.fake_cli import FakePulumi
from tests.infractl.rollback.history_inputs import WEB, WORKER, history

PLACEHOLDER = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/platform-prod-web@sha256:" + "0" * 64


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    return FakePulumi(tmp_path, monkeypatch)


def project(tmp_path: Path, services: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    (root / "Pulumi.prod.yaml").write_text(f"config:\n  platform:services:\n{services}")
    return root


def pin(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, str, str]:
    code = main(["pin", "--stack", "prod", "--cwd", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_newest_succeeded_update_wins_over_a_newer_failed_one() -> None:
    changes = running_images(parse_history(history("prod")), {"web": PLACEHOLDER})
    assert [(c.service, c.target) for c in changes] == [
        ("web", f"{WEB}:1.4.3"),
        ("worker", f"{WORKER}:1.4.2"),
    ]


def test_git_placeholders_are_replaced_by_the_running_images(
    tmp_path: Path, pulumi: FakePulumi, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, f"    web:\n      image: {PLACEHOLDER}\n")
    code, out, _ = pin(capsys, root)
    assert code == 0
    sets = [call for call in pulumi.calls() if call[:2] == ["config", "set"]]
    assert sets == [
        [
            "config",
            "set",
            "--path",
            "platform:services.web.image",
            f"{WEB}:1.4.3",
            "--stack",
            "prod",
        ],
        [
            *["config", "set", "--path", "platform:services.worker.image"],
            *[f"{WORKER}:1.4.2", "--stack", "prod"],
        ],
    ]
    assert f"pinned web: {PLACEHOLDER} -> {WEB}:1.4.3" in out


def test_a_stack_file_that_already_agrees_is_left_alone(
    tmp_path: Path, pulumi: FakePulumi, capsys: pytest.CaptureFixture[str]
) -> None:
    services = f"    web:\n      image: {WEB}:1.4.3\n    worker:\n      image: {WORKER}:1.4.2\n"
    code, out, _ = pin(capsys, project(tmp_path, services))
    assert code == 0
    assert [call[:2] for call in pulumi.calls()] == [["stack", "history"]]
    assert "already names the running images" in out


def test_a_stack_that_never_deployed_keeps_its_file(
    tmp_path: Path, pulumi: FakePulumi, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(**{"stack history": {"stdout": "[]"}})
    code, _, _ = pin(capsys, project(tmp_path, f"    web:\n      image: {PLACEHOLDER}\n"))
    assert code == 0
    assert [call[:2] for call in pulumi.calls()] == [["stack", "history"]]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"exit": 255, "stderr": "no stack named 'prod' found"}, "no stack named 'prod' found"),
        ({"stdout": "[{"}, "unusable"),
    ],
)
def test_an_unusable_history_changes_nothing_and_exits_2(
    tmp_path: Path,
    pulumi: FakePulumi,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, object],
    message: str,
) -> None:
    pulumi.behave(**{"stack history": spec})
    code, _, err = pin(capsys, project(tmp_path, f"    web:\n      image: {PLACEHOLDER}\n"))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert [call[:2] for call in pulumi.calls()] == [["stack", "history"]]
