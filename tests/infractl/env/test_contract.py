"""The contract check and the developer's `.env`, on the real stacks' config."""

from __future__ import annotations

import pytest

from infra.config.app_env import Injected, injected_variables
from infra.config.layering import load_stack_config
from infractl.env.contract import contract_problems
from infractl.env.dotenv import quoted, render_dotenv
from infractl.env.example import parse_example
from tests.paths import REPO_ROOT

EXAMPLE = "\n".join(
    f"# {name} docs{' (optional)' if name == 'DRAIN' else ''}\n{name}=x"
    for name in (
        *("DATABASE_URL", "EMAIL_API_KEY", "LOG_LEVEL", "NODE_ENV", "PAYMENTS_API_KEY"),
        *("PORT", "SESSION_SECRET", "DRAIN", "FEATURE_NEW_CHECKOUT", "FEATURE_ORDERS_PAGE_SIZE"),
        "METRICS_PORT",
    )
)


@pytest.fixture(scope="module")
def dev() -> dict[str, Injected]:
    return injected_variables(load_stack_config(REPO_ROOT, "dev"))


def test_a_stack_that_provides_every_documented_variable_passes(dev: dict[str, Injected]) -> None:
    assert contract_problems("dev", dev, parse_example(EXAMPLE, "ex"), "ex") == []


def test_a_missing_variable_names_the_stack_and_the_line(dev: dict[str, Injected]) -> None:
    documented = parse_example(EXAMPLE + "\n# the queue\nQUEUE_URL=x\n", "ex")
    (problem,) = contract_problems("dev", dev, documented, "app/.env.example")
    assert problem.startswith("stack 'dev' does not provide QUEUE_URL (app/.env.example line 24)")


def test_an_undocumented_injection_names_its_services(dev: dict[str, Injected]) -> None:
    documented = parse_example(EXAMPLE.replace("# PORT docs\nPORT=x", ""), "ex")
    (problem,) = contract_problems("dev", dev, documented, "ex")
    assert problem.startswith("stack 'dev' injects PORT into web but ex does not document it")


def test_the_dotenv_writes_plain_values_and_holds_secrets_back(dev: dict[str, Injected]) -> None:
    documented = parse_example(EXAMPLE, "ex")
    text = render_dotenv("dev", dev, documented, None)
    assert "NODE_ENV=development" in text.splitlines()
    assert "SESSION_SECRET=" in text.splitlines()
    assert "add --secrets" in text
    filled = render_dotenv("dev", dev, documented, {"SESSION_SECRET": 's3 cr"et'})
    assert 'SESSION_SECRET="s3 cr\\"et"' in filled.splitlines()
    assert "DATABASE_URL=" in filled.splitlines()  # asked for, but not in the outputs
    assert "the stack's outputs do not hold it" in filled


@pytest.mark.parametrize(
    ("value", "written"),
    [("info", "info"), ("", '""'), ("a b", '"a b"'), ("x#y", '"x#y"'), ("p@h:1/d", "p@h:1/d")],
)
def test_values_are_quoted_when_a_reader_could_misread_them(value: str, written: str) -> None:
    assert quoted(value) == written
