"""`pulumi stack export` documents (reference §3.2): the deployed resources of one stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infractl.pulumi.resource import Resource, parent_key, plain
from infractl.pulumi.urn import Urn, UrnError
from infractl.pulumi.wire import PROVIDER_TYPE_PREFIX, ROOT_STACK_TYPE


class ExportError(Exception):
    """An export file that cannot be read as a `pulumi stack export` document."""


@dataclass(frozen=True)
class Export:
    stack: str | None
    """None for a stack with nothing deployed (no URN to read it from)."""
    project: str | None
    resources: list[Resource]


def _is_default_provider(type_: str, name: str) -> bool:
    """The engine's default providers (`default`, `default_6_63_0`): versioned, not declared."""
    return type_.startswith(PROVIDER_TYPE_PREFIX) and (
        name == "default" or name.startswith("default_")
    )


def _names(value: Any) -> frozenset[str]:
    return frozenset(str(item) for item in value) if isinstance(value, list) else frozenset()


def parse_export(document: Any, source: str) -> Export:
    """The program's resources in an export, with secrets masked before anything else sees them.

    Pending deletions (`delete: true`) and default providers are left out: neither is part of
    what the program declares.
    """
    stacks: set[tuple[str, str]] = set()
    resources: list[Resource] = []
    for index, raw in enumerate(_raw_resources(document, source)):
        urn, resource = _resource(raw, f"{source}: deployment.resources[{index}]")
        stacks.add((urn.stack, urn.project))
        if resource is not None:
            resources.append(resource)
    if len(stacks) > 1:
        names = ", ".join(sorted(f"{s}/{p}" for s, p in stacks))
        raise ExportError(f"{source}: resources of more than one stack ({names})")
    if not stacks:
        return Export(stack=None, project=None, resources=resources)
    ((stack, project),) = stacks
    return Export(stack=stack, project=project, resources=resources)


def _raw_resources(document: Any, source: str) -> list[Any]:
    if not isinstance(document, Mapping):
        raise ExportError(f"{source}: not a `pulumi stack export` document (want a JSON object)")
    if "checkpoint" in document and "deployment" not in document:
        raise ExportError(
            f"{source}: this is a backend state file (what a file or S3 backend keeps under "
            ".pulumi/stacks/), not `pulumi stack export` output; write an export with "
            "`pulumi stack export --stack <stack> --file <file>`"
        )
    version = document.get("version")
    if version not in (3, 4):
        raise ExportError(f"{source}: unsupported export version {version!r} (want 3 or 4)")
    deployment = document.get("deployment")
    if not isinstance(deployment, Mapping):
        raise ExportError(f"{source}: no `deployment` object")
    raw_resources = deployment.get("resources", [])
    if not isinstance(raw_resources, list):
        raise ExportError(f"{source}: `deployment.resources` is not a list")
    return raw_resources


def _resource(raw: Any, where: str) -> tuple[Urn, Resource | None]:
    """One exported resource's URN, and the resource unless the program did not declare it."""
    if not isinstance(raw, Mapping):
        raise ExportError(f"{where} is not an object")
    urn, type_ = raw.get("urn"), raw.get("type")
    if not isinstance(urn, str) or not isinstance(type_, str):
        raise ExportError(f"{where} lacks a string `urn` and `type`")
    try:
        parsed = Urn.require(urn)
        parent_urn = raw.get("parent", "")
        if not isinstance(parent_urn, str):
            raise UrnError(f"parent {parent_urn!r} is not a URN")
        parent = parent_key(parent_urn)
    except UrnError as exc:
        raise ExportError(f"{where}: {exc}") from None
    inputs = raw.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise ExportError(f"{where}: `inputs` is not an object")
    if type_ == ROOT_STACK_TYPE or raw.get("delete") or _is_default_provider(type_, parsed.name):
        return parsed, None
    return parsed, Resource(
        type=type_,
        name=parsed.name,
        parent=parent,
        inputs=plain({k: v for k, v in inputs.items() if not k.startswith("__")}),
        defaults=_names(inputs.get("__defaults", [])),
        ignored=_names(raw.get("ignoreChanges", [])),
    )
