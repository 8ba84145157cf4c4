"""`infractl rollback`: history in the real `pulumi stack history --json` format -> plan, and the
exact pulumi commands it runs (a fake `pulumi` first on PATH logs every call)."""

from __future__ import annotations

import copy
import io
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from infractl.cli import main
from infractl.context import CommandError
from infractl.rollback.command import run_rollback
from infractl.rollback.history import (
    HistoryError,
    ImageChange,
    config_args,
    images,
    parse_history,
    plan_rollback,
    up_args,
)
from tests.paths import FIXTURES

HISTORY_FIXTURES = FIXTURES / "history"
WEB, WORKER = "ghcr.io/acme/shop-web", "ghcr.io/acme/shop-worker"


def history(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((HISTORY_FIXTURES / f"{name}.json").read_text())
    return data


def entry(raw: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return next(e for e in raw if e["version"] == version)


# --- history -> plan ----------------------------------------------------------------------------


def test_a_file_backend_history_is_numbered_by_position_from_the_oldest() -> None:
    """Real output: the file backend prints version 0 for every update, newest first."""
    raw = history("file-backend")
    assert {e["version"] for e in raw} == {0}
    updates = parse_history(raw)
    assert [(u.version, u.result, u.message) for u in updates] == [
        (3, "failed", "deploy 1.5.0"),
        (2, "succeeded", "deploy 1.4.2"),
        (1, "succeeded", "deploy 1.4.1"),
    ]
    plan = plan_rollback(updates)
    assert (plan.current.version, plan.target.version) == (3, 2)
    assert plan.changes == (ImageChange("web", "shop-web:1.5.0", "shop-web:1.4.2"),)
    assert plan_rollback(updates, to_version=1).changes == (
        ImageChange("web", "shop-web:1.5.0", "shop-web:1.4.1"),
    )


def test_rolls_back_a_failed_deploy_to_the_last_succeeded_update() -> None:
    plan = plan_rollback(parse_history(history("prod")))
    assert (plan.current.version, plan.current.result) == (27, "failed")
    # 26 is a refresh: not an update, so not a deploy to go back to.
    assert plan.target.version == 25
    assert plan.changes == (
        ImageChange("web", f"{WEB}:1.5.0", f"{WEB}:1.4.3"),
        ImageChange("worker", f"{WORKER}:1.5.0", f"{WORKER}:1.4.2"),
    )


def test_rolls_back_a_succeeded_deploy_to_the_one_before() -> None:
    raw = [e for e in history("prod") if e["version"] <= 25]
    plan = plan_rollback(parse_history(raw))
    # 24 failed, so the target is 23; only web's image differs, and 23's replica count
    # (2, not 3) is not part of a rollback.
    assert (plan.current.version, plan.target.version) == (25, 23)
    assert plan.changes == (ImageChange("web", f"{WEB}:1.4.3", f"{WEB}:1.4.2"),)
    assert [config_args(c, "prod") for c in plan.changes] == [
        [
            "config",
            "set",
            "--path",
            "platform:services.web.image",
            f"{WEB}:1.4.2",
            "--stack",
            "prod",
        ]
    ]


def test_to_picks_an_older_succeeded_update() -> None:
    plan = plan_rollback(parse_history(history("prod")), to_version=23)
    assert plan.target.version == 23
    assert [c.target for c in plan.changes] == [f"{WEB}:1.4.2", f"{WORKER}:1.4.2"]


def test_image_absent_from_the_target_removes_the_stack_override() -> None:
    plan = plan_rollback(parse_history(history("prod")), to_version=22)
    assert plan.changes == (
        ImageChange("web", f"{WEB}:1.5.0", None),
        ImageChange("worker", f"{WORKER}:1.5.0", None),
    )
    assert config_args(plan.changes[0], "prod") == [
        "config",
        "rm",
        "--path",
        "platform:services.web.image",
        "--stack",
        "prod",
    ]


def test_dev_override_goes_back_to_the_product_default() -> None:
    plan = plan_rollback(parse_history(history("dev")))
    assert (plan.current.version, plan.target.version) == (3, 2)
    assert plan.changes == (ImageChange("web", f"{WEB}:1.5.0-rc.1", None),)


def test_json_encoded_value_without_object_value_is_parsed() -> None:
    raw = history("prod")
    for e in raw:
        del e["config"]["platform:services"]["objectValue"]
    plan = plan_rollback(parse_history(raw))
    assert [c.target for c in plan.changes] == [f"{WEB}:1.4.3", f"{WORKER}:1.4.2"]


def test_up_runs_non_interactively_with_the_preview() -> None:
    plan = plan_rollback(parse_history(history("prod")))
    assert up_args(plan, "prod") == [
        "up",
        "--stack",
        "prod",
        "--yes",
        "--skip-preview=false",
        "--non-interactive",
        "--policy-pack",
        "policy",
        "--message",
        "infractl rollback to version 25",
    ]


@pytest.mark.parametrize(
    ("to", "message"),
    [
        (24, "version 24 is a failed update; roll back only to a succeeded update"),
        (26, "version 26 is a succeeded refresh; roll back only to a succeeded update"),
        (27, "version 27 is a failed update"),
        (99, "version 99 is not in the history (updates: 27, 25, 24, 23, 22)"),
    ],
)
def test_to_must_name_an_earlier_succeeded_update(to: int, message: str) -> None:
    with pytest.raises(HistoryError) as raised:
        plan_rollback(parse_history(history("prod")), to_version=to)
    assert message in str(raised.value)


def test_to_the_current_update_is_refused() -> None:
    raw = [e for e in history("prod") if e["version"] <= 25]
    with pytest.raises(HistoryError, match="version 25 is the current update"):
        plan_rollback(parse_history(raw), to_version=25)


def test_no_succeeded_update_before_the_current_one() -> None:
    raw = [e for e in history("dev") if e["version"] != 2]
    with pytest.raises(HistoryError, match="no succeeded update before version 3"):
        plan_rollback(parse_history(raw))
    with pytest.raises(HistoryError, match="has no updates"):
        plan_rollback(parse_history([]))


def test_an_update_in_progress_blocks_the_rollback() -> None:
    raw = history("prod")
    newest = copy.deepcopy(entry(raw, 27))
    newest.update(version=28, result="in-progress")
    del newest["endTime"], newest["resourceChanges"]
    with pytest.raises(HistoryError, match="update 28 is in-progress"):
        plan_rollback(parse_history([newest, *raw]))


def test_blinded_secret_services_value_cannot_be_read() -> None:
    raw = history("prod")
    entry(raw, 25)["config"]["platform:services"] = {"secret": True}
    with pytest.raises(HistoryError, match="'platform:services' in version 25 is secret"):
        plan_rollback(parse_history(raw))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"version": 1}, "must be a JSON array"),
        (["x"], "entry 0 is not an object"),
        ([{"kind": "update"}], "entry 0 has no integer 'version'"),
        ([{"version": 3, "kind": "update", "config": []}], "non-object 'config'"),
    ],
)
def test_malformed_history(raw: Any, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        parse_history(raw)


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ({"value": "{not json", "secret": False}, "is not a JSON object"),
        ({"value": "[1]", "objectValue": [1], "secret": False}, "is not an object of services"),
        ({"objectValue": {"web.port": {"image": "x:1"}}}, "invalid service name 'web.port'"),
        ({"objectValue": {"web": {"image": "--yes"}}}, "invalid image for 'web'"),
    ],
)
def test_malformed_services_value(services: dict[str, Any], message: str) -> None:
    raw = history("prod")
    entry(raw, 25)["config"]["platform:services"] = services
    with pytest.raises(HistoryError, match=message):
        images(parse_history(raw)[2])


