"""How every target watches a stack: each service's probe and the alert rules' settings, mapped
once from the config so the docker and aws targets judge health alike."""

from __future__ import annotations

from components.alerts import RuleSetting
from components.probes import CommandProbeSpec, HttpProbeSpec, ProbeSpec
from infra.config.models import ServiceSettings, StackConfig


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
    """The stack's overrides of the alert catalog, in the form `effective_rules` applies."""
    return {
        rule_id: RuleSetting(
            enabled=setting.enabled,
            threshold=setting.threshold,
            window_minutes=setting.window_minutes,
        )
        for rule_id, setting in cfg.alerts.rules.items()
    }


def slo_objectives(cfg: StackConfig) -> dict[str, float]:
    """Public service -> its availability objective (percent): what the SLO alerts watch."""
    return {
        name: objective
        for name, service in cfg.services.items()
        if (objective := service.availability_objective) is not None
    }
