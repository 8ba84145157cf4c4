"""staging and prod (the aws target): CloudWatch alarms for the alert catalog and the stack's
outputs (`infra/targets/aws/alarms.py`, `outputs.py`), read from the registrations recorded
under mocks (fixtures in conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from components.alerts import CATALOG, CATALOG_BY_ID, Scope, duration, effective_rules
from components.aws.alarms import CLOUDWATCH, DOCKER_ONLY, Source
from infra.offline import MOCK_ACCOUNT, StackRun, run_stack
from infra.targets.monitoring import rule_settings
from infractl.verify.outputs import parse_outputs
from tests.infra.targets.aws_stack import (
    ALARM,
    ALB_DNS_NAME,
    HOSTNAMES,
    ROOT,
    TOPIC,
    VAULT,
    Evaluated,
)

# ---------------------------------------------------------------- alarms


def test_every_catalog_rule_maps_to_an_alarm_or_is_docker_only() -> None:
    ids = {rule.id for rule in CATALOG}
    assert set(CLOUDWATCH) | set(DOCKER_ONLY) == ids
    assert not set(CLOUDWATCH) & set(DOCKER_ONLY)
    for rule_id, reason in DOCKER_ONLY.items():
        assert len(reason) > 40, f"{rule_id}: say why AWS cannot alert on it"
    for rule_id, specs in CLOUDWATCH.items():
        assert specs, rule_id
    # AWS Backup's job counts gave the last docker-only rule an alarm.
    assert "backup_too_old" in CLOUDWATCH and not DOCKER_ONLY


def expected_alarms(run: StackRun) -> dict[str, str]:
    """alarm name -> rule id: one alarm per rule per service/database it applies to; an SLO rule
    has one per window (its composite alarm notifies, test_aws_slo_uptime_alarms.py)."""
    cfg = run.config
    public = [name for name, service in cfg.services.items() if service.public]
    expected: dict[str, str] = {}
    for rule in effective_rules(rule_settings(cfg)):
        for spec in CLOUDWATCH.get(rule.id, ()):
            if spec.source in (Source.RDS, Source.BACKUP):
                targets = ["db"]
            elif spec.source is Source.CERTIFICATE:
                targets = ["stack"]
            elif spec.source in (Source.ALB, Source.HEALTH_CHECK):
                targets = [f"svc-{name}" for name in public]
            else:
                targets = [f"svc-{name}" for name in cfg.services]
            windows = [rule.window_minutes, rule.short_window_minutes] if rule.slo else [None]
            for target in targets:
                for window in windows:
                    suffix = f"-{duration(window)}" if window else ""
                    expected[f"platform-{cfg.stack}-{target}-{rule.id}{suffix}"] = rule.id
    return expected


def test_one_alarm_per_rule_and_scope_each_with_its_runbook_and_the_topic(
    stack: Evaluated,
) -> None:
    cfg = stack.run.config
    alarms = {a.inputs["name"]: a.inputs for a in stack.all(ALARM)}
    expected = expected_alarms(stack.run)
    assert set(alarms) == set(expected)
    # web: 6 + uptime + 2 x 2 SLO windows; worker: 3; the database and its backups: 4; the
    # certificate: 1
    assert len(alarms) == 19
    rules = {rule.id: rule for rule in CATALOG}
    topic_arn = stack.run.outputs["alarmTopicArn"][0]
    (uptime_topic,) = [t.inputs for t in stack.all(TOPIC) if t.name == "uptime-topic"]
    for name, inputs in alarms.items():
        rule = rules[expected[name]]
        if rule.slo:  # a window of a composite alarm: test_aws_slo_uptime_alarms.py
            assert "alarmActions" not in inputs and "okActions" not in inputs, name
            continue
        assert f"{cfg.alerts.runbook_base_url}/{rule.runbook}.md" in inputs["alarmDescription"]
        assert inputs["alarmDescription"].startswith(f"[{rule.severity}]")
        if rule.id == "uptime_check_failing":  # Route 53's metrics are in us-east-1 only
            assert inputs["region"] == uptime_topic["region"] == "us-east-1"
            assert inputs["alarmActions"] == [topic_arn_of("uptime-topic")] == inputs["okActions"]
        else:
            assert "region" not in inputs  # the provider's
            assert inputs["alarmActions"] == [topic_arn] == inputs["okActions"]
        one_period = rule.id in ("backup_too_old", "certificate_expiry")  # their own tests
        assert inputs["evaluationPeriods"] == (1 if one_period else rule.window_minutes)
    for rule_id in DOCKER_ONLY:
        assert not [n for n in alarms if n.endswith(f"-{rule_id}")]
    covered = {rule_id for rule_id in expected.values()}
    assert covered | set(DOCKER_ONLY) == {rule.id for rule in CATALOG}
    service_rules = {r.id for r in CATALOG if r.scope is Scope.SERVICE and not r.http_only}
    for rule_id in service_rules:
        assert f"platform-{cfg.stack}-svc-worker-{rule_id}" in alarms

    emails = stack.all("aws:sns/topicSubscription:TopicSubscription")
    for topic in ("alarms", "uptime"):  # the same addresses on both topics
        mine = [e for e in emails if e.name.startswith(f"{topic}-email-")]
        assert sorted(e.inputs["endpoint"] for e in mine) == sorted(cfg.alerts.notify_emails)
    assert all(e.inputs["protocol"] == "email" for e in emails)


def topic_arn_of(topic: str) -> str:
    """The mock's ARN for the SNS topic registered as `topic` (infra/offline.py)."""
    return f"arn:aws:sns:eu-west-1:{MOCK_ACCOUNT}:{topic}"


