"""Resource graphs of one target (synthetic registrations): presence explained by config."""

from __future__ import annotations

from infractl.parity.difference import ABSENT, Difference, Level
from infractl.parity.graph_level import compare_graphs
from infractl.pulumi.resource import Resource


def net(*names: str, kind: str = "aws:ec2/natGateway:NatGateway") -> list[Resource]:
    return [Resource("platform:aws:Network", "network", "(root)")] + [
        Resource(kind, name, "platform:aws:Network::network") for name in names
    ]


def config_diff(path: str, allowed: bool) -> Difference:
    return Difference("staging", Level.CONFIG, path, "per_az", "single", allowed, "why")


def test_per_az_nat_gateways_are_explained_by_an_allowed_nat_gateways_difference() -> None:
    prod = net("network-nat-eu-west-1a", "network-nat-eu-west-1b", "network-nat-eu-west-1c")
    staging = net("network-nat-eu-west-1a")
    allowed = compare_graphs(
        Level.RESOURCE, "staging", prod, staging, [config_diff("aws.nat_gateways", True)]
    )
    assert [(d.path, d.value, d.allowed) for d in allowed] == [
        ("aws:ec2/natGateway:NatGateway::network-nat-eu-west-1b", ABSENT, True),
        ("aws:ec2/natGateway:NatGateway::network-nat-eu-west-1c", ABSENT, True),
    ]
    assert "follows aws.nat_gateways" in allowed[0].reason
    refused = compare_graphs(
        Level.RESOURCE, "staging", prod, staging, [config_diff("aws.nat_gateways", False)]
    )
    assert [d.allowed for d in refused] == [False, False]
    unexplained = compare_graphs(Level.RESOURCE, "staging", prod, staging, [])
    assert [d.allowed for d in unexplained] == [False, False]
    assert "the same in both stacks" in unexplained[0].reason


def test_docker_replica_containers_follow_the_service_replicas() -> None:
    def containers(count: int) -> list[Resource]:
        return [Resource("platform:docker:Service", "web", "(root)")] + [
            Resource("docker:index/container:Container", f"web-{i}", "platform:docker:Service::web")
            for i in range(1, count + 1)
        ]

    replicas = Difference("qa", Level.CONFIG, "services.web.replicas", 3, 1, True, "ok")
    found = compare_graphs(Level.RESOURCE, "qa", containers(3), containers(1), [replicas])
    assert [(d.path, d.allowed) for d in found] == [
        ("docker:index/container:Container::web-2", True),
        ("docker:index/container:Container::web-3", True),
    ]
    assert all("follows services.web.replicas" in d.reason for d in found)


def test_a_moved_or_unexplained_resource_fails_and_children_follow_their_parent() -> None:
    alb = "platform:aws:LoadBalancer::web-lb"
    prod = [
        Resource("platform:aws:Service", "web", "(root)"),
        Resource("aws:iam/role:Role", "web-task", "platform:aws:Service::web"),
        Resource("platform:aws:LoadBalancer", "web-lb", "platform:aws:Service::web"),
        Resource("aws:lb/loadBalancer:LoadBalancer", "web-lb-alb", alb),
    ]
    staging = [
        Resource("platform:aws:Service", "web", "(root)"),
        Resource("aws:iam/role:Role", "web-task", "(root)"),
        Resource("aws:s3/bucket:Bucket", "uploads", "(root)"),
    ]
    public = Difference("staging", Level.CONFIG, "services.web.public", True, False, False, "no")
    found = {d.path: d for d in compare_graphs(Level.RESOURCE, "staging", prod, staging, [public])}
    assert found["aws:iam/role:Role::web-task"].reason.startswith("under another parent")
    assert "services.web.public is not in parity.allow" in found[alb].reason
    assert found["aws:lb/loadBalancer:LoadBalancer::web-lb-alb"].reason.startswith(
        f"comes with {alb}"
    )
    assert "no config path explains it" in found["aws:s3/bucket:Bucket::uploads"].reason
    assert not any(d.allowed for d in found.values())


def test_slo_uptime_and_certificate_alarms_follow_their_rules_and_what_they_watch() -> None:
    alarms, uptime = "platform:aws:Alarms::alarms", "platform:aws:UptimeChecks::uptime"
    metric, composite = (
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    )
    prod = [
        Resource("platform:aws:Alarms", "alarms", "(root)"),
        Resource(metric, "alarms-svc-web-slo-burn-fast-long", alarms),
        Resource(metric, "alarms-svc-web-slo-burn-fast-short", alarms),
        Resource(composite, "alarms-svc-web-slo-burn-fast", alarms),
        Resource(metric, "alarms-stack-certificate-expiry", alarms),
        Resource("platform:aws:UptimeChecks", "uptime", "(root)"),
        Resource("aws:route53/healthCheck:HealthCheck", "uptime-web-check", uptime),
        Resource(metric, "uptime-svc-web-uptime-check-failing", uptime),
        Resource("aws:sns/topic:Topic", "uptime-topic", uptime),
    ]
    staging = [prod[0], prod[5]]  # the components stay (the health check follows its own path)
    diffs = [
        Difference("staging", Level.CONFIG, f"alerts.rules.{rule}.enabled", True, False, True, "ok")
        for rule in ("slo_burn_fast", "certificate_expiry", "uptime_check_failing")
    ]
    found = {d.path: d for d in compare_graphs(Level.RESOURCE, "staging", prod, staging, diffs)}
    assert len(found) == len(prod) - 2 and all(d.allowed for d in found.values())
    assert "follows alerts.rules.slo_burn_fast.enabled, services.web.public" in (
        found[f"{composite}::alarms-svc-web-slo-burn-fast"].reason
    )
    assert (
        "alerts.rules.slo_burn_fast.enabled"
        in found[f"{metric}::alarms-svc-web-slo-burn-fast-short"].reason
    )
    assert "aws.certificate_arn" in found[f"{metric}::alarms-stack-certificate-expiry"].reason
    assert (
        "services.web.public"
        in found["aws:route53/healthCheck:HealthCheck::uptime-web-check"].reason
    )
    unexplained = compare_graphs(Level.RESOURCE, "staging", prod, staging, [])
    assert not any(d.allowed for d in unexplained)