# --- the command, against a fake pulumi ---------------------------------------------------------

FAKE_PULUMI = """\
    #!{python} -S
    import json, os, signal, sys, time
    log_path = os.environ["FAKE_PULUMI_LOG"]

    def log(record):
        with open(log_path, "a") as out:
            out.write(json.dumps(record) + "\\n")

    def interrupted(signum, frame):
        log({{"signal": "SIGINT"}})
        sys.exit(8)

    signal.signal(signal.SIGINT, interrupted)
    args = sys.argv[1:]
    log({{"argv": args, "cwd": os.getcwd()}})
    command = " ".join(args[:2]) if args[0] in ("stack", "config") else args[0]
    spec = json.loads(os.environ.get("FAKE_PULUMI", "{{}}")).get(command, {{}})
    # "when": the exit code and stderr apply only to calls with that argument.
    applies = spec.get("when") is None or spec["when"] in args
    time.sleep(spec.get("sleep", 0))
    if "stdout_file" in spec:
        sys.stdout.write(open(spec["stdout_file"]).read())
    sys.stdout.write(spec.get("stdout", ""))
    if applies and "stderr" in spec:
        sys.stderr.write("error: " + spec["stderr"] + "\\n")
    sys.exit(spec.get("exit", 0) if applies else 0)
"""


class FakePulumi:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        script = self.bin / "pulumi"
        script.write_text(textwrap.dedent(FAKE_PULUMI.format(python=sys.executable)))
        script.chmod(0o755)
        self.log = tmp_path / "pulumi.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_PULUMI_LOG", str(self.log))
        self.behave(**{"stack history": {"stdout_file": str(HISTORY_FIXTURES / "prod.json")}})

    def behave(self, **spec: dict[str, Any]) -> None:
        self.monkeypatch.setenv("FAKE_PULUMI", json.dumps(spec))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        records = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [r["argv"] for r in records if "argv" in r]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


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
UP_CALL = [
    "up",
    "--stack",
    "prod",
    "--yes",
    "--skip-preview=false",
    "--non-interactive",
    "--policy-pack",
    "policy",
    "--message",
    "infractl rollback to version 25",
]


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
    code = run_rollback("prod", None, True, project, confirm=None, up_timeout=1.0)
    assert code == 1
    assert time.monotonic() - started < 10
    assert pulumi.records()[-1] == {"signal": "SIGINT"}
    assert "did not finish within 1s and was interrupted" in capsys.readouterr().err


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
