"""What a stack may say: the pydantic models of a stack's validated config.

A stack's config is three layers deep-merged, then validated once here before any resource
exists: the product (`infra/product.py`: services, secrets, roles, alert rules, declared once),
the defaults of its environment tier (`infra/config/layering.py`), and the overrides in
`Pulumi.<stack>.yaml` under the `platform:` namespace. Errors come back as `ConfigError`, one line
per problem naming the stack, the `platform:` key path and what would be valid.

Secret values never enter these models: they travel as Pulumi secret Outputs
(`infra/config/secrets.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from components.alerts import CATALOG_BY_ID
from infra.config.alert_rules import check_alert_rules
from infra.config.docker_ports import check_host_ports
from infra.config.errors import ConfigError, problem_from_pydantic, rule_error
from infra.config.features import (
    FLAG_ENV_PREFIX,
    FLAG_NAME,
    FlagSpec,
    check_features,
    feature_env,
)
from infra.config.fields import (
    BACKUP_RULE,
    CLOUDWATCH_MAX_ALARM_SECONDS,
    DNS_LABEL,
    FARGATE_MEMORY_MB,
    KNOWN_POSTGRES_MAJORS,
    PG_IDENTIFIER,
    RESERVED_ENV,
    SECRET_NAME,
    Model,
    pinned_by_digest,
)
from infra.config.project import STACK_NAME_PATTERN
from infra.config.review import cost_problems, identity_problems
from infra.config.services import ServiceSettings as ServiceSettings
from infra.config.targets import DOCKER_INFRASTRUCTURE_NAMES, AwsSettings, DockerSettings

Environment = Literal["dev", "staging", "prod", "review"]
"""review: a pull request's short-lived stack, `pr-<number>` (infra/config/review.py)."""
Target = Literal["docker", "aws"]


class SecretSpec(Model):
    """Where a secret's value comes from. Never its value."""

    source: Literal["config", "generated"]
    description: str = ""
    length: Annotated[int, Field(ge=16, le=128)] = 32


class DatabaseRoles(Model):
    owner: Annotated[str, Field(pattern=PG_IDENTIFIER)] = "app_owner"
    app: Annotated[str, Field(pattern=PG_IDENTIFIER)] = "app_rw"
    readonly: Annotated[str, Field(pattern=PG_IDENTIFIER)] = "app_ro"

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len({self.owner, self.app, self.readonly}) != 3:
            raise rule_error("owner", "owner, app and readonly must be three different roles")
        return self


