"""One stack as parity sees it: what every level reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.config.models import StackConfig
from infractl.pulumi.resource import Resource


@dataclass(frozen=True)
class StackState:
    """One stack as parity sees it: its validated config, its planned graph and, in live mode,
    its deployed one."""

    config: StackConfig
    planned: Sequence[Resource]
    deployed: Sequence[Resource] | None = None

    @property
    def name(self) -> str:
        return self.config.stack
