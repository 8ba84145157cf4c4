"""The readiness gate after `pulumi up`: is what the stack says it deployed actually serving?

`pulumi up` finishing means the resources exist, not that the product works. Each check here is a
small function that looks once and returns an `Attempt`; `retry_check` repeats one check with
capped exponential backoff until it passes or the deadline comes, on an injected clock and sleep
so the schedule is unit-testable without real time. `run_checks` runs every check at once, so a
slow service cannot eat the deadline of the others.

Every message a check returns goes through a `Redactor` first: psycopg errors can quote the
connection string, and the database password must never reach the terminal or a CI log.

`retry_check` tells an optional `observe` callback what it does, as `CheckEvent`s (an attempt
starts; it failed and will be retried; the check passed; it failed for good), with the redacted
detail; the command shows them as live progress.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from infractl.verify.outputs import StackOutputs, connection_params, connection_secrets

REQUEST_TIMEOUT_SECONDS = 5.0
MIN_ATTEMPT_TIMEOUT_SECONDS = 1.0
DETAIL_LIMIT = 300
REDACTED = "***"


@dataclass(frozen=True)
class Attempt:
    """One look at one thing: did it pass, and what did we see."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Check:
    """A named look, given the seconds it may take (bounded by what is left of the deadline)."""

    name: str
    run: Callable[[float], Attempt]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    attempts: int
    seconds: float


class CheckPhase(StrEnum):
    STARTED = "started"  # an attempt begins
    RETRYING = "retrying"  # that attempt failed; another follows after the backoff
    PASSED = "passed"
    FAILED = "failed"  # the last attempt failed, at the deadline


@dataclass(frozen=True)
class CheckEvent:
    """What a check is doing: `attempt` counts from 1; `detail` is that attempt's, redacted."""

    name: str
    phase: CheckPhase
    attempt: int
    detail: str = ""


def ignore_event(event: CheckEvent) -> None:
    return None


@dataclass(frozen=True)
class Backoff:
    """Delay after the n-th failed attempt: initial * factor**(n-1), never more than cap."""

    initial: float = 0.25
    factor: float = 2.0
    cap: float = 5.0

    def delay(self, failed_attempts: int) -> float:
        return float(min(self.cap, self.initial * self.factor ** max(failed_attempts - 1, 0)))


class Redactor:
    """Replaces every known secret in a text; longest first so a DSN goes before its password."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAIL_LIMIT else flat[: DETAIL_LIMIT - 3] + "..."


def retry_check(
    check: Check,
    *,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    backoff: Backoff = Backoff(),
    attempt_timeout: float = REQUEST_TIMEOUT_SECONDS,
    redact: Callable[[str], str] = str,
    observe: Callable[[CheckEvent], None] = ignore_event,
) -> CheckResult:
    """Run `check` until it passes or `deadline` (a `clock()` value) has passed.

    After a failure it sleeps the backoff delay, cut short at the deadline, then tries once more;
    so the last attempt lands on the deadline rather than a whole delay before it.
    """
    start = clock()
    attempts = 0
    while True:
        attempts += 1
        observe(CheckEvent(check.name, CheckPhase.STARTED, attempts))
        remaining = deadline - clock()
        timeout = max(MIN_ATTEMPT_TIMEOUT_SECONDS, min(attempt_timeout, remaining))
        try:
            outcome = check.run(timeout)
        except Exception as exc:
            outcome = Attempt(False, f"{type(exc).__name__}: {exc}")
        detail = _one_line(redact(outcome.detail))
        if outcome.ok:
            observe(CheckEvent(check.name, CheckPhase.PASSED, attempts, detail))
            return CheckResult(check.name, True, detail, attempts, clock() - start)
        remaining = deadline - clock()
        if remaining <= 0:
            observe(CheckEvent(check.name, CheckPhase.FAILED, attempts, detail))
            return CheckResult(check.name, False, detail, attempts, clock() - start)
        observe(CheckEvent(check.name, CheckPhase.RETRYING, attempts, detail))
        sleep(min(backoff.delay(attempts), remaining))


def run_checks(
    checks: Sequence[Check],
    *,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    backoff: Backoff = Backoff(),
    redact: Callable[[str], str] = str,
    observe: Callable[[CheckEvent], None] = ignore_event,
) -> list[CheckResult]:
    """Retry every check side by side against the same deadline; results keep the checks' order.

    `observe` is called from the checks' threads, each check's events in order.
    """
    if not checks:
        return []

    def one(check: Check) -> CheckResult:
        return retry_check(
            check,
            deadline=deadline,
            clock=clock,
            sleep=sleep,
            backoff=backoff,
            redact=redact,
            observe=observe,
        )

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="verify") as pool:
        return list(pool.map(one, checks))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A readiness endpoint that redirects is not answering 200; say where it pointed instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _is_loopback(host: str | None) -> bool:
    if host is None or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if _is_loopback(urlsplit(url).hostname):
        # A proxy from the environment cannot reach this machine's loopback.
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def http_get(url: str, timeout: float) -> tuple[int, bytes, str | None]:
    """GET without following redirects: (status, first 64 KiB of the body, Location header)."""
    request = urllib.request.Request(url, headers={"User-Agent": "infractl-verify"})
    try:
        with _opener(url).open(request, timeout=timeout) as response:
            return response.status, response.read(65536), response.headers.get("Location")
    except urllib.error.HTTPError as exc:
        body = exc.read(65536) if exc.fp is not None else b""
        exc.close()
        return exc.code, body, exc.headers.get("Location")


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return f"unreachable: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def http_ready(url: str) -> Callable[[float], Attempt]:
    """The URL answers 200. Anything else, including a redirect, is not ready yet."""

    def attempt(timeout: float) -> Attempt:
        try:
            status, body, location = http_get(url, timeout)
        except (OSError, ValueError) as exc:
            return Attempt(False, f"GET {url}: {_describe_error(exc)}")
        if status == 200:
            return Attempt(True, f"200 from {url}")
        if 300 <= status < 400:
            return Attempt(False, f"{status} from {url}: redirect to {location} not followed")
        text = body.decode("utf-8", "replace").strip()
        return Attempt(False, f"{status} from {url}" + (f": {text}" if text else ""))

    return attempt


def prometheus_rule_groups(base_url: str, expected: Sequence[str]) -> Callable[[float], Attempt]:
    """Prometheus lists every expected rule group at /api/v1/rules: they parsed and loaded."""
    url = base_url.rstrip("/") + "/api/v1/rules"

    def attempt(timeout: float) -> Attempt:
        try:
            status, body, _ = http_get(url, timeout)
        except (OSError, ValueError) as exc:
            return Attempt(False, f"GET {url}: {_describe_error(exc)}")
        if status != 200:
            return Attempt(False, f"{status} from {url}")
        try:
            payload = json.loads(body)
            loaded = {group["name"] for group in payload["data"]["groups"]}
        except (ValueError, KeyError, TypeError):
            return Attempt(False, f"{url} did not return a Prometheus rules document")
        missing = [name for name in expected if name not in loaded]
        if missing:
            return Attempt(
                False,
                f"rule groups not loaded: {', '.join(missing)} "
                f"(loaded: {', '.join(sorted(loaded)) or 'none'})",
            )
        return Attempt(True, f"{len(expected)} rule groups loaded")

    return attempt


MIGRATIONS_SQL = """
SELECT
    count(*) FILTER (WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL),
    coalesce(
        array_agg(migration_name ORDER BY started_at)
            FILTER (WHERE finished_at IS NULL AND rolled_back_at IS NULL),
        '{}'
    ),
    count(*) FILTER (
        WHERE migration_name = %(latest)s AND finished_at IS NOT NULL AND rolled_back_at IS NULL
    )
