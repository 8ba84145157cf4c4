"""One probe spec, three renderings: a Docker healthcheck, an ECS container health check and an
ALB target-group health check. Services declare readiness once; every target enforces it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HttpProbeSpec:
    """The service answers `path` on `port` with 2xx when it can take traffic."""

    path: str
    port: int
    interval_seconds: int = 10
    timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    start_period_seconds: int = 30


@dataclass(frozen=True)
class CommandProbeSpec:
    """A command that exits 0 while a service without a port is alive."""

    command: tuple[str, ...]
    interval_seconds: int = 30
    timeout_seconds: int = 5
    retries: int = 3
    start_period_seconds: int = 30


ProbeSpec = HttpProbeSpec | CommandProbeSpec


def in_container_command(probe: ProbeSpec) -> list[str]:
    """The check as run inside the container. HTTP probes use Node's fetch (Node 18 or newer):
    the product's images are Node.js and ship neither curl nor wget, and a probe must not need
    extra packages. tests/components/test_probes.py runs this command against real local servers."""
    if isinstance(probe, CommandProbeSpec):
        return ["CMD", *probe.command]
    url = json.dumps(f"http://127.0.0.1:{probe.port}{probe.path}")
    script = (
        f"fetch({url},{{signal:AbortSignal.timeout({probe.timeout_seconds * 1000})}})"
        ".then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
    )
    return ["CMD", "node", "-e", script]


def _retries(probe: ProbeSpec) -> int:
    return probe.unhealthy_threshold if isinstance(probe, HttpProbeSpec) else probe.retries


def docker_duration(seconds: int) -> str:
    """Seconds as Go's time.Duration prints them ("1m0s", not "60s"): the docker provider reads
    healthcheck durations back in that form, so any other spelling is a change on every preview."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def docker_healthcheck(probe: ProbeSpec, start_interval: bool = True) -> dict[str, Any]:
    """Arguments for `docker.ContainerHealthcheckArgs` (plain, so the aws target never imports
    the docker SDK). `start_interval` needs Docker Engine 25+ (API 1.44): older engines refuse
    a container that sets it."""
    return {
        "tests": in_container_command(probe),
        "interval": docker_duration(probe.interval_seconds),
        "timeout": docker_duration(probe.timeout_seconds),
        "retries": _retries(probe),
        "start_period": docker_duration(probe.start_period_seconds),
        "start_interval": docker_duration(2) if start_interval else None,
    }


def ecs_health_check(probe: ProbeSpec) -> dict[str, Any]:
    """The `healthCheck` block of an ECS container definition (seconds; ECS caps retries at 10)."""
    return {
        "command": in_container_command(probe),
        "interval": probe.interval_seconds,
        "timeout": probe.timeout_seconds,
        "retries": min(_retries(probe), 10),
        "startPeriod": probe.start_period_seconds,
    }


def alb_health_check(probe: HttpProbeSpec) -> dict[str, Any]:
    """Arguments for `aws.lb.TargetGroupHealthCheckArgs`: the same path, the same patience."""
    return {
        "enabled": True,
        "path": probe.path,
        "port": "traffic-port",
        "protocol": "HTTP",
        "matcher": "200-299",
        "interval": probe.interval_seconds,
        "timeout": probe.timeout_seconds,
        "healthy_threshold": probe.healthy_threshold,
        "unhealthy_threshold": probe.unhealthy_threshold,
    }
