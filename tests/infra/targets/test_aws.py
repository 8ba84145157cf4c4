"""staging and prod (the aws target), evaluated under mocks from the real stack files.

Each stack is evaluated once per module (about two seconds each) and every test reads the
recorded registrations: placement, reachability, rollout safety, secrets by reference, IAM scope,
database protection per environment, tags, alarms and outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi.runtime import rpc

from components.alerts import CATALOG, CATALOG_BY_ID, Scope, effective_rules
from components.aws.alarms import CLOUDWATCH, DOCKER_ONLY, Source
from components.aws.backup import MANAGED_POLICIES
from components.probes import HttpProbeSpec, alb_health_check, ecs_health_check
from infra.config.loader import stack_file_runtime_config
from infra.config.secrets import placeholder
from infra.offline import ALB_ZONE_ID, Registration, StackRun, run_stack
from infra.targets.common import probe_spec, rule_settings
from infractl.verify.outputs import parse_outputs
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
AWS_STACKS = ("staging", "prod")
ANYWHERE = "0.0.0.0/0"
PROVIDER_TYPE = "pulumi:providers:aws"
SUBNET = "aws:ec2/subnet:Subnet"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RDS = "aws:rds/instance:Instance"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
VAULT = "aws:backup/vault:Vault"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ALB = "aws:lb/loadBalancer:LoadBalancer"
RECORD = "aws:route53/record:Record"
ALB_DNS_NAME = "web-lb-alb-1234567890.eu-west-1.elb.amazonaws.com"
"""The mock's DNS name for the web ALB (never a name the certificate covers)."""
HOSTNAMES = {"staging": "staging.shop.acme.example", "prod": "shop.acme.example"}
ZONES = {"staging": "Z0718245QX3N9STGSHOP", "prod": "Z0491736K2WJ8PRDSHOP"}
LEAK_MARKERS = ("mock-password-", "mock-rds-master-password", "[placeholder", "postgresql://")


# ---------------------------------------------------------------- fixtures and helpers


@dataclass(frozen=True)
class Evaluated:
    run: StackRun

    @property
    def ignore_changes(self) -> dict[tuple[str, str], list[str]]:
        """(type, name) -> the ignoreChanges the program registered."""
        return {(r.type, r.name): list(r.ignore_changes) for r in self.run.resources}

    def one(self, type_: str, name: str) -> Registration:
        (match,) = [r for r in self.run.resources if r.type == type_ and r.name == name]
        return match

    def all(self, type_: str) -> list[Registration]:
        return self.run.by_type(type_)


def evaluate(stack: str, overrides: dict[str, str] | None = None) -> Evaluated:
    return Evaluated(run=run_stack(ROOT, stack, config_overrides=overrides))


@pytest.fixture(scope="module")
def evaluated() -> dict[str, Evaluated]:
    return {stack: evaluate(stack) for stack in AWS_STACKS}


@pytest.fixture(params=AWS_STACKS)
def stack(request: pytest.FixtureRequest, evaluated: dict[str, Evaluated]) -> Evaluated:
    return evaluated[request.param]


@pytest.fixture(scope="module")
def variant() -> Evaluated:
    """staging through an SSM tunnel, with the worker at a fixed count (no autoscaling) and its
    DNS managed outside the stack (no Route 53 zone)."""
    runtime, _ = stack_file_runtime_config(ROOT / "Pulumi.staging.yaml")
    aws = {**json.loads(runtime["platform:aws"]), "route53_zone_id": None}
    return evaluate(
        "staging",
        {
            "platform:aws": json.dumps(aws),
            "platform:database": json.dumps(
                {"admin_endpoint": {"host": "127.0.0.1", "port": 15432}}
            ),
            "platform:services": json.dumps(
                {
                    "web": {"replicas": 2, "autoscaling": {"min_replicas": 2, "max_replicas": 4}},
                    "worker": {"replicas": 1},
                }
            ),
        },
    )


def plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def id_name(mock_id: str) -> str:
    """The resource name inside a mock id (`<name>-<8 hex>`)."""
    return mock_id.rsplit("-", 1)[0]