FROM _prisma_migrations
"""


def migrations_verdict(
    applied: int, failed: Sequence[str], latest: str | None, latest_applied: int
) -> Attempt:
    """Prisma's table says the schema is current: nothing failed, and the expected one is applied.

    A row with neither finished_at nor rolled_back_at is a migration that failed or is still
    running; `prisma migrate deploy` refuses to go on past one, so neither can pass.
    """
    if failed:
        return Attempt(False, f"failed or unfinished migration: {', '.join(failed)}")
    if latest is not None:
        if latest_applied == 0:
            return Attempt(False, f"migration {latest} is not applied")
        return Attempt(True, f"{applied} migrations applied, including {latest}")
    if applied == 0:
        return Attempt(False, "no finished migration in _prisma_migrations")
    return Attempt(True, f"{applied} migrations applied")


def database_ready(database_url: str, latest_migration: str | None) -> Callable[[float], Attempt]:
    """The app role can log in and Prisma's migrations are in place.

    The connection uses the app's own credentials, so a wrong password or a missing grant fails
    here rather than at the first request. libpq gets keywords, never the URL, and every message
    is redacted here as well as by the caller, in case a server or driver quotes one back.
    """
    import psycopg  # only the database check needs the driver; keeps `infractl` startup lean
    from psycopg.conninfo import make_conninfo

    conninfo = make_conninfo("", **connection_params(database_url))
    redact = Redactor(connection_secrets(database_url))

    def attempt(timeout: float) -> Attempt:
        try:
            with psycopg.connect(
                conninfo, connect_timeout=max(1, round(timeout)), autocommit=True
            ) as conn:
                row = conn.execute(
                    "SELECT to_regclass('_prisma_migrations') IS NOT NULL"
                ).fetchone()
                if row is None or not row[0]:
                    return Attempt(False, "connected, but there is no _prisma_migrations table")
                counts = conn.execute(MIGRATIONS_SQL, {"latest": latest_migration}).fetchone()
        except psycopg.Error as exc:
            return Attempt(False, redact(f"{type(exc).__name__}: {exc}"))
        if counts is None:
            return Attempt(False, "no answer from _prisma_migrations")
        applied, failed, latest_applied = counts
        return migrations_verdict(applied, list(failed), latest_migration, latest_applied)

    return attempt


def plan_checks(outputs: StackOutputs) -> list[Check]:
    """The checks a stack's outputs call for, in the order they are reported."""
    checks = [
        Check(
            f"http {name}",
            http_ready(url.rstrip("/") + outputs.readiness_paths[name]),
        )
        for name, url in sorted(outputs.service_urls.items())
    ]
    checks.append(
        Check(
            f"database {outputs.database_name}",
            database_ready(outputs.database_url, outputs.latest_migration),
        )
    )
    if outputs.prometheus_url is not None:
        checks.append(
            Check("prometheus ready", http_ready(outputs.prometheus_url.rstrip("/") + "/-/ready"))
        )
        checks.append(
            Check(
                "prometheus rules",
                prometheus_rule_groups(outputs.prometheus_url, outputs.alert_rule_groups),
            )
        )
    return checks
