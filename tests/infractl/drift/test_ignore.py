"""The repository's own drift ignore file loads, and every entry gives its reason."""

from __future__ import annotations

from pathlib import Path

import yaml

from infractl.drift.classify import parse_ignore_rules


def test_repository_ignore_file_is_valid(repo_root: Path) -> None:
    path = repo_root / "drift-ignore.yaml"
    rules = parse_ignore_rules(path.read_text(), str(path))
    entries = yaml.safe_load(path.read_text())
    assert len(rules) == len(entries) >= 1
    assert all(entry["reason"].strip() for entry in entries)
