"""The deploy pipeline (deploy.yml, deploy-stack.yml): build once, test and scan, push the same
image to both accounts' registries, then deploy those digests to staging and, after it, to prod.

The wiring is read from the workflows; the shell steps that decide (push, compare, pin) are run
as written, with fake docker, aws and pulumi commands that record what they are asked."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
STAGING_REGISTRY = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
PROD_REGISTRY = "444455556666.dkr.ecr.eu-west-1.amazonaws.com"
TAG = "0123456789abcdef0123456789abcdef01234567-4242-1"
SERVICES = ("web", "worker")


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def find_step(job: Mapping[str, Any], *, name: str | None = None, id: str | None = None) -> Any:
    (step,) = [
        s
        for s in job["steps"]
        if (name is None or s.get("name") == name) and (id is None or s.get("id") == id)
    ]
    return step


def uses(job: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]


def position(job: Mapping[str, Any], step: Mapping[str, Any]) -> int:
    index: int = job["steps"].index(step)
    return index


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load("deploy.yml")


@pytest.fixture(scope="module")
def build(deploy: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = deploy["jobs"]["build"]
    return job


@pytest.fixture(scope="module")
def up() -> dict[str, Any]:
    job: dict[str, Any] = load("deploy-stack.yml")["jobs"]["up"]
    return job


# ---------------------------------------------------------------- running a step's script


def digest_of(service: str) -> str:
    return "sha256:" + hashlib.sha256(service.encode()).hexdigest()


FAKE_DOCKER = r"""#!/bin/bash
echo "$*" >> "$FAKES/docker.log"
if [ "$1 $2 $3" = "buildx imagetools inspect" ]; then
  digest="$(grep -F "$4 " "$FAKES/digests" 2>/dev/null | cut -d' ' -f2)"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1}\n' \
    "$digest"
fi
"""
FAKE_AWS = r"""#!/bin/bash
echo "$*" >> "$FAKES/aws.log"
case "$1 $2" in
  "ecr describe-repositories") echo "$ACCOUNT_REGISTRY/$4" ;;
  "ecr describe-images")
    if grep -qxF -- "$4 ${6#imageDigest=}" "$FAKES/missing" 2>/dev/null; then
      echo "An error occurred (ImageNotFoundException)" >&2
      exit 254
    fi
    echo "${6#imageDigest=}" ;;
esac
"""
FAKE_PULUMI = """#!/bin/bash
echo "$*" >> "$FAKES/pulumi.log"
"""


class Runner:
    """Runs a workflow step's `run` as the runner does (bash -eo pipefail), with the fakes first
    on PATH; `log(tool)` is what each fake was asked, one call per line."""

    def __init__(self, tmp_path: Path) -> None:
        self.fakes = tmp_path / "fakes"
        self.temp = tmp_path / "runner-temp"
        self.output = tmp_path / "github-output"
        for path in (self.fakes, self.temp):
            path.mkdir()
        self.output.touch()
        for tool, text in (("docker", FAKE_DOCKER), ("aws", FAKE_AWS), ("pulumi", FAKE_PULUMI)):
            (self.fakes / tool).write_text(text)
            (self.fakes / tool).chmod(0o755)

    def registry_digest(self, image: str, digest: str) -> None:
        with (self.fakes / "digests").open("a") as digests:
            digests.write(f"{image} {digest}\n")

    def run(
        self, step: Mapping[str, Any], env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str]:
        script = self.temp / "step.sh"
        script.write_text(step["run"])
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env={
                "PATH": f"{self.fakes}:/usr/bin:/bin",
                "FAKES": str(self.fakes),
                "RUNNER_TEMP": str(self.temp),
                "GITHUB_OUTPUT": str(self.output),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=30,
        )

    def log(self, tool: str) -> list[str]:
        path = self.fakes / f"{tool}.log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def pushed_image(registry: str, stack: str, service: str) -> str:
    return f"{registry}/platform-{stack}-{service}:{TAG}"


def push_and_compare(
    runner: Runner, build: Mapping[str, Any], prod_digests: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The build's push and compare steps, each registry answering the digest it stored."""
    for service in SERVICES:
        runner.registry_digest(
            pushed_image(STAGING_REGISTRY, "staging", service), digest_of(service)
        )
        prod = (prod_digests or {}).get(service, digest_of(service))
        runner.registry_digest(pushed_image(PROD_REGISTRY, "prod", service), prod)
    env = {
        "SERVICES": " ".join(SERVICES),
        "TAG": TAG,
        "STAGING_REGISTRY": STAGING_REGISTRY,
        "PROD_REGISTRY": PROD_REGISTRY,
    }
    pushed = runner.run(find_step(build, name="Push each image to both registries"), env)
    compared = runner.run(find_step(build, id="digests"), env)
    return pushed, compared


