"""staging and prod (the aws target): the ECS services, their public names, and the secrets they
receive by reference (`infra/targets/aws/services.py`, `secrets.py`), read from the
registrations recorded under mocks (fixtures in conftest.py)."""

from __future__ import annotations

import json
import re

from pulumi.runtime import rpc

from components.probes import HttpProbeSpec, alb_health_check, ecs_health_check
from infra.config.secrets import placeholder
from infra.offline import ALB_ZONE_ID
from infra.targets.monitoring import probe_spec
from tests.infra.targets.aws_stack import (
    ALB,
    ALB_DNS_NAME,
    ECS_SERVICE,
    HOSTNAMES,
    LEAK_MARKERS,
    RECORD,
    ROLE_POLICY,
    SECRET,
    SECRET_VERSION,
    TASK_DEFINITION,
    ZONES,
    Evaluated,
    arn_name,
    camel,
    containers,
    non_secret_strings,
    plain,
)

ECR_SIDS = ("EcrLogin", "EcrPull")

# ---------------------------------------------------------------- public names


def test_the_public_hostname_is_an_alias_record_to_the_alb_in_the_configured_zone(
    stack: Evaluated,
) -> None:
    (record,) = stack.all(RECORD)
    assert record.name == "web-lb-dns"
    assert record.parent == stack.run.named("web-lb").urn
    assert stack.run.named("web-lb").type == "platform:aws:LoadBalancer"
    inputs = record.inputs
    assert (inputs["zoneId"], inputs["name"], inputs["type"]) == (
        ZONES[stack.run.config.stack],
        HOSTNAMES[stack.run.config.stack],
        "A",
    )
    assert "records" not in inputs and "ttl" not in inputs  # an alias, not a fixed address
    (alias,) = inputs["aliases"]
    # The alias follows the ALB's own DNS name and canonical zone, as the ALB reports them.
    assert alias == {"name": ALB_DNS_NAME, "zoneId": ALB_ZONE_ID, "evaluateTargetHealth": True}
    assert stack.one(ALB, "web-lb-alb").urn in record.dependencies


def test_without_a_zone_dns_is_left_to_its_owner_and_the_url_keeps_the_hostname(
    variant: Evaluated,
) -> None:
    assert not variant.all(RECORD)
    assert variant.run.outputs["serviceUrls"][0] == {"web": f"https://{HOSTNAMES['staging']}"}
    assert variant.run.outputs["loadBalancerDnsNames"][0] == {"web": ALB_DNS_NAME}


# ---------------------------------------------------------------- services


def test_rollouts_are_safe_and_scaled_by_cpu(stack: Evaluated) -> None:
    cfg = stack.run.config
    for name, service in cfg.services.items():
        ecs = stack.one(ECS_SERVICE, f"{name}-service")
        inputs = ecs.inputs
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert inputs["deploymentMinimumHealthyPercent"] == 100
        assert inputs["deploymentMaximumPercent"] == 200
        assert inputs["launchType"] == "FARGATE"
        assert inputs["desiredCount"] == service.replicas
        assert arn_name(inputs["cluster"]) == "cluster-ecs"
        assert service.autoscaling is not None
        assert stack.ignore_changes[(ECS_SERVICE, f"{name}-service")] == ["desiredCount"]
        target = stack.one("aws:appautoscaling/target:Target", f"{name}-scaling").inputs
        assert target["resourceId"] == f"service/platform-{cfg.stack}/{name}"
        assert (target["minCapacity"], target["maxCapacity"]) == (
            service.autoscaling.min_replicas,
            service.autoscaling.max_replicas,
        )
        policy = stack.one("aws:appautoscaling/policy:Policy", f"{name}-cpu-target").inputs
        tracking = policy["targetTrackingScalingPolicyConfiguration"]
        assert policy["policyType"] == "TargetTrackingScaling"
        assert (
            tracking["predefinedMetricSpecification"]["predefinedMetricType"]
            == "ECSServiceAverageCPUUtilization"
        )
        assert tracking["targetValue"] == service.autoscaling.cpu_target_percent
        if service.public:
            assert inputs["healthCheckGracePeriodSeconds"] == service.health_check_grace_seconds
            (lb,) = inputs["loadBalancers"]
            assert (lb["containerName"], lb["containerPort"]) == (name, service.port)
            listener = stack.one("aws:lb/listener:Listener", "web-lb-https")
            assert listener.urn in ecs.dependencies
        else:
            assert "healthCheckGracePeriodSeconds" not in inputs
            assert not inputs.get("loadBalancers")


