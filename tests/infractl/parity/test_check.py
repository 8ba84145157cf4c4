"""The whole check: every stack against one reference."""

from __future__ import annotations

from infractl.parity.check import check
from infractl.parity.stack_state import StackState
from tests.infractl.parity.parity_stacks import config_of


def test_the_report_sees_every_stack_against_one_reference() -> None:
    prod, dev = config_of("prod"), config_of("dev")
    report = check(StackState(prod, []), [StackState(dev, []), StackState(prod, [])])
    assert report.reference == "prod" and report.ok
    assert {d.stack for d in report.differences} == {"dev"}
