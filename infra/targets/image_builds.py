"""The images the docker target builds from the repository: where their sources are, and a
digest of exactly what a build sends, so a changed source means a rebuilt image.

Pure file work (no Pulumi runtime): the digest is what `.dockerignore` leaves of the context,
the way `docker build` reads it for the patterns this repository uses (globs, `**`, a directory
pattern excluding what is under it, `!` to take a path back; the last matching line wins).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path, PurePosixPath

from components.docker.image import ImageBuildSpec
from infra.config.errors import ConfigError, Problem
from infra.config.services import ImageBuild

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = "infra"
"""`Pulumi.yaml`'s `main`: the working directory of `pulumi up` and of the providers it runs."""


def ignore_patterns(context: Path) -> list[tuple[bool, str]]:
    """(excludes, pattern) per line of the context's `.dockerignore`, in order."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        patterns.append((not keep, PurePosixPath(pattern).as_posix()))
    return patterns


def _matches(pattern: str, relative: str) -> bool:
    """`relative` or one of the directories it is in matches `pattern`."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if pattern.startswith("**/"):
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
        pattern = pattern[3:]
    return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)


def excluded(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    verdict = False
    for excludes, pattern in patterns:
        if _matches(pattern, relative):
            verdict = excludes
    return verdict


def context_files(context: Path) -> list[str]:
    """Every file a build of `context` sends, relative and sorted. An excluded directory is not
    walked (node_modules stays unread) unless a `!` line could take something under it back."""
    patterns = ignore_patterns(context)
    can_take_back = any(not excludes for excludes, _ in patterns)
    files = []
    for directory, subdirs, names in os.walk(context):
        base = Path(directory).relative_to(context).as_posix()
        prefix = "" if base == "." else f"{base}/"
        if not can_take_back:
            subdirs[:] = [d for d in subdirs if not excluded(prefix + d, patterns)]
        subdirs.sort()
        files += [prefix + n for n in names if not excluded(prefix + n, patterns)]
    return sorted(files)


def context_digest(context: Path) -> str:
    """sha256 over each sent file's path, mode (executable or not) and content."""
    digest = hashlib.sha256()
    for relative in context_files(context):
        path = context / relative
        content = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        executable = "x" if os.access(path, os.X_OK) and not path.is_symlink() else "-"
        digest.update(f"{relative}\0{executable}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def build_spec(
    stack: str, prefix: str, service: str, build: ImageBuild, root: Path = PROJECT_ROOT
) -> ImageBuildSpec:
    """The build of one service's image; a missing context or Dockerfile is a config error."""
    context = root / build.context
    key = f"services.{service}.build"
    if not context.is_dir():
        problem = Problem(f"{key}.context", f"{build.context}/ is not a directory of {root}")
        raise ConfigError(stack, [problem])
    if not (context / build.dockerfile).is_file():
        message = f"{build.dockerfile} is not a file in {build.context}/"
        raise ConfigError(stack, [Problem(f"{key}.dockerfile", message)])
    digest = context_digest(context)
    return ImageBuildSpec(
        name=f"{prefix}-{service}:{digest[:12]}",
        context=os.path.relpath(context, root / PROGRAM_DIR),
        content_digest=digest,
        dockerfile=build.dockerfile,
        target=build.target,
        args=dict(build.args),
    )
