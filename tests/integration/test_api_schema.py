"""A bounded schemathesis run over the published OpenAPI: no 5xx, nothing outside the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Tokens
from tripp.api.app import create_app
from tripp.bootstrap import Wiring


@pytest.fixture
def api_schema(wiring: Wiring, tokens: Tokens) -> Iterator[Any]:
    app = create_app(wiring, run_jobs=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.app_tokens = tokens  # type: ignore[attr-defined]
    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_contract(case: Any, tokens: Tokens) -> None:
    for token in (tokens.admin, tokens.carrier):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
