"""staging and prod (the aws target): the certificate's expiry alarm, the Route 53 health checks
with their us-east-1 alarms, and the SLO burn-rate alarms (`infra/targets/aws/alarms.py`,
`components/aws/{alarms,uptime,burn_rate}.py`), read from registrations recorded under mocks
from the real stack files, and from variants that change what the config may change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.alerts import CATALOG_BY_ID
from infra.config.layering import deep_merge
from infra.config.loader import stack_file_runtime_config
from infra.offline import MOCK_ACCOUNT
from tests.infra.targets.aws_stack import (
    ALARM,
    COMPOSITE_ALARM,
    HEALTH_CHECK,
    HOSTNAMES,
    PROVIDER_TYPE,
    ROOT,
    TOPIC,
    Evaluated,
    evaluate,
    id_name,
)

CERTIFICATES = {
    "staging": "arn:aws:acm:eu-west-1:111122223333:certificate/5f0e6b1c-staging",
    "prod": "arn:aws:acm:eu-west-1:444455556666:certificate/9a1d7c2e-prod",
}
SLO_WINDOWS = {"slo_burn_fast": (3600, 300, 14.4), "slo_burn_slow": (21600, 1800, 6.0)}
"""rule -> (long window s, short window s, burn rate)."""
LB_DIMENSIONS = {
    "LoadBalancer": "app/web-lb-alb/abc",
    "TargetGroup": "targetgroup/web-lb-targets/def",
}


def alarms(stack: Evaluated) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in stack.all(ALARM)}


def queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm["metricQueries"]}


def mock_topic_arn(name: str) -> str:
    return f"arn:aws:sns:eu-west-1:{MOCK_ACCOUNT}:{name}"


def staging_with(**changes: dict[str, Any]) -> Evaluated:
    """staging from its stack file, with `platform:<block>` changes merged in (mappings key by
    key, anything else replaced), as `pulumi config set --path` would."""
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    return evaluate(
        "staging",
        {
            f"platform:{block}": json.dumps(
                deep_merge(json.loads(runtime.get(f"platform:{block}", "{}")), change)
            )
            for block, change in changes.items()
        },
    )


@pytest.fixture(scope="module")
def tuned() -> Evaluated:
    """staging with every new setting moved off its default."""
    return staging_with(
        services={"web": {"slo": {"availability_percent": 99.5}}},
        alerts={
            "rules": {
                "certificate_expiry": {"threshold": 45},
                "slo_burn_slow": {"threshold": 4},
                "uptime_check_failing": {"enabled": False},
            }
        },
    )


# ---------------------------------------------------------------- certificate


def test_certificate_alarm_reads_the_stack_certificate_days_to_expiry(stack: Evaluated) -> None:
    name = stack.run.config.stack
    alarm = alarms(stack)[f"platform-{name}-stack-certificate_expiry"]
    (query,) = alarm["metricQueries"]
    metric = query["metric"]
    assert (metric["namespace"], metric["metricName"], metric["stat"]) == (
        "AWS/CertificateManager",
        "DaysToExpiry",
        "Minimum",
    )
    assert metric["dimensions"] == {"CertificateArn": CERTIFICATES[name]}
    assert metric["period"] == 86400  # ACM publishes one value a day
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (1, 1)
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 30)
    assert alarm["treatMissingData"] == "ignore"  # a late day keeps the state; expired stays
    assert alarm["alarmActions"] == [stack.run.outputs["alarmTopicArn"][0]] == alarm["okActions"]
    assert alarm["alarmDescription"].startswith("[warning] TLS certificate: ")
    assert alarm["alarmDescription"].endswith("/alert-certificate-expiry.md")


def test_no_public_service_no_certificate_uptime_or_slo_alarms() -> None:
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    aws = {**json.loads(runtime["platform:aws"]), "certificate_arn": None, "public_hostnames": {}}
    services = deep_merge(json.loads(runtime["platform:services"]), {"web": {"public": False}})
    private = evaluate(
        "staging", {"platform:aws": json.dumps(aws), "platform:services": json.dumps(services)}
    )
    names = set(alarms(private))
    assert names and not [n for n in names if "certificate_expiry" in n or "slo_burn" in n]
    assert not private.all(HEALTH_CHECK) and not private.all(COMPOSITE_ALARM)
    assert not private.all("platform:aws:UptimeChecks")


# ---------------------------------------------------------------- uptime


def test_one_health_check_per_public_service_on_its_host_name_and_readiness_path(
    stack: Evaluated,
) -> None:
    name = stack.run.config.stack
    (check,) = stack.all(HEALTH_CHECK)  # web is the only public service
    assert check.name == "uptime-web-check"
    assert check.inputs == {
        "type": "HTTPS",
        "fqdn": HOSTNAMES[name],
        "port": 443,
        "resourcePath": "/api/ready",
        "requestInterval": 30,
        "failureThreshold": 3,
        "enableSni": True,
        "tags": {"Name": f"platform-{name}-web", "service": "web"},
    }  # no `regions`: Route 53's default checker regions
    # checkers start once the service exists: a component dependency waits for its children
    web_service = stack.one("aws:ecs/service:Service", "web-service")
    assert web_service.urn in check.dependencies


def test_uptime_alarm_is_in_us_east_1_with_a_topic_there(stack: Evaluated) -> None:
    cfg = stack.run.config
    alarm = alarms(stack)[f"platform-{cfg.stack}-svc-web-uptime_check_failing"]
    (query,) = alarm["metricQueries"]
    metric = query["metric"]
    assert (metric["namespace"], metric["metricName"], metric["stat"]) == (
        "AWS/Route53",
        "HealthCheckStatus",
        "Minimum",
    )
    assert id_name(metric["dimensions"]["HealthCheckId"]) == "uptime-web-check"
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    assert alarm["evaluationPeriods"] == CATALOG_BY_ID["uptime_check_failing"].window_minutes
    assert alarm["treatMissingData"] == "breaching"
    assert alarm["region"] == "us-east-1"
    topic = stack.one(TOPIC, "uptime-topic").inputs
    assert topic == {"name": f"platform-{cfg.stack}-uptime-alerts", "region": "us-east-1"}
    assert alarm["alarmActions"] == [mock_topic_arn("uptime-topic")] == alarm["okActions"]
    subscriptions = [
        s.inputs
        for s in stack.all("aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("uptime-email-")
    ]
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(cfg.alerts.notify_emails)
    assert all(s["region"] == "us-east-1" for s in subscriptions)
    assert len(stack.all(PROVIDER_TYPE)) == 1  # region per resource, through the one provider


def test_a_stack_in_us_east_1_notifies_its_own_topic() -> None:
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    aws = json.loads(runtime["platform:aws"])
    aws["region"] = "us-east-1"
    aws["certificate_arn"] = aws["certificate_arn"].replace("eu-west-1", "us-east-1")
    east = evaluate("staging", {"platform:aws": json.dumps(aws), "aws:region": "us-east-1"})
    assert [t.name for t in east.all(TOPIC)] == ["alarms-topic"]
    alarm = alarms(east)["platform-staging-svc-web-uptime_check_failing"]
    assert alarm["alarmActions"] == [mock_topic_arn("alarms-topic")]


# ---------------------------------------------------------------- SLO


@pytest.mark.parametrize("rule_id", sorted(SLO_WINDOWS))
def test_slo_alarms_per_public_service_pair_their_windows(stack: Evaluated, rule_id: str) -> None:
    prefix = f"platform-{stack.run.config.stack}-svc-web-{rule_id}"
    long_s, short_s, burn = SLO_WINDOWS[rule_id]
    by_name = alarms(stack)
    windows = {}
    for seconds in (long_s, short_s):
        window = f"{seconds // 3600}h" if seconds >= 3600 else f"{seconds // 60}m"
        alarm = by_name[f"{prefix}-{window}"]
        metrics = queries(alarm)
        assert {
            q["metric"]["metricName"]: (q["metric"]["stat"], q["metric"]["period"])
            for q in metrics.values()
            if "metric" in q
        } == {
            "RequestCount": ("Sum", seconds),
            "HTTPCode_Target_5XX_Count": ("Sum", seconds),
            "HTTPCode_ELB_5XX_Count": ("Sum", seconds),
        }
        assert all(
            q["metric"]["dimensions"] == LB_DIMENSIONS for q in metrics.values() if "metric" in q
        )
        value = metrics["value"]
        assert value["returnData"] is True
        assert value["expression"].endswith("/ 0.001")  # the burn rate of a 99.9 % objective
        assert [q["id"] for q in metrics.values() if q.get("returnData")] == ["value"]
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (1, 1)
        assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanThreshold", burn)
        assert alarm["treatMissingData"] == "notBreaching"
        assert "alarmActions" not in alarm  # the composite notifies
        windows[window] = alarm["name"]
    (composite,) = [c.inputs for c in stack.all(COMPOSITE_ALARM) if c.inputs["alarmName"] == prefix]
    long_name, short_name = windows.values()
    assert composite["alarmRule"] == f'ALARM("{long_name}") AND ALARM("{short_name}")'
    topic = stack.run.outputs["alarmTopicArn"][0]
    assert composite["alarmActions"] == [topic] == composite["okActions"]
    assert composite["alarmDescription"].startswith("[critical] web (99.9% objective): ")
    assert composite["alarmDescription"].endswith("/alert-slo-burn-rate.md")
    assert not [
        n for n in by_name if n.startswith(f"platform-{stack.run.config.stack}-svc-worker-slo")
    ]


def test_the_error_ratio_counts_balancer_5xx_and_never_exceeds_one(stack: Evaluated) -> None:
    alarm = alarms(stack)[f"platform-{stack.run.config.stack}-svc-web-slo_burn_fast-1h"]
    metrics = queries(alarm)
    assert metrics["served"]["expression"] == "FILL(requests, 0)"
    assert metrics["errors"]["expression"] == "FILL(target_5xx, 0) + FILL(elb_5xx, 0)"
    assert metrics["value"]["expression"] == (
        "IF(errors > served, 1, IF(served > 0, errors / served, 0)) / 0.001"
    )


# ---------------------------------------------------------------- from config


def test_thresholds_objectives_and_enablement_come_from_config(tuned: Evaluated) -> None:
    by_name = alarms(tuned)
    assert by_name["platform-staging-stack-certificate_expiry"]["threshold"] == 45
    for window, burn in (("6h", 4), ("30m", 4), ("1h", 14.4), ("5m", 14.4)):
        rule = "slo_burn_slow" if window in ("6h", "30m") else "slo_burn_fast"
        alarm = by_name[f"platform-staging-svc-web-{rule}-{window}"]
        assert alarm["threshold"] == burn
        assert queries(alarm)["value"]["expression"].endswith("/ 0.005")  # 99.5 %
    composite = {c.inputs["alarmName"]: c.inputs for c in tuned.all(COMPOSITE_ALARM)}
    assert (
        "(99.5% objective)"
        in composite["platform-staging-svc-web-slo_burn_slow"]["alarmDescription"]
    )
    # uptime disabled: no health check, no us-east-1 topic, no alarm, no component
    assert not tuned.all(HEALTH_CHECK)
    assert [t.name for t in tuned.all(TOPIC)] == ["alarms-topic"]
    assert not [n for n in by_name if n.endswith("uptime_check_failing")]
    assert not tuned.all("platform:aws:UptimeChecks")
