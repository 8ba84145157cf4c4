"""infractl: the operator's commands. Each command's logic lives in its own module; this file only
wires them to the command line and turns usage errors into one line and exit code 2."""

from __future__ import annotations

import sys

import typer

from infractl.drift import command as drift_cmd
from infractl.parity import command as parity_cmd
from infractl.plan import command as plan_cmd
from infractl.report import command as report_cmd
from infractl.rollback import command as rollback_cmd
from infractl.verify import command as verify_cmd

app = typer.Typer(
    name="infractl",
    help="Plan, compare, report on and verify the platform's stacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Keeps infractl a command group even while it has a single command."""


# Commands: one line each, in the order an operator meets them.
app.command("plan")(plan_cmd.plan)
app.command("parity")(parity_cmd.parity)
app.command("report")(report_cmd.report)
app.command("drift")(drift_cmd.drift)
app.command("verify")(verify_cmd.verify)
app.command("rollback")(rollback_cmd.rollback)


def main(argv: list[str] | None = None) -> int:
    """Run infractl; exit 2 with a one-line message on bad usage."""
    try:
        result = app(args=argv, prog_name="infractl", standalone_mode=False)
    except typer.TyperException as exc:
        # Usage errors (unknown option, missing value...) are TyperExceptions with exit code 2.
        print(f"infractl: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except typer.Abort:
        print("infractl: aborted", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