class AdminEndpoint(Model):
    """Where the postgresql provider reaches the database during `pulumi up` (e.g. a tunnel)."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 5432


class DatabaseSettings(Model):
    name: Annotated[str, Field(pattern=PG_IDENTIFIER)]
    engine_version: Annotated[str, Field(pattern=r"^\d{2}(\.\d+)?$")] = "16"
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.micro"
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] | None = None
    backup_retention_days: Annotated[int, Field(ge=0, le=35)] = 1
    multi_az: bool = False
    deletion_protection: bool = False
    performance_insights: bool = False
    max_connections: Annotated[int, Field(ge=20, le=5000)] = 100
    admin_endpoint: AdminEndpoint | None = None
    roles: DatabaseRoles = DatabaseRoles()

    @property
    def major_version(self) -> int:
        return int(self.engine_version.split(".")[0])

    @field_validator("engine_version")
    @classmethod
    def _supported(cls, version: str) -> str:
        # From 15, PUBLIC may not create in schema `public` and the schema belongs to the
        # database owner: the role model (components/postgres.py) relies on both.
        major = int(version.split(".")[0])
        if major > max(KNOWN_POSTGRES_MAJORS):
            raise PydanticCustomError(
                "engine_version",
                "PostgreSQL {v} does not exist (yet); use one of {known}",
                {"v": version, "known": ", ".join(map(str, KNOWN_POSTGRES_MAJORS))},
            )
        if major < 15:
            raise PydanticCustomError(
                "engine_version",
                "PostgreSQL {v} lets every role create tables in schema public, which breaks "
                "the app role's no-DDL guarantee; use 15 or newer",
                {"v": version},
            )
        return version

    @model_validator(mode="after")
    def _storage(self) -> Self:
        if (
            self.max_allocated_storage_gb is not None
            and self.max_allocated_storage_gb < self.allocated_storage_gb
        ):
            raise rule_error(
                "max_allocated_storage_gb",
                f"must be at least allocated_storage_gb ({self.allocated_storage_gb})",
            )
        return self


class AlertRuleSetting(Model):
    enabled: bool = True
    threshold: float | None = None
    window_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None


class Alerts(Model):
    rules: dict[str, AlertRuleSetting] = Field(default_factory=dict)
    notify_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list
    )
    runbook_base_url: str = "docs/runbooks"

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, AlertRuleSetting]) -> dict[str, AlertRuleSetting]:
        for rule_id in rules:
            if rule_id not in CATALOG_BY_ID:
                raise PydanticCustomError(
                    "unknown_rule",
                    "unknown alert rule '{rule}'; the catalog has: {known}",
                    {"rule": rule_id, "known": ", ".join(sorted(CATALOG_BY_ID))},
                )
        return rules

    @model_validator(mode="after")
    def _thresholds_can_fire(self) -> Self:
        for rule_id, setting in self.rules.items():
            if setting.threshold is None:
                continue
            problem = CATALOG_BY_ID[rule_id].threshold_problem(setting.threshold)
            if problem is not None:
                raise rule_error(f"rules.{rule_id}.threshold", problem)
        return self


class Parity(Model):
    reference: Annotated[str, Field(pattern=STACK_NAME_PATTERN)] = "prod"
    allow: list[Annotated[str, Field(pattern=r"^[a-z0-9_*]+(\.[A-Za-z0-9_*-]+)*$")]] = Field(
        default_factory=list,
        description="config paths that may differ from the reference stack; * matches one key",
    )


class StackConfig(Model):
    """One stack, fully resolved. The single source of truth for what a stack may say."""

    stack: Annotated[str, Field(pattern=STACK_NAME_PATTERN)]
    environment: Environment
    target: Target
    services: Annotated[
        dict[Annotated[str, Field(pattern=DNS_LABEL)], ServiceSettings], Field(min_length=1)
    ]
    secrets: dict[Annotated[str, Field(pattern=SECRET_NAME)], SecretSpec] = Field(
        default_factory=dict
    )
    database: DatabaseSettings
    alerts: Alerts = Alerts()
    parity: Parity = Parity()
    flags: dict[Annotated[str, Field(pattern=FLAG_NAME)], FlagSpec] = Field(
        default_factory=dict, description="feature flags, declared once in the product"
    )
    features: dict[Annotated[str, Field(pattern=FLAG_NAME)], Any] = Field(
        default_factory=dict, description="this stack's flag values; the rest keep their default"
    )
    expires_at: date | None = Field(
        default=None,
        description="review stacks only: the last day it lives; the nightly cleanup destroys it",
    )
    docker: DockerSettings | None = None
    aws: AwsSettings | None = None

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        for name, service in self.services.items():
            if name in DOCKER_INFRASTRUCTURE_NAMES:
                raise rule_error(
                    f"services.{name}",
                    f"'{name}' names the stack's own infrastructure on a docker network "
                    f"({', '.join(DOCKER_INFRASTRUCTURE_NAMES)}); rename the service",
                )
            for env_var, secret in service.secrets.items():
                if secret not in self.secrets:
                    raise rule_error(
                        f"services.{name}.secrets.{env_var}",
                        f"secret '{secret}' is not declared; declared secrets: "
                        f"{', '.join(sorted(self.secrets)) or 'none'}",
                    )
            for reserved in RESERVED_ENV:
                if reserved in service.env or reserved in service.secrets:
                    raise rule_error(
                        f"services.{name}.env.{reserved}",
                        f"{reserved} is injected by the platform "
                        "(app role for the service, owner role for its migration); remove it",
                    )
            overlap = set(service.env) & set(service.secrets)
            if overlap:
                raise rule_error(
                    f"services.{name}.env",
                    f"{', '.join(sorted(overlap))} is set both as plain env and as a secret",
                )
        self._feature_rules()
        self._review_rules()
        check_alert_rules(self.alerts.rules, self.services)
        if self.environment == "prod":
            self._prod_rules()
        if self.target == "docker":
            self._docker_rules()
        else:
            self._aws_rules()
        return self

    def _feature_rules(self) -> None:
        for key, message in check_features(self.flags, self.features):
            raise rule_error(key, message)
        for name, service in self.services.items():
            for env_var in [*service.env, *service.secrets]:
                if env_var.startswith(FLAG_ENV_PREFIX):
                    raise rule_error(
                        f"services.{name}.env.{env_var}",
                        f"{FLAG_ENV_PREFIX}* variables come from feature flags; declare the flag "
                        "under flags in infra/product.py and set it under platform:features",
                    )

    def feature_env(self) -> dict[str, str]:
        """`FEATURE_<NAME>` for every declared flag, as every service gets it."""
        return feature_env(self.flags, self.features)

    def _review_rules(self) -> None:
        """A review stack (`pr-<n>`) expires and is never sized like prod (cost guard)."""
        problems = identity_problems(self.stack, self.environment, self.target, self.expires_at)
        if self.environment == "review":
            problems += cost_problems(self.stack, self.services, self.database, self.aws)
        for key, message in problems:
            raise rule_error(key, message)

    def _prod_rules(self) -> None:
        db = self.database
        if not db.multi_az:
            raise rule_error("database.multi_az", "prod requires multi_az: true")
        if not db.deletion_protection:
            raise rule_error(
                "database.deletion_protection", "prod requires deletion_protection: true"
            )
        if db.backup_retention_days < 7:
            raise rule_error(
                "database.backup_retention_days",
                f"prod keeps backups for at least 7 days (got {db.backup_retention_days})",
            )

    def _backup_alert(self) -> tuple[float, int] | None:
        """The backup_too_old rule as this stack runs it: (threshold hours, window minutes)."""
        setting = self.alerts.rules.get(BACKUP_RULE, AlertRuleSetting())
        if not setting.enabled:
            return None
        rule = CATALOG_BY_ID[BACKUP_RULE]
        threshold = rule.threshold if setting.threshold is None else setting.threshold
        return threshold, setting.window_minutes or rule.window_minutes

    def _docker_rules(self) -> None:
        if self.aws is not None:
            raise rule_error("aws", "aws settings are set but target is docker; remove them")
        settings = self.docker or DockerSettings()
        for name in settings.service_host_ports:
            if name not in self.services:
                raise rule_error(
                    f"docker.service_host_ports.{name}",
                    f"no service '{name}'; services: {', '.join(sorted(self.services))}",
                )
            if self.services[name].port is None:
                raise rule_error(
                    f"docker.service_host_ports.{name}",
                    f"service '{name}' has no port to publish; remove it here",
                )
        check_host_ports({n: (s.port, s.replicas) for n, s in self.services.items()}, settings)
        alert = self._backup_alert()
        if alert is not None and settings.backup_interval_hours >= alert[0]:
            raise rule_error(
                "docker.backup_interval_hours",
                f"{settings.backup_interval_hours} hours between dumps reaches the "
                f"{BACKUP_RULE} threshold ({alert[0]:g} hours), so the alert would fire before "
                f"every dump; dump more often or raise alerts.rules.{BACKUP_RULE}.threshold",
            )

    def _aws_rules(self) -> None:
        if self.docker is not None:
            raise rule_error("docker", "docker settings are set but target is aws; remove them")
        if self.aws is None:
            raise rule_error("aws", "target aws needs aws settings, at least aws.region")
        self._aws_backup_rules()
        self._aws_container_insights_rule(self.aws)
        for name, service in self.services.items():
            self._aws_public_service_rules(self.aws, name, service)
            self._fargate_size_rules(name, service)
            self._aws_image_rule(name, service)
        self._hostname_rules(self.aws)

    @staticmethod
    def _aws_image_rule(name: str, service: ServiceSettings) -> None:
        """What runs in staging and prod is the image the pipeline built and verified, by digest:
        a tag can be pushed again, a digest names the same bytes forever."""
        if service.image is None or not pinned_by_digest(service.image):
            got = f"'{service.image}'" if service.image else "no image (aws stacks never build)"
            raise rule_error(
                f"services.{name}.image",
                f"aws stacks run images pinned by digest, got {got}; set repo@sha256:<64 hex> "
                "(the deploy workflow sets it after pushing the build)",
            )

    def _aws_backup_rules(self) -> None:
        """AWS Backup needs a retention, and its age alarm must fit in one CloudWatch period."""
        if self.database.backup_retention_days < 1:
            raise rule_error(
                "database.backup_retention_days",
                "aws stacks keep at least 1 day of backups: AWS Backup deletes its daily recovery "
                "points after this many days, and 0 turns off RDS point-in-time recovery",
            )
        alert = self._backup_alert()
        if alert is None:
            return
        threshold, window = alert
        span = threshold * 3600 + window * 60
        if threshold <= 0 or span > CLOUDWATCH_MAX_ALARM_SECONDS:
            raise rule_error(
                f"alerts.rules.{BACKUP_RULE}.threshold",
                f"the alarm looks back threshold + window ({span / 3600:g} hours) in one "
                "CloudWatch period, which must be positive and at most "
                f"{CLOUDWATCH_MAX_ALARM_SECONDS // 3600} hours",
            )

    def _aws_container_insights_rule(self, settings: AwsSettings) -> None:
        """The container_restarts alarm has no metric to read without container insights."""
        restarts = self.alerts.rules.get("container_restarts", AlertRuleSetting())
        if restarts.enabled and not settings.container_insights:
            raise rule_error(
                "aws.container_insights",
                "the container_restarts alert reads ECS/ContainerInsights task counts; keep "
                "container insights on, or set alerts.rules.container_restarts.enabled: false",
            )

    def _aws_public_service_rules(
        self, settings: AwsSettings, name: str, service: ServiceSettings
    ) -> None:
        """A public service's HTTPS listener needs a certificate and the name it covers."""
        if not service.public:
            return
        if settings.certificate_arn is None:
            raise rule_error(
                "aws.certificate_arn",
                f"public service '{name}' needs an ACM certificate ARN for its HTTPS listener",
            )
        if name not in settings.public_hostnames:
            raise rule_error(
                f"aws.public_hostnames.{name}",
                f"public service '{name}' needs the host name clients reach it by: its "
                "HTTPS listener serves aws.certificate_arn, so the certificate must cover "
                f"that name; set public_hostnames: {{{name}: <fqdn>}} under platform:aws in "
                f"Pulumi.{self.stack}.yaml",
            )

    @staticmethod
    def _fargate_size_rules(name: str, service: ServiceSettings) -> None:
        """Fargate runs only its listed cpu sizes, each with its own memory range and step."""
        memory = FARGATE_MEMORY_MB.get(service.cpu)
        if memory is None:
            raise rule_error(
                f"services.{name}.cpu",
                f"Fargate takes cpu in {', '.join(map(str, FARGATE_MEMORY_MB))}",
            )
        low, high, step = memory
        if not (low <= service.memory_mb <= high and service.memory_mb % step == 0):
            raise rule_error(
                f"services.{name}.memory_mb",
                f"Fargate with cpu {service.cpu} takes memory_mb from {low} to {high} "
                f"in steps of {step}",
            )

    def _hostname_rules(self, settings: AwsSettings) -> None:
        """Host names only for public services, and one service per name (one DNS record)."""
        owners: dict[str, str] = {}
        for name, hostname in settings.public_hostnames.items():
            service = self.services.get(name)
            if service is None:
                raise rule_error(
                    f"aws.public_hostnames.{name}",
                    f"no service '{name}'; services: {', '.join(sorted(self.services))}",
                )
            if not service.public:
                raise rule_error(
                    f"aws.public_hostnames.{name}",
                    f"service '{name}' is not public, so nothing answers at {hostname}; "
                    f"remove it or set services.{name}.public: true",
                )
            if hostname in owners:
                raise rule_error(
                    f"aws.public_hostnames.{name}",
                    f"{hostname} is already the host name of '{owners[hostname]}'; each public "
                    "service has its own load balancer and so its own name",
                )
            owners[hostname] = name


def validate_stack_config(stack: str, merged: Mapping[str, Any]) -> StackConfig:
    """Validate a merged config for `stack`; raise ConfigError naming every bad key."""
    try:
        return StackConfig.model_validate({**merged, "stack": stack})
    except ValidationError as exc:
        problems = [problem_from_pydantic(StackConfig, error) for error in exc.errors()]
        raise ConfigError(stack, problems) from None
