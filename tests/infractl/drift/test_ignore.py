"""The drift ignore file: globs and literal brackets, property prefixes, malformed files, and the
repository's own file loads with a reason for every entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infractl.drift.classify import DriftSeverity, classify_property
from infractl.drift.ignore import IgnoreFileError, parse_ignore_rules, property_prefixes
from infractl.pulumi.digest import PropertyDiff


def test_repository_ignore_file_is_valid(repo_root: Path) -> None:
    path = repo_root / "drift-ignore.yaml"
    rules = parse_ignore_rules(path.read_text(), str(path))
    entries = yaml.safe_load(path.read_text())
    assert len(rules) == len(entries) >= 1
    assert all(entry["reason"].strip() for entry in entries)


def test_ignore_rules_match_globs_and_literal_brackets() -> None:
    rules = parse_ignore_rules(
        """
- type: "aws:*"
  property: tags
  reason: tags are managed by the org policy
- type: aws:ec2/securityGroup:SecurityGroup
  property: "ingress[0].description"
  reason: console edits of descriptions
- type: aws:ecs/service:Ser?ice
  property: "*Count"
  reason: autoscaling
""",
        "ignore.yaml",
    )
    sg = "aws:ec2/securityGroup:SecurityGroup"
    assert rules[0].matches(sg, "tags")
    assert rules[0].matches(sg, "tags.Owner")
    assert rules[0].matches(sg, 'tags["a.b"]')
    assert not rules[0].matches(sg, "tagsAll.Owner")
    assert not rules[0].matches("docker:index/volume:Volume", "tags")
    assert rules[1].matches(sg, "ingress[0].description")
    assert not rules[1].matches(sg, "ingress[1].description")
    assert not rules[1].matches(sg, "ingress0.description")
    assert rules[2].matches("aws:ecs/service:Service", "desiredCount")
    assert not rules[2].matches("aws:ecs/service:Service", "desiredCountMax")
    classified = classify_property(
        sg, PropertyDiff("ingress[0].description", "update", True), rules
    )
    assert classified.severity is DriftSeverity.IGNORED
    assert classified.reason == "console edits of descriptions"


def test_property_prefixes() -> None:
    assert property_prefixes('a.b[0]["x.y"].c') == [
        "a",
        "a.b",
        "a.b[0]",
        'a.b[0]["x.y"]',
        'a.b[0]["x.y"].c',
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- type: a\n  property: b\n", "entry 1: 'reason' is missing"),
        ("- type: a\n  property: b\n  reason: '  '\n", "entry 1: 'reason' is empty"),
        ("- {type: a, property: b, reason: ok}\n- {type: a, reason: ok}\n", "entry 2: 'property'"),
        ("- {type: a, property: b, reason: ok, propery: c}\n", "unknown key(s) propery"),
        ("type: a\n", "expected a list"),
        ("- just a string\n", "expected a mapping"),
        ("- [unclosed\n", "invalid YAML at line"),
    ],
)
def test_bad_ignore_files(text: str, expected: str) -> None:
    with pytest.raises(IgnoreFileError, match=None) as err:
        parse_ignore_rules(text, "ignore.yaml")
    assert str(err.value).startswith("ignore.yaml: ")
    assert expected in str(err.value)


def test_empty_ignore_file_is_no_rules() -> None:
    assert parse_ignore_rules("", "x") == ()
    assert parse_ignore_rules("# nothing yet\n", "x") == ()
