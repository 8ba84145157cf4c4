"""The incident runbook and what it sends people to after an incident: every relative link from
it (and from the review template it links) resolves to a file, and a `#anchor` to a heading in
it; the review template keeps its sections; the follow-up issue form is a form GitHub accepts,
with the fields a tracked follow-up needs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import REPO_ROOT

INCIDENT_RUNBOOK = REPO_ROOT / "docs" / "runbooks" / "incident.md"
REVIEW_TEMPLATE = REPO_ROOT / "docs" / "postmortem-template.md"
ISSUE_TEMPLATES = REPO_ROOT / ".github" / "ISSUE_TEMPLATE"
FOLLOW_UP_FORM = ISSUE_TEMPLATES / "incident-follow-up.yml"

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose(text: str) -> str:
    """Markdown without what GitHub does not render as links: code and comments."""
    return _INLINE_CODE.sub("", _FENCE.sub("", _COMMENT.sub("", text)))


def relative_links(document: Path) -> list[str]:
    """Every link target that is not a URL (`https:`, `mailto:`), as written."""
    return [t for t in _LINK.findall(prose(document.read_text())) if not _EXTERNAL.match(t)]


def anchors(document: Path) -> set[str]:
    """The heading anchors GitHub generates: lowercase, punctuation dropped, spaces to hyphens,
    `-1`, `-2`... for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(prose(document.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def resolve(document: Path, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    path = path.partition("?")[0]
    return ((document.parent / path).resolve() if path else document), anchor


def broken_links(document: Path) -> list[str]:
    """Each relative link of `document` whose file does not exist, or whose `#anchor` names
    no heading of the markdown file it points to."""
    broken = []
    for target in relative_links(document):
        path, anchor = resolve(document, target)
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    return broken


# Links


def test_the_incident_runbook_links_the_review_template_and_the_follow_up_form() -> None:
    targets = {resolve(INCIDENT_RUNBOOK, t)[0] for t in relative_links(INCIDENT_RUNBOOK)}
    assert REVIEW_TEMPLATE in targets
    assert FOLLOW_UP_FORM in targets
    text = INCIDENT_RUNBOOK.read_text()
    for asked_for in ("timeline in UTC", "impact in numbers", "follow-ups"):
        assert asked_for in text, asked_for


@pytest.mark.parametrize("document", [INCIDENT_RUNBOOK, REVIEW_TEMPLATE], ids=lambda p: p.name)
def test_every_relative_link_resolves(document: Path) -> None:
    assert relative_links(document), f"{document.name} links nothing"
    assert broken_links(document) == []


def test_the_review_template_links_the_follow_up_form() -> None:
    targets = {resolve(REVIEW_TEMPLATE, t)[0] for t in relative_links(REVIEW_TEMPLATE)}
    assert FOLLOW_UP_FORM in targets and INCIDENT_RUNBOOK in targets


def test_the_check_catches_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    runbooks = tmp_path / "docs" / "runbooks"
    runbooks.mkdir(parents=True)
    (runbooks / "other.md").write_text("# Other\n\n## Act now\n")
    document = runbooks / "incident.md"
    document.write_text(
        "# Incident\n\n## Severity\n\n"
        "[ok](other.md#act-now) [ok](#severity) [web](https://example.com/x.md)\n"
        "[gone](../postmortem.md) [wrong anchor](other.md#escalate)\n"
        "`[code](not-a-link.md)`\n\n```\n[fenced](not-a-link-either.md)\n```\n"
    )
    assert broken_links(document) == [
        "../postmortem.md: no such file",
        "other.md#escalate: no heading #escalate in other.md",
    ]
    # The real runbook, moved away from what it links: every relative link is reported.
    shutil.copy(INCIDENT_RUNBOOK, document)
    assert len(broken_links(document)) == len(relative_links(INCIDENT_RUNBOOK)) > 0


# The review template


def test_the_review_template_has_every_section_of_a_blameless_review() -> None:
    headings = set(_HEADING.findall(prose(REVIEW_TEMPLATE.read_text())))
    assert {
        "Summary",
        "Impact",
        "Timeline (UTC)",
        "Detection",
        "Root cause(s) and contributing factors",
        "What went well",
        "What went badly",
        "Follow-up actions",
        "Lessons",
    } <= headings
    text = REVIEW_TEMPLATE.read_text()
    assert "blameless" in text.lower()
    header = next(line for line in text.splitlines() if line.startswith("| Action |"))
    assert [c.strip() for c in header.strip("|").split("|")][:6] == [
        "Action",
        "Kind",
        "Owner",
        "Issue",
        "Due date",
        "Priority",
    ]


# The issue form (GitHub's syntax for issue forms, and its validation errors)

FORM_KEYS = {"name", "description", "title", "labels", "assignees", "body", "projects", "type"}
ELEMENT_TYPES = {"markdown", "textarea", "input", "dropdown", "checkboxes"}
REQUIRED_FIELDS = {"action", "incident", "owner", "due-date", "priority"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_the_follow_up_form_is_an_issue_form_github_accepts() -> None:
    form = load(FOLLOW_UP_FORM)
    assert isinstance(form, dict) and set(form) <= FORM_KEYS
    for key in ("name", "description"):
        assert isinstance(form[key], str) and form[key].strip(), key
    assert isinstance(form["body"], list) and form["body"]
    ids, labels = [], []
    for element in form["body"]:
        assert element["type"] in ELEMENT_TYPES, element
        attributes = element["attributes"]
        if element["type"] == "markdown":
            assert attributes["value"].strip() and "id" not in element
            assert "validations" not in element
            continue
        ids.append(element["id"])
        labels.append(attributes["label"])
        assert re.fullmatch(r"[A-Za-z0-9_-]+", element["id"]), element["id"]
        if element["type"] == "dropdown":
            options = attributes["options"]
            assert options and len(set(options)) == len(options)
            assert all(isinstance(o, str) and o.lower() != "none" for o in options)
    assert len(set(ids)) == len(ids) and len(set(labels)) == len(labels)


def test_the_follow_up_form_asks_for_what_makes_a_follow_up_tracked() -> None:
    form = load(FOLLOW_UP_FORM)
    assert "incident-follow-up" in form["labels"]
    required = {
        element["id"]
        for element in form["body"]
        if element.get("validations", {}).get("required") is True
    }
    assert required == REQUIRED_FIELDS


def test_the_template_chooser_keeps_blank_issues_and_points_incidents_at_the_runbook() -> None:
    config = load(ISSUE_TEMPLATES / "config.yml")
    assert set(config) <= {"blank_issues_enabled", "contact_links"}
    assert config["blank_issues_enabled"] is True
    for link in config["contact_links"]:
        assert set(link) == {"name", "url", "about"}
        assert link["url"].startswith("https://")
    urls = [link["url"] for link in config["contact_links"]]
    assert any(url.endswith("/docs/runbooks/incident.md") for url in urls)
