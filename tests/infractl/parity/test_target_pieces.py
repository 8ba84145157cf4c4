"""Across targets: each logical piece needs the component that builds it on the other target."""

from __future__ import annotations

from infractl.parity.allowance import Allowance
from infractl.parity.difference import Level
from infractl.parity.target_pieces import compare_components
from infractl.pulumi.resource import Resource


def components(*pieces: tuple[str, str]) -> list[Resource]:
    return [Resource(kind, name, "(root)") for kind, name in pieces]


DOCKER = (
    ("platform:docker:Network", "network"),
    ("platform:docker:Database", "db"),
    ("platform:postgres:DatabaseAccess", "db-access"),
    ("platform:secrets:SecretValues", "secrets"),
    ("platform:docker:Service", "web"),
    ("platform:docker:Service", "worker"),
    ("platform:docker:Prometheus", "prometheus"),
)
AWS = (
    ("platform:aws:Network", "network"),
    ("platform:aws:Database", "db"),
    ("platform:postgres:DatabaseAccess", "db-access"),
    ("platform:secrets:SecretValues", "secrets"),
    ("platform:aws:SecretStore", "app-secrets"),
    ("platform:aws:Cluster", "cluster"),
    ("platform:aws:Service", "web"),
    ("platform:aws:LoadBalancer", "web-lb"),
    ("platform:aws:Service", "worker"),
    ("platform:aws:Alarms", "alarms"),
    ("platform:aws:UptimeChecks", "uptime"),  # aws only: Route 53 checks public host names
)


def test_across_targets_each_logical_piece_needs_its_component() -> None:
    dev = Allowance("dev", ("*",))
    assert compare_components(Level.RESOURCE, dev, components(*AWS), components(*DOCKER)) == []
    no_monitoring = components(*DOCKER[:-1])
    [missing] = compare_components(Level.RESOURCE, dev, components(*AWS), no_monitoring)
    assert (missing.path, missing.reference_value, missing.allowed) == (
        "components.monitoring",
        "platform:aws:Alarms::alarms",
        False,
    )
    renamed = components(*DOCKER[:4], ("platform:docker:Service", "api"), *DOCKER[5:])
    paths = {
        d.path: d.allowed
        for d in compare_components(Level.RESOURCE, dev, components(*AWS), renamed)
    }
    assert paths == {"components.service.web": False, "components.service.api": False}
    literal = Allowance("dev", ("*", "services.web", "services.api"))
    assert all(
        d.allowed for d in compare_components(Level.RESOURCE, literal, components(*AWS), renamed)
    )
    unmapped = components(*DOCKER, ("platform:docker:Mailpit", "mail"))
    [odd] = compare_components(Level.RESOURCE, dev, components(*AWS), unmapped)
    assert (odd.path, odd.allowed) == ("components.platform:docker:Mailpit", False)
