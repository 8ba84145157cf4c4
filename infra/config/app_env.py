"""The environment variables a stack injects into its services, from the config alone: each
service's plain `env` and the feature flags (`FEATURE_<NAME>`), its `secrets` (by reference),
and the database URL the platform adds.

Both targets inject exactly these (`infra/targets/docker.py`, `infra/targets/aws/`); a test holds
them to it on every stack's evaluation. `infractl env` compares them with the app's
`.env.example`, the contract between the platform and the workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.config.fields import DATABASE_URL_ENV
from infra.config.models import StackConfig
from infra.config.services import METRICS_PORT_ENV

Kind = Literal["plain", "secret"]


@dataclass(frozen=True)
class Injected:
    """One variable as the stack injects it: plain (its value is config) or a secret (a
    reference, resolved by the runtime), and into which services."""

    name: str
    kind: Kind
    services: tuple[str, ...]
    value: str | None = None
    """The plain value when every service gets the same one; never set for a secret."""
    secret: str | None = None
    """The secret's name in `secrets` (None for the database URL)."""


def plain_env(cfg: StackConfig, service: str) -> dict[str, str]:
    """A service's plain variables: its own `env`, every feature flag as `FEATURE_<NAME>`, and
    `METRICS_PORT` for a port-less service that serves metrics."""
    settings = cfg.services[service]
    metrics = (
        {} if settings.metrics_port is None else {METRICS_PORT_ENV: str(settings.metrics_port)}
    )
    return {**settings.env, **cfg.feature_env(), **metrics}


def injected_by_service(cfg: StackConfig) -> dict[str, dict[str, Kind]]:
    """service -> variable -> how it is injected."""
    result: dict[str, dict[str, Kind]] = {}
    for name, service in cfg.services.items():
        variables: dict[str, Kind] = dict.fromkeys(plain_env(cfg, name), "plain")
        variables.update(dict.fromkeys(service.secrets, "secret"))
        variables[DATABASE_URL_ENV] = "secret"
        result[name] = variables
    return result


def injected_variables(cfg: StackConfig) -> dict[str, Injected]:
    """Every variable any service of the stack gets, sorted by name."""
    found: dict[str, Injected] = {}
    for service_name, variables in injected_by_service(cfg).items():
        service = cfg.services[service_name]
        env = plain_env(cfg, service_name)
        for name, kind in variables.items():
            value = env.get(name) if kind == "plain" else None
            secret = service.secrets.get(name)
            seen = found.get(name)
            if seen is not None:
                value = value if seen.value == value else None
                kind = "secret" if "secret" in (seen.kind, kind) else "plain"
                secret = seen.secret or secret
            services = (*seen.services, service_name) if seen else (service_name,)
            found[name] = Injected(name, kind, services, value, secret)
    return dict(sorted(found.items()))