# ---------------------------------------------------------------- build: once, tested, scanned


def test_the_build_runs_the_app_tests_against_postgres(build: dict[str, Any]) -> None:
    assert build["services"]["postgres"]["image"] == "postgres:16"
    (node,) = uses(build, "actions/setup-node")
    assert str(node["with"]["node-version"]) == "22"
    tests = find_step(build, name="App tests")
    assert tests["working-directory"] == "app"
    assert tests["run"].split("\n")[:2] == ["npm ci --ignore-scripts", "npm test"]
    package = json.loads((REPO_ROOT / "app" / "package.json").read_text())
    assert package["scripts"]["test"].startswith("node --test test/")
    assert tests["env"]["TEST_DATABASE_URL"].startswith("postgresql://")
    assert "@localhost:5432/" in tests["env"]["TEST_DATABASE_URL"]


def test_each_image_is_built_once_and_only_by_the_build(
    build: dict[str, Any], deploy: dict[str, Any]
) -> None:
    script = find_step(build, name="Build each image once")["run"]
    assert script.count("docker buildx build") == 1 and "for service in $SERVICES" in script
    assert '--tag "platform-$service:candidate"' in script
    assert '--target "$service"' in script and "--load" in script and "app/Dockerfile" in script
    assert build["env"]["SERVICES"].split() == list(SERVICES)
    everywhere = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert everywhere.count("docker buildx build") == 1
    assert "docker build " not in everywhere
    assert set(deploy["jobs"]) == {"build", "staging", "prod"}


