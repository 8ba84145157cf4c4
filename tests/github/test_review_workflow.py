"""review.yml: a labelled pull request from this repository gets its review stack after pr.yml
passed, a sticky comment with its URL, and loses it when it closes; a nightly job removes the
expired ones into the job summary.

The wiring is read from the workflow; the shell steps that decide (which pull request, whether to
deploy, what the comment and the summary say) run as written, with fake gh and infractl."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "review.yml"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def review() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def step(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("name") == name]
    return found


def runs(job: Mapping[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in job["steps"])


def test_it_runs_after_pr_yml_on_close_and_nightly(review: dict[str, Any]) -> None:
    on = review[True]  # YAML reads `on:` as True
    assert on["workflow_run"] == {"workflows": ["pr"], "types": ["completed"]}
    assert on["pull_request"] == {"types": ["closed"]}
    assert on["schedule"] and "workflow_dispatch" in on
    concurrency = review["concurrency"]
    assert "workflow_run.pull_requests[0].number" in concurrency["group"]
    assert "pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False  # never kill a `pulumi up` halfway


def test_only_a_passed_run_of_this_repositorys_pull_request_is_considered(
    review: dict[str, Any],
) -> None:
    condition = review["jobs"]["resolve"]["if"]
    assert "github.event.workflow_run.conclusion == 'success'" in condition
    assert "github.event.workflow_run.event == 'pull_request'" in condition
    assert "workflow_run.head_repository.full_name == github.repository" in condition
    assert review["jobs"]["resolve"]["permissions"] == {
        "contents": "read",
        "pull-requests": "read",
    }


def test_the_deploy_runs_in_the_staging_account_with_the_passed_commit(
    review: dict[str, Any],
) -> None:
    deploy = review["jobs"]["deploy"]
    assert deploy["needs"] == "resolve"
    assert deploy["if"] == "needs.resolve.outputs.deploy == 'true'"
    assert deploy["strategy"]["matrix"]["account"] == ["staging"]
    assert deploy["runs-on"] == ["self-hosted", "linux", "platform-${{ matrix.account }}"]
    assert deploy["environment"] == "${{ matrix.account }}"
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    checkout = deploy["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"
    assert checkout["with"]["persist-credentials"] is False
    script = runs(deploy)
    assert script.index('infractl pin --stack "$BASE"') < script.index("infractl review up")
    assert 'infractl review up --pr "$PR" --base "$BASE" --json' in script
    assert "docker" not in script  # it runs staging's images; nothing is built here


def test_jobs_with_cloud_credentials_never_write_to_the_pull_request(
    review: dict[str, Any],
) -> None:
    for name, job in review["jobs"].items():
        permissions = job.get("permissions", {})
        assert not (
            permissions.get("id-token") == "write" and permissions.get("pull-requests") == "write"
        ), name
    for name in ("comment", "down-comment"):
        job = review["jobs"][name]
        assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
        assert job["runs-on"] == "ubuntu-latest"
        assert "scripts/sticky-comment" in runs(job) and "infractl-review" in runs(job)
    assert review["jobs"]["comment"]["if"] == "always() && needs.resolve.outputs.deploy == 'true'"


def test_a_closed_labelled_pull_request_is_torn_down_by_the_default_branchs_code(
    review: dict[str, Any],
) -> None:
    down = review["jobs"]["down"]
    assert "github.event_name == 'pull_request'" in down["if"]
    assert "pull_request.head.repo.full_name == github.repository" in down["if"]
    assert "contains(github.event.pull_request.labels.*.name, 'preview')" in down["if"]
    assert down["steps"][0]["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert step(down, "Down")["run"] == 'infractl review down --pr "$PR"'
    assert down["environment"] == "${{ matrix.account }}"


def test_the_nightly_cleanup_reports_to_the_job_summary(review: dict[str, Any]) -> None:
    expire = review["jobs"]["expire"]
    assert "schedule" in expire["if"]
    script = step(expire, "Remove review stacks past their expiry")["run"]
    assert "infractl review expire > out/expired.md" in script
    assert 'cat out/expired.md >> "$GITHUB_STEP_SUMMARY"' in script


# ---------------------------------------------------------------- the steps, run as written

FAKE_GH = r"""#!/bin/bash
echo "$*" >> "$FAKES/gh.log"
case "$*" in
  *"--jq .state"*) echo "${PR_STATE:-open}" ;;
  *"--jq .head.sha"*) echo "${PR_HEAD:-}" ;;
  *"--jq .labels[].name"*) printf '%s\n' ${PR_LABELS:-} ;;
  *"/comments --paginate"*) ;;
