"""The host ports a docker stack binds, checked before Docker finds out one `up` too late.

Each service with a port binds its host port (`docker.service_host_ports`, else its own port) and
each further replica the next one; the database and Prometheus bind theirs. Two ranges that
overlap, or one that runs past 65535 or starts below 1024, would fail mid-deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from infra.config.errors import rule_error
from infra.config.targets import HIGHEST_PORT, LOWEST_HOST_PORT, DockerSettings


@dataclass(frozen=True)
class HostPorts:
    owner: str
    path: str
    """The config key that sets the first port, named in any error."""
    first: int
    count: int

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    def describe(self) -> str:
        ports = str(self.first) if self.count == 1 else f"{self.first}-{self.last}"
        return f"{self.owner} (host port{'s' if self.count > 1 else ''} {ports})"


def host_ports(
    services: Mapping[str, tuple[int | None, int]], settings: DockerSettings
) -> list[HostPorts]:
    """Every range of host ports: `services` maps a name to (its port, its replicas)."""
    ranges = [
        HostPorts("the database", "docker.database_host_port", settings.database_host_port, 1),
        HostPorts("prometheus", "docker.prometheus_host_port", settings.prometheus_host_port, 1),
    ]
    for name, (port, replicas) in sorted(services.items()):
        if port is None:
            continue
        mapped = settings.service_host_ports.get(name)
        path = f"docker.service_host_ports.{name}" if mapped else f"services.{name}.port"
        ranges.append(HostPorts(f"service '{name}'", path, mapped or port, replicas))
    return ranges


def check_host_ports(
    services: Mapping[str, tuple[int | None, int]], settings: DockerSettings
) -> None:
    """Raise a config error naming the first range that cannot be bound."""
    ranges = host_ports(services, settings)
    for item in ranges:
        if item.first < LOWEST_HOST_PORT:
            raise _error(
                item,
                f"{item.describe()} is below {LOWEST_HOST_PORT}, which needs root; map it with "
                "docker.service_host_ports",
            )
        if item.last > HIGHEST_PORT:
            raise _error(item, f"{item.describe()} runs past {HIGHEST_PORT}; pick a lower port")
    for index, item in enumerate(ranges):
        for other in ranges[:index]:
            if item.first <= other.last and other.first <= item.last:
                raise _error(
                    item,
                    f"{item.describe()} overlaps {other.describe()}; replicas take the ports "
                    "after the first, so leave room between ranges",
                )


def _error(item: HostPorts, message: str) -> PydanticCustomError:
    return rule_error(item.path, message)
