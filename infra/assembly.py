"""Assembles one stack: its secrets, then its target's components."""

from __future__ import annotations

from typing import Any

from components.secrets import SecretValues, SecretValuesArgs
from infra.config.models import StackConfig
from infra.config.secrets import SuppliedSecrets
from infra.targets.app_secrets import generated_secret_lengths


def build_platform(cfg: StackConfig, supplied: SuppliedSecrets) -> dict[str, Any]:
    """Create every resource of the stack and return its outputs, keyed as exported."""
    secrets = SecretValues(
        "secrets",
        SecretValuesArgs(generated=generated_secret_lengths(cfg), supplied=supplied.values),
    )
    outputs = {"stack": cfg.stack, "environment": cfg.environment, "target": cfg.target}
    if cfg.expires_at is not None:
        # Read back by `infractl review list|expire` from the state, where the stack file (git-
        # ignored, generated on one machine) may be gone.
        outputs["expiresAt"] = cfg.expires_at.isoformat()
    # Each target imports only its own provider SDK: pulumi_aws's modules alone cost about a
    # second to load, which a dev plan should not pay (bench/plan.py).
    if cfg.target == "docker":
        from infra.targets.docker import build_docker

        return {**outputs, **build_docker(cfg, secrets.values)}
    from infra.targets.aws import build_aws

    return {**outputs, **build_aws(cfg, secrets.values)}