esac
"""
FAKE_INFRACTL = r"""#!/bin/bash
echo "$*" >> "$FAKES/infractl.log"
printf '## Review stacks past expiry\n\n- removed `pr-3` (expired 2000-01-01)\n'
exit "${INFRACTL_EXIT:-0}"
"""


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.fakes = tmp_path / "fakes"
        self.fakes.mkdir()
        self.work = tmp_path / "work"
        (self.work / "scripts").mkdir(parents=True)
        (self.work / "scripts" / "sticky-comment").write_text(
            (REPO_ROOT / "scripts" / "sticky-comment").read_text()
        )
        self.output = tmp_path / "github-output"
        self.summary = tmp_path / "summary.md"
        for path in (self.output, self.summary):
            path.touch()
        for tool, text in (("gh", FAKE_GH), ("infractl", FAKE_INFRACTL)):
            (self.fakes / tool).write_text(text)
            (self.fakes / tool).chmod(0o755)

    def run(self, job: Mapping[str, Any], name: str, env: Mapping[str, str]) -> Any:
        script = self.work / "step.sh"
        script.write_text(step(job, name)["run"])
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.work,
            env={
                "PATH": f"{self.fakes}:/usr/bin:/bin",
                "FAKES": str(self.fakes),
                "GITHUB_OUTPUT": str(self.output),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=30,
        )

    def log(self, tool: str) -> str:
        path = self.fakes / f"{tool}.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


@pytest.mark.parametrize(
    ("pr", "state", "labels", "head", "deploy", "said"),
    [
        ("7", "open", "bug preview", SHA, "true", "deploying #7"),
        ("7", "closed", "preview", SHA, "false", "#7 is closed"),
        ("7", "open", "bug", SHA, "false", "no 'preview' label"),
        ("7", "open", "previewed", SHA, "false", "no 'preview' label"),
        ("7", "open", "preview", "f" * 40, "false", "has moved on"),
        ("", "open", "preview", SHA, "false", "names no pull request"),
    ],
)
def test_which_pull_request_and_whether_to_deploy(
    review: dict[str, Any],
    runner: Runner,
    pr: str,
    state: str,
    labels: str,
    head: str,
    deploy: str,
    said: str,
) -> None:
    env = {"PR": pr, "HEAD_SHA": SHA, "LABEL": "preview", "PR_STATE": state}
    env |= {"PR_LABELS": labels, "PR_HEAD": head}
    result = runner.run(
        review["jobs"]["resolve"], "Which pull request, and does it want a review stack", env
    )
    assert result.returncode == 0, result.stderr
    assert said in result.stdout
    assert f"deploy={deploy}" in runner.output.read_text().splitlines()
    if not pr:
        assert runner.log("gh") == ""


def test_the_comment_names_the_url_or_the_failure(review: dict[str, Any], runner: Runner) -> None:
    job = review["jobs"]["comment"]
    name = "Sticky comment with the review stack's URL"
    result_json = (
        '{"stack":"pr-7","expires_at":"2030-01-31",'
        '"urls":{"web":"https://pr-7.staging.shop.acme.example"}}'
    )
    env = {"PR": "7", "HEAD_SHA": SHA, "RUN_URL": "https://ci/run/1"}
    done = runner.run(job, name, {**env, "OUTCOME": "success", "RESULT": result_json})
    assert done.returncode == 0, done.stderr
    posted = runner.log("gh")
    assert "<!-- infractl-review -->" in posted
    assert "- web: https://pr-7.staging.shop.acme.example" in posted
    assert "expires after 2030-01-31" in posted
    failed = runner.run(job, name, {**env, "OUTCOME": "failure", "RESULT": ""})
    assert failed.returncode == 0, failed.stderr
    assert "did not deploy 0123456789ab" in runner.log("gh") and "https://ci/run/1" in runner.log(
        "gh"
    )


@pytest.mark.parametrize("code", ["0", "2"])
def test_the_cleanup_writes_the_summary_and_keeps_its_exit_code(
    review: dict[str, Any], runner: Runner, code: str
) -> None:
    result = runner.run(
        review["jobs"]["expire"], "Remove review stacks past their expiry", {"INFRACTL_EXIT": code}
    )
    assert str(result.returncode) == code
    assert runner.log("infractl").strip() == "review expire"
    assert "- removed `pr-3` (expired 2000-01-01)" in runner.summary.read_text()
