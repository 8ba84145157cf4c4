"""The patterns, limits and base model every part of a stack's config shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

DNS_LABEL = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
PG_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
SECRET_NAME = r"^[a-z][a-z0-9_]{1,62}$"
FQDN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
"""A lowercase, fully qualified host name without the trailing dot (no wildcard, no IP)."""
ROUTE53_ZONE_ID = r"^Z[A-Z0-9]{5,32}$"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
KNOWN_POSTGRES_MAJORS = (15, 16, 17, 18)
"""Majors RDS and the postgres image ship that the role model supports (15 and newer)."""
FARGATE_MEMORY_MB: Mapping[int, tuple[int, int, int]] = {
    # cpu units: (min MiB, max MiB, step MiB), from the Fargate task size table
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
DATABASE_URL_ENV = "DATABASE_URL"
"""The app role's connection URL, which the platform injects into every service."""
RESERVED_ENV = (DATABASE_URL_ENV,)
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827)
CLOUDWATCH_MAX_ALARM_SECONDS = 7 * 24 * 3600
"""Period x evaluation periods of one CloudWatch alarm, for periods of an hour or more."""
BACKUP_RULE = "backup_too_old"


class Model(BaseModel):
    """Every part of a stack's config: unknown keys are errors, NaN and infinity are not numbers,
    and a boolean is never silently a number (pydantic would read `replicas: true` as 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None or not _wants_number(field.annotation):
            return value
        values = value.values() if isinstance(value, Mapping) else [value]
        if any(isinstance(item, bool) for item in values):
            raise PydanticCustomError(
                "bool_not_number", "a boolean where a number belongs; write the number"
            )
        return value


def _wants_number(annotation: Any) -> bool:
    """int or float, possibly Annotated, optional, or the values of a dict."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _wants_number(get_args(annotation)[0])
    if origin is dict:
        return _wants_number(get_args(annotation)[1])
    if origin in (Union, UnionType):
        return any(_wants_number(arg) for arg in get_args(annotation) if arg is not type(None))
    return annotation in (int, float)


def pinned_by_digest(image: str) -> bool:
    """`image` names its bytes (repo@sha256:...), not a tag that can be pushed again."""
    _, at, digest = image.partition("@")
    return bool(at) and _DIGEST.fullmatch(digest) is not None


def pinned_image(image: str) -> str:
    """`image` if it names one build for good: a version tag or a digest, never :latest."""
    if not image or image != image.strip() or any(c.isspace() for c in image):
        raise PydanticCustomError(
            "image_whitespace", "image '{image}' has whitespace in it", {"image": image}
        )
    name, at, digest = image.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise PydanticCustomError(
            "image_digest",
            "image '{image}' has a malformed digest; want @sha256: and 64 hex digits",
            {"image": image},
        )
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    if not at and (not tag or tag == "latest"):
        raise PydanticCustomError(
            "unpinned_image",
            "image '{image}' is not pinned; use a version tag (repo:1.2.3) or a digest "
            "(repo@sha256:...), never :latest",
            {"image": image},
        )
    return image
