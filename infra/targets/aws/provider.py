"""The stack's one explicit AWS provider, and the context every part of the aws build reads."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config.models import StackConfig
from infra.config.targets import AwsSettings

EXPIRES_AT_TAG = "platform:expires_at"
"""A review stack's last day (ISO date) on everything it owns, so a console or a cost report
shows what may go and when."""


def stack_tags(cfg: StackConfig) -> dict[str, str]:
    """The tags every taggable resource carries, set once on the provider."""
    tags = {"environment": cfg.environment, "stack": cfg.stack, "managed-by": "pulumi"}
    if cfg.expires_at is not None:
        tags[EXPIRES_AT_TAG] = cfg.expires_at.isoformat()
    return tags


@dataclass(frozen=True)
class AwsTarget:
    """The stack config with its aws settings, the provider and the options that select it, so
    each part of the build takes one argument for the context they all share."""

    cfg: StackConfig
    settings: AwsSettings
    provider: aws.Provider
    on_aws: pulumi.ResourceOptions

    @property
    def prefix(self) -> str:
        """The stem of every physical name (cluster, families, vaults, secret paths, alarms)."""
        return f"platform-{self.cfg.stack}"

    @property
    def prod(self) -> bool:
        """Prod protects what holds data or traffic and keeps deleted secrets recoverable longer."""
        return self.cfg.environment == "prod"

    @property
    def disposable(self) -> bool:
        """A review stack: its `pulumi destroy` must succeed unattended and leave nothing behind
        that would stop the same `pr-<n>` from being made again (final snapshots, secrets
        pending deletion, a backup vault or repository that is not empty)."""
        return self.cfg.environment == "review"


def aws_target(cfg: StackConfig) -> AwsTarget:
    """Create the stack's provider in the configured region with the stack-wide tags."""
    settings = _settings(cfg)
    provider = aws.Provider(
        "aws",
        region=settings.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=stack_tags(cfg)),
    )
    return AwsTarget(
        cfg=cfg,
        settings=settings,
        provider=provider,
        on_aws=pulumi.ResourceOptions(providers=[provider]),
    )


def _settings(cfg: StackConfig) -> AwsSettings:
    if cfg.aws is None:
        raise ValueError("validated config guarantees aws settings for the aws target")
    return cfg.aws
