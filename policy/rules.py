"""The platform's guardrails as pure functions of a resource's type and properties.

Each rule takes `(resource_type, props)`, the camelCase inputs the policy engine hands a pack
(the same keys `infra.offline.Registration.inputs` holds), and returns one message per
violation; a resource type the rule does not govern yields no messages. The pack
(`policy/pack.py`) wraps them; tests call them directly. Props are read through `Mapping` and
`Sequence`, never `dict`/`list`, because the engine hands them over as read-only proxies.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Props = Mapping[str, Any]
Rule = Callable[[str, Props], list[str]]

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
DOCKER_CONTAINER = "docker:index/container:Container"
ECS_SERVICE = "aws:ecs/service:Service"
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
ECR_REPOSITORY = "aws:ecr/repository:Repository"

PROD = "prod"
PROD_MIN_BACKUP_DAYS = 7
LOAD_BALANCER_PORTS = frozenset({80, 443})
ALL_PROTOCOLS = frozenset({"-1", "all"})
TCP = frozenset({"tcp", "6"})
LOAD_BALANCER_MARKERS = frozenset({"lb", "alb", "elb"})
"""Name tokens that mark a load balancer's security group (`web-lb-sg`, `alb`, ...)."""

SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)
SECRET_REFERENCE_NAME = re.compile(r"_(ARN|FILE|PATH)$", re.IGNORECASE)
"""`DB_SECRET_ARN`, `TLS_PRIVATE_KEY_FILE`: a pointer to a secret, not the secret."""
SECRET_LOOKING_VALUES: Mapping[str, re.Pattern[str]] = {
    "a payments live/test secret key": re.compile(r"\b[sr]k_(live|test)_[0-9A-Za-z]{8,}"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a PostgreSQL URL with a password": re.compile(
        r"postgres(ql)?://[^:/@\s]+:[^@\s]+@", re.IGNORECASE
    ),
    "a PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
RUN_TO_COMPLETION = frozenset({"SUCCESS", "COMPLETE"})
IMMUTABLE_TAGS = "IMMUTABLE"
"""The one tag mutability that keeps every tag fixed (`IMMUTABLE_WITH_EXCLUSION` frees some)."""


def _is_seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _items(value: Any) -> list[Any]:
    return list(value) if _is_seq(value) else []


def _mapping(value: Any) -> Props:
    return value if isinstance(value, Mapping) else {}


def _truthy(value: Any) -> bool:
    """Booleans as the engine may hand them over: True, or the string "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _explicitly_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _number(value: Any) -> float | None:
    """Numbers arrive as floats from the engine (protobuf Struct) and ints from mocks."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _label(props: Props) -> str:
    for key in ("identifier", "clusterIdentifier", "name", "family"):
        value = props.get(key)
        if isinstance(value, str) and value:
            return f" '{value}'"
    return ""


# 1. Databases are never reachable from the internet and always encrypted at rest.


def database_private_and_encrypted(resource_type: str, props: Props) -> list[str]:
    """A public or unencrypted database is the one mistake a restore cannot undo."""
    if resource_type not in (RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE):
        return []
    what = f"database{_label(props)}"
    messages = []
    if _truthy(props.get("publiclyAccessible")):
        messages.append(f"{what} is publicly accessible; set publiclyAccessible: false")
    if resource_type != RDS_CLUSTER_INSTANCE and not _truthy(props.get("storageEncrypted")):
        messages.append(f"{what} is not encrypted at rest; set storageEncrypted: true")
    return messages


# 2. Prod databases survive an AZ outage, an accidental delete and a bad week.


def prod_database_durable(
    resource_type: str, props: Props, *, environment: str, protected: bool
) -> list[str]:
    """Prod keeps a standby in another AZ, refuses deletion (in AWS and, through `protect`, in
    Pulumi) and keeps a week of backups.

    `environment` is the stack's tier, resolved by the pack (`policy.pack.stack_environment`);
    other tiers are exempt so staging can stay cheap. Aurora clusters get their second AZ from
    their instances, which a single-resource rule cannot count, so clusters are held to
    deletion protection and backups only.
    """
    if environment != PROD or resource_type not in (RDS_INSTANCE, RDS_CLUSTER):
        return []
    what = f"prod database{_label(props)}"
    messages = []
    if resource_type == RDS_INSTANCE and not _truthy(props.get("multiAz")):
        messages.append(f"{what} is single-AZ; set multiAz: true")
    if not _truthy(props.get("deletionProtection")):
        messages.append(f"{what} can be deleted; set deletionProtection: true")
    if not protected:
        messages.append(
            f"{what} is not protected in Pulumi; create it with ResourceOptions(protect=True)"
        )
    days = _number(props.get("backupRetentionPeriod"))
    if days is None or days < PROD_MIN_BACKUP_DAYS:
        got = "not set" if days is None else f"{days:g} days"
        messages.append(
            f"{what} keeps backups for {got}; set backupRetentionPeriod to at least "
            f"{PROD_MIN_BACKUP_DAYS}"
        )
    return messages


# 3. Nothing but the load balancer listens to the world, and it only on HTTP and HTTPS.


def is_load_balancer_group(markers: Iterable[Any]) -> bool:
    """True if a marker (name, name prefix, Name tag) has a token `lb`/`alb`/`elb`. Not the
    description: an app group's "traffic from the load balancer only" must not qualify."""
    return any(
        LOAD_BALANCER_MARKERS & set(re.split(r"[^a-z0-9]+", marker.lower()))
        for marker in markers
        if isinstance(marker, str)
    )


def _group_markers(props: Props) -> list[Any]:
    tags = _mapping(props.get("tags"))
    return [props.get("name"), props.get("namePrefix"), tags.get("Name")]


def _world_cidrs(cidrs: Iterable[Any]) -> list[str]:
    open_to_world = []
    for cidr in cidrs:
        if not isinstance(cidr, str):
            continue
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if network.prefixlen == 0:
            open_to_world.append(cidr)
    return open_to_world


def _port_range(protocol: Any, from_port: Any, to_port: Any) -> str:
    if str(protocol).lower() in ALL_PROTOCOLS:
        return "all ports"
    low, high = _number(from_port), _number(to_port)
    if low is None or high is None:
        return f"{protocol} ports {from_port}-{to_port}"
    return f"{protocol} port {low:g}" if low == high else f"{protocol} ports {low:g}-{high:g}"


def _load_balancer_port(protocol: Any, from_port: Any, to_port: Any) -> bool:
    low, high = _number(from_port), _number(to_port)
    return str(protocol).lower() in TCP and low == high and low in LOAD_BALANCER_PORTS


def _ingress_violation(
    where: str,
    cidrs: Iterable[Any],
    protocol: Any,
    from_port: Any,
    to_port: Any,
    load_balancer: bool,
) -> list[str]:
    world = _world_cidrs(cidrs)
    if not world:
        return []
    if load_balancer and _load_balancer_port(protocol, from_port, to_port):
        return []
    ports = _port_range(protocol, from_port, to_port)
    allowed = (
        "only tcp 80 and 443 may be open to the world on the load balancer's group"
        if load_balancer
        else "only the load balancer's group may be open to the world"
    )
    return [f"{where} allows {', '.join(world)} on {ports}; {allowed}"]


def no_world_open_ingress(
    resource_type: str, props: Props, *, group: Props | None = None
) -> list[str]:
    """Only the load balancer's security group may admit 0.0.0.0/0 or ::/0, on tcp 80/443.

    A security group carries its own identity (name, name prefix, Name tag); a standalone rule
    (`SecurityGroupRule`, `SecurityGroupIngressRule`) does not, so the pack passes the props of
    the group it belongs to as `group`. Without one, the rule's own name and Name tag are all
    there is, so a world-open rule of unknown ownership fails closed.
    """
    if resource_type == SECURITY_GROUP:
        load_balancer = is_load_balancer_group(_group_markers(props))
        messages = []
        for index, rule in enumerate(_items(props.get("ingress"))):
            rule = _mapping(rule)
            messages += _ingress_violation(
                f"security group{_label(props)} ingress[{index}]",
                [*_items(rule.get("cidrBlocks")), *_items(rule.get("ipv6CidrBlocks"))],
                rule.get("protocol"),
                rule.get("fromPort"),
                rule.get("toPort"),
                load_balancer,
            )
        return messages
    owner = group if group is not None else props
    if resource_type == SECURITY_GROUP_RULE:
        if str(props.get("type", "")).lower() != "ingress":
            return []
        return _ingress_violation(
            "security group rule",
            [*_items(props.get("cidrBlocks")), *_items(props.get("ipv6CidrBlocks"))],
            props.get("protocol"),
            props.get("fromPort"),
            props.get("toPort"),
            is_load_balancer_group(_group_markers(owner)),
        )
    if resource_type == INGRESS_RULE:
        return _ingress_violation(
            "security group ingress rule",
            [props.get("cidrIpv4"), props.get("cidrIpv6")],
            props.get("ipProtocol"),
            props.get("fromPort"),
            props.get("toPort"),
            is_load_balancer_group(_group_markers(owner)),
        )
    return []


# 4 and 5. ECS containers: each one is health-checked, none carries a secret in plain env.


def container_definitions(props: Props) -> tuple[list[Props], str | None]:
    """The task's containers, and an error if `containerDefinitions` is not a JSON list."""
    raw = props.get("containerDefinitions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return [], f"containerDefinitions is not valid JSON ({exc.msg})"
    if not _is_seq(raw):
        return [], "containerDefinitions is not a list of containers"
    return [_mapping(container) for container in _items(raw)], None


def _runs_to_completion(containers: Sequence[Props]) -> set[str]:
    """Containers another container waits on to exit (SUCCESS/COMPLETE): one-shot steps."""
    awaited = set()
    for container in containers:
        for dependency in _items(container.get("dependsOn")):
            dependency = _mapping(dependency)
            if str(dependency.get("condition", "")).upper() in RUN_TO_COMPLETION:
                awaited.add(str(dependency.get("containerName", "")))
    return awaited


def _container_name(container: Props, index: int) -> str:
    name = container.get("name")
    return str(name) if name else f"#{index}"


def docker_container_health_checked(props: Props) -> list[str]:
    """On docker, `wait` on a healthcheck is what makes `up` return only once a container is
    ready. Exempt: a container `up` attaches to until it exits (the migration)."""
    if _truthy(props.get("attach")):
        return []
    tests = [str(t) for t in _items(_mapping(props.get("healthcheck")).get("tests"))]
    if not tests or tests[0].upper() == "NONE":
        name = props.get("name") or "(unnamed)"
        return [f"docker container '{name}' has no healthcheck"]
    return []


def containers_health_checked(resource_type: str, props: Props) -> list[str]:
    """ECS replaces a task only if it knows the task is sick: every long-running container
    carries a healthCheck. Exempt: a non-essential container another container waits on to
    exit (the migration), which is done before a health check would mean anything. Docker
    containers: see `docker_container_health_checked`."""
    if resource_type == DOCKER_CONTAINER:
        return docker_container_health_checked(props)
    if resource_type != TASK_DEFINITION:
        return []
    containers, error = container_definitions(props)
    if error:
        return [f"task definition{_label(props)}: {error}"]
    one_shot = _runs_to_completion(containers)
    messages = []
    for index, container in enumerate(containers):
        name = _container_name(container, index)
        essential = container.get("essential", True) is not False
        if not essential and name in one_shot:
            continue
        command = _items(_mapping(container.get("healthCheck")).get("command"))
        if not command:
            messages.append(
                f"task definition{_label(props)} container '{name}' has no healthCheck command"
            )
    return messages


def secret_looking(name: str, value: Any) -> str | None:
    """Why an env var looks like a secret, or None."""
    if SECRET_LOOKING_NAME.search(name) and not SECRET_REFERENCE_NAME.search(name):
        return "its name looks like a secret's"
    if isinstance(value, str):
        for kind, pattern in SECRET_LOOKING_VALUES.items():
            if pattern.search(value):
                return f"its value looks like {kind}"
    return None


def no_secrets_in_plain_env(resource_type: str, props: Props) -> list[str]:
    """Plain `environment` is readable by anyone who can describe the task definition; secrets
    go in `secrets` (valueFrom Secrets Manager). Messages name the variable, never its value."""
    if resource_type != TASK_DEFINITION:
        return []
    containers, error = container_definitions(props)
    if error:
        return [f"task definition{_label(props)}: {error}"]
    messages = []
    for index, container in enumerate(containers):
        for variable in _items(container.get("environment")):
            variable = _mapping(variable)
            name = str(variable.get("name", ""))
            reason = secret_looking(name, variable.get("value"))
            if reason:
                messages.append(
                    f"task definition{_label(props)} container "
                    f"'{_container_name(container, index)}' sets {name} in plain environment "
                    f"and {reason}; inject it through `secrets` (valueFrom) instead"
                )
    return messages


# 6. A failed deploy rolls itself back.


def services_roll_back(resource_type: str, props: Props) -> list[str]:
    """Without the circuit breaker a bad image keeps ECS replacing crashing tasks forever."""
    if resource_type != ECS_SERVICE:
        return []
    breaker = _mapping(props.get("deploymentCircuitBreaker"))
    if _truthy(breaker.get("enable")) and _truthy(breaker.get("rollback")):
        return []
    return [
        f"ECS service{_label(props)} has no deployment circuit breaker with rollback; set "
        "deploymentCircuitBreaker: {enable: true, rollback: true}"
    ]


# 7. The load balancer only sends traffic to targets that answer their readiness path.


def target_groups_health_checked(resource_type: str, props: Props) -> list[str]:
    """A target group without an explicit health-check path probes `/`, which proves the
    process listens, not that the service is ready; rolling deploys trust it."""
    if resource_type not in TARGET_GROUPS:
        return []
    if str(props.get("targetType", "")).lower() == "lambda":
        return []
    check = _mapping(props.get("healthCheck"))
    what = f"target group{_label(props)}"
    if not check or _explicitly_false(check.get("enabled")):
        return [f"{what} has no enabled health check; set healthCheck: {{enabled: true, path}}"]
    protocol = str(check.get("protocol") or props.get("protocol") or "HTTP").upper()
    path = check.get("path")
    if protocol in {"HTTP", "HTTPS"} and not (isinstance(path, str) and path.startswith("/")):
        return [f"{what} health check has no path; set healthCheck.path to the readiness path"]
    return []


# 8. A tag names one build forever, and every pushed image is scanned.


def image_repositories_immutable_and_scanned(resource_type: str, props: Props) -> list[str]:
    """A mutable tag can be pushed again, so what ran under a tag yesterday is not what it names
    today; an image pushed without a scan lets a known vulnerability in unnoticed. AWS's
    defaults are both wrong (MUTABLE, no scan), so an absent setting is refused too."""
    if resource_type != ECR_REPOSITORY:
        return []
    what = f"ECR repository{_label(props)}"
    messages = []
    mutability = props.get("imageTagMutability")
    if not (isinstance(mutability, str) and mutability.upper() == IMMUTABLE_TAGS):
        got = "MUTABLE (the default)" if mutability is None else str(mutability)
        messages.append(
            f"{what} has tag mutability {got}: a tag can be pushed again; set "
            f"imageTagMutability: {IMMUTABLE_TAGS}"
        )
    scanning = _mapping(props.get("imageScanningConfiguration"))
    if not _truthy(scanning.get("scanOnPush")):
        messages.append(
            f"{what} does not scan images on push; set imageScanningConfiguration: "
            "{scanOnPush: true}"
        )
    return messages
