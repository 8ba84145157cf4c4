"""infractl: the operator's commands, wired to the command line. Each verb's logic lives in its
own folder; this module only registers the verbs and applies the one exit convention: a usage
error or a `CommandError` prints `infractl <verb>: <message>` on stderr and exits 2."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

import typer

from infractl.context import CommandError
from infractl.pulumi.json_input import collector_paused

VERBS: dict[str, str] = {
    # In the order an operator meets them: verb -> the module whose function of that name runs it.
    "plan": "infractl.plan.command",
    "parity": "infractl.parity.command",
    "report": "infractl.report.command",
    "drift": "infractl.drift.command",
    "verify": "infractl.verify.command",
    "rollback": "infractl.rollback.command",
    "env": "infractl.env.command",
    "pin": "infractl.pin.command",
    "review": "infractl.review.command",
}
"""A verb's module is imported only when that verb runs (or help lists them all): `report` need
not load the Pulumi SDK that `plan` evaluates the program with."""


def load_verb(verb: str) -> Callable[..., int]:
    command: Callable[..., int] = getattr(importlib.import_module(VERBS[verb]), verb)
    return command


def build_app(verbs: Iterable[str]) -> typer.Typer:
    app = typer.Typer(
        name="infractl",
        help="Plan, compare, report on and verify the platform's stacks.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _group() -> None:
        """Keeps infractl a command group whatever its verbs."""

    for verb in verbs:
        app.command(verb)(_with_convention(verb, load_verb(verb)))
    return app


def _with_convention(verb: str, command: Callable[..., int]) -> Callable[..., int]:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> int:
        try:
            with collector_paused():  # a short-lived process: no cycles worth the collector's scans
                return command(*args, **kwargs)
        except CommandError as exc:
            message = printable(str(exc)) if exc.lines else one_line(str(exc))
            print(f"infractl {verb}: {message}", file=sys.stderr)
            return 2

    return run


def printable(message: str) -> str:
    """A message may quote input (a key, a file name): its control characters are escaped, so
    it cannot break lines or drive the terminal. Line breaks the message makes itself stay."""
    return "\n".join(
        "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
        for line in message.split("\n")
    )


def one_line(message: str) -> str:
    """`printable`, with line breaks escaped too: the message quotes input that may hold one."""
    return printable(message.replace("\r", "\\r").replace("\n", "\\n"))


def _usage_prefix(exc: typer.TyperException) -> str:
    """`infractl <verb>` when the error is about a verb's arguments, else `infractl`."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.parent is not None and ctx.info_name in VERBS:
        return f"infractl {ctx.info_name}"
    return "infractl"


def main(argv: list[str] | None = None) -> int:
    """Run infractl and return its exit code (2: bad usage or could not run)."""
    args = sys.argv[1:] if argv is None else list(argv)
    app = build_app([args[0]] if args and args[0] in VERBS else VERBS)
    try:
        result = app(args=args, prog_name="infractl", standalone_mode=False)
    except typer.TyperException as exc:
        message = exc.format_message().strip()
        if message:  # empty when typer already printed the help (bare `infractl`)
            print(f"{_usage_prefix(exc)}: {one_line(message)}", file=sys.stderr)
        return 2
    except typer.Abort:
        print("infractl: aborted", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
