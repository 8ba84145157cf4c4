"""The Pulumi project this config belongs to: `name` in Pulumi.yaml, which is also the namespace
of every key a stack file sets (`platform:services`, ...)."""

from __future__ import annotations

PROJECT_NAME = "platform"