def arn_name(arn: str) -> str:
    """The resource name at the end of a mock ARN (a `valueFrom` may pin `:::<version-id>`)."""
    return arn.split(":::", 1)[0].rsplit(":", 1)[1]


def non_secret_strings(value: Any) -> Iterator[str]:
    """Every string reachable without opening a secret."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from non_secret_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from non_secret_strings(item)


def containers(stack: Evaluated, service: str) -> dict[str, dict[str, Any]]:
    rendered = stack.one(TASK_DEFINITION, f"{service}-task").inputs["containerDefinitions"]
    return {c["name"]: c for c in json.loads(rendered)}


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


# ---------------------------------------------------------------- shape


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


def test_every_resource_sits_under_a_component_and_uses_the_explicit_provider(
    stack: Evaluated,
) -> None:
    (provider,) = stack.all(PROVIDER_TYPE)
    urns = {r.urn: r for r in stack.run.resources}
    for resource in stack.run.resources:
        if not resource.custom:
            continue
        if resource.type.startswith("aws:"):
            assert resource.provider.startswith(f"{provider.urn}::"), resource.name
        if resource.type.startswith("pulumi:providers:") and resource.name == "aws":
            continue
        parent = urns.get(resource.parent)
        assert parent is not None and not parent.custom, f"{resource.name} has no component"
        assert resource.name.startswith(f"{parent.name}-"), (resource.name, parent.name)
    components = {r.type for r in stack.run.resources if not r.custom}
    assert components == {
        "platform:secrets:SecretValues",
        "platform:aws:Network",
        "platform:aws:Database",
        "platform:aws:DatabaseBackups",
        "platform:postgres:DatabaseAccess",
        "platform:aws:SecretStore",
        "platform:aws:Cluster",
        "platform:aws:Service",
        "platform:aws:LoadBalancer",
        "platform:aws:Alarms",
    }
    assert not [r for r in stack.run.resources if r.type.startswith("awsx:")]


def test_tags_are_set_once_on_the_provider_plus_service_tags(stack: Evaluated) -> None:
    (provider,) = stack.all(PROVIDER_TYPE)
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["environment"] == stack.run.config.environment
    assert tags["managed-by"] == "pulumi"
    assert provider.inputs["region"] == "eu-west-1"
    services = set(stack.run.config.services)
    urns = {r.urn: r for r in stack.run.resources}
    for resource in stack.run.resources:
        if not resource.type.startswith("aws:"):
            continue
        own = resource.inputs.get("tags") or {}
        assert "environment" not in own and "managed-by" not in own, resource.name
        component = urns[resource.parent]
        while component.type == "platform:aws:LoadBalancer":
            component = urns[component.parent]
        if component.type == "platform:aws:Service":
            if "tags" in resource.inputs:
                assert own == {"service": component.name}, resource.name
        elif own.get("service") is not None:
            assert resource.type == ALARM and own["service"] in services, resource.name
    tagged = {r.name for r in stack.run.resources if (r.inputs.get("tags") or {}).get("service")}
    assert {"web-service", "web-task", "web-lb-alb", "web-logs", "worker-execution"} <= tagged


# ---------------------------------------------------------------- network


def test_subnets_span_the_configured_zones_with_lb_public_and_the_rest_private(
    stack: Evaluated,
) -> None:
    zones = stack.run.config.aws.availability_zones  # type: ignore[union-attr]
    subnets = stack.all(SUBNET)
    public = {s.name for s in subnets if s.inputs["tags"]["tier"] == "public"}
    private = {s.name for s in subnets if s.inputs["tags"]["tier"] == "private"}
    assert len(public) == len(private) == zones
    assert len({s.inputs["availabilityZone"] for s in subnets}) == zones
    assert not any(s.inputs["mapPublicIpOnLaunch"] for s in subnets)

    alb = stack.one("aws:lb/loadBalancer:LoadBalancer", "web-lb-alb")
    assert {id_name(i) for i in alb.inputs["subnets"]} == public
    assert alb.inputs["internal"] is False
    for service in ("web", "worker"):
        network = stack.one(ECS_SERVICE, f"{service}-service").inputs["networkConfiguration"]
        assert {id_name(i) for i in network["subnets"]} == private
        assert network["assignPublicIp"] is False
    db_subnets = stack.one("aws:rds/subnetGroup:SubnetGroup", "db-subnets")
    assert {id_name(i) for i in db_subnets.inputs["subnetIds"]} == private
    assert stack.one(RDS, "db-instance").inputs["publiclyAccessible"] is False


def test_private_subnets_leave_through_nat_public_through_the_internet_gateway(
    stack: Evaluated,
) -> None:
    settings = stack.run.config.aws
    assert settings is not None
    nats = stack.all("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (settings.availability_zones if settings.nat_gateways == "per_az" else 1)
    for nat in nats:
        assert id_name(nat.inputs["subnetId"]).startswith("network-public-")
    routes = {r.name: r.inputs for r in stack.all("aws:ec2/route:Route")}
    assert id_name(routes.pop("network-public-default")["gatewayId"]) == "network-igw"
    assert len(routes) == settings.availability_zones
    nat_names = {n.name for n in nats}
    for route in routes.values():
        assert route["destinationCidrBlock"] == ANYWHERE
        assert id_name(route["natGatewayId"]) in nat_names
    if settings.nat_gateways == "per_az":  # each AZ keeps egress when another AZ fails
        assert len({route["natGatewayId"] for route in routes.values()}) == len(nats)
    associations = {
        id_name(a.inputs["subnetId"]): id_name(a.inputs["routeTableId"])
        for a in stack.all("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    for subnet, table in associations.items():
        zone = subnet.rsplit("-", 3)[-3:]
        if subnet.startswith("network-public-"):
            assert table == "network-public-routes"
        else:
            assert table == f"network-private-routes-{'-'.join(zone)}"


def test_security_groups_open_only_what_each_hop_needs(stack: Evaluated) -> None:
    for group in stack.all("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name

    def rules(type_: str) -> set[tuple[str, int, str]]:
        found = set()
        for rule in stack.all(type_):
            inputs = rule.inputs
            assert inputs["ipProtocol"] == "tcp" and inputs["fromPort"] == inputs["toPort"]
            peer = inputs.get("cidrIpv4") or id_name(inputs["referencedSecurityGroupId"])
            group = id_name(inputs["securityGroupId"]).removeprefix("network-")
            found.add((group, int(inputs["fromPort"]), peer))
        return found

    assert rules(INGRESS) == {
        ("lb", 443, ANYWHERE),
        ("lb", 80, ANYWHERE),
        ("services", 3000, "network-lb"),
        ("database", 5432, "network-services"),
    }
    assert rules(EGRESS) == {
        ("lb", 3000, "network-services"),
        ("services", 443, ANYWHERE),
        ("services", 5432, "network-database"),
    }
    http = stack.one("aws:lb/listener:Listener", "web-lb-http").inputs
    (action,) = http["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"]["protocol"] == "HTTPS" and action["redirect"]["port"] == "443"


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
        assert set(statements) == {"Logs", "OwnSecrets"}  # ghcr.io images: no ECR pull needed
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


# ---------------------------------------------------------------- database


def test_rds_is_private_encrypted_backed_up_and_protected_in_prod(stack: Evaluated) -> None:
    cfg = stack.run.config
    db = cfg.database
    instance = stack.one(RDS, "db-instance")
    inputs = instance.inputs
    prod = cfg.environment == "prod"
    assert inputs["engine"] == "postgres" and inputs["engineVersion"] == db.engine_version
    assert inputs["instanceClass"] == db.instance_class
    assert inputs["storageEncrypted"] is True
    assert inputs["manageMasterUserPassword"] is True and "password" not in inputs
    assert inputs["publiclyAccessible"] is False
    assert inputs["backupRetentionPeriod"] == db.backup_retention_days > 0  # PITR
    assert inputs["backupWindow"] and inputs["maintenanceWindow"]
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] == f"platform-{cfg.stack}-db-final"
    assert inputs["performanceInsightsEnabled"] is db.performance_insights
    assert inputs["allowMajorVersionUpgrade"] is True  # a major bump changes the parameter family
    assert inputs["maxAllocatedStorage"] == db.max_allocated_storage_gb
    assert inputs["allocatedStorage"] == db.allocated_storage_gb
    assert inputs["multiAz"] is prod
    assert inputs["deletionProtection"] is prod
    assert (instance.protect, instance.retain_on_delete) == (prod, prod)
    (database_sg,) = inputs["vpcSecurityGroupIds"]
    assert id_name(database_sg) == "network-database"

    params = stack.one("aws:rds/parameterGroup:ParameterGroup", "db-parameters").inputs
    assert params["family"] == f"postgres{db.major_version}"
    values = {p["name"]: p["value"] for p in params["parameters"]}
    assert values["rds.force_ssl"] == "1"
    assert int(values["log_min_duration_statement"]) > 0
    assert values["max_connections"] == str(db.max_connections)
    assert inputs["parameterGroupName"] == "db-parameters"
    assert inputs["dbSubnetGroupName"] == "db-subnets"


def test_roles_and_grants_reach_rds_over_tls_with_the_managed_master_login(
    stack: Evaluated,
) -> None:
    provider = stack.one("pulumi:providers:postgresql", "db-access-provider").inputs
    assert provider["sslmode"] == "require"
    assert provider["superuser"] == "false"
    assert provider["host"] == "db-instance.abcdefgh.eu-west-1.rds.amazonaws.com"
    assert provider["port"] == "5432"
    assert provider["username"] == "platform_admin"
    assert rpc.is_rpc_secret(provider["password"])
    assert plain(provider["password"]) == "mock-rds-master-password"
    roles = {r.inputs["name"] for r in stack.all("postgresql:index/role:Role")}
    assert roles == {"shop_owner", "shop_app", "shop_readonly"}
    assert not any(r.inputs["superuser"] for r in stack.all("postgresql:index/role:Role"))
    app_tables = stack.one("postgresql:index/grant:Grant", "db-access-app-tables").inputs
    assert app_tables["privileges"] == ["SELECT", "INSERT", "UPDATE", "DELETE"]


def test_the_admin_endpoint_override_points_only_the_provider_at_the_tunnel(
    variant: Evaluated,
) -> None:
    provider = variant.one("pulumi:providers:postgresql", "db-access-provider").inputs
    assert (provider["host"], provider["port"]) == ("127.0.0.1", "15432")
    url, secret = variant.run.outputs["databaseUrl"]
    assert secret
    assert "@db-instance.abcdefgh.eu-west-1.rds.amazonaws.com:5432/shop?sslmode=require" in url
    stored = plain(variant.one(SECRET_VERSION, "db-secrets-app-url-value").inputs["secretString"])
    assert "127.0.0.1" not in stored


# ---------------------------------------------------------------- alarms


def expected_alarms(run: StackRun) -> dict[str, str]:
    """alarm name -> rule id: one alarm per rule per service/database it applies to."""
    cfg = run.config
    public = [name for name, service in cfg.services.items() if service.public]
    expected: dict[str, str] = {}
    for rule in effective_rules(rule_settings(cfg)):
        for spec in CLOUDWATCH.get(rule.id, ()):
            if spec.source in (Source.RDS, Source.BACKUP):
                targets = ["db"]
            elif spec.source is Source.ALB:
                targets = [f"svc-{name}" for name in public]
            else:
                targets = [f"svc-{name}" for name in cfg.services]
            for target in targets:
                expected[f"platform-{cfg.stack}-{target}-{rule.id}"] = rule.id
    return expected


def test_one_alarm_per_rule_and_scope_each_with_its_runbook_and_the_topic(
    stack: Evaluated,
) -> None:
    cfg = stack.run.config
    alarms = {a.inputs["name"]: a.inputs for a in stack.all(ALARM)}
    expected = expected_alarms(stack.run)
    assert set(alarms) == set(expected)
    assert len(alarms) == 13  # 6 for web, 3 for worker, 4 for the database and its backups
    rules = {rule.id: rule for rule in CATALOG}
    topic_arn = stack.run.outputs["alarmTopicArn"][0]
    for name, inputs in alarms.items():
        rule = rules[expected[name]]
        assert f"{cfg.alerts.runbook_base_url}/{rule.runbook}.md" in inputs["alarmDescription"]
        assert inputs["alarmDescription"].startswith(f"[{rule.severity}]")
        assert inputs["alarmActions"] == [topic_arn] == inputs["okActions"]
        long_period = rule.id == "backup_too_old"  # one period, see the backup alarm's test
        assert inputs["evaluationPeriods"] == (1 if long_period else rule.window_minutes)
    for rule_id in DOCKER_ONLY:
        assert not [n for n in alarms if n.endswith(f"-{rule_id}")]
    covered = {rule_id for rule_id in expected.values()}
    assert covered | set(DOCKER_ONLY) == {rule.id for rule in CATALOG}
    service_rules = {r.id for r in CATALOG if r.scope is Scope.SERVICE and not r.http_only}
    for rule_id in service_rules:
        assert f"platform-{cfg.stack}-svc-worker-{rule_id}" in alarms

    emails = stack.all("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(e.inputs["endpoint"] for e in emails) == sorted(cfg.alerts.notify_emails)
    assert all(e.inputs["protocol"] == "email" for e in emails)


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


def test_aws_backup_snapshots_the_rds_instance_daily_into_a_vault_protected_in_prod(
    stack: Evaluated,
) -> None:
    cfg = stack.run.config
    prod = cfg.environment == "prod"
    vault = stack.one(VAULT, "db-backups-vault")
    assert (vault.protect, vault.retain_on_delete) == (prod, prod)
    (rule,) = stack.one("aws:backup/plan:Plan", "db-backups-plan").inputs["rules"]
    assert rule["targetVaultName"] == vault.inputs["name"]
    assert rule["schedule"] == "cron(0 5 * * ? *)"  # daily, after the RDS backup window
    assert rule["enableContinuousBackup"] is False  # RDS keeps its own PITR retention
    assert rule["lifecycle"] == {"deleteAfter": cfg.database.backup_retention_days}
    selection = stack.one("aws:backup/selection:Selection", "db-backups-selection").inputs
    assert [arn_name(arn) for arn in selection["resources"]] == ["db-instance"]
    assert selection["resources"][0].startswith("arn:aws:rds:")
    assert id_name(selection["planId"]) == "db-backups-plan"
    assert arn_name(selection["iamRoleArn"]) == "db-backups-role"
    for other in stack.all(VAULT) + stack.all("aws:backup/selection:Selection"):
        assert other.name in ("db-backups-vault", "db-backups-selection"), other.name


def test_the_backup_role_is_assumable_only_by_aws_backup(stack: Evaluated) -> None:
    role = stack.one("aws:iam/role:Role", "db-backups-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "backup.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    attached = {
        r.inputs["policyArn"]
        for r in stack.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if id_name(r.inputs["role"]) == "db-backups-role"
    }
    assert attached == set(MANAGED_POLICIES.values())
    assert all(p.startswith("arn:aws:iam::aws:policy/service-role/AWSBackup") for p in attached)
    assert not [r for r in stack.all(ROLE_POLICY) if id_name(r.inputs["role"]) == role.name]
    selection = stack.one("aws:backup/selection:Selection", "db-backups-selection")
    for attachment in ("db-backups-backup-policy", "db-backups-restore-policy"):
        assert stack.run.named(attachment).urn in selection.dependencies


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


def test_task_definitions_wait_for_their_execution_policy(stack: Evaluated) -> None:
    for name in stack.run.config.services:
        task = stack.one(TASK_DEFINITION, f"{name}-task")
        policy = stack.one("aws:iam/rolePolicy:RolePolicy", f"{name}-execution")
        assert policy.urn in task.dependencies, name
