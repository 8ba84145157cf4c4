"""Key inputs of deployed resources: what can depart from the stack's own plan."""

from __future__ import annotations

from infractl.parity.key_inputs import departs
from infractl.pulumi.resource import Resource
from infractl.pulumi.wire import SECRET_TEXT


def test_only_a_planned_literal_can_depart() -> None:
    kind = "aws:ecs/service:Service"
    planned = Resource(kind, "svc", "(root)", {"multiAz": True, "desiredCount": 2})
    deployed = Resource(kind, "svc", "(root)", {"multiAz": False, "desiredCount": 5, "x": 1})
    assert departs(deployed, planned, "multiAz")
    assert departs(deployed, planned, "x")  # set by hand, planned by nobody
    assert not departs(deployed, None, "multiAz")  # nothing planned to hold it to
    ignored = frozenset({"desiredCount"})
    scaled = Resource(kind, "svc", "(root)", {"desiredCount": 5}, ignored=ignored)
    assert not departs(scaled, planned, "desiredCount")  # the autoscaler owns it
    defaulted = Resource(kind, "svc", "(root)", {"x": 1}, defaults=frozenset({"x"}))
    assert not departs(defaulted, planned, "x")  # the provider filled it in
    hidden = Resource(kind, "svc", "(root)", {"multiAz": SECRET_TEXT})
    assert not departs(hidden, planned, "multiAz")  # a ciphertext proves nothing
