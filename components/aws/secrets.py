"""Secrets Manager: one secret per value a task needs, injected into containers by ARN.

Values arrive as secret Outputs (generated with pulumi-random or read from the stack's config
secrets, `components/secrets.py`) and only ever travel inside secret Outputs; the component's own
outputs are the ARNs, which task definitions and IAM policies reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_SECRET_STORE


@dataclass(frozen=True)
class SecretRef:
    """One stored secret, as IAM grants it (`arn`) and as a container reads it (`value_from`)."""

    arn: pulumi.Output[str]
    value_from: pulumi.Output[str]
    """`<arn>:::<version-id>`: pinned to the current version, so a rotated value changes the task
    definition and ECS replaces the running tasks instead of keeping the old value."""


@dataclass(frozen=True)
class SecretStoreArgs:
    path: str
    """Name prefix in Secrets Manager, e.g. `platform/prod/`; each secret is `<path><key>`."""
    values: Mapping[str, pulumi.Output[str]]
    """Key -> value; the key decides the secret's name, the value stays a secret Output."""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    recovery_window_days: int = 30
    """How long a deleted secret can be restored (7-30), or 0: deleted at once, its name free
    for a new secret (a disposable stack made again under the same name)."""


class SecretStore(pulumi.ComponentResource):
    refs: dict[str, SecretRef]
    arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_SECRET_STORE, name, None, opts)
        self._name = name
        self._args = args
        self.refs = {key: self._secret(key, value) for key, value in sorted(args.values.items())}
        self.arns = {key: ref.arn for key, ref in self.refs.items()}
        self.register_outputs({"arns": self.arns})

    def _secret(self, key: str, value: pulumi.Output[str]) -> SecretRef:
        role = key.replace("_", "-")
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{role}",
            name=f"{self._args.path}{key}",
            description=self._args.descriptions.get(key, ""),
            recovery_window_in_days=self._args.recovery_window_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret_value: pulumi.Output[str] = pulumi.Output.secret(value)
        version = aws.secretsmanager.SecretVersion(
            f"{self._name}-{role}-value",
            secret_id=secret.id,
            secret_string=secret_value,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secretString"]),
        )
        return SecretRef(
            arn=secret.arn,
            value_from=pulumi.Output.format("{0}:::{1}", secret.arn, version.version_id),
        )
