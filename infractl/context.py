"""Finding the project and its stack files from wherever infractl is run."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.config.project import PROJECT_NAME


class ProjectNotFound(Exception):
    pass


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` whose Pulumi.yaml names this project."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        manifest = directory / "Pulumi.yaml"
        if manifest.is_file():
            try:
                name = (yaml.safe_load(manifest.read_text()) or {}).get("name")
            except yaml.YAMLError:
                name = None
            if name == PROJECT_NAME:
                return directory
    raise ProjectNotFound(
        f"no Pulumi.yaml for project '{PROJECT_NAME}' in {here} or its parents; "
        "run infractl inside the platform repository"
    )


def stack_names(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
