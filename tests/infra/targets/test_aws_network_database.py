"""staging and prod (the aws target): the provider and its tags, the network, the database and
its backups (`infra/targets/aws/provider.py`, `network.py`, `database.py`), read from the
registrations recorded under mocks (fixtures in conftest.py)."""

from __future__ import annotations

import json

from pulumi.runtime import rpc

from components.aws.backup import MANAGED_POLICIES
from tests.infra.targets.aws_stack import (
    ALARM,
    ANYWHERE,
    COMPOSITE_ALARM,
    ECS_SERVICE,
    EGRESS,
    HEALTH_CHECK,
    INGRESS,
    PROVIDER_TYPE,
    RDS,
    ROLE_POLICY,
    SECRET_VERSION,
    SUBNET,
    VAULT,
    Evaluated,
    arn_name,
    id_name,
    plain,
)

# ---------------------------------------------------------------- provider and tags


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
        "platform:aws:ImageRepository",
        "platform:aws:AccessLogs",
        "platform:aws:UptimeChecks",
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
        elif component.type == "platform:aws:ImageRepository":
            if "tags" in resource.inputs:
                assert own == {"service": component.name.removesuffix("-images")}, resource.name
        elif own.get("service") is not None:
            assert resource.type in (ALARM, COMPOSITE_ALARM, HEALTH_CHECK), resource.name
            assert own["service"] in services, resource.name
    tagged = {r.name for r in stack.run.resources if (r.inputs.get("tags") or {}).get("service")}
    assert {"web-service", "web-task", "web-lb-alb", "web-logs", "worker-execution"} <= tagged
    assert {f"{name}-images-ecr" for name in services} <= tagged


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


# ---------------------------------------------------------------- backups


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
