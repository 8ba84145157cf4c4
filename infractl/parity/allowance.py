"""Allowances: the paths a stack's `parity.allow` lets differ from the reference."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.models import StackConfig


def pattern_covers(pattern: str, path: str) -> bool:
    """`*` matches exactly one segment; a pattern naming a prefix covers everything under it."""
    want = pattern.split(".")
    have = path.split(".")
    if len(want) > len(have):
        return False
    return all(w in ("*", h) for w, h in zip(want, have[: len(want)], strict=True))


@dataclass(frozen=True)
class Allowance:
    """One stack's `parity.allow`, plus the feature flags the product declares per-environment
    (a staged rollout): any other flag is the product's shape and must match."""

    stack: str
    patterns: tuple[str, ...]
    staged_flags: tuple[str, ...] = ()

    @classmethod
    def of(cls, cfg: StackConfig) -> Allowance:
        staged = tuple(sorted(name for name, spec in cfg.flags.items() if spec.per_environment))
        return cls(cfg.stack, tuple(cfg.parity.allow), staged)

    def covering(self, path: str) -> str | None:
        return next((p for p in self.patterns if pattern_covers(p, path)), None)

    def literal_covering(self, path: str) -> str | None:
        """Only patterns without a `*` segment: the explicit opt-out a logical difference needs."""
        return next(
            (p for p in self.patterns if "*" not in p.split(".") and pattern_covers(p, path)),
            None,
        )

    def judge(self, path: str) -> tuple[bool, str]:
        flag = next((f for f in self.staged_flags if pattern_covers(f"features.{f}", path)), None)
        if flag is not None:
            return True, f"flag {flag} is declared per_environment in the product"
        pattern = self.covering(path)
        if pattern is None:
            return False, f"not in parity.allow of {self.stack}"
        return True, f"allowed by parity.allow of {self.stack}: {pattern}"
