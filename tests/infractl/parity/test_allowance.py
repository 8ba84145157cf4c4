"""Allowances: which paths a stack's `parity.allow` covers."""

from __future__ import annotations

import pytest

from infractl.parity.allowance import pattern_covers


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("*", "services.web.replicas", True),
        ("*", "environment", True),
        ("services.*.replicas", "services.web.replicas", True),
        ("services.*.replicas", "services.web.cpu", False),
        ("services.*.autoscaling", "services.web.autoscaling.min_replicas", True),
        ("services.*", "services.web.env.FOO", True),
        ("services.*.replicas", "services.replicas", False),
        ("*.replicas", "services.web.replicas", False),
        ("database.multi_az", "database.multi_az", True),
        ("database.multi", "database.multi_az", False),
        ("aws", "aws.nat_gateways", True),
    ],
)
def test_a_pattern_covers_one_segment_per_star_and_everything_under_it(
    pattern: str, path: str, covered: bool
) -> None:
    assert pattern_covers(pattern, path) is covered
