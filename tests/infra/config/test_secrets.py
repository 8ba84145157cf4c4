"""Rotating a secret rolls the ECS tasks that read it, and only those.

Containers read secrets pinned to the stored version (`<arn>:::<version-id>`); a new value is a
new version, so the task definition changes and ECS deploys new tasks. The mock runtime mints
version ids per value, as Secrets Manager does.
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.offline import StackRun, run_stack

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def task_definitions(run: StackRun) -> dict[str, str]:
    return {r.name: r.inputs["containerDefinitions"] for r in run.by_type(TASK_DEFINITION)}


def staging_with(repo_root: Path, payments_key: str) -> StackRun:
    values = {"payments_api_key": payments_key, "email_api_key": "email-key-unchanged"}
    return run_stack(
        repo_root,
        "staging",
        on_missing_secrets="error",
        config_overrides={"platform:secretValues": json.dumps(values)},
    )


def test_rotating_a_secret_changes_the_task_definitions_that_read_it(repo_root: Path) -> None:
    before = task_definitions(staging_with(repo_root, "sk_live_OLD_VALUE_1"))
    after = task_definitions(staging_with(repo_root, "sk_live_NEW_VALUE_2"))
    assert set(before) == set(after) == {"web-task", "worker-task"}
    for name in before:
        assert before[name] != after[name], f"{name} would keep the old secret"
        assert "sk_live_" not in before[name] + after[name]


def test_an_unchanged_secret_leaves_task_definitions_alone(repo_root: Path) -> None:
    first = task_definitions(staging_with(repo_root, "sk_live_SAME"))
    second = task_definitions(staging_with(repo_root, "sk_live_SAME"))
    assert first == second
