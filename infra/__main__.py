"""platform: one stack of the web product.

dev: the services, PostgreSQL and Prometheus on the local Docker engine.
staging, prod: ECS Fargate behind an ALB, RDS PostgreSQL, Secrets Manager, CloudWatch alarms.
Every stack: least-privilege database roles, migrations before traffic, alert rules with runbooks.
"""

import pulumi

from infra.config.errors import ConfigError
from infra.config.loader import StackFileError
from infra.config.secrets import MissingSecretsError
from infra.program import run

try:
    result = run(on_missing_secrets="error")
except (ConfigError, MissingSecretsError, StackFileError) as exc:
    raise pulumi.RunError(str(exc)) from None

for key, value in result.outputs.items():
    pulumi.export(key, value)
