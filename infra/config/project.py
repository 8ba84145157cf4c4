"""The Pulumi project this config belongs to: `name` in Pulumi.yaml, which is also the namespace
of every key a stack file sets (`platform:services`, ...)."""

from __future__ import annotations

PROJECT_NAME = "platform"
STACK_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
"""A stack name is a DNS label: it becomes part of host names, database names and tags."""
