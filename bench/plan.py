"""How long an offline plan takes, beside the floor of importing the SDKs it uses.

Prints, for each stack: the median wall time of `infractl plan --stack S --json` (a fresh
process, imports included), the median time of `python -c "import pulumi, pulumi_aws,
pulumi_docker, pulumi_postgresql"` measured in the same run, their ratio, the resource count,
and the in-process evaluation time (what the plan costs beyond imports). Then how evaluation
time grows with the number of services, on synthetic stacks.

Then all stacks in one process (`plan --stacks`), per stack against the floor; whether two runs
of `plan --json` print the same bytes; the offline diff against HEAD beside a single plan; and
each stack's plan with sparse loading of pulumi_aws off (PLATFORM_SPARSE_SDK=0) and on.

Usage: venv/bin/python bench/plan.py [--runs 5] [--stacks dev,staging,prod] [--sizes 0,25,50,100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import pulumi, pulumi_aws, pulumi_docker, pulumi_postgresql"
# `import pulumi_aws` loads only the package root; each resource class loads its module on first
# use. The second floor imports exactly the provider SDK modules a stack's evaluation loaded.
SDKS = ("pulumi_aws", "pulumi_docker", "pulumi_postgresql", "pulumi_random")
LOADED = (
    "import sys; from pathlib import Path; from infra.offline import run_stack; "
    "run_stack(Path('.'), {stack!r}); "
    "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {sdks!r})))"
)


def used_floor(stack: str, runs: int) -> float:
    """Median time to import the provider SDK modules that evaluating `stack` loads."""
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED.format(stack=stack, sdks=SDKS)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The plan loads pulumi_aws sparsely (infra/sparse_sdk.py); so does this floor, else importing
    # one ec2 submodule would load the whole package.
    sparse = "import infra.sparse_sdk as sparse; sparse.enable()"
    return wall([sys.executable, "-c", f"{FLOOR}; {sparse}; import {loaded}"], runs)


def wall(command: list[str], runs: int) -> float:
    return statistics.median(once(command) for _ in range(runs))


def once(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    environment = {**os.environ, **env} if env else None
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start


def sparse_off_and_on(infractl: str, stacks: list[str], runs: int) -> None:
    """Plan wall time with pulumi_aws's service packages loaded whole, then sparsely
    (infra/sparse_sdk.py), alternating so a busy machine weighs on both alike. A docker stack
    never imports pulumi_aws: it should not move."""
    print(f"\nsparse loading of pulumi_aws (plan --json, median of {runs}, off/on alternating):")
    for stack in stacks:
        plan = [infractl, "plan", "--stack", stack, "--json"]
        times: dict[str, list[float]] = {"0": [], "1": []}
        for _ in range(runs):
            for setting, taken in times.items():
                taken.append(once(plan, {"PLATFORM_SPARSE_SDK": setting}))
        off, on = statistics.median(times["0"]), statistics.median(times["1"])
        print(f"{stack:<10}off {off:.3f} s  on {on:.3f} s  saved {off - on:.3f} s")


def synthetic_services(count: int, own: dict[str, object]) -> str:
    """The stack file's own services (their images) plus `count` public web-like services with
    migrations, pinned by digest as aws stacks require, as one config value."""
    services = dict(own)
    for index in range(count):
        services[f"svc{index:02d}"] = {
            "image": f"ghcr.io/acme/svc{index:02d}@sha256:{index:064x}",
            "port": 4000 + index,  # on docker each service binds its own host port
            "public": True,
            "readiness": {"path": "/api/ready"},
            "migration": {"command": ["npx", "prisma", "migrate", "deploy"]},
        }
    return json.dumps(services)


def synthetic_overrides(stack: str, count: int) -> dict[str, str]:
    """The stack's own config plus `count` synthetic services; on aws each public service also
    needs a host name (`aws.public_hostnames`), added to the stack's aws settings."""
    from infra.config.loader import stack_file_path, stack_file_runtime_config

    config, _ = stack_file_runtime_config(stack_file_path(ROOT, stack))
    own = json.loads(config.get("platform:services", "{}"))
    overrides = {"platform:services": synthetic_services(count, own)}
    if "platform:aws" in config:
        aws = json.loads(config["platform:aws"])
        aws["public_hostnames"] = {
            **aws.get("public_hostnames", {}),
            **{f"svc{i:02d}": f"svc{i:02d}.{stack}.shop.acme.example" for i in range(count)},
        }
        overrides["platform:aws"] = json.dumps(aws)
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stacks", default="dev,staging,prod")
    parser.add_argument("--sizes", default="0,25,50,100")
    args = parser.parse_args()
    stacks = args.stacks.split(",")
    infractl = str(Path(sys.executable).with_name("infractl"))

    from infra.offline import run_stack

    floor = wall([sys.executable, "-c", FLOOR], args.runs)
    print(f"floor: {FLOOR!r}: {floor:.3f} s (median of {args.runs})")
    print("used: the floor plus every provider SDK module the stack's evaluation loads")
    print(
        f"{'stack':<10}{'plan s':>9}{'ratio':>8}{'used s':>9}{'ratio/used':>12}{'resources':>11}"
        f"{'eval s':>9}"
    )
    for stack in stacks:
        plan = wall([infractl, "plan", "--stack", stack, "--json"], args.runs)
        start = time.perf_counter()
        run = run_stack(ROOT, stack)
        evaluation = time.perf_counter() - start
        used = used_floor(stack, args.runs)
        print(
            f"{stack:<10}{plan:>9.3f}{plan / floor:>8.2f}{used:>9.3f}{plan / used:>12.2f}"
            f"{len(run.resources):>11}{evaluation:>9.3f}"
        )

    together = wall([infractl, "plan", "--stacks", ",".join(stacks), "--json"], args.runs)
    per_stack = together / len(stacks)
    print(
        f"\nall {len(stacks)} stacks in one process (plan --stacks): {together:.3f} s, "
        f"{per_stack:.3f} s per stack = {per_stack / floor:.2f}x the floor"
    )
    outputs = {
        subprocess.run(
            [infractl, "plan", "--stacks", ",".join(stacks), "--json"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout
        for _ in range(3)
    }  # fmt: skip
    print(f"plan --json run 3 times: {'byte-identical' if len(outputs) == 1 else 'DIFFERENT'}")
    last = stacks[-1]
    single = wall([infractl, "plan", "--stack", last, "--json"], args.runs)
    diff = wall([infractl, "plan", "--stack", last, "--diff-against", "HEAD"], args.runs)
    print(
        f"offline diff of {last} against HEAD: {diff:.3f} s = {diff / single:.2f}x a single plan "
        f"({single:.3f} s)"
    )
    sparse_off_and_on(infractl, stacks, args.runs)

    print("\ngrowth with services (in-process evaluation; synthetic services + the product's two):")
    print(
        f"{'stack':<10}{'services':>9}{'resources':>11}{'eval s':>9}{'ms/resource':>13}"
        f"{'marginal ms/resource':>22}"
    )
    for stack in (stacks[0], stacks[-1]) if len(stacks) > 1 else stacks:
        previous: tuple[int, float] | None = None
        for size in (int(s) for s in args.sizes.split(",")):
            overrides = synthetic_overrides(stack, size)
            start = time.perf_counter()
            run = run_stack(ROOT, stack, config_overrides=overrides)
            evaluation = time.perf_counter() - start
            count = len(run.resources)
            marginal = (
                f"{1000 * (evaluation - previous[1]) / (count - previous[0]):>22.2f}"
                if previous and count > previous[0]
                else f"{'':>22}"
            )
            print(
                f"{stack:<10}{size:>9}{count:>11}{evaluation:>9.3f}"
                f"{1000 * evaluation / count:>13.2f}{marginal}"
            )
            previous = (count, evaluation)


if __name__ == "__main__":
    main()
