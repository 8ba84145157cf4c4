"""Readiness probes: literal renderings for each target, and the in-container check run for real.

The HTTP check is the command every container runs (Docker healthcheck, ECS healthCheck). It is
run here with the machine's Node.js against local servers that are ready, not ready, closed and
hanging, so what ships in the task definition is known to work, not just to look right.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from components.probes import (
    CommandProbeSpec,
    HttpProbeSpec,
    alb_health_check,
    docker_duration,
    docker_healthcheck,
    ecs_health_check,
    in_container_command,
)
from infra.offline import StackRun

PROBE = HttpProbeSpec(path="/api/ready", port=3000)


def test_ecs_health_check_literal() -> None:
    check = ecs_health_check(PROBE)
    assert check["command"][:3] == ["CMD", "node", "-e"]
    assert "http://127.0.0.1:3000/api/ready" in check["command"][3]
    assert {k: v for k, v in check.items() if k != "command"} == {
        "interval": 10,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 30,
    }
    worker = ecs_health_check(CommandProbeSpec(command=("node", "dist/healthcheck.js")))
    assert worker == {
        "command": ["CMD", "node", "dist/healthcheck.js"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 30,
    }


def test_ecs_caps_retries_at_ten() -> None:
    assert ecs_health_check(CommandProbeSpec(command=("true",), retries=10))["retries"] == 10


def test_alb_health_check_literal() -> None:
    assert alb_health_check(PROBE) == {
        "enabled": True,
        "path": "/api/ready",
        "port": "traffic-port",
        "protocol": "HTTP",
        "matcher": "200-299",
        "interval": 10,
        "timeout": 5,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (5, "5s"),
        (59, "59s"),
        (60, "1m0s"),
        (90, "1m30s"),
        (300, "5m0s"),
        (3600, "1h0m0s"),
        (3661, "1h1m1s"),
        (86400, "24h0m0s"),
    ],
)
def test_docker_durations_are_spelled_as_go_prints_them(seconds: int, text: str) -> None:
    """The provider reads durations back as Go prints them; "60s" was a perpetual diff."""
    assert docker_duration(seconds) == text


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        docker_duration(-1)


def test_every_healthcheck_duration_in_the_dev_plan_round_trips(dev_run: StackRun) -> None:
    """What the real docker provider reads back must equal what the program declares."""
    checked = 0
    for container in dev_run.by_type("docker:index/container:Container"):
        for key in ("interval", "timeout", "startPeriod", "startInterval"):
            value = (container.inputs.get("healthcheck") or {}).get(key)
            if value is not None:
                seconds = sum(
                    int(n) * {"h": 3600, "m": 60, "s": 1}[u]
                    for n, u in re.findall(r"(\d+)([hms])", value)
                )
                assert value == docker_duration(seconds), (container.name, key, value)
                checked += 1
    assert checked >= 20


def test_docker_healthcheck_literal() -> None:
    check = docker_healthcheck(PROBE)
    assert {k: v for k, v in check.items() if k != "tests"} == {
        "interval": "10s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "30s",
        "start_interval": "2s",
    }
    assert check["tests"] == in_container_command(PROBE)


class Probed(http.server.BaseHTTPRequestHandler):
    status = 200
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = b"ok" if self.path == "/api/ready" and self.status == 200 else b"no"
        self.send_response(self.status if self.path == "/api/ready" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(status: int, delay: float = 0.0) -> int:
        handler = type("Handler", (Probed,), {"status": status, "delay": delay})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()


def run_probe(port: int, timeout_seconds: int = 5) -> tuple[int, float]:
    node = shutil.which("node")
    assert node, "Node.js runs the probe as the containers do: run scripts/bootstrap"
    command = in_container_command(
        HttpProbeSpec(path="/api/ready", port=port, timeout_seconds=timeout_seconds)
    )
    assert command[:2] == ["CMD", "node"]
    start = time.monotonic()
    result = subprocess.run([node, *command[2:]], capture_output=True, timeout=30)
    return result.returncode, time.monotonic() - start


def test_probe_passes_on_200(serve) -> None:  # type: ignore[no-untyped-def]
    assert run_probe(serve(200))[0] == 0


def test_probe_fails_on_503(serve) -> None:  # type: ignore[no-untyped-def]
    assert run_probe(serve(503))[0] == 1


def test_probe_fails_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert run_probe(port)[0] == 1


def test_probe_gives_up_at_its_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    code, seconds = run_probe(serve(200, delay=5.0), timeout_seconds=1)
    assert code == 1
    assert seconds < 3.5
