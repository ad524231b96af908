"""A bounded schemathesis run over the published OpenAPI: no 5xx, nothing outside the schema.

Each operation is fuzzed with generated requests under two real tokens (admin, who may
do everything, and a carrier, who is refused much), through the ASGI app.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Tokens
from tripp.api.app import create_app
from tripp.bootstrap import Wiring
from tripp.dashboard.feed import ShutdownWatch

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 30


def test_openapi_contract(wiring: Wiring, tokens: Tokens) -> None:
    app = create_app(wiring, run_jobs=False)
    # The live stream never ends by itself: as on a server that is closing, it answers its
    # first chunk (headers, retry, cursor) and ends, so its contract is still checked.
    watch = app.state.dashboard_shutdown = ShutdownWatch()
    watch.closing = True
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        _fuzz(operation, tokens)


def _fuzz(operation: Any, tokens: Tokens) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        for token in (tokens.admin, tokens.carrier):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    try:
        run()
    except Exception as exc:
        pytest.fail(f"{operation.method.upper()} {operation.path}: {exc}", pytrace=False)
