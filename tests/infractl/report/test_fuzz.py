"""Whatever a preview file holds, `infractl report` ends in exit 0, 1 or 2 with no traceback,
and a secret value planted where a preview carries secrets never reaches its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infractl.cli import main
from infractl.pulumi.wire import SECRET_SIG, SIG_KEY

SENTINEL = "sk_live_REPORT_FUZZ_5521"
URN = st.sampled_from(
    [
        "urn:pulumi:prod::platform::pulumi:pulumi:Stack::platform-prod",
        "urn:pulumi:prod::platform::aws:rds/instance:Instance::db",
        "urn:pulumi:prod::platform::platform:aws:Service$aws:ecs/service:Service::web",
        "urn:pulumi:dev::platform::docker:index/volume:Volume::data",
        "not-a-urn",
    ]
)
OPS = st.sampled_from(
    ["same", "create", "update", "delete", "replace", "create-replacement", "delete-replaced",
     "refresh", "read", "import", "discard", "remove-pending-replace", "weird-new-op"]
)  # fmt: skip
SIGNED = {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(SENTINEL)}
SECRET = st.sampled_from([SENTINEL, SIGNED, "[secret]"])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
# Secrets sit under secret-looking names, and under a neutral name (`note`) where only the CLI's
# marking (the signature object, "[secret]", or additionalSecretOutputs) says they are secret.
STATE = st.fixed_dictionaries(
    {"urn": URN, "type": st.sampled_from(["aws:rds/instance:Instance", "x:y:Z"])},
    optional={
        "inputs": st.fixed_dictionaries(
            {"password": SECRET},
            optional={"size": JSONISH, "note": st.sampled_from([SIGNED, "[secret]"])},
        ),
        "outputs": st.fixed_dictionaries(
            {"apiKey": SECRET}, optional={"note": st.sampled_from([SIGNED, "[secret]"])}
        ),
        "additionalSecretOutputs": st.just(["note"]),
        "protect": st.booleans(),
    },
)
PATH_KEY = st.sampled_from(["password", "apiKey", "size", "tags.a", "note", "note.x"]) | st.text(
    max_size=12
)
STEP = st.fixed_dictionaries(
    {"op": OPS, "urn": URN},
    optional={
        "oldState": STATE,
        "newState": STATE,
        "detailedDiff": st.dictionaries(
            PATH_KEY,
            st.fixed_dictionaries({"kind": st.sampled_from(["add", "update", "delete-replace"])}),
            max_size=3,
        ),
        "diffReasons": st.lists(st.text(max_size=8), max_size=2),
    },
)
DIGEST = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.lists(STEP, max_size=6) | JSONISH,
        "changeSummary": st.dictionaries(OPS, st.integers(-2, 5), max_size=4) | JSONISH,
        "diagnostics": st.lists(
            st.fixed_dictionaries(
                {"severity": st.sampled_from(["info", "info#err", "warning", "error"])},
                optional={"message": st.text(max_size=30)},
            ),
            max_size=3,
        ),
        "maybeCorrupt": st.booleans(),
        "duration": st.integers(0, 10**12),
    },
)


@settings(
    deadline=None,
    # capsys is read and cleared around every example, so sharing it across examples is safe.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=DIGEST, preamble=st.sampled_from(["", "Installing policy pack x...\n"]))
def test_any_preview_reports_or_fails_cleanly_and_never_shows_a_secret(
    tmp_path_factory: Any,
    capsys: pytest.CaptureFixture[str],
    document: dict[str, Any],
    preamble: str,
) -> None:
    path: Path = tmp_path_factory.mktemp("preview") / "prod.json"
    path.write_text(preamble + json.dumps(document))
    capsys.readouterr()
    code = main(["report", "--fail-on-destructive", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("infractl report: ")
    assert SENTINEL not in out + err