def test_both_scans_fail_the_build_before_anything_is_pushed(build: dict[str, Any]) -> None:
    push = position(build, find_step(build, name="Push each image to both registries"))
    scans = uses(build, "aquasecurity/trivy-action")
    # What is scanned is what is pushed: the images the build step loaded, tagged `candidate`.
    assert {s["with"]["image-ref"] for s in scans} == {
        f"platform-{service}:candidate" for service in SERVICES
    }
    for scan in scans:
        assert scan["with"]["severity"] == "CRITICAL"
        assert str(scan["with"]["exit-code"]) == "1"
        assert scan["with"]["ignore-unfixed"] is True
        assert position(build, scan) < push
    # The action always runs the scanner with --fail; the scanner's version is pinned too.
    (secrets,) = uses(build, "trufflesecurity/trufflehog")
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(secrets["with"]["version"]))
    assert "--results=verified" in secrets["with"]["extra_args"]
    assert position(build, secrets) < push
    (checkout,) = uses(build, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0  # the scan reads the pushed commits


def test_the_build_logs_in_to_each_accounts_registry_with_its_own_push_role(
    build: dict[str, Any],
) -> None:
    roles = [
        s["with"]["role-to-assume"] for s in uses(build, "aws-actions/configure-aws-credentials")
    ]
    assert roles == [
        "${{ secrets.STAGING_ECR_PUSH_ROLE_ARN }}",
        "${{ secrets.PROD_ECR_PUSH_ROLE_ARN }}",
    ]
    logins = uses(build, "aws-actions/amazon-ecr-login")
    assert [s["id"] for s in logins] == ["staging-registry", "prod-registry"]
    env = find_step(build, name="Push each image to both registries")["env"]
    assert env == {
        "STAGING_REGISTRY": "${{ steps.staging-registry.outputs.registry }}",
        "PROD_REGISTRY": "${{ steps.prod-registry.outputs.registry }}",
    }
    assert build["permissions"] == {"contents": "read", "id-token": "write"}
    assert "environment" not in build


# ---------------------------------------------------------------- build: push and compare


def test_each_image_is_pushed_once_per_registry_and_the_digests_are_the_output(
    runner: Runner, build: dict[str, Any]
) -> None:
    pushed, compared = push_and_compare(runner, build)
    assert pushed.returncode == 0, pushed.stderr
    assert compared.returncode == 0, compared.stderr
    pushes = [call for call in runner.log("docker") if call.startswith("push ")]
    assert sorted(pushes) == sorted(
        f"push --quiet {pushed_image(registry, stack, service)}"
        for registry, stack in ((STAGING_REGISTRY, "staging"), (PROD_REGISTRY, "prod"))
        for service in SERVICES
    )
    assert not [call for call in runner.log("docker") if "build" in call.split()[:2]]
    assert sorted(c for c in runner.log("docker") if c.startswith("tag ")) == sorted(
        f"tag platform-{service}:candidate {pushed_image(registry, stack, service)}"
        for registry, stack in ((STAGING_REGISTRY, "staging"), (PROD_REGISTRY, "prod"))
        for service in SERVICES
    )
    (line,) = runner.output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert name == "digests"
    assert json.loads(value) == {service: digest_of(service) for service in SERVICES}
    assert build["outputs"]["digests"] == "${{ steps.digests.outputs.digests }}"


def test_different_digests_in_the_two_registries_fail_the_build(
    runner: Runner, build: dict[str, Any]
) -> None:
    pushed, compared = push_and_compare(runner, build, {"worker": digest_of("something else")})
    assert pushed.returncode == 0, pushed.stderr
    assert compared.returncode == 1
    assert "different digests" in compared.stdout
    assert runner.output.read_text() == ""  # no digests, so no deploy


@pytest.mark.parametrize("bad", ["", "null", "sha256:abc", "md5:" + "0" * 64])
def test_a_registry_answer_that_is_no_digest_fails_the_build(
    runner: Runner, build: dict[str, Any], bad: str
) -> None:
    pushed, _ = push_and_compare(runner, build, {})
    assert pushed.returncode == 0
    for stack in ("staging", "prod"):
        file = runner.temp / f"digests-{stack}"
        file.write_text(file.read_text().replace(digest_of("web"), bad))
    again = runner.run(find_step(build, id="digests"), {"SERVICES": " ".join(SERVICES)})
    assert again.returncode == 1 and "not a sha256 digest" in again.stdout
    assert runner.output.read_text().count("digests=") == 1  # only the first, good run's


def test_a_service_missing_from_the_push_fails_the_build(
    runner: Runner, build: dict[str, Any]
) -> None:
    for stack in ("staging", "prod"):
        (runner.temp / f"digests-{stack}").write_text(f"web={digest_of('web')}\n")
    compared = runner.run(find_step(build, id="digests"), {"SERVICES": " ".join(SERVICES)})
    assert compared.returncode == 1 and "expected a digest for each" in compared.stdout


# ---------------------------------------------------------------- staging, then prod


def test_staging_then_prod_deploy_the_digests_the_build_output(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    staging, prod = jobs["staging"], jobs["prod"]
    assert staging["needs"] == "build"
    assert set(prod["needs"]) == {"build", "staging"}
    for job, stack in ((staging, "staging"), (prod, "prod")):
        assert job["uses"] == "./.github/workflows/deploy-stack.yml"
        assert job["with"]["stack"] == stack
        assert job["with"]["digests"] == "${{ needs.build.outputs.digests }}"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert deploy["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    assert deploy[True]["push"]["branches"] == ["main"]  # YAML reads `on:` as True


def test_deploy_stack_takes_the_digests_and_deploys_in_the_stacks_environment(
    up: dict[str, Any],
) -> None:
    inputs = load("deploy-stack.yml")[True]["workflow_call"]["inputs"]
    assert inputs["digests"]["required"] is True and inputs["digests"]["type"] == "string"
    assert up["environment"] == "${{ inputs.stack }}"  # prod's has required reviewers
    assert up["env"]["DIGESTS"] == "${{ inputs.digests }}"
    assert up["permissions"] == {"contents": "read", "id-token": "write"}


def test_images_are_pinned_before_up_and_a_failed_gate_rolls_back(up: dict[str, Any]) -> None:
    pin = find_step(up, name="Pin the images by digest")
    deploy = find_step(up, name="Up")
    gate = find_step(up, id="gate")
    rollback = find_step(up, name="Roll back")
    assert [position(up, s) for s in (pin, deploy, gate, rollback)] == sorted(
        position(up, s) for s in (pin, deploy, gate, rollback)
    )
    assert position(up, pin) < position(up, deploy)
    assert "--policy-pack policy" in deploy["run"]
    assert gate["run"].startswith("infractl verify --stack")
    assert rollback["if"] == "failure() && steps.gate.outcome == 'failure'"
    assert rollback["run"] == 'infractl rollback --stack "$STACK" --yes'


def run_pin(runner: Runner, up: dict[str, Any], digests: str, stack: str = "staging") -> Any:
    registry = PROD_REGISTRY if stack == "prod" else STAGING_REGISTRY
    return runner.run(
        find_step(up, name="Pin the images by digest"),
        {"DIGESTS": digests, "STACK": stack, "ACCOUNT_REGISTRY": registry},
    )


def test_each_image_is_set_by_digest_in_the_stacks_own_repository(
    runner: Runner, up: dict[str, Any]
) -> None:
    digests = {service: digest_of(service) for service in SERVICES}
    done = run_pin(runner, up, json.dumps(digests), "prod")
    assert done.returncode == 0, done.stderr
    assert runner.log("pulumi") == [
        f"config set --stack prod --path platform:services.{service}.image "
        f"{PROD_REGISTRY}/platform-prod-{service}@{digest}"
        for service, digest in digests.items()
    ]
    checked = [
        re.findall(r"imageDigest=(\S+)", call)
        for call in runner.log("aws")
        if "describe-images" in call
    ]
    assert checked == [[digest] for digest in digests.values()]


@pytest.mark.parametrize(
    "digests",
    [
        "{}",
        "not json",
        '["web"]',
        json.dumps({"web": "sha256:abc"}),
        json.dumps({"web": "latest"}),
        json.dumps({"Web;rm": digest_of("web")}),
    ],
    ids=["empty", "not-json", "a-list", "short-digest", "a-tag", "odd-service"],
)
def test_anything_but_service_digests_changes_nothing(
    runner: Runner, up: dict[str, Any], digests: str
) -> None:
    done = run_pin(runner, up, digests)
    assert done.returncode != 0
    assert runner.log("pulumi") == []


def test_an_image_missing_from_the_stacks_registry_changes_nothing(
    runner: Runner, up: dict[str, Any]
) -> None:
    (runner.fakes / "missing").write_text(f"platform-staging-worker {digest_of('worker')}\n")
    digests = {service: digest_of(service) for service in SERVICES}
    done = run_pin(runner, up, json.dumps(digests))
    assert done.returncode != 0 and "ImageNotFoundException" in done.stderr
    assert runner.log("pulumi") == []  # not even web's: all are checked before any is set


def test_the_workflow_pushes_to_the_repositories_the_stack_files_pull_from() -> None:
    """The deploy workflow's naming (`platform-<stack>-<service>`) and the images the stack files
    hold agree; tests/infra/targets/test_aws_registry.py ties those to the program's."""
    for stack in ("staging", "prod"):
        config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        for service, settings in config["platform:services"].items():
            repository = settings["image"].split("@", 1)[0].split("/", 1)[1]
            assert repository == f"platform-{stack}-{service}"
