"""What a stack may say about one service: its image or build, size, probes and migration.

`StackConfig` (`infra/config/models.py`) holds these by name; the rules that need the whole stack
(its target, its host names) live there, the rules about one service here.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from infra.config.errors import rule_error
from infra.config.fields import ENV_VAR, Model, pinned_image
from infra.config.secret_names import looks_secret

BUILD_ARG = r"^[A-Za-z_][A-Za-z0-9_]*$"
METRICS_PORT_ENV = "METRICS_PORT"
RELATIVE_PATH = r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
SLO_LOWEST_PERCENT = 90
"""A relative path without spaces; `_inside_project` also refuses `..`."""


class HttpProbe(Model):
    """Readiness: the service answers `path` with 2xx. Rendered by `components/probes.py`."""

    path: Annotated[str, Field(pattern=r"^/[^\s]*$")] = "/"
    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 10
    timeout_seconds: Annotated[int, Field(ge=2, le=60)] = 5
    healthy_threshold: Annotated[int, Field(ge=2, le=10)] = 2
    unhealthy_threshold: Annotated[int, Field(ge=2, le=10)] = 3
    start_period_seconds: Annotated[int, Field(ge=0, le=300)] = 30

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> Self:
        if self.timeout_seconds >= self.interval_seconds:
            raise rule_error(
                "timeout_seconds",
                f"must be less than interval_seconds ({self.interval_seconds})",
            )
        return self


class CommandCheck(Model):
    """Liveness for a service without a port: a command that exits 0 while it is healthy."""

    command: Annotated[list[str], Field(min_length=1)]
    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 30
    timeout_seconds: Annotated[int, Field(ge=2, le=60)] = 5
    retries: Annotated[int, Field(ge=1, le=10)] = 3
    start_period_seconds: Annotated[int, Field(ge=0, le=300)] = 30


class Migration(Model):
    """Runs to completion before the service takes traffic; a non-zero exit stops the rollout."""

    command: Annotated[list[str], Field(min_length=1)]


class Autoscaling(Model):
    min_replicas: Annotated[int, Field(ge=1, le=100)]
    max_replicas: Annotated[int, Field(ge=1, le=100)]
    cpu_target_percent: Annotated[int, Field(ge=10, le=95)] = 60

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.max_replicas < self.min_replicas:
            raise rule_error("max_replicas", f"must be at least min_replicas ({self.min_replicas})")
        return self


class ImageBuild(Model):
    """An image the docker target builds from the repository (dev), instead of pulling one.

    aws stacks never build: they run the image the deploy workflow built, pushed and pinned by
    digest in the stack's `image`."""

    context: Annotated[str, Field(pattern=RELATIVE_PATH)]
    """A directory relative to the project root (where `Pulumi.yaml` is)."""
    dockerfile: Annotated[str, Field(pattern=RELATIVE_PATH)] = "Dockerfile"
    """Relative to `context`."""
    target: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] | None = None
    args: dict[Annotated[str, Field(pattern=BUILD_ARG)], str] = Field(default_factory=dict)

    @field_validator("context", "dockerfile")
    @classmethod
    def _inside_project(cls, path: str) -> str:
        if ".." in path.split("/"):
            raise PydanticCustomError(
                "path_outside",
                "'{path}' climbs out with '..'; name a path inside the project",
                {"path": path},
            )
        return path


class ServiceSlo(Model):
    """A public service's availability objective: the share of its requests answered without a
    5xx over a rolling 30 days. The burn-rate alerts (`slo_burn_fast`, `slo_burn_slow` in
    `components/alerts.py`) page when the error budget, 100 minus this, burns too fast."""

    availability_percent: float = Field(
        default=99.9, description="90 to under 100; 99.9 allows 43 minutes of errors in 30 days"
    )

    @field_validator("availability_percent")
    @classmethod
    def _objective(cls, percent: float) -> float:
        if not SLO_LOWEST_PERCENT <= percent < 100:
            raise PydanticCustomError(
                "slo_objective",
                "{percent} is not an availability objective; use {low} to under 100 (e.g. 99.9): "
                "100 leaves no error budget to alert on",
                {"percent": f"{percent:g}", "low": SLO_LOWEST_PERCENT},
            )
        return percent


