"""The pulumi CLI calls of a review stack's life, each through `run_pulumi` with a timeout.

Every call runs with `PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true`: a review stack's file is
git-ignored, so a fresh checkout (the CI runner, another laptop) has none, and the CLI then takes
the stack's passphrase salt from its state instead of minting a new one that could not read it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config.loader import SECRET_VALUES_CONFIG_KEY
from infractl.context import CommandError
from infractl.pulumi.runner import CliResult, PulumiError, deploy_up_args, run_pulumi
from infractl.pulumi.stacks import (
    ListedStack,
    StackListError,
    parse_plain_outputs,
    parse_stack_list,
    stack_ls_args,
    stack_output_args,
)

CLI_TIMEOUT_SECONDS = 60.0
UPDATE_TIMEOUT_SECONDS = 3600.0
"""`up` and `destroy`: RDS alone takes 10-15 minutes each way."""
STATE_SECRETS_FALLBACK = "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"


def select_create_args(stack: str) -> list[str]:
    return ["stack", "select", "--create", "--non-interactive", "--stack", stack]


def copy_secrets_args(base: str, stack: str) -> list[str]:
    """The base's secret values, decrypted with its key and encrypted again with the review
    stack's, without ever passing through this process."""
    return [
        "config",
        "cp",
        SECRET_VALUES_CONFIG_KEY,
        "--stack",
        base,
        "--dest",
        stack,
        "--non-interactive",
    ]


def up_args(stack: str) -> list[str]:
    return deploy_up_args(stack, f"infractl review up {stack}")


def destroy_args(stack: str) -> list[str]:
    return ["destroy", "--stack", stack, "--yes", "--non-interactive"]


def remove_args(stack: str) -> list[str]:
    """Without `--force`: the CLI refuses to forget a stack that still has resources."""
    return ["stack", "rm", "--stack", stack, "--yes", "--non-interactive"]


@dataclass(frozen=True)
class Cli:
    """The project's pulumi CLI for review stacks: short calls time out after a minute, `up` and
    `destroy` after `update_timeout`."""

    root: Path
    update_timeout: float = UPDATE_TIMEOUT_SECONDS

    def run(self, args: Sequence[str], *, update: bool = False) -> CliResult:
        """Raises PulumiError (missing, failed, timed out)."""
        return run_pulumi(
            args,
            cwd=self.root,
            timeout=self.update_timeout if update else CLI_TIMEOUT_SECONDS,
            env={**os.environ, STATE_SECRETS_FALLBACK: "true"},
        )

    def stacks(self) -> list[ListedStack]:
        """Every stack of the project in the backend; CommandError when it cannot be listed."""
        try:
            return parse_stack_list(self.run(stack_ls_args()).stdout)
        except (PulumiError, StackListError) as exc:
            raise CommandError(f"cannot list the stacks: {exc}") from None

    def outputs(self, stack: str) -> dict[str, Any]:
        """The stack's plain outputs; raises PulumiError or StackListError."""
        return parse_plain_outputs(self.run(stack_output_args(stack)).stdout)
