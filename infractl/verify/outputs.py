"""Reading a stack's outputs, the contract between `pulumi up` and `infractl verify`.

Outputs come from `pulumi stack output --json --show-secrets` (run with a timeout through
`infractl/pulumi/runner.py`) or from a file holding that same JSON. Anything that stops us from
knowing what to check is an `OutputsError`: the caller turns it into exit 2, because "could not
look" is not "looked and it was broken". Error messages never quote the outputs themselves: they
hold the database password.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from infractl.pulumi.json_input import (
    JsonInputError,
    decode_json_text,
    load_json_text,
    read_input_bytes,
)
from infractl.pulumi.runner import PulumiError, run_pulumi
from infractl.pulumi.stacks import stack_output_args
from infractl.pulumi.wire import SECRET_TEXT

CLI_TIMEOUT_SECONDS = 60.0
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class OutputsError(Exception):
    """The outputs could not be read or do not follow the contract."""


@dataclass(frozen=True)
class StackOutputs:
    """What `pulumi up` exported, validated. `database_url` is the only secret."""

    stack: str
    target: Literal["docker", "aws"]
    service_urls: Mapping[str, str]
    readiness_paths: Mapping[str, str]
    database_host: str
    database_port: int
    database_name: str
    database_url: str = field(repr=False)
    prometheus_url: str | None = None
    alert_rule_groups: tuple[str, ...] = ()
    latest_migration: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return connection_secrets(self.database_url)


def connection_params(database_url: str) -> dict[str, str | int]:
    """libpq keyword parameters from a postgresql:// URL as Prisma reads it.

    Handing libpq keywords instead of the URL means it never parses, and so never quotes back in
    an error message, the string that holds the password. Prisma's `schema` parameter becomes the
    search path (its migrations table lives there); Prisma's other parameters (connection_limit,
    pgbouncer, ...) mean nothing to libpq and are left out.
    """
    try:
        parts = urlsplit(database_url)
        port = parts.port
    except ValueError:
        raise OutputsError("stack output 'databaseUrl' is not a valid URL") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise OutputsError("stack output 'databaseUrl' is not a postgresql:// URL")
    if not parts.hostname or not parts.username:
        raise OutputsError("stack output 'databaseUrl' must name a user and a host")
    params: dict[str, str | int] = {"host": parts.hostname, "user": unquote(parts.username)}
    if parts.password is not None:
        params["password"] = unquote(parts.password)
    if port is not None:
        params["port"] = port
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.strip("/"))
    params.update(_query_params(parts.query))
    return params


def _query_params(query: str) -> dict[str, str]:
    """Prisma's `schema` as a search path, and the parameters libpq knows; the rest are Prisma's
    own and would make libpq refuse the connection."""
    from psycopg import pq  # imported here so that loading infractl does not load libpq

    known = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "schema":
            if not SCHEMA_NAME.match(value):
                raise OutputsError("stack output 'databaseUrl' has an invalid schema parameter")
            params["options"] = f"-c search_path={value}"
        elif key in known:
            params[key] = value
    return params


def connection_secrets(database_url: str) -> tuple[str, ...]:
    """Every form in which a connection string's password could show up in a message."""
    forms = {database_url}
    try:
        parts = urlsplit(database_url)
        forms |= {parts.password or "", unquote(parts.password or ""), parts.netloc}
        forms |= {v for k, v in parse_qsl(parts.query) if k == "password"}
    except ValueError:
        pass
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def _require(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        raise OutputsError(f"stack outputs have no '{key}'")
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise OutputsError(f"stack output '{key}' must be a {names}, got {type(value).__name__}")
    return value


def _string_map(raw: Mapping[str, Any], key: str) -> dict[str, str]:
    value = _require(raw, key, dict)
    for name, item in value.items():
        if not isinstance(item, str) or not item:
            raise OutputsError(f"stack output '{key}.{name}' must be a non-empty string")
    return dict(value)


def parse_outputs(raw: Any) -> StackOutputs:
    """Validate the JSON object of `pulumi stack output --json --show-secrets`."""
    if not isinstance(raw, dict):
        raise OutputsError(f"stack outputs must be a JSON object, got {type(raw).__name__}")
    if not raw:
        raise OutputsError("the stack has no outputs; has `pulumi up` run for it?")
    target = _require(raw, "target", str)
    if target not in ("docker", "aws"):
        raise OutputsError(f"stack output 'target' must be 'docker' or 'aws', got '{target}'")
    service_urls, readiness_paths = _services(raw)
    database_url = _database_url(raw)
    port = _require(raw, "databasePort", int)
    prometheus_url: str | None = None
    groups: tuple[str, ...] = ()
    if target == "docker":
        prometheus_url, groups = _prometheus(raw)
    latest = _latest_migration(raw)
    return StackOutputs(
        stack=_require(raw, "stack", str),
        target=target,
        service_urls=service_urls,
        readiness_paths=readiness_paths,
        database_host=_require(raw, "databaseHost", str),
        database_port=port,
        database_name=_require(raw, "databaseName", str),
        database_url=database_url,
        prometheus_url=prometheus_url,
        alert_rule_groups=groups,
        latest_migration=latest,
    )


def _services(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Service URLs and readiness paths: every service needs both, or verify cannot probe it."""
    service_urls = _string_map(raw, "serviceUrls")
    readiness_paths = _string_map(raw, "readinessPaths")
    for name, url in service_urls.items():
        if urlsplit(url).scheme not in ("http", "https"):
            raise OutputsError(f"stack output 'serviceUrls.{name}' is not an http(s) URL: {url}")
        path = readiness_paths.get(name)
        if path is None:
            raise OutputsError(f"stack output 'readinessPaths' has no path for service '{name}'")
        if not path.startswith("/"):
            raise OutputsError(f"stack output 'readinessPaths.{name}' must start with '/'")
    return service_urls, readiness_paths


def _database_url(raw: Mapping[str, Any]) -> str:
    """The connection string, refused when blinded or unusable, without ever quoting it."""
    database_url: str = _require(raw, "databaseUrl", str)
    if database_url == SECRET_TEXT:
        raise OutputsError(
            "stack output 'databaseUrl' is '[secret]': the outputs were read without "
            "--show-secrets, so the database cannot be checked; use "
            "`pulumi stack output --json --show-secrets`"
        )
    connection_params(database_url)
    return database_url


def _prometheus(raw: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Only the docker target runs Prometheus, so only its outputs name it and its rule groups."""
    prometheus_url: str = _require(raw, "prometheusUrl", str)
    rule_groups = _require(raw, "alertRuleGroups", list)
    if not all(isinstance(g, str) and g for g in rule_groups):
        raise OutputsError("stack output 'alertRuleGroups' must be a list of group names")
    return prometheus_url, tuple(rule_groups)


def _latest_migration(raw: Mapping[str, Any]) -> str | None:
    """Optional: without it the gate checks only that migrations ran and none failed."""
    latest = raw.get("latestMigration")
    if latest is not None and (not isinstance(latest, str) or not latest):
        raise OutputsError("stack output 'latestMigration' must be a non-empty string")
    return latest


def _decode(text: str, source: str) -> Any:
    try:
        return load_json_text(text)
    except JsonInputError as exc:
        raise OutputsError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        # The message names only the position: the text itself may hold secrets.
        raise OutputsError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None


OUTPUTS_MAX_BYTES = 64 * 1024**2
"""Stack outputs are a few kilobytes."""


def read_outputs_file(path: Path) -> StackOutputs:
    """Outputs saved earlier with `pulumi stack output --json --show-secrets > FILE`."""
    source = f"outputs file {path}"
    try:
        text = decode_json_text(read_input_bytes(path, OUTPUTS_MAX_BYTES))
    except JsonInputError as exc:
        raise OutputsError(f"{source}: {exc}") from None
    return parse_outputs(_decode(text, source))


def read_outputs_cli(
    stack: str, *, cwd: Path, timeout: float = CLI_TIMEOUT_SECONDS
) -> StackOutputs:
    """Ask the pulumi CLI for the stack's outputs, secrets shown so the database can be checked."""
    try:
        done = run_pulumi(stack_output_args(stack, show_secrets=True), cwd=cwd, timeout=timeout)
    except PulumiError as exc:
        raise OutputsError(str(exc)) from None
    return parse_outputs(_decode(done.stdout, "`pulumi stack output --json`"))
