"""A stack's alert rule choices checked against the catalog and the rest of its config: windows
the catalog fixes, and burn rates a service's availability objective can reach."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from components.alerts import CATALOG, CATALOG_BY_ID, error_budget
from infra.config.errors import rule_error


class RuleChoice(Protocol):
    """What a stack may say about one catalog rule (`AlertRuleSetting`)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def window_minutes(self) -> int | None: ...


class HasObjective(Protocol):
    """A service's part in the check: its availability objective (None when not public)."""

    @property
    def availability_objective(self) -> float | None: ...
    @property
    def slo(self) -> object | None: ...


def check_alert_rules(
    rules: Mapping[str, RuleChoice], services: Mapping[str, HasObjective]
) -> None:
    """Raise the first problem as a config error naming its key (the stack validator's form)."""
    for key, message in alert_rule_problems(rules, services):
        raise rule_error(key, message)


def alert_rule_problems(
    rules: Mapping[str, RuleChoice], services: Mapping[str, HasObjective]
) -> Iterator[tuple[str, str]]:
    """(config key, what is wrong and how to fix it) for each choice that cannot work."""
    for rule_id, choice in rules.items():
        rule = CATALOG_BY_ID.get(rule_id)
        if rule is None or choice.window_minutes is None:
            continue
        problem = rule.window_problem(choice.window_minutes)
        if problem is not None:
            yield f"alerts.rules.{rule_id}.window_minutes", problem
    yield from _unreachable_burn_rates(rules, services)


def _unreachable_burn_rates(
    rules: Mapping[str, RuleChoice], services: Mapping[str, HasObjective]
) -> Iterator[tuple[str, str]]:
    """A burn rate times the error budget is the share of requests that must fail: at 100% or
    more the alert could never fire (a 14.4x burn of a 90% objective needs 144%)."""
    for rule in CATALOG:
        choice = rules.get(rule.id)
        if not rule.slo or (choice is not None and not choice.enabled):
            continue
        burn = rule.threshold if choice is None or choice.threshold is None else choice.threshold
        for name, service in services.items():
            objective = service.availability_objective
            # at exactly 100 % the ratio can only equal the threshold, never exceed it
            if objective is None or burn * error_budget(objective) < 1 - 1e-9:
                continue
            own = service.slo is not None
            key = (
                f"services.{name}.slo.availability_percent"
                if own
                else f"alerts.rules.{rule.id}.threshold"
            )
            lowest = 100 - 100 / burn
            yield (
                key,
                f"a {burn:g}x burn of {name}'s {objective:g}% objective needs "
                f"{100 * burn * error_budget(objective):g}% of requests to fail, so {rule.id} "
                f"could never fire; set services.{name}.slo.availability_percent above "
                f"{lowest:.4g} or alerts.rules.{rule.id}.threshold below "
                f"{1 / error_budget(objective):.4g}",
            )
