"""One service's ECR repository: where the deploy workflow pushes the image it built, and where
the service's tasks pull it from.

Each AWS account (staging, prod) owns its own repositories, the same shape in both, so
`infractl parity` keeps holding staging to prod's. The deploy workflow builds each image once and
pushes those same bytes to both registries: a pushed manifest keeps its digest, so prod runs,
byte for byte, what staging verified, and the workflow fails if the two digests differ. Why not
one shared registry: a prod that pulls from another account's repository depends on that account
(its policy, its lifecycle, its outages) and needs a cross-account repository policy; a prod
that owns its images keeps running when staging is torn down.

What each repository enforces:
- tags are IMMUTABLE: a tag names one build forever, so no push can change what a tag means
  (stacks pin digests anyway; this keeps the tags honest for the people reading them);
- every push is scanned (basic scanning on push), beside the workflow's own scan before it;
- images are encrypted at rest, with AES256 or the KMS key given;
- `force_delete` is off (unless the caller says the stack is disposable): deleting the
  repository fails while it holds images, so removing a service from the config cannot
  silently delete the images a rollback needs;
- the lifecycle policy (`lifecycle_policy`) bounds what the repository keeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_IMAGE_REPOSITORY

REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
"""ECR's rule for a repository name: lowercase path segments of letters and digits joined by
single `.`, `_` or `-`, segments separated by `/`."""
REPOSITORY_NAME_LENGTH = (2, 256)
UNTAGGED_EXPIRY_DAYS = 7
"""Untagged images expire a week after their push. The deploy workflow tags every push (commit,
run, attempt), so an untagged image is a failed or abandoned push, never a release a stack runs:
a week is long enough to look into one, short enough not to pile up."""
KEEP_IMAGES = 200
"""The newest 200 images are kept, whatever their tags. Every merge to main pushes one image per
service to both accounts, before prod's approval: prod runs an image pushed some merges ago, and
`infractl rollback` goes back to the image of the last good update before that. 200 is about a
month of merges at ten a working day, far more than prod ever lags or a rollback reaches back;
an expired image a task still runs stops ECS from starting new tasks of it. Layers are shared
between images, so keeping many costs little."""
TAG_MUTABILITY = "IMMUTABLE"


def repository_name_problem(name: str) -> str | None:
    """Why ECR would refuse `name` as a repository name, or None."""
    low, high = REPOSITORY_NAME_LENGTH
    if not low <= len(name) <= high:
        return f"ECR repository name '{name}' must be {low} to {high} characters long"
    if REPOSITORY_NAME.fullmatch(name) is None:
        return (
            f"ECR repository name '{name}' must be lowercase letters and digits joined by "
            "single '.', '_' or '-', in '/'-separated segments"
        )
    return None


def lifecycle_policy(untagged_expiry_days: int, keep_images: int) -> dict[str, Any]:
    """The repository's lifecycle rules: untagged images expire after `untagged_expiry_days`,
    and only the newest `keep_images` images are kept. ECR evaluates the rule with
    `tagStatus: any` last, so it must have the highest priority number."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {untagged_expiry_days} days after push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep only the newest {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass(frozen=True)
class ImageRepositoryArgs:
    repository_name: str
    """The ECR repository's name, e.g. `platform-prod-web`; images are `<registry>/<name>`."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Encrypt with this KMS key; None encrypts with AES256 (keys managed by ECR)."""
    untagged_expiry_days: int = UNTAGGED_EXPIRY_DAYS
    keep_images: int = KEEP_IMAGES
    protect: bool = False
    """Prod: `protect` and `retain_on_delete` on the repository (decided by the caller)."""
    force_delete: bool = False
    """Delete the repository with its images. Only for a disposable stack (a review stack,
    whose services run images from its base stack's registry anyway)."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = repository_name_problem(self.repository_name)
        if problem is not None:
            raise ValueError(problem)
        if self.untagged_expiry_days < 1 or self.keep_images < 1:
            raise ValueError("untagged_expiry_days and keep_images must be at least 1")


class ImageRepository(pulumi.ComponentResource):
    """Outputs: `repository_name`, `arn`, `url` (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`,
    what images are pushed to and pulled from)."""

    repository_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_IMAGE_REPOSITORY, name, None, opts)
        repository = aws.ecr.Repository(
            f"{name}-ecr",
            name=args.repository_name,
            image_tag_mutability=TAG_MUTABILITY,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[_encryption(args.kms_key_arn)],
            force_delete=args.force_delete,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=pulumi.Output.json_dumps(
                lifecycle_policy(args.untagged_expiry_days, args.keep_images)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_name = repository.name
        self.arn = repository.arn
        self.url = repository.repository_url
        self.register_outputs(
            {"repository_name": self.repository_name, "arn": self.arn, "url": self.url}
        )


def _encryption(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.ecr.RepositoryEncryptionConfigurationArgs:
    if kms_key_arn is None:
        return aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
    return aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=kms_key_arn)
