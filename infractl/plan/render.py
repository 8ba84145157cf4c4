"""Rendering a stack evaluated under mocks: a resource tree for people, JSON for machines.

Every secret, however deeply it sits in the inputs or outputs, is shown as "[secret]"; values
not known until deploy are "[unknown]".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc
from rich.markup import escape
from rich.tree import Tree

from infra.config.secrets import set_command
from infra.offline import Registration, StackRun
from infractl.pulumi.wire import SECRET_TEXT

UNKNOWN = "[unknown]"
KEY_INPUTS = (
    "name",
    "image",
    "ports",
    "instanceClass",
    "engineVersion",
    "multiAz",
    "deletionProtection",
    "cidrBlock",
    "privileges",
    "objectType",
    "role",
    "desiredCount",
    "protocol",
    "port",
)


def mask(value: Any) -> Any:
    """A JSON-safe copy with secrets and unknowns replaced by markers."""
    if rpc.is_rpc_secret(value):
        return SECRET_TEXT
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_resource_sig:
            return {"resource": value.get("urn", "")}
        return {str(k): mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # numbers cross the RPC boundary as floats; show ports as 3000
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(type(value).__name__)


def plan_document(run: StackRun) -> dict[str, Any]:
    return {
        "stack": run.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent or None,
                "inputs": mask(dict(r.inputs)),
            }
            for r in run.resources
        ],
        "outputs": {
            key: SECRET_TEXT if secret else mask(value)
            for key, (value, secret) in run.outputs.items()
        },
        "placeholders": list(run.placeholders),
    }


def plan_json(run: StackRun) -> str:
    return json.dumps(plan_document(run), indent=2, sort_keys=False)


def _summary(resource: Registration) -> str:
    inputs = mask(dict(resource.inputs))
    shown = [
        f"{key}={json.dumps(inputs[key], separators=(',', ':'))}"
        for key in KEY_INPUTS
        if key in inputs and inputs[key] not in (None, [], {})
    ]
    flags = [flag for flag, on in (("protect", resource.protect),) if on]
    text = f"{escape(resource.type)} [bold]{escape(resource.name)}[/bold]"
    details = escape(" ".join(shown + flags))
    return f"{text}  {details}" if details else text


def plan_tree(run: StackRun) -> Tree:
    root = Tree(
        f"stack [bold]{escape(run.stack)}[/bold]: target {run.config.target}, "
        f"{len(run.resources)} resources"
    )
    nodes: dict[str, Tree] = {}
    for resource in run.resources:
        parent = nodes.get(resource.parent, root)
        nodes[resource.urn] = parent.add(_summary(resource), highlight=False)
    outputs = root.add("outputs")
    for key, (value, secret) in run.outputs.items():
        shown = SECRET_TEXT if secret else json.dumps(mask(value), separators=(",", ":"))
        outputs.add(escape(f"{key} = {shown}"), highlight=False)
    return root


def placeholder_warning(run: StackRun) -> str | None:
    if not run.placeholders:
        return None
    lines = [
        f"warning: planned with placeholders for {len(run.placeholders)} secret(s) that stack "
        f"'{run.stack}' has not set; `pulumi up` will refuse until they are set:"
    ]
    lines += [f"  {set_command(run.stack, name)}" for name in run.placeholders]
    return "\n".join(lines)
