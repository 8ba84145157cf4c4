"""`infractl report`: turn `pulumi preview --json` output into a markdown PR comment."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from infractl.context import CommandError, valid_stack_name
from infractl.pulumi.digest import PreviewDigest, parse_digest
from infractl.pulumi.digest_stream import load_digest_for_report
from infractl.pulumi.digest_text import PreviewFormatError
from infractl.report.render import (
    DEFAULT_MAX_CHARS,
    GITHUB_COMMENT_LIMIT,
    StackPreview,
    render_report,
)

STDIN = Path("-")


def _read(path: Path) -> PreviewDigest:
    if path == STDIN:
        return parse_digest(sys.stdin.buffer.read(), "<stdin>")
    return load_digest_for_report(path)


def _stack_name(path: Path, digest: PreviewDigest, given: str | None) -> str:
    """--stack wins; else the stack in the URNs (always there: the root stack step); else the
    file name `<stack>.json`."""
    if given:
        return given
    if digest.stack:
        return digest.stack
    return path.stem if path != STDIN else "stack"


def _kept_apart(previews: list[StackPreview], paths: list[Path]) -> list[StackPreview]:
    """Two files for one stack name (two projects' `dev`) are labelled by their file, so their
    changes are never merged under one heading."""
    names = [p.stack for p in previews]
    labels = [str(path) if path != STDIN else "stdin" for path in paths]
    if len({path.name for path in paths}) == len(paths):
        labels = [path.name if path != STDIN else "stdin" for path in paths]
    return [
        StackPreview(stack=f"{p.stack} ({label})", digest=p.digest)
        if names.count(p.stack) > 1
        else p
        for p, label in zip(previews, labels, strict=True)
    ]


def report(
    preview_json: Annotated[
        list[Path],
        typer.Argument(
            help="`pulumi preview --json` output, one file per stack; `-` reads stdin.",
            show_default=False,
        ),
    ],
    stack: Annotated[
        str | None,
        typer.Option(help="Stack name to show (only with one file; default: from the URNs)."),
    ] = None,
    fail_on_destructive: Annotated[
        bool,
        typer.Option(
            "--fail-on-destructive",
            help="Exit 1 when a stateful or protected resource would be replaced or deleted.",
        ),
    ] = False,
    max_chars: Annotated[
        int,
        typer.Option(
            min=1000,
            max=GITHUB_COMMENT_LIMIT,
            help="Cut the least important rows to stay under this many characters.",
        ),
    ] = DEFAULT_MAX_CHARS,
) -> int:
    """Print a markdown PR comment from `pulumi preview --json` output.

    Destructive changes come first, then every change grouped by component. Exit 0; 1 with
    --fail-on-destructive when something destructive is planned; 2 when an input cannot be read.
    """
    if stack is not None:
        valid_stack_name(stack)
        if len(preview_json) > 1:
            raise CommandError("--stack names one stack; give one file with it")
    previews = []
    for path in preview_json:
        try:
            digest = _read(path)
        except PreviewFormatError as exc:
            raise CommandError(str(exc)) from None
        previews.append(StackPreview(stack=_stack_name(path, digest, stack), digest=digest))
    result = render_report(_kept_apart(previews, preview_json), max_chars=max_chars)
    sys.stdout.write(result.markdown)
    destructive = len(result.destructive)
    if fail_on_destructive and destructive:
        print(f"infractl report: {destructive} destructive change(s) planned", file=sys.stderr)
        return 1
    return 0
