"""Review stack files as `infractl review up` writes them, for tests that evaluate or compare
review stacks without running the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from infractl.review.command import read_base, validate
from infractl.review.stack_file import render, review_config, review_document
from tests.paths import REPO_ROOT

EXPIRES = date(2030, 1, 31)


def write_review_stack(root: Path, stack: str, base_root: Path = REPO_ROOT) -> Path:
    """`root/Pulumi.<stack>.yaml`, generated from `base_root/Pulumi.staging.yaml` and validated
    as `up` validates it before writing."""
    base_cfg, base_file = read_base(base_root, "staging")
    config = review_config(stack, base_cfg, base_file, EXPIRES)
    validate(stack, "staging", config)
    path = root / f"Pulumi.{stack}.yaml"
    path.write_text(render(review_document(None, config), "staging"))
    return path
