"""What the real engine costs on this machine, each figure beside a floor measured in the same run.

Prints:
- the engine: `scripts/engine` as it is now (warm: every piece cached) and each piece's size; with
  `--cold`, also a cold build into empty Go and engine caches (tens of minutes on two cores);
- the local images: `scripts/e2e-images` (warm);
- the dev program on the real engine, as the e2e tier's throwaway stack: `pulumi up` from empty
  until `infractl verify` passes, a no-op `up`, and `destroy`, each as a multiple of one
  container's start (`docker run --rm <base image> true`);
- `infractl plan --stack dev` (offline, mocks) beside a real `pulumi preview` of the same program.

Needs a Docker engine and the images (`./scripts/test --e2e` leaves both). Usage:
    venv/bin/python bench/e2e.py [--cold] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.e2e_harness import STACK, create_stack, destroy_stack  # noqa: E402

BASE_IMAGE = "platform-e2e/debian:bookworm"
PIECES = ("cli", "python", "docker", "postgresql", "random")


def timed(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def median(command: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(command, env) for _ in range(runs))


def engine_sizes(cache: Path) -> dict[str, float]:
    sizes: dict[str, float] = {}
    for piece in PIECES:
        dirs = sorted(cache.glob(f"{piece}-*"), key=lambda d: d.stat().st_mtime)
        complete = [d for d in dirs if (d / ".complete").exists()]
        if complete:
            files = [f for f in complete[-1].iterdir() if f.is_file() and f.name != ".complete"]
            sizes[piece] = sum(f.stat().st_size for f in files) / 1e6
    return sizes


def cold_engine() -> float:
    """A cold build: empty engine, Go module and Go build caches, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-engine-") as tmp:
        env = {
            **os.environ,
            "PLATFORM_ENGINE_CACHE": f"{tmp}/engine",
            "GOMODCACHE": f"{tmp}/gomod",
            "GOCACHE": f"{tmp}/gocache",
        }
        seconds = timed(["bash", "scripts/engine"], env)
        subprocess.run(["chmod", "-R", "u+w", tmp], check=False)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="also time a cold engine build")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    cache = Path(
        os.environ.get("PLATFORM_ENGINE_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "platform-engine"
    )
    warm = timed(["bash", "scripts/engine"])
    images = timed(["bash", "scripts/e2e-images"])
    container = median(
        ["docker", "run", "--rm", "--network", "none", BASE_IMAGE, "true"], args.runs
    )
    print(f"floor: one container's start (docker run --rm {BASE_IMAGE} true) {container:.2f}s")
    print(f"engine, warm (scripts/engine, all cached): {warm:.1f}s")
    for piece, mb in engine_sizes(cache).items():
        print(f"  {piece:<11} {mb:6.0f} MB")
    if args.cold:
        print(f"engine, cold (empty Go and engine caches): {cold_engine():.0f}s")
    print(f"images, warm (scripts/e2e-images, all reused): {images:.1f}s")

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        project, state = Path(tmp, "project"), Path(tmp, "state")
        project.mkdir()
        state.mkdir()
        stack = create_stack(project, state)
        infractl = str(ROOT / "venv" / "bin" / "infractl")
        try:
            start = time.perf_counter()
            stack.pulumi("up", "--yes", "--skip-preview")
            stack.run([infractl, "verify", "--stack", STACK, "--deadline", "300"], timeout=400)
            up = time.perf_counter() - start
            noop = stack.pulumi("up", "--yes", "--skip-preview").seconds
            preview = statistics.median(
                stack.pulumi("preview", "--expect-no-changes").seconds for _ in range(args.runs)
            )
            plan = median([infractl, "plan", "--stack", "dev", "--json"], args.runs)
        finally:
            start = time.perf_counter()
            destroy_stack(stack)
            destroy = time.perf_counter() - start
    print(f"up from empty until verify passes: {up:.1f}s ({up / container:.0f}x a container start)")
    print(f"no-op up: {noop:.1f}s ({noop / container:.0f}x)")
    print(f"destroy: {destroy:.1f}s ({destroy / container:.0f}x)")
    print(
        f"infractl plan --stack dev {plan:.2f}s vs real pulumi preview {preview:.2f}s: "
        f"{plan / preview:.2f}x"
    )


if __name__ == "__main__":
    main()
