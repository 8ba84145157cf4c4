"""The patterns, limits and base model every part of a stack's config shares."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

DNS_LABEL = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
PG_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
SECRET_NAME = r"^[a-z][a-z0-9_]{1,62}$"
FQDN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
"""A lowercase, fully qualified host name without the trailing dot (no wildcard, no IP)."""
ROUTE53_ZONE_ID = r"^Z[A-Z0-9]{5,32}$"
SECRET_LOOKING_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)")
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
RESERVED_ENV = ("DATABASE_URL",)
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827)
CLOUDWATCH_MAX_ALARM_SECONDS = 7 * 24 * 3600
"""Period x evaluation periods of one CloudWatch alarm, for periods of an hour or more."""
BACKUP_RULE = "backup_too_old"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
