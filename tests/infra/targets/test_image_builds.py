"""What a dev build sends, and the digest that makes a changed source a rebuilt image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.config.errors import ConfigError
from infra.config.services import ImageBuild
from infra.targets.image_builds import build_spec, context_digest, context_files
from tests.paths import REPO_ROOT


def make_context(root: Path, ignore: str = "") -> Path:
    context = root / "app"
    for relative in ("Dockerfile", "src/web.js", "node_modules/pg/index.js", "test/a.test.js"):
        path = context / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)
    (context / ".dockerignore").write_text(ignore)
    return context


def test_ignored_files_are_not_sent(tmp_path: Path) -> None:
    context = make_context(tmp_path, "# deps\nnode_modules\n/test\n")
    assert context_files(context) == [".dockerignore", "Dockerfile", "src/web.js"]


def test_a_later_bang_line_takes_a_path_back(tmp_path: Path) -> None:
    context = make_context(tmp_path, "**/*.js\n!src/web.js\n")
    assert "src/web.js" in context_files(context)
    assert "test/a.test.js" not in context_files(context)
    assert "node_modules/pg/index.js" not in context_files(context)


def test_an_ignored_directory_is_not_walked(tmp_path: Path) -> None:
    context = make_context(tmp_path, "node_modules\n")
    unreadable = context / "node_modules" / "locked"
    unreadable.mkdir()
    unreadable.chmod(0)
    try:
        assert "src/web.js" in context_files(context)
    finally:
        unreadable.chmod(0o755)


def test_the_digest_follows_sent_files_only(tmp_path: Path) -> None:
    context = make_context(tmp_path, "node_modules\n")
    before = context_digest(context)
    (context / "node_modules" / "pg" / "index.js").write_text("changed")
    assert context_digest(context) == before
    (context / "src" / "web.js").write_text("changed")
    changed = context_digest(context)
    assert changed != before
    os.chmod(context / "src" / "web.js", 0o755)
    assert context_digest(context) != changed


def test_the_build_is_named_by_its_digest_and_found_from_the_program_directory(
    tmp_path: Path,
) -> None:
    context = make_context(tmp_path)
    spec = build_spec(
        "dev", "platform-dev", "web", ImageBuild(context="app", target="web"), tmp_path
    )
    assert spec.name == f"platform-dev-web:{context_digest(context)[:12]}"
    assert spec.context == "../app"  # the providers run in infra/, Pulumi.yaml's main
    assert spec.target == "web"


def test_the_program_directory_is_pulumi_yamls_main() -> None:
    main = [ln for ln in (REPO_ROOT / "Pulumi.yaml").read_text().splitlines() if "main:" in ln]
    assert main and main[0].split("main:")[1].strip().rstrip("/") == "infra"


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (ImageBuild(context="missing"), "services.web.build.context"),
        (ImageBuild(context="app", dockerfile="Nope"), "services.web.build.dockerfile"),
    ],
)
def test_a_missing_context_or_dockerfile_is_a_config_error(
    tmp_path: Path, build: ImageBuild, key: str
) -> None:
    make_context(tmp_path)
    with pytest.raises(ConfigError) as caught:
        build_spec("dev", "platform-dev", "web", build, tmp_path)
    assert f"platform:{key}:" in str(caught.value)
    assert "stack 'dev'" in str(caught.value)
