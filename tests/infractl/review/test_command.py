"""`infractl review` against a fake `pulumi`: which calls it makes, with which arguments and in
which order (nothing destroyed but `pr-<n>`, never `stack rm` after a failed destroy), what it
writes, and the one-line exit-2 convention for everything that stops it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infractl.cli import main
from tests.infractl.review.fake_cli import FakePulumi
from tests.paths import REPO_ROOT

WEB_URL = "https://pr-7.staging.shop.acme.example"
LIVE = {"expiresAt": "2999-12-31", "serviceUrls": {"web": "https://pr-12.staging.example"}}
EXPIRED = {"expiresAt": "2000-01-01", "serviceUrls": {}}


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = FakePulumi(tmp_path, monkeypatch)
    fake.stacks({"name": "staging"}, {"name": "prod"})
    fake.behave("stack output pr-7", stdout=json.dumps({"serviceUrls": {"web": WEB_URL}}))
    fake.behave("up", stdout="Updating (pr-7)\nResources: 120 created\n")
    return fake


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml"):
        shutil.copy(REPO_ROOT / name, project / name)
    return project


def review(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["review", *args, "--cwd", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    (line,) = err.splitlines()
    assert line.startswith("infractl review: "), line
    return line


# ---------------------------------------------------------------------------------------- up


def test_up_creates_the_stack_writes_its_file_deploys_and_prints_the_url(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = review(capsys, root, "up", "--pr", "7")
    assert (code, err) == (0, ""), err
    assert pulumi.commands() == [
        "stack ls",
        "stack select pr-7",
        "up pr-7",
        "stack output pr-7",
    ]
    calls = pulumi.calls()
    assert calls[1] == ["stack", "select", "--create", "--non-interactive", "--stack", "pr-7"]
    assert calls[2][:6] == [
        "up",
        "--stack",
        "pr-7",
        "--yes",
        "--skip-preview=false",
        "--non-interactive",
    ]
    assert calls[2][6:8] == ["--policy-pack", "policy"]
    assert "--show-secrets" not in calls[3]
    # A fresh checkout has no pr-7 file: every call may take the salt from the state.
    assert {record["fallback"] for record in pulumi.records()} == {"true"}
    assert {record["cwd"] for record in pulumi.records()} == {str(root)}
    assert "Resources: 120 created" in out
    assert f"web: {WEB_URL}" in out and "review stack pr-7 is up until" in out
    written = yaml.safe_load((root / "Pulumi.pr-7.yaml").read_text())
    assert written["encryptionsalt"] == "v1:fake-salt"  # what `stack select --create` wrote
    config = written["config"]
    assert config["platform:environment"] == "review"
    assert config["platform:aws"]["public_hostnames"] == {"web": "pr-7.staging.shop.acme.example"}
    assert config["aws:region"] == "eu-west-1"
    assert "platform:alerts" not in config  # nobody on staging's list is paged for a PR
    assert all("replicas" not in service for service in config["platform:services"].values())


def test_up_json_keeps_stdout_for_the_document(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = review(capsys, root, "up", "--pr", "7", "--ttl-days", "3", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["stack"] == "pr-7" and document["urls"] == {"web": WEB_URL}
    assert len(document["expires_at"]) == 10
    assert "Resources: 120 created" in err  # pulumi's log goes to stderr with --json


def test_up_copies_the_base_secret_values_after_writing_the_file(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = root / "Pulumi.staging.yaml"
    staging.write_text(
        staging.read_text()
        + "  platform:secretValues:\n    payments_api_key:\n      secure: v1:abc\n"
    )
    existing = (
        "encryptionsalt: v1:old-salt\nconfig:\n  platform:secretValues:\n    x: {secure: v1:q}\n"
    )
    (root / "Pulumi.pr-7.yaml").write_text(existing)
    code, _, err = review(capsys, root, "up", "--pr", "7")
    assert code == 0, err
    assert pulumi.commands() == [
        "stack ls",
        "stack select pr-7",
        "config cp staging",
        "up pr-7",
        "stack output pr-7",
    ]
    assert pulumi.calls()[2] == [
        "config",
        "cp",
        "platform:secretValues",
        "--stack",
        "staging",
        "--dest",
        "pr-7",
        "--non-interactive",
    ]
    written = yaml.safe_load((root / "Pulumi.pr-7.yaml").read_text())
    assert written["encryptionsalt"] == "v1:old-salt"
    assert "platform:secretValues" not in written["config"]  # copied afresh by `config cp`


def test_the_cost_guard_refuses_a_new_stack_past_the_limit(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.stacks(*({"name": f"pr-{n}"} for n in (1, 2, 3, 4)), {"name": "staging"})
    code, out, err = review(capsys, root, "up", "--pr", "7")
    assert (code, out) == (2, "")
    line = one_line(err)
    assert "4 review stacks exist already (pr-1, pr-2, pr-3, pr-4)" in line
    assert pulumi.commands() == ["stack ls"]
    assert not (root / "Pulumi.pr-7.yaml").exists()
    # An existing review stack is updated whatever the count.
    pulumi.behave("stack output pr-3", stdout="{}")
    code, _, err = review(capsys, root, "up", "--pr", "3")
    assert code == 0, err


def test_up_refuses_a_base_that_is_not_staging_before_any_call(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = review(capsys, root, "up", "--pr", "7", "--base", "prod")
    assert code == 2
    assert "made from a staging stack (same account); 'prod' is prod" in one_line(err)
    assert pulumi.calls() == []


def test_a_failed_up_prints_its_log_and_exits_2(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave(
        "up", exit=1, stdout="error: policy violation: ...\n", stderr="error: update failed\n"
    )
    code, out, err = review(capsys, root, "up", "--pr", "7")
    assert code == 2
    assert "policy violation" in out
    line = one_line(err)
    assert "`pulumi up --stack pr-7" in line and "exited 1" in line
    assert "infractl review down --pr 7" in line
    assert pulumi.commands()[-1] == "up pr-7"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["up"], "review up needs --pr <number>"),
        (["down"], "review down needs --pr <number>"),
        (["list", "--pr", "3"], "review list takes no --pr"),
    ],
)
def test_bad_usage_exits_2_before_any_call(
    pulumi: FakePulumi,
    root: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    words: str,
) -> None:
    code, _, err = review(capsys, root, *args)
    assert code == 2 and words in one_line(err)
    assert pulumi.calls() == []


@pytest.mark.parametrize("pr", ["0", "1000000", "seven"])
def test_a_pr_number_out_of_range_is_usage(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str], pr: str
) -> None:
    code, _, err = review(capsys, root, "up", "--pr", pr)
    assert code == 2 and "--pr" in one_line(err)
    assert pulumi.calls() == []


# -------------------------------------------------------------------------------------- down


def test_down_destroys_then_removes_the_stack(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.stacks({"name": "staging"}, {"name": "pr-7"})
    (root / "Pulumi.pr-7.yaml").write_text("config: {}\n")
    code, out, err = review(capsys, root, "down", "--pr", "7")
    assert (code, err) == (0, "")
    assert pulumi.calls() == [
        ["stack", "ls", "--json", "--non-interactive"],
        ["destroy", "--stack", "pr-7", "--yes", "--non-interactive"],
        ["stack", "rm", "--stack", "pr-7", "--yes", "--non-interactive"],
    ]
    assert {record["fallback"] for record in pulumi.records()} == {"true"}
    assert "removed review stack pr-7" in out
    assert not (root / "Pulumi.pr-7.yaml").exists()


def test_down_of_a_pr_without_a_stack_does_nothing(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = review(capsys, root, "down", "--pr", "7")
    assert code == 0 and "no review stack pr-7: nothing to remove" in out
    assert pulumi.commands() == ["stack ls"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            {"exit": 1, "stderr": "error: deleting RDS instance: InvalidDBInstanceState\n"},
            "exited 1",
        ),
        ({"sleep": 30}, "timed out after 2s"),
    ],
)
def test_a_failed_destroy_keeps_the_stack(
    pulumi: FakePulumi,
    root: Path,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any],
    words: str,
) -> None:
    pulumi.stacks({"name": "pr-7"})
    pulumi.behave("destroy", **spec)
    code, _, err = review(capsys, root, "down", "--pr", "7", "--timeout", "2")
    assert code == 2
    line = one_line(err)
    assert "could not destroy pr-7, so it is kept" in line and words in line
    # Never `stack rm`. (A destroy killed at its timeout may not have logged its call yet.)
    assert pulumi.commands() in (["stack ls", "destroy pr-7"], ["stack ls"])


def test_a_failed_stack_rm_says_the_stack_is_destroyed(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.stacks({"name": "pr-7"})
    pulumi.behave("stack rm", exit=255, stderr="error: stack has resources\n")
    code, _, err = review(capsys, root, "down", "--pr", "7")
    assert code == 2 and "pr-7 is destroyed but still listed" in one_line(err)


def test_an_unreadable_stack_list_exits_2(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi.behave("stack ls", stdout="not json")
    code, _, err = review(capsys, root, "down", "--pr", "7")
    assert code == 2 and "cannot list the stacks" in one_line(err)
    assert pulumi.commands() == ["stack ls"]


# ------------------------------------------------------------------------------ list, expire


@pytest.fixture
def three_review_stacks(pulumi: FakePulumi) -> FakePulumi:
    pulumi.stacks(
        {"name": "staging", "lastUpdate": "2026-01-01T00:00:00.000Z"},
        {"name": "organization/platform/pr-12", "lastUpdate": "2026-11-01T10:00:00.000Z"},
        {"name": "pr-3", "lastUpdate": "2000-01-01T10:00:00.000Z"},
        {"name": "pr-40", "updateInProgress": True},
    )
    pulumi.behave("stack output pr-12", stdout=json.dumps(LIVE))
    pulumi.behave("stack output pr-3", stdout=json.dumps(EXPIRED))
    pulumi.behave("stack output pr-40", stdout="{}")
    return pulumi


def test_list_shows_every_review_stack_with_its_expiry(
    three_review_stacks: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = review(capsys, root, "list", "--json")
    assert code == 0
    listed = {entry["stack"]: entry for entry in json.loads(out)}
    assert list(listed) == ["pr-3", "pr-12", "pr-40"]
    assert (listed["pr-3"]["expires_at"], listed["pr-3"]["expired"]) == ("2000-01-01", True)
    assert (listed["pr-12"]["expired"], listed["pr-12"]["urls"]) == (False, LIVE["serviceUrls"])
    assert listed["pr-40"]["state"] == "updating"
    assert "stack output staging" not in three_review_stacks.commands()
    code, out, _ = review(capsys, root, "list")
    assert code == 0
    assert "pr-3   2000-01-01  expired" in out
    assert "pr-12  2999-12-31  live" in out


def test_expire_removes_only_expired_review_stacks(
    three_review_stacks: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = review(capsys, root, "expire")
    assert code == 0
    assert three_review_stacks.commands()[-2:] == ["destroy pr-3", "stack rm pr-3"]
    destroyed = [c for c in three_review_stacks.commands() if c.startswith(("destroy", "stack rm"))]
    assert destroyed == ["destroy pr-3", "stack rm pr-3"]
    assert "- removed `pr-3` (expired 2000-01-01)" in out
    assert "1 removed, 0 failed, 2 kept." in out


def test_expire_keeps_what_it_could_not_destroy_and_exits_2(
    three_review_stacks: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    three_review_stacks.behave("destroy pr-3", exit=1, stderr="error: vault not empty\n")
    code, out, err = review(capsys, root, "expire")
    assert code == 2
    assert "**not removed** `pr-3`" in out and "vault not empty" in out
    assert "could not remove pr-3" in one_line(err)
    assert "stack rm pr-3" not in three_review_stacks.commands()


def test_expire_with_nothing_due_says_so(
    pulumi: FakePulumi, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = review(capsys, root, "expire")
    assert code == 0 and "Nothing to remove; 0 review stack(s) still live." in out
    assert pulumi.commands() == ["stack ls"]
