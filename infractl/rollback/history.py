"""From a stack's update history to a rollback plan: which image tags to put back.

A deploy here is `pulumi config set --path platform:services.<svc>.image <tag>` then `pulumi up`,
so every update in `pulumi stack history --json` records the images it deployed in its
`platform:services` config value. Rolling back means restoring those image keys from the last
succeeded update before the current one, and touching nothing else: a rollback that also undid
an unrelated config change would be a second, unreviewed deploy.

An image key absent from the target update's config means the product's default image
(`infra/product.py`) was in force then, so the plan removes the stack's override.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infractl.pulumi.runner import deploy_up_args

SERVICES_KEY = "platform:services"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
IMAGE = re.compile(r"^[A-Za-z0-9][^\s]*$")


class HistoryError(Exception):
    """The history cannot be turned into a rollback plan."""


@dataclass(frozen=True)
class Update:
    """One entry of `pulumi stack history --json`, the fields a rollback needs."""

    version: int
    kind: str
    result: str
    start_time: str
    message: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class ImageChange:
    """`target` None: the target update had no override, so remove the stack's one."""

    service: str
    current: str | None
    target: str | None

    @property
    def path(self) -> str:
        return f"{SERVICES_KEY}.{self.service}.image"


@dataclass(frozen=True)
class RollbackPlan:
    current: Update
    target: Update
    changes: tuple[ImageChange, ...]


def number_of(raw: list[Any], index: int, version: int) -> int:
    """The update's number: its `version`, or, on a DIY backend (file://, s3://...), which prints
    version 0 for every update, its position counted from the oldest (1), since the CLI lists
    the history newest first. Seen on the real CLI's file backend, where every entry was 0."""
    if all(isinstance(e, dict) and e.get("version") == 0 for e in raw):
        return len(raw) - index
    return version


def parse_history(raw: Any) -> list[Update]:
    """Validate the JSON array `pulumi stack history --json` prints."""
    if not isinstance(raw, list):
        raise HistoryError(f"stack history must be a JSON array, got {type(raw).__name__}")
    updates = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise HistoryError(f"stack history entry {index} is not an object")
        version = entry.get("version")
        kind = entry.get("kind")
        config = entry.get("config", {})
        if not isinstance(version, int) or isinstance(version, bool):
            raise HistoryError(f"stack history entry {index} has no integer 'version'")
        if not isinstance(kind, str):
            raise HistoryError(f"stack history version {version} has no 'kind'")
        if not isinstance(config, dict):
            raise HistoryError(f"stack history version {version} has a non-object 'config'")
        updates.append(
            Update(
                version=number_of(raw, index, version),
                kind=kind,
                result=str(entry.get("result") or ""),
                start_time=str(entry.get("startTime") or ""),
                message=str(entry.get("message") or ""),
                config=config,
            )
        )
    return updates


def images(update: Update) -> dict[str, str | None]:
    """Service -> image override recorded in an update's `platform:services` config.

    The history prints an object config value both as `value` (a JSON string) and as
    `objectValue` (parsed); either is read. A secret object is blinded without --show-secrets.
    """
    entry = update.config.get(SERVICES_KEY)
    if entry is None:
        return {}
    where = f"'{SERVICES_KEY}' in version {update.version}"
    if not isinstance(entry, dict):
        raise HistoryError(f"{where} is not a config value object")
    services = _recorded_services(entry, where)
    if services is None:
        return {}
    return _service_images(services, where)


def _recorded_services(entry: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    """The services object from `objectValue`, else from the JSON in `value`; None when the
    update recorded neither (no overrides then), unless it is blinded as secret."""
    services = entry.get("objectValue")
    if services is None:
        value = entry.get("value")
        if value is None:
            if entry.get("secret"):
                raise HistoryError(f"{where} is secret, so its images are not readable")
            return None
        if not isinstance(value, str):
            raise HistoryError(f"{where} has a non-string 'value'")
        try:
            services = json.loads(value)
        except json.JSONDecodeError:
            raise HistoryError(f"{where} is not a JSON object") from None
    if not isinstance(services, dict):
        raise HistoryError(f"{where} is not an object of services")
    return services


def _service_images(services: Mapping[str, Any], where: str) -> dict[str, str | None]:
    """Names and images are checked: they end up as `pulumi config` arguments."""
    found: dict[str, str | None] = {}
    for name, spec in services.items():
        if not SERVICE_NAME.match(name):
            raise HistoryError(f"{where} has an invalid service name {name!r}")
        image = spec.get("image") if isinstance(spec, dict) else None
        if image is not None and not (isinstance(image, str) and IMAGE.match(image)):
            raise HistoryError(f"{where} has an invalid image for '{name}': {image!r}")
        found[name] = image
    return found


def choose(history: Sequence[Update], to_version: int | None = None) -> tuple[Update, Update]:
    """(current, target): the newest update, and the succeeded update to go back to."""
    updates = sorted((u for u in history if u.kind == "update"), key=lambda u: -u.version)
    if not updates:
        raise HistoryError("the stack's history has no updates")
    current = updates[0]
    if current.result in ("in-progress", "not-started"):
        raise HistoryError(
            f"update {current.version} is {current.result}; wait for it to finish "
            "(or `pulumi cancel` it) before rolling back"
        )
    if to_version is None:
        for update in updates[1:]:
            if update.result == "succeeded":
                return current, update
        raise HistoryError(
            f"no succeeded update before version {current.version} in the stack's history"
        )
    chosen = next((u for u in history if u.version == to_version), None)
    if chosen is None:
        versions = ", ".join(str(u.version) for u in updates)
        raise HistoryError(f"version {to_version} is not in the history (updates: {versions})")
    if chosen.kind != "update" or chosen.result != "succeeded":
        raise HistoryError(
            f"version {to_version} is a {chosen.result or 'unfinished'} {chosen.kind}; "
            "roll back only to a succeeded update"
        )
    if chosen.version >= current.version:
        raise HistoryError(
            f"version {to_version} is the current update; pick an earlier succeeded one"
        )
    return current, chosen


def plan_rollback(history: Sequence[Update], to_version: int | None = None) -> RollbackPlan:
    """The image keys whose value differs between the current update and the target."""
    current, target = choose(history, to_version)
    now, then = images(current), images(target)
    changes = tuple(
        ImageChange(name, now.get(name), then.get(name))
        for name in sorted(set(now) | set(then))
        if now.get(name) != then.get(name)
    )
    return RollbackPlan(current, target, changes)


def running_images(
    history: Sequence[Update], recorded_now: Mapping[str, str | None]
) -> tuple[ImageChange, ...]:
    """What makes the stack file name the images the stack runs: the newest succeeded update's
    image overrides, where `recorded_now` (the stack file's) differs. A service the update left
    to the product's default (no override) is left alone. No succeeded update: nothing."""
    succeeded = sorted(
        (u for u in history if u.kind == "update" and u.result == "succeeded"),
        key=lambda u: -u.version,
    )
    if not succeeded:
        return ()
    running = images(succeeded[0])
    return tuple(
        ImageChange(name, recorded_now.get(name), image)
        for name, image in sorted(running.items())
        if image is not None and recorded_now.get(name) != image
    )


def config_args(change: ImageChange, stack: str) -> list[str]:
    """`pulumi config set` to the target's image, or `rm` when the target had no override."""
    if change.target is None:
        return ["config", "rm", "--path", change.path, "--stack", stack]
    return ["config", "set", "--path", change.path, change.target, "--stack", stack]


def up_args(plan: RollbackPlan, stack: str) -> list[str]:
    return deploy_up_args(stack, f"infractl rollback to version {plan.target.version}")
