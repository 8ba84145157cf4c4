"""Rollback planning: history in the real `pulumi stack history --json` format -> which image
keys to put back, and the `pulumi config` and `pulumi up` arguments for them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infractl.rollback.history import (
    HistoryError,
    ImageChange,
    config_args,
    images,
    parse_history,
    plan_rollback,
    up_args,
)
from tests.infractl.rollback.history_inputs import UP_CALL, WEB, WORKER, entry, history


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
    assert up_args(plan, "prod") == UP_CALL


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
