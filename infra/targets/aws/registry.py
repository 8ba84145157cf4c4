"""One ECR repository per service, in the stack's own account: where the deploy workflow pushes
the image it built once, and where the service's tasks pull it from by digest.

Each account owns its repositories (`components/aws/registry.py` says why); the names are the
stack's prefix and the service, `platform-<stack>-<service>`, the same in every account, so the
workflow knows where to push before a stack has any outputs.
"""

from __future__ import annotations

from components.aws.registry import ImageRepository, ImageRepositoryArgs
from infra.targets.aws.provider import AwsTarget


def repository_name(target: AwsTarget, service: str) -> str:
    """The ECR repository of `service` in this stack's account, e.g. `platform-prod-web`."""
    return f"{target.prefix}-{service}"


def build_registry(target: AwsTarget) -> dict[str, ImageRepository]:
    """One repository per configured service, keyed by its config name; prod's are protected
    (they hold the images prod runs and a rollback needs)."""
    return {
        name: ImageRepository(
            f"{name}-images",
            ImageRepositoryArgs(
                repository_name=repository_name(target, name),
                protect=target.prod,
                force_delete=target.disposable,
                tags={"service": name},
            ),
            opts=target.on_aws,
        )
        for name in target.cfg.services
    }