def test_without_autoscaling_pulumi_owns_the_desired_count(variant: Evaluated) -> None:
    assert variant.ignore_changes[(ECS_SERVICE, "worker-service")] == []
    assert not [r for r in variant.run.resources if r.name.startswith("worker-scaling")]
    assert variant.ignore_changes[(ECS_SERVICE, "web-service")] == ["desiredCount"]


def test_migration_runs_first_and_must_succeed(stack: Evaluated) -> None:
    web = containers(stack, "web")
    assert list(web) == ["migrate", "web"]
    migrate = web["migrate"]
    assert migrate["essential"] is False
    assert migrate["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert web["web"]["essential"] is True
    assert web["web"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert list(containers(stack, "worker")) == ["worker"]


def test_containers_take_probe_size_and_logs_from_config(stack: Evaluated) -> None:
    cfg = stack.run.config
    assert cfg.aws is not None
    for name, service in cfg.services.items():
        task = stack.one(TASK_DEFINITION, f"{name}-task").inputs
        assert (task["cpu"], task["memory"]) == (str(service.cpu), str(service.memory_mb))
        assert task["networkMode"] == "awsvpc" and task["requiresCompatibilities"] == ["FARGATE"]
        container = containers(stack, name)[name]
        assert container["healthCheck"] == ecs_health_check(probe_spec(service))
        assert container["image"] == service.image
        logs = container["logConfiguration"]
        assert logs["logDriver"] == "awslogs"
        assert logs["options"]["awslogs-group"] == f"/ecs/platform-{cfg.stack}-{name}"
        group = stack.one("aws:cloudwatch/logGroup:LogGroup", f"{name}-logs").inputs
        assert group["retentionInDays"] == cfg.aws.log_retention_days

    probe = probe_spec(cfg.services["web"])
    assert isinstance(probe, HttpProbeSpec)
    targets = stack.one("aws:lb/targetGroup:TargetGroup", "web-lb-targets").inputs
    assert targets["targetType"] == "ip" and targets["port"] == probe.port
    expected = {camel(k): v for k, v in alb_health_check(probe).items()}
    assert targets["healthCheck"] == expected
    https = stack.one("aws:lb/listener:Listener", "web-lb-https").inputs
    assert https["protocol"] == "HTTPS" and https["port"] == 443
    assert https["certificateArn"] == cfg.aws.certificate_arn
    assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_secrets_reach_containers_only_by_reference(stack: Evaluated) -> None:
    cfg = stack.run.config
    for name, service in cfg.services.items():
        rendered = stack.one(TASK_DEFINITION, f"{name}-task").inputs["containerDefinitions"]
        for marker in (*LEAK_MARKERS, *(placeholder(s) for s in cfg.secrets)):
            assert marker not in rendered, f"{name}: {marker!r} in its container definitions"
        for container in json.loads(rendered):
            env_names = {item["name"] for item in container["environment"]}
            assert not env_names & (set(service.secrets) | {"DATABASE_URL"}), container["name"]
            for item in container["secrets"]:
                assert item["valueFrom"].startswith("arn:aws:secretsmanager:"), item
                assert re.fullmatch(r"arn:[^ ]+:::[0-9a-f]{32}", item["valueFrom"]), item
        app = {
            s["name"]: arn_name(s["valueFrom"]) for s in containers(stack, name)[name]["secrets"]
        }
        expected = {env: f"app-secrets-{s.replace('_', '-')}" for env, s in service.secrets.items()}
        assert app == {**expected, "DATABASE_URL": "db-secrets-app-url"}
    migrate = containers(stack, "web")["migrate"]
    assert [(s["name"], arn_name(s["valueFrom"])) for s in migrate["secrets"]] == [
        ("DATABASE_URL", "db-secrets-owner-url")
    ]


def test_secret_values_stay_secret_everywhere(stack: Evaluated) -> None:
    for version in stack.all(SECRET_VERSION):
        assert rpc.is_rpc_secret(version.inputs["secretString"]), version.name
    prefix = f"platform-{stack.run.config.stack}"
    assert {r.inputs["name"] for r in stack.all(SECRET)} == {
        f"{prefix}/payments_api_key",
        f"{prefix}/email_api_key",
        f"{prefix}/session_secret",
        f"{prefix}/database/app_url",
        f"{prefix}/database/owner_url",
    }
    for resource in stack.run.resources:
        for text in non_secret_strings(dict(resource.inputs)):
            for marker in LEAK_MARKERS:
                assert marker not in text, f"{resource.name} carries {marker!r} in the clear"
    for key, (value, secret) in stack.run.outputs.items():
        if not secret:
            assert not any(m in json.dumps(value) for m in LEAK_MARKERS), key
    versions = {r.name: plain(r.inputs["secretString"]) for r in stack.all(SECRET_VERSION)}
    assert versions["app-secrets-session-secret-value"] == "mock-password-secrets-session-secret"
    assert versions["app-secrets-payments-api-key-value"] == placeholder("payments_api_key")
    assert versions["db-secrets-app-url-value"].startswith("postgresql://shop_app:")
    assert versions["db-secrets-owner-url-value"].startswith("postgresql://shop_owner:")


def test_each_execution_role_reads_only_its_own_services_secrets(stack: Evaluated) -> None:
    cfg = stack.run.config
    policies = {r.name: json.loads(r.inputs["policy"]) for r in stack.all(ROLE_POLICY)}
    assert set(policies) == {f"{name}-execution" for name in cfg.services}
    for name, service in cfg.services.items():
        statements = {s["Sid"]: s for s in policies[f"{name}-execution"]["Statement"]}
        # ECR pulls: test_aws_registry.py
        assert {"Logs", "OwnSecrets"} <= set(statements) <= {"Logs", "OwnSecrets", *ECR_SIDS}
        secrets = statements["OwnSecrets"]
        assert secrets["Action"] == ["secretsmanager:GetSecretValue"]
        granted = {arn_name(arn) for arn in secrets["Resource"]}
        expected = {f"app-secrets-{s.replace('_', '-')}" for s in service.secrets.values()}
        expected |= {"db-secrets-app-url"}
        if service.migration is not None:
            expected |= {"db-secrets-owner-url"}
        assert granted == expected, name
        assert statements["Logs"]["Resource"].endswith(f"{name}-logs:*")
        assert "*" not in json.dumps(secrets)
    worker = policies["worker-execution"]["Statement"][1]["Resource"]
    assert not any("session" in arn or "owner" in arn for arn in worker)
    for service in cfg.services:
        task_role = stack.one("aws:iam/role:Role", f"{service}-task")
        assert not [
            r for r in stack.run.resources if task_role.urn in r.dependencies and "iam" in r.type
        ], "the task role has no policies"


def test_task_definitions_wait_for_their_execution_policy(stack: Evaluated) -> None:
    for name in stack.run.config.services:
        task = stack.one(TASK_DEFINITION, f"{name}-task")
        policy = stack.one("aws:iam/rolePolicy:RolePolicy", f"{name}-execution")
        assert policy.urn in task.dependencies, name
