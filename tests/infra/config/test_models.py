"""The config model: layering, and bad config rejected with the stack, the key and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.errors import ConfigError
from infra.config.layering import deep_merge, layered_config, resolve_stack_config
from infra.config.loader import split_platform_config, stack_file_runtime_config
from infra.config.secrets import MissingSecretsError, supplied_secrets
from infra.offline import run_config
from tests.infra.config.pinned import pinned_services

DEV = {"environment": "dev"}
PROD = {
    "environment": "prod",
    "services": pinned_services(),
    "aws": {
        "region": "eu-west-1",
        "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
        "public_hostnames": {"web": "shop.acme.example"},
    },
}


def test_layers_apply_product_then_tier_then_stack() -> None:
    cfg = resolve_stack_config("prod", deep_merge(PROD, {"services": {"web": {"replicas": 4}}}))
    assert cfg.services["web"].replicas == 4  # stack file wins
    assert cfg.database.multi_az is True  # prod tier default
    assert cfg.services["web"].readiness is not None
    assert cfg.services["web"].readiness.path == "/api/ready"  # product
    assert cfg.target == "aws" and cfg.docker is None


def test_dev_tier_lands_on_docker_with_default_settings() -> None:
    cfg = resolve_stack_config("dev", DEV)
    assert cfg.target == "docker"
    assert cfg.docker is not None and cfg.docker.database_host_port == 15432
    assert cfg.aws is None


def test_stack_override_replaces_lists_and_merges_mappings() -> None:
    merged = layered_config(
        "dev", {**DEV, "services": {"web": {"migration": {"command": ["./migrate"]}}}}
    )
    assert merged["services"]["web"]["migration"]["command"] == ["./migrate"]
    assert merged["services"]["web"]["port"] == 3000


BAD_CONFIGS: list[tuple[str, dict[str, Any], str, str]] = [
    ("no environment", {}, "platform:environment", "dev, staging, prod"),
    ("unknown environment", {"environment": "qa"}, "platform:environment", "'qa'"),
    ("unknown top-level key", {**DEV, "servics": {}}, "platform:servics", "valid keys here"),
    (
        "unknown service key",
        {**DEV, "services": {"web": {"replica": 2}}},
        "platform:services.web.replica",
        "replicas",
    ),
    ("bad target", {**DEV, "target": "k8s"}, "platform:target", "'docker' or 'aws'"),
    (
        "replicas below one",
        {**DEV, "services": {"web": {"replicas": 0}}},
        "platform:services.web.replicas",
        "greater than or equal to 1",
    ),
    (
        "unpinned image",
        {**DEV, "services": {"web": {"image": "ghcr.io/acme/shop-web:latest"}}},
        "platform:services.web.image",
        "digest",
    ),
    (
        "secret in plain env",
        {**DEV, "services": {"web": {"env": {"STRIPE_API_KEY": "sk_test"}}}},
        "platform:services.web.env.STRIPE_API_KEY",
        "declare it under `secrets`",
    ),
    (
        "undeclared secret",
        {**DEV, "services": {"worker": {"secrets": {"SLACK_TOKEN": "slack_token"}}}},
        "platform:services.worker.secrets.SLACK_TOKEN",
        "not declared",
    ),
    (
        "port without readiness",
        {**DEV, "services": {"api": {"image": "ghcr.io/acme/api:1.0.0", "port": 8080}}},
        "platform:services.api.readiness",
        "readiness probe",
    ),
    (
        "worker without liveness",
        {**DEV, "services": {"cron": {"image": "ghcr.io/acme/cron:1.0.0"}}},
        "platform:services.cron.liveness",
        "liveness command",
    ),
    (
        "probe timeout not below interval",
        {**DEV, "services": {"web": {"readiness": {"interval_seconds": 5, "timeout_seconds": 5}}}},
        "platform:services.web.readiness.timeout_seconds",
        "less than interval_seconds",
    ),
    (
        "old postgres",
        {**DEV, "database": {"engine_version": "14"}},
        "platform:database.engine_version",
        "15 or newer",
    ),
    (
        "bad role name",
        {**DEV, "database": {"roles": {"app": "App-User"}}},
        "platform:database.roles.app",
        "does not match",
    ),
    (
        "same role twice",
        {**DEV, "database": {"roles": {"app": "shop_owner"}}},
        "platform:database.roles.owner",
        "three different roles",
    ),
    (
        "unknown alert rule",
        {**DEV, "alerts": {"rules": {"disk_full": {"enabled": False}}}},
        "platform:alerts.rules",
        "high_error_rate",
    ),
    (
        "aws block on docker",
        {**DEV, "aws": {"region": "eu-west-1"}},
        "platform:aws",
        "target is docker",
    ),
    (
        "host port for unknown service",
        {**DEV, "docker": {"service_host_ports": {"api": 8080}}},
        "platform:docker.service_host_ports.api",
        "no service 'api'",
    ),
    (
        "backups less than hourly or more than weekly",
        {**DEV, "docker": {"backup_interval_hours": 169}},
        "platform:docker.backup_interval_hours",
        "less than or equal to 168",
    ),
    (
        "no dump kept",
        {**DEV, "docker": {"backup_keep": 0}},
        "platform:docker.backup_keep",
        "greater than or equal to 1",
    ),
    (
        "dumps rarer than the backup alert allows",
        {**DEV, "docker": {"backup_interval_hours": 26}},
        "platform:docker.backup_interval_hours",
        "the alert would fire before every dump",
    ),
    (
        "database url set by hand",
        {**DEV, "services": {"web": {"env": {"DATABASE_URL": "postgres://x"}}}},
        "platform:services.web.env.DATABASE_URL",
        "injected by the platform",
    ),
    (
        "prod without multi-AZ",
        deep_merge(PROD, {"database": {"multi_az": False}}),
        "platform:database.multi_az",
        "prod requires multi_az: true",
    ),
    (
        "prod with short backups",
        deep_merge(PROD, {"database": {"backup_retention_days": 3}}),
        "platform:database.backup_retention_days",
        "at least 7 days",
    ),
    (
        "aws without region",
        {"environment": "staging", "aws": {}},
        "platform:aws.region",
        "required",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [case[1:] for case in BAD_CONFIGS],
    ids=[case[0] for case in BAD_CONFIGS],
)
def test_bad_config_names_stack_key_and_fix(overrides: dict[str, Any], key: str, hint: str) -> None:
    stack = str(overrides.get("environment", "dev"))
    with pytest.raises(ConfigError) as caught:
        resolve_stack_config(stack, overrides)
    message = str(caught.value)
    assert f"stack '{stack}'" in message
    assert f"Pulumi.{stack}.yaml" in message
    line = next((ln for ln in message.splitlines() if ln.strip().startswith(f"{key}:")), None)
    assert line is not None, f"no line for {key} in:\n{message}"
    assert hint in line
    assert "Traceback" not in message


def test_rare_dumps_are_fine_once_the_backup_alert_allows_them() -> None:
    cfg = resolve_stack_config(
        "dev",
        {
            **DEV,
            "docker": {"backup_interval_hours": 48, "backup_keep": 3},
            "alerts": {"rules": {"backup_too_old": {"threshold": 50}}},
        },
    )
    assert cfg.docker is not None
    assert (cfg.docker.backup_interval_hours, cfg.docker.backup_keep) == (48, 3)


def test_every_problem_is_reported_not_just_the_first() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_stack_config(
            "dev", {**DEV, "services": {"web": {"replicas": 0, "cpu": 1}}, "bogus": 1}
        )
    paths = {problem.path for problem in caught.value.problems}
    assert {"services.web.replicas", "services.web.cpu", "bogus"} <= paths


def test_unknown_secret_value_is_rejected(repo_root: Any) -> None:
    cfg = resolve_stack_config(
        "staging",
        {
            "environment": "staging",
            "services": pinned_services(),
            "aws": {
                "region": "eu-west-1",
                "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/x",
                "public_hostnames": {"web": "staging.shop.acme.example"},
            },
        },
    )
    with pytest.raises(ConfigError, match=r"secretValues\.stripe_key"):
        supplied_secrets(cfg, {"stripe_key": "x"}, "error")


def test_missing_secrets_listed_with_the_command_to_set_each() -> None:
    cfg = resolve_stack_config(
        "staging",
        {
            "environment": "staging",
            "services": pinned_services(),
            "aws": {
                "region": "eu-west-1",
                "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/x",
                "public_hostnames": {"web": "staging.shop.acme.example"},
            },
        },
    )
    with pytest.raises(MissingSecretsError) as caught:
        supplied_secrets(cfg, {"email_api_key": "k"}, "error")
    message = str(caught.value)
    assert caught.value.names == ["payments_api_key"]
    assert (
        "pulumi config set --stack staging --secret --path "
        "'platform:secretValues.payments_api_key' <value>" in message
    )
    planned = supplied_secrets(cfg, {}, "placeholder")
    assert planned.placeholders == ("email_api_key", "payments_api_key")


def test_program_refuses_missing_secrets_under_pulumi_up(repo_root: Any) -> None:
    config, secret_keys = stack_file_runtime_config(repo_root / "Pulumi.dev.yaml")
    config["platform:secrets"] = '{"payments_api_key": {"source": "config"}}'
    with pytest.raises(MissingSecretsError, match="payments_api_key"):
        run_config("dev", config, secret_keys, on_missing_secrets="error")


def test_a_secret_outside_secret_values_is_refused(repo_root: Any) -> None:
    """`pulumi config set --secret --path platform:services.web.env.X` would land in plain env."""
    config, secret_keys = stack_file_runtime_config(repo_root / "Pulumi.dev.yaml")
    config["platform:services"] = '{"web": {"env": {"SENTRY_DSN": "https://key@sentry"}}}'
    with pytest.raises(ConfigError) as caught:
        run_config("dev", config, [*secret_keys, "platform:services"])
    assert "platform:services: holds a secret" in str(caught.value)
    assert "https://key@sentry" not in str(caught.value)


def test_secret_keys_named_by_the_cli_are_honoured(
    repo_root: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `pulumi up` the CLI lists secret keys in PULUMI_CONFIG_SECRET_KEYS."""
    config, _ = stack_file_runtime_config(repo_root / "Pulumi.dev.yaml")
    config["platform:database"] = '{"name": "shop"}'
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["platform:database"]')
    with pytest.raises(ConfigError, match="platform:database: holds a secret"):
        run_config("dev", config, [])


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_aws_stack_files_pin_every_service_image_by_digest(repo_root: Any, stack: str) -> None:
    """Images are the deploy variable the pipeline sets and `infractl rollback` restores."""
    config, _ = stack_file_runtime_config(repo_root / f"Pulumi.{stack}.yaml")
    overrides = split_platform_config(stack, config).values
    cfg = resolve_stack_config(stack, overrides)
    pinned = {name for name, spec in overrides["services"].items() if "@sha256:" in spec["image"]}
    assert pinned == set(cfg.services)


def test_dev_builds_every_service_from_the_repository(repo_root: Any) -> None:
    config, _ = stack_file_runtime_config(repo_root / "Pulumi.dev.yaml")
    cfg = resolve_stack_config("dev", split_platform_config("dev", config).values)
    assert all(s.image is None and s.build is not None for s in cfg.services.values())
