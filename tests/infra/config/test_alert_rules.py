"""The availability objective and the alert rules whose choices depend on the rest of the config
(`infra/config/services.py` ServiceSlo, `infra/config/alert_rules.py`): refused before any
resource exists, one line naming the stack, the key and what would work."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.errors import ConfigError
from infra.config.layering import resolve_stack_config
from infra.targets.monitoring import slo_objectives


def resolve(stack: str, change: dict[str, Any]) -> Any:
    return resolve_stack_config(stack, {"environment": stack, **change})


def test_every_public_service_has_the_default_objective_unless_it_says_otherwise() -> None:
    cfg = resolve("dev", {})
    assert slo_objectives(cfg) == {"web": 99.9}  # worker is not public
    assert cfg.services["web"].slo is None
    own = resolve("dev", {"services": {"web": {"slo": {"availability_percent": 99.95}}}})
    assert slo_objectives(own) == {"web": 99.95}


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (
            {"services": {"web": {"slo": {"availability_percent": 100}}}},
            "services.web.slo.availability_percent",
            "100 is not an availability objective; use 90 to under 100 (e.g. 99.9): 100 "
            "leaves no error budget to alert on",
        ),
        (
            {"services": {"web": {"slo": {"availability_percent": 85}}}},
            "services.web.slo.availability_percent",
            "85 is not an availability objective; use 90 to under 100",
        ),
        (
            {"services": {"web": {"slo": {"availability_percent": True}}}},
            "services.web.slo.availability_percent",
            "a boolean where a number belongs",
        ),
        (
            {"services": {"web": {"slo": {"target": 99.9}}}},
            "services.web.slo.target",
            "unknown key; valid keys here: availability_percent",
        ),
        (
            {"services": {"worker": {"slo": {"availability_percent": 99.9}}}},
            "services.worker.slo",
            "only public services have an availability objective",
        ),
        (
            # 14.4 x 10 % = 144 % of requests would have to fail
            {"services": {"web": {"slo": {"availability_percent": 90}}}},
            "services.web.slo.availability_percent",
            "a 14.4x burn of web's 90% objective needs 144% of requests to fail, so "
            "slo_burn_fast could never fire; set services.web.slo.availability_percent above "
            "93.06 or alerts.rules.slo_burn_fast.threshold below 10",
        ),
        (
            {"alerts": {"rules": {"slo_burn_slow": {"threshold": 1000}}}},
            "alerts.rules.slo_burn_slow.threshold",
            "a 1000x burn of web's 99.9% objective needs 100% of requests to fail",
        ),
        (
            {"alerts": {"rules": {"slo_burn_fast": {"threshold": 0}}}},
            "alerts.rules.slo_burn_fast.threshold",
            "always above 0 burn rate, so it always fires",
        ),
        (
            {"alerts": {"rules": {"slo_burn_fast": {"window_minutes": 30}}}},
            "alerts.rules.slo_burn_fast.window_minutes",
            "the window of slo_burn_fast is fixed: its burn rate pairs with 1h and 5m for a "
            "30-day objective; remove window_minutes",
        ),
        (
            {"alerts": {"rules": {"certificate_expiry": {"window_minutes": 60}}}},
            "alerts.rules.certificate_expiry.window_minutes",
            "ACM publishes DaysToExpiry once a day",
        ),
        (
            {"alerts": {"rules": {"certificate_expiry": {"threshold": 0}}}},
            "alerts.rules.certificate_expiry.threshold",
            "below 0 days can never happen, so it never fires",
        ),
        (
            {"alerts": {"rules": {"uptime_check_failing": {"threshold": 0}}}},
            "alerts.rules.uptime_check_failing.threshold",
            "never fires",
        ),
    ],
)
def test_objectives_and_rule_choices_that_cannot_work_are_refused(
    change: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve("dev", change)
    (problem,) = caught.value.problems
    assert problem.path == key
    assert message in problem.message
    line = str(caught.value).splitlines()[1]
    assert line.startswith(f"  platform:{key}: ") and "Pulumi.dev.yaml" in str(caught.value)


def test_choices_that_work_are_kept() -> None:
    cfg = resolve(
        "dev",
        {
            "services": {"web": {"slo": {"availability_percent": 95}}},
            "alerts": {
                "rules": {
                    "slo_burn_fast": {"threshold": 10, "window_minutes": 60},  # its own window
                    "slo_burn_slow": {"enabled": False},
                    "certificate_expiry": {"threshold": 45},
                    "uptime_check_failing": {"window_minutes": 5},
                }
            },
        },
    )
    assert cfg.services["web"].availability_objective == 95
    # a disabled rule is never checked: 6 x 5 % would be 30 %, fine anyway
    assert cfg.alerts.rules["slo_burn_slow"].enabled is False
