"""Last in the tier: no generated password of any deployment in this session appears in plain
text in any CLI output, tool output, container log or state file."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.e2e_harness import E2EStack


def test_no_secret_value_appears_in_any_output_log_or_state_file(e2e_stack: E2EStack) -> None:
    e2e_stack.secret_values()  # the deployment standing now, if any
    e2e_stack.capture_logs()
    secrets = e2e_stack.known_secrets
    assert len(secrets) >= 5, "expected the stack's generated passwords"
    texts = {
        f"#{index} {' '.join(run.argv[:3])}": run.stdout + run.stderr
        for index, run in enumerate(e2e_stack.transcript)
        if "--show-secrets" not in run.argv
    }
    assert len(texts) >= 20
    state = Path(e2e_stack.env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    files = [p for p in state.rglob("*") if p.is_file()]
    assert files
    texts.update({str(p.relative_to(state)): p.read_text(errors="replace") for p in files})
    for key, value in secrets.items():
        assert len(value) >= 16
        leaks = [name for name, text in texts.items() if value in text]
        assert not leaks, f"the value of {key.rsplit('::', 1)[-1][:-5]} appears in: {leaks}"
