"""The daily loop on the real engine: drift after tampering, the PR report, live parity and
rollback, each reading output the real CLI produced for this program.

Runs after test_e2e_dev_stack.py (which ends by destroying the stack), on a fresh deployment.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.e2e_harness import (
    IMAGES,
    PREFIX,
    REPO_ROOT,
    STACK,
    E2EStack,
    Run,
    docker,
    image_id,
    inspect,
    ready_status,
)

INFRACTL = str(REPO_ROOT / "venv" / "bin" / "infractl")


@pytest.fixture(scope="module")
def deployed(e2e_stack: E2EStack) -> Iterator[E2EStack]:
    e2e_stack.pulumi("up", "--yes", "--skip-preview")
    yield e2e_stack


def superuser(stack: E2EStack) -> psycopg.Connection[Any]:
    password = next(
        v for k, v in stack.secret_values().items() if k.endswith("-superuser-password")
    )
    outputs = stack.outputs()
    return psycopg.connect(
        host=outputs["databaseHost"],
        port=outputs["databasePort"],
        dbname=outputs["databaseName"],
        user="postgres",
        password=password,
        autocommit=True,
        connect_timeout=10,
    )


def drift(stack: E2EStack, out: Path, **env: str) -> tuple[int, dict[str, Any]]:
    """`infractl drift` on the e2e stack: its exit code and drift.json's entry for the stack."""
    saved = dict(stack.env)
    stack.env.update(env)
    try:
        run = stack.run(
            [INFRACTL, "drift", "--stacks", STACK, "--out-dir", str(out), "--timeout", "300"],
            timeout=400,
            expect=None,
        )
    finally:
        stack.env.clear()
        stack.env.update(saved)
    report = json.loads((out / "drift.json").read_text())
    (entry,) = report["stacks"]
    assert report["exit_code"] == run.exit_code
    return run.exit_code, entry


def by_name(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in entry["resources"]}


def test_an_untouched_stack_has_no_drift(deployed: E2EStack, tmp_path: Path) -> None:
    code, entry = drift(deployed, tmp_path)
    assert (code, entry["status"]) == (0, "clean"), entry


def test_a_drift_check_that_cannot_reach_docker_is_a_failure_never_clean(
    deployed: E2EStack, tmp_path: Path
) -> None:
    """The docker provider is pointed at a socket nothing listens on: to the CLI and the
    provider that is exactly an engine that is stopped, without stopping the one CI shares."""
    code, entry = drift(deployed, tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert code == 2
    assert entry["status"] == "failed" and entry["error"]


def test_tampering_is_reported_as_drift_with_roles_and_grants_critical(
    deployed: E2EStack, tmp_path: Path
) -> None:
    # What an operator might do at 3 a.m., outside Pulumi.
    docker("rm", "-fv", f"{PREFIX}-worker-1")
    docker("rm", "-fv", f"{PREFIX}-prometheus")
    docker("update", "--restart", "no", f"{PREFIX}-web-1")
    with superuser(deployed) as db:
        db.execute("ALTER ROLE shop_app CREATEDB")
        db.execute("GRANT INSERT ON ALL TABLES IN SCHEMA public TO shop_readonly")
        db.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE shop_owner IN SCHEMA public "
            "REVOKE DELETE ON TABLES FROM shop_app"
        )

    code, entry = drift(deployed, tmp_path)
    raw = deployed.pulumi("refresh", "--preview-only", "--json", expect=None)
    deployed.save_real("refresh-after-tampering.json", raw.stdout)
    assert code == 1 and entry["status"] == "drift"
    found = by_name(entry)
    assert found["worker-1"]["drift"] == "deleted"
    assert found["prometheus-server"]["drift"] == "deleted"
    assert "restart" in {p["path"] for p in found["web-1"]["properties"]}

    role = found["db-access-app"]
    assert role["severity"] == "critical"
    assert [p["path"] for p in role["properties"]] == ["createDatabase"]
    grant = found["db-access-readonly-tables"]
    assert grant["severity"] == "critical"
    assert "privileges" in {p["path"].split("[")[0] for p in grant["properties"]}
    default = found["db-access-app-future-tables"]
    assert default["severity"] == "critical"
    markdown = (tmp_path / "drift.md").read_text()
    for name in ("worker-1", "prometheus-server", "db-access-app", "db-access-readonly-tables"):
        assert name in markdown


