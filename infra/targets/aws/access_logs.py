"""The stack's access log bucket: every public service's ALB writes there, under its own prefix
(the service's name), for as long as `aws.access_log_retention_days` says."""

from __future__ import annotations

from components.aws.access_logs import AccessLogs, AccessLogsArgs
from infra.targets.aws.provider import AwsTarget


def build_access_logs(target: AwsTarget) -> AccessLogs:
    """One bucket per stack, named after the stack and its account; prod's is protected and
    never emptied by a destroy."""
    return AccessLogs(
        "access-logs",
        AccessLogsArgs(
            name_stem=target.prefix,
            region=target.settings.region,
            prefixes=access_log_prefixes(target),
            retention_days=target.settings.access_log_retention_days,
            force_destroy=not target.prod,
            protect=target.prod,
        ),
        opts=target.on_aws,
    )


def access_log_prefixes(target: AwsTarget) -> list[str]:
    """The key prefix of each public service's ALB: its name."""
    return [name for name, service in target.cfg.services.items() if service.public]
