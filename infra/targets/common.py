"""Config-to-args mappings every target shares: probes, alert settings, secrets per service."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.alerts import RuleSetting
from components.postgres import AdminConnection, DatabaseAccess, DatabaseAccessArgs
from components.probes import CommandProbeSpec, HttpProbeSpec, ProbeSpec
from infra.config.models import ServiceSettings, StackConfig

DATABASE_URL_ENV = "DATABASE_URL"


def probe_spec(service: ServiceSettings) -> ProbeSpec:
    """Readiness for a service with a port, liveness for one without (the config guarantees one)."""
    if service.port is not None and service.readiness is not None:
        probe = service.readiness
        return HttpProbeSpec(
            path=probe.path,
            port=service.port,
            interval_seconds=probe.interval_seconds,
            timeout_seconds=probe.timeout_seconds,
            healthy_threshold=probe.healthy_threshold,
            unhealthy_threshold=probe.unhealthy_threshold,
            start_period_seconds=probe.start_period_seconds,
        )
    check = service.liveness
    if check is None:
        raise ValueError("validated config guarantees a liveness check for a portless service")
    return CommandProbeSpec(
        command=tuple(check.command),
        interval_seconds=check.interval_seconds,
        timeout_seconds=check.timeout_seconds,
        retries=check.retries,
        start_period_seconds=check.start_period_seconds,
    )


def rule_settings(cfg: StackConfig) -> dict[str, RuleSetting]:
    return {
        rule_id: RuleSetting(
            enabled=setting.enabled,
            threshold=setting.threshold,
            window_minutes=setting.window_minutes,
        )
        for rule_id, setting in cfg.alerts.rules.items()
    }


def generated_secret_lengths(cfg: StackConfig) -> dict[str, int]:
    return {name: spec.length for name, spec in cfg.secrets.items() if spec.source == "generated"}


def service_secret_env(
    service: ServiceSettings, secret_values: Mapping[str, pulumi.Output[str]]
) -> dict[str, pulumi.Output[str]]:
    """The service's env var -> secret value mapping (values stay secret Outputs)."""
    return {env: secret_values[secret] for env, secret in service.secrets.items()}


def database_access(
    cfg: StackConfig, admin: AdminConnection, opts: pulumi.ResourceOptions | None = None
) -> DatabaseAccess:
    """The application database and its three roles, the same on every target; only how the
    provider logs in (`admin`) differs."""
    roles = cfg.database.roles
    return DatabaseAccess(
        "db-access",
        DatabaseAccessArgs(
            admin=admin,
            database=cfg.database.name,
            owner_role=roles.owner,
            app_role=roles.app,
            readonly_role=roles.readonly,
        ),
        opts=opts,
    )