def test_up_with_refresh_repairs_the_drift(deployed: E2EStack, tmp_path: Path) -> None:
    deployed.pulumi("up", "--refresh", "--yes", "--skip-preview")
    code, entry = drift(deployed, tmp_path)
    assert (code, entry["status"]) == (0, "clean"), entry
    with superuser(deployed) as db:
        createdb = db.execute(
            "select rolcreatedb from pg_roles where rolname = 'shop_app'"
        ).fetchone()
        assert createdb == (False,)
        can_insert = db.execute(
            "select has_table_privilege('shop_readonly', 'orders', 'INSERT')"
        ).fetchone()
        assert can_insert == (False,)
    assert inspect(f"{PREFIX}-worker-1")["State"]["Running"]
    assert inspect(f"{PREFIX}-web-1")["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


# ------------------------------------------------------------------ the PR report


def preview_json(stack: E2EStack, out: Path, **env: str) -> dict[str, Any]:
    """A real `pulumi preview --json`, written to `out` (and kept as a fixture under its name)."""
    saved = dict(stack.env)
    stack.env.update(env)
    try:
        run = stack.pulumi("preview", "--json", timeout=600)
    finally:
        stack.env.clear()
        stack.env.update(saved)
    out.write_text(run.stdout)
    stack.save_real(out.name, run.stdout)
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def report(stack: E2EStack, preview: Path) -> Run:
    return stack.run(
        [INFRACTL, "report", str(preview), "--fail-on-destructive"], timeout=120, expect=None
    )


def assert_counts_match(text: str, summary: dict[str, int]) -> None:
    """The report's summary line says what the preview's own changeSummary says."""
    line = next(line for line in text.splitlines() if line.startswith(f"- **{STACK}**"))
    words = {
        "create": "to create",
        "update": "to update",
        "replace": "to replace",
        "delete": "to delete",
        "same": "unchanged",
    }
    for op, word in words.items():
        match = re.search(rf"(\d+) {word}", line)
        assert (int(match.group(1)) if match else 0) == summary.get(op, 0), (op, line, summary)


def test_report_flags_a_pr_that_replaces_the_database_server(
    deployed: E2EStack, tmp_path: Path
) -> None:
    deployed.set_config("platform:database.max_connections", "150")
    try:
        preview = preview_json(deployed, tmp_path / "preview-database-server-replaced.json")
    finally:
        deployed.pulumi("config", "rm", "--path", "platform:database.max_connections")
    result = report(deployed, tmp_path / "preview-database-server-replaced.json")
    assert result.exit_code == 1, result.stderr
    assert "`db-server`" in result.stdout and "part of a database" in result.stdout
    assert_counts_match(result.stdout, preview["changeSummary"])


@contextlib.contextmanager
def patched_program(
    stack: E2EStack, tmp_path: Path, file: str, old: str, new: str
) -> Iterator[None]:
    """The stack runs a copy of the program with one edit, the way a PR would change it."""
    patched = tmp_path / "program"
    for package in ("infra", "components"):
        shutil.copytree(
            REPO_ROOT / package, patched / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    source = patched / file
    text = source.read_text()
    assert old in text, f"the patch no longer applies to {file}: update this test's PR"
    source.write_text(text.replace(old, new))
    link = stack.project / "infra"
    link.unlink()
    link.symlink_to(patched / "infra")
    saved = dict(stack.env)
    stack.env["PYTHONPATH"] = str(patched)
    try:
        yield
    finally:
        stack.env.clear()
        stack.env.update(saved)
        link.unlink()
        link.symlink_to(REPO_ROOT / "infra")


def test_report_flags_a_pr_that_deletes_a_role(deployed: E2EStack, tmp_path: Path) -> None:
    """The PR folds the readonly login into the app role."""
    with patched_program(
        deployed,
        tmp_path,
        "components/postgres.py",
        'self.readonly, readonly_role = self._role("readonly", args.readonly_role, 10)',
        "self.readonly, readonly_role = self.app, app_role",
    ):
        preview = preview_json(deployed, tmp_path / "preview-role-deleted.json")
    result = report(deployed, tmp_path / "preview-role-deleted.json")
    assert result.exit_code == 1, result.stderr
    rows = [row for row in result.stdout.splitlines() if "postgresql:index/role:Role" in row]
    assert any("`db-access-readonly`" in row and "**delete**" in row for row in rows), rows
    assert_counts_match(result.stdout, preview["changeSummary"])


def test_report_passes_a_pr_that_only_adds_a_replica_and_changes_an_env_value(
    deployed: E2EStack, tmp_path: Path
) -> None:
    deployed.set_config("platform:services.worker.replicas", "2")
    deployed.set_config("platform:services.worker.env.LOG_LEVEL", "info")
    try:
        preview = preview_json(deployed, tmp_path / "preview-benign.json")
    finally:
        deployed.pulumi("config", "rm", "--path", "platform:services.worker.replicas")
        deployed.set_config("platform:services.worker.env.LOG_LEVEL", "debug")
    assert preview["changeSummary"].get("create", 0) >= 1
    result = report(deployed, tmp_path / "preview-benign.json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Destructive" not in result.stdout
    assert_counts_match(result.stdout, preview["changeSummary"])


# ------------------------------------------------------------------ live parity


def test_live_parity_accepts_the_real_export_and_catches_a_hand_edited_one(
    deployed: E2EStack, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    deployed.pulumi("stack", "export", "--file", str(exports / f"{STACK}.json"))
    deployed.save_real("export.json", (exports / f"{STACK}.json").read_text())
    deployed.save_real(
        f"Pulumi.{STACK}.yaml", (deployed.project / f"Pulumi.{STACK}.yaml").read_text()
    )
    args = [INFRACTL, "parity", "--stacks", STACK, "--reference", STACK, "--live", str(exports)]
    clean = deployed.run(args, timeout=300, expect=None)
    # While the stack is untouched: the streaming preview's engine events, which `report` must
    # refuse with a message saying what they are.
    deployed.env["PULUMI_ENABLE_STREAMING_JSON_PREVIEW"] = "true"
    try:
        events = deployed.pulumi("preview", "--json")
    finally:
        del deployed.env["PULUMI_ENABLE_STREAMING_JSON_PREVIEW"]
    deployed.save_real("events-preview.jsonl", events.stdout)
    refused = deployed.run([INFRACTL, "report", "-"], timeout=60, expect=2, stdin=events.stdout)
    assert "NDJSON engine events" in refused.stderr
    assert clean.exit_code == 0, clean.stdout + clean.stderr

    state = json.loads((exports / f"{STACK}.json").read_text())
    role = next(
        r
        for r in state["deployment"]["resources"]
        if r["type"] == "postgresql:index/role:Role" and r["urn"].endswith("::db-access-app")
    )
    for side in ("inputs", "outputs"):
        role[side]["createDatabase"] = True
    (exports / f"{STACK}.json").write_text(json.dumps(state))
    edited = deployed.run(args, timeout=300, expect=None)
    assert edited.exit_code == 1, edited.stdout + edited.stderr
    assert "createDatabase" in edited.stdout


# ------------------------------------------------------------------ rollback


def test_rollback_restores_the_last_good_images_from_the_real_history(
    deployed: E2EStack,
) -> None:
    deployed.set_config("platform:services.web.image", IMAGES["web_2"])
    deployed.set_config("platform:services.worker.image", IMAGES["worker_2"])
    deployed.pulumi("up", "--yes", "--skip-preview")
    assert inspect(f"{PREFIX}-web-1")["Image"] == image_id(IMAGES["web_2"])

    history = deployed.pulumi("stack", "history", "--json")
    deployed.save_real("history.json", history.stdout)
    run = deployed.run([INFRACTL, "rollback", "--stack", STACK, "--yes"], timeout=900, expect=None)
    assert run.exit_code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert inspect(f"{PREFIX}-web-1")["Image"] == image_id(IMAGES["web"])
    assert inspect(f"{PREFIX}-worker-1")["Image"] == image_id(IMAGES["worker"])
    assert ready_status(deployed.ports["web"]) == 200
    verify = deployed.run(
        [INFRACTL, "verify", "--stack", STACK, "--deadline", "120"], timeout=300, expect=None
    )
    assert verify.exit_code == 0, verify.stdout + verify.stderr


def test_pin_names_the_running_images_again_from_the_real_history(deployed: E2EStack) -> None:
    """As on a checkout of git whose stack file lags what runs (the pipeline pins on its runner):
    the file names other images than the last succeeded update; `infractl pin` puts back the
    running ones, and the preview is empty again."""
    deployed.set_config("platform:services.web.image", IMAGES["web_2"])
    run = deployed.run([INFRACTL, "pin", "--stack", STACK], timeout=300, expect=None)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert f"pinned web: {IMAGES['web_2']} -> {IMAGES['web']}" in run.stdout
    pinned = deployed.pulumi("config", "get", "--path", "platform:services.web.image")
    assert pinned.stdout.strip() == IMAGES["web"]
    deployed.pulumi("preview", "--expect-no-changes")


# ------------------------------------------------------------------ the policy pack


def test_the_policy_pack_runs_in_a_real_preview(deployed: E2EStack) -> None:
    run = deployed.pulumi("preview", "--policy-pack", "policy", "--expect-no-changes")
    assert "platform-guardrails" in run.stdout


def test_a_pr_that_drops_a_healthcheck_fails_the_preview_naming_the_policy(
    deployed: E2EStack, tmp_path: Path
) -> None:
    with patched_program(
        deployed,
        tmp_path,
        "components/probes.py",
        '"tests": in_container_command(probe),',
        '"tests": ["NONE"],',
    ):
        run = deployed.pulumi("preview", "--policy-pack", "policy", expect=None)
    assert run.exit_code != 0
    output = run.stdout + run.stderr
    assert "containers-health-checked" in output
    assert f"docker container '{PREFIX}-web-1' has no healthcheck" in output
