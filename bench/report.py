"""Time and peak memory of `infractl report` and of drift classification on a generated
10,000-step preview (and refresh preview) of this project's shape.

Each phase runs `--runs` times for the median wall time with tracemalloc off, then once with
tracemalloc on for its peak allocation (tracemalloc slows Python down, so the two are kept apart).
The input is the CLI's own format: one indented PreviewDigest, as `pulumi preview --json` prints.

Usage: venv/bin/python bench/report.py [--steps 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infractl.drift.classify import DriftRun, classify_stack  # noqa: E402
from infractl.drift.render import render_json, render_markdown  # noqa: E402
from infractl.pulumi.digest import parse_digest  # noqa: E402
from infractl.pulumi.digest_stream import load_digest_for_report  # noqa: E402
from infractl.pulumi.json_input import collector_paused  # noqa: E402
from infractl.report.render import PreviewReport, StackPreview, render_report  # noqa: E402


def the_command_on(path: Path) -> PreviewReport:
    """What `infractl report FILE` runs: the file read step by step, each step trimmed."""
    with collector_paused():
        return render_report([StackPreview("prod", load_digest_for_report(path))])


def the_command(text: str) -> PreviewReport:
    """What `infractl report` runs: the CLI pauses the cyclic collector for the whole verb."""
    with collector_paused():
        return render_report([StackPreview("prod", parse_digest(text, "preview.json"))])


T = TypeVar("T")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
TYPES = (
    "aws:ecs/service:Service",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:iam/rolePolicy:RolePolicy",
)


def digest(steps: int, *, refresh: bool) -> dict[str, Any]:
    """Mostly updates (preview) or clean refreshes (refresh) under 100 nested components, one
    destructive RDS step per 1,000, secrets as the CLI writes them."""
    stack, project = "prod", "platform"
    root = f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
    provider = f"urn:pulumi:{stack}::{project}::pulumi:providers:aws::default_7_51_1::{UNKNOWN}"
    out: list[dict[str, Any]] = [{"op": "refresh" if refresh else "same", "urn": root}]
    counts: dict[str, int] = {"same": 1}
    for i in range(1, steps):
        chain = f"platform:aws:Service$platform:aws:Alarms{'$platform:aws:Group' * (i % 3)}"
        if i % 1000 == 0:
            op, typ = ("delete" if refresh else "replace"), "aws:rds/instance:Instance"
        else:
            typ = TYPES[i % len(TYPES)]
            if refresh:
                op = "update" if i % 4 == 0 else "refresh"
            else:
                op = ("update", "update", "update", "create", "delete")[i % 5]
        urn = f"urn:pulumi:{stack}::{project}::{chain}${typ}::res-{i}"
        parent = f"urn:pulumi:{stack}::{project}::{chain}::group-{i % 100}"
        state: dict[str, Any] = {
            "urn": urn,
            "custom": True,
            "id": f"id-{i}",
            "type": typ,
            "parent": parent,
            "provider": provider,
            "inputs": {"desiredCount": i % 9, "password": "[secret]", "tags": {"team": "shop"}},
            "outputs": {"desiredCount": i % 9, "password": "[secret]", "arn": f"arn:aws:x:{i}"},
            "created": "2026-11-02T09:14:27.318273Z",
            "modified": "2026-11-02T09:14:27.318273Z",
        }
        step: dict[str, Any] = {"op": op, "urn": urn, "provider": provider}
        if op != "create":
            step["oldState"] = state
        if op != "delete":
            step["newState"] = dict(state, inputs=dict(state["inputs"], desiredCount=i % 7))
        if op in ("update", "replace"):
            step["diffReasons"] = ["desiredCount", "password"]
            step["detailedDiff"] = {
                "desiredCount": {"kind": "update-replace" if op == "replace" else "update"},
                "password": {"kind": "update", "inputDiff": True},
            }
            if op == "replace":
                step["replaceReasons"] = ["desiredCount"]
        else:
            step["detailedDiff"] = None
        out.append(step)
        counted = "same" if op == "refresh" else op
        counts[counted] = counts.get(counted, 0) + 1
    return {"config": {}, "steps": out, "duration": 12_000_000_000, "changeSummary": counts}


def measure(label: str, work: Callable[[], T], runs: int) -> T:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    tracemalloc.reset_peak()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {statistics.median(times) * 1000:>9.1f} ms {peak / 2**20:>9.1f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    preview_text = json.dumps(digest(args.steps, refresh=False), indent=4)
    refresh_text = json.dumps(digest(args.steps, refresh=True), indent=4)
    print(
        f"{args.steps:,} steps; preview {len(preview_text) / 2**20:.1f} MiB, "
        f"refresh {len(refresh_text) / 2**20:.1f} MiB; median of {args.runs} runs\n"
    )
    print(f"{'phase':<44} {'time':>12} {'peak mem':>13}")
    preview = measure(
        "report: parse preview", lambda: parse_digest(preview_text, "preview.json"), args.runs
    )
    report = measure(
        "report: render comment (65,000 chars)",
        lambda: render_report([StackPreview("prod", preview)]),
        args.runs,
    )
    measure(
        "report: parse + render, text in memory",
        lambda: the_command(preview_text),
        args.runs,
    )
    with tempfile.TemporaryDirectory() as scratch:
        preview_file = Path(scratch) / "preview.json"
        preview_file.write_text(preview_text)
        measure(
            "report: the command on a file (streamed)",
            lambda: the_command_on(preview_file),
            args.runs,
        )
    refresh = measure(
        "drift: parse refresh preview", lambda: parse_digest(refresh_text, "refresh"), args.runs
    )
    stack = measure("drift: classify", lambda: classify_stack("prod", refresh, ()), args.runs)
    run = DriftRun("platform", datetime.now(UTC), (stack,))
    measure(
        "drift: render drift.md + drift.json",
        lambda: (render_markdown(run), render_json(run)),
        args.runs,
    )
    print(
        f"\ncomment: {len(report.markdown):,} chars, {report.omitted:,} of "
        f"{len(report.changes):,} changed resources left out, {len(report.destructive)} "
        f"destructive kept; drift: {len(stack.resources):,} drifted resources"
    )


if __name__ == "__main__":
    main()