class ServiceSettings(Model):
    image: Annotated[str, Field(min_length=3)] | None = None
    """A registry image, pinned; when set it wins over `build` (aws stacks need a digest)."""
    build: ImageBuild | None = None
    command: list[str] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    metrics_port: Annotated[int, Field(ge=1024, le=65535)] | None = None
    """For a service without `port`: where it serves /metrics inside its container (never
    published), injected as METRICS_PORT and scraped by the docker target's Prometheus."""
    public: bool = False
    replicas: Annotated[int, Field(ge=1, le=100)] = 1
    autoscaling: Autoscaling | None = None
    cpu: Annotated[int, Field(ge=128, le=16384, description="CPU units; 1024 = one vCPU")] = 256
    memory_mb: Annotated[int, Field(ge=128, le=122880)] = 512
    env: dict[Annotated[str, Field(pattern=ENV_VAR)], str] = Field(default_factory=dict)
    secrets: dict[Annotated[str, Field(pattern=ENV_VAR)], str] = Field(
        default_factory=dict, description="env var name -> secret name from `secrets`"
    )
    readiness: HttpProbe | None = None
    liveness: CommandCheck | None = None
    migration: Migration | None = None
    health_check_grace_seconds: Annotated[int, Field(ge=0, le=600)] = 60
    slo: ServiceSlo | None = Field(
        default=None,
        description="public services only; unset, a public service has the default objective",
    )
    sensitive_env: list[Annotated[str, Field(pattern=ENV_VAR)]] = Field(
        default_factory=list,
        description="env names whose values must never be plain env or printed, beyond those "
        "whose names already look secret",
    )

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, image: str | None) -> str | None:
        return None if image is None else pinned_image(image)

    @model_validator(mode="after")
    def _image_or_build(self) -> Self:
        if self.image is None and self.build is None:
            raise rule_error(
                "image",
                "the service has neither an image nor a build; set image (a pinned registry "
                "image) or build.context (a directory with a Dockerfile, for dev)",
            )
        return self

    @model_validator(mode="after")
    def _no_secret_in_env(self) -> Self:
        for key in self.env:
            if looks_secret(key) or key in self.sensitive_env:
                why = "is marked sensitive" if key in self.sensitive_env else "looks like a secret"
                raise rule_error(
                    f"env.{key}",
                    f"{key} {why}; declare it under `secrets` and map it in the service's "
                    "`secrets` so it is injected by reference, not as plain env",
                )
        return self

    @model_validator(mode="after")
    def _slo_only_when_public(self) -> Self:
        if self.slo is not None and not self.public:
            raise rule_error(
                "slo",
                "only public services have an availability objective (it is measured where "
                "their users reach them); remove slo or set public: true",
            )
        return self

    @property
    def availability_objective(self) -> float | None:
        """The availability objective in percent of a public service (the default unless its
        `slo` says otherwise); None for a service nobody reaches from outside."""
        if not self.public:
            return None
        return (self.slo or ServiceSlo()).availability_percent

    @model_validator(mode="after")
    def _metrics_port_only_without_a_port(self) -> Self:
        if self.metrics_port is not None and self.port is not None:
            raise rule_error(
                "metrics_port", "a service with a port serves /metrics on it; remove metrics_port"
            )
        if METRICS_PORT_ENV in self.env:
            raise rule_error(
                f"env.{METRICS_PORT_ENV}",
                f"{METRICS_PORT_ENV} is injected from metrics_port; set that instead",
            )
        return self

    @model_validator(mode="after")
    def _probes_match_port(self) -> Self:
        if self.port is None and self.public:
            raise rule_error("public", "a service without a port cannot be public")
        if self.port is not None and self.readiness is None:
            raise rule_error("readiness", "a service with a port needs a readiness probe")
        if self.port is None and self.liveness is None:
            raise rule_error("liveness", "a service without a port needs a liveness command")
        if self.autoscaling is not None and not (
            self.autoscaling.min_replicas <= self.replicas <= self.autoscaling.max_replicas
        ):
            raise rule_error(
                "replicas",
                f"{self.replicas} is outside autoscaling bounds "
                f"{self.autoscaling.min_replicas}..{self.autoscaling.max_replicas}",
            )
        return self