def test_alarms_read_the_right_metrics_in_the_right_units(stack: Evaluated) -> None:
    cfg = stack.run.config
    prefix = f"platform-{cfg.stack}"
    alarms = {a.inputs["name"]: a.inputs for a in stack.all(ALARM)}

    def metrics(name: str) -> dict[str, dict[str, Any]]:
        return {q["id"]: q for q in alarms[name]["metricQueries"]}

    error_rate = metrics(f"{prefix}-svc-web-high_error_rate")
    assert error_rate["errors"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert error_rate["requests"]["metric"]["metricName"] == "RequestCount"
    assert "errors" in error_rate["value"]["expression"]
    assert "requests" in error_rate["value"]["expression"]
    assert error_rate["value"]["returnData"] is True
    assert not error_rate["errors"].get("returnData")
    dims = error_rate["errors"]["metric"]["dimensions"]
    assert dims == {
        "LoadBalancer": "app/web-lb-alb/abc",
        "TargetGroup": "targetgroup/web-lb-targets/def",
    }

    latency = alarms[f"{prefix}-svc-web-high_latency_p95"]
    assert metrics(f"{prefix}-svc-web-high_latency_p95")["m"]["metric"]["stat"] == "p95"
    assert latency["threshold"] == pytest.approx(0.8)  # 800 ms in seconds

    cpu = metrics(f"{prefix}-svc-worker-high_cpu")["m"]["metric"]
    assert (cpu["namespace"], cpu["metricName"]) == ("AWS/ECS", "CPUUtilization")
    assert cpu["dimensions"] == {"ClusterName": prefix, "ServiceName": "worker"}
    memory = metrics(f"{prefix}-svc-web-high_memory")["m"]["metric"]
    assert memory["metricName"] == "MemoryUtilization"

    restarts = metrics(f"{prefix}-svc-web-container_restarts")
    assert restarts["running"]["metric"]["namespace"] == "ECS/ContainerInsights"
    assert restarts["running"]["metric"]["metricName"] == "RunningTaskCount"
    assert alarms[f"{prefix}-svc-web-container_restarts"]["datapointsToAlarm"] == 4

    healthy = metrics(f"{prefix}-svc-web-unhealthy_targets")["m"]["metric"]
    assert healthy["metricName"] == "HealthyHostCount"
    assert alarms[f"{prefix}-svc-web-unhealthy_targets"]["comparisonOperator"] == (
        "LessThanThreshold"
    )

    db = cfg.database
    connections = alarms[f"{prefix}-db-db_connections_high"]
    assert connections["threshold"] == pytest.approx(0.8 * db.max_connections)
    storage = alarms[f"{prefix}-db-db_storage_low"]
    assert storage["threshold"] == pytest.approx(0.15 * db.allocated_storage_gb * 1024**3)
    rds_cpu = metrics(f"{prefix}-db-high_cpu")["m"]["metric"]
    assert rds_cpu["namespace"] == "AWS/RDS"
    assert rds_cpu["dimensions"] == {"DBInstanceIdentifier": f"{prefix}-db"}


def test_backup_age_alarm_counts_completed_jobs_in_the_vault_over_the_rule_span(
    stack: Evaluated,
) -> None:
    prefix = f"platform-{stack.run.config.stack}"
    alarm = {a.inputs["name"]: a.inputs for a in stack.all(ALARM)}[f"{prefix}-db-backup_too_old"]
    (query,) = alarm["metricQueries"]
    metric = query["metric"]
    assert (metric["namespace"], metric["metricName"], metric["stat"]) == (
        "AWS/Backup",
        "NumberOfBackupJobsCompleted",
        "Sum",
    )
    vault = stack.one(VAULT, "db-backups-vault").inputs["name"]
    assert (
        metric["dimensions"]
        == {"BackupVaultName": vault}
        == {"BackupVaultName": f"{prefix}-db-backups"}
    )
    rule = CATALOG_BY_ID["backup_too_old"]
    # No completed job in threshold + window (26 h + 30 min) is when the Prometheus rule fires.
    assert metric["period"] == rule.threshold * 3600 + rule.window_minutes * 60 == 95_400
    assert metric["period"] % 60 == 0
    assert metric["period"] * alarm["evaluationPeriods"] <= 7 * 24 * 3600  # CloudWatch's limit
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (1, 1)
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    assert alarm["treatMissingData"] == "breaching"  # no job at all is no backup
    assert "alert-backup-age.md" in alarm["alarmDescription"]


# ---------------------------------------------------------------- outputs


def test_outputs_follow_the_contract_and_only_the_url_is_secret(stack: Evaluated) -> None:
    outputs = stack.run.outputs
    cfg = stack.run.config
    assert set(outputs) == {
        "stack",
        "environment",
        "target",
        "serviceUrls",
        "loadBalancerDnsNames",
        "readinessPaths",
        "clusterName",
        "serviceNames",
        "databaseEndpoint",
        "databaseHost",
        "databasePort",
        "databaseName",
        "databaseUrl",
        "secretArns",
        "alarmTopicArn",
        "imageRepositories",
    }
    assert {key for key, (_, secret) in outputs.items() if secret} == {"databaseUrl"}
    values = {key: value for key, (value, _) in outputs.items()}
    # The certificate covers the product's host name, not the ALB's: verify must come in by it.
    assert values["serviceUrls"] == {"web": f"https://{HOSTNAMES[cfg.stack]}"}
    assert values["loadBalancerDnsNames"] == {"web": ALB_DNS_NAME}
    assert values["readinessPaths"] == {"web": "/api/ready"}
    assert values["clusterName"] == f"platform-{cfg.stack}"
    assert values["serviceNames"] == {"web": "web", "worker": "worker"}
    assert values["databaseEndpoint"] == f"{values['databaseHost']}:5432"
    assert values["databasePort"] == 5432
    assert values["databaseName"] == "shop"
    assert values["databaseUrl"].startswith("postgresql://shop_app:")
    assert values["databaseUrl"].endswith(f"@{values['databaseHost']}:5432/shop?sslmode=require")
    assert set(values["secretArns"]) == {
        "payments_api_key",
        "email_api_key",
        "session_secret",
        "database/app_url",
        "database/owner_url",
    }
    assert all(arn.startswith("arn:aws:secretsmanager:") for arn in values["secretArns"].values())
    assert values["alarmTopicArn"].startswith("arn:aws:sns:")
    assert set(values["imageRepositories"]) == set(cfg.services)  # URLs: test_aws_registry.py
    parsed = parse_outputs(values)  # what `infractl verify` reads after `pulumi up`
    assert parsed.target == "aws" and parsed.database_port == 5432


def test_output_keys_shared_with_docker_mean_the_same(stack: Evaluated, dev: StackRun) -> None:
    shared = set(stack.run.outputs) & set(dev.outputs)
    assert {"serviceUrls", "readinessPaths", "databaseHost", "databasePort", "databaseName"} <= (
        shared
    )
    for key in shared:
        aws_value, aws_secret = stack.run.outputs[key]
        dev_value, dev_secret = dev.outputs[key]
        assert type(aws_value) is type(dev_value), key
        assert aws_secret == dev_secret, key
        if isinstance(aws_value, dict):
            assert set(aws_value) == set(dev_value), key


@pytest.fixture(scope="module")
def dev() -> StackRun:
    return run_stack(ROOT, "dev")
