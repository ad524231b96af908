"""Brute-force protection and security headers, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens, mint_tokens
from tripp.api.app import create_app
from tripp.bootstrap import wire
from tripp.config import Settings


@pytest.fixture
def client(tmp_path) -> Iterator[tuple[TestClient, Tokens]]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", fees_enforced=False,
                        auth_failures_burst=5, auth_failures_refill_s=60)  # fmt: skip
    w = wire(settings)
    w.upgrade()
    tokens = mint_tokens(w)
    with TestClient(create_app(w, run_jobs=False)) as c:
        yield c, tokens
    w.engine.dispose()


def test_guessing_tokens_is_throttled_while_known_tokens_still_work(client) -> None:  # type: ignore[no-untyped-def]
    c, tokens = client
    c.get("/api/v1/corridor", headers={"Authorization": f"Bearer {tokens.carrier}"})  # known
    bad = {"Authorization": "Bearer tripp_000000000000_guess"}
    statuses = [c.get("/api/v1/corridor", headers=bad).status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    r = c.get("/api/v1/corridor", headers=bad)
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["type"] == "urn:tripp:problem:too-many-requests"
    # Even the right token of a party not seen lately must wait: no oracle for guesses.
    fresh = {"Authorization": f"Bearer {tokens.observer}"}
    assert c.get("/api/v1/stats", headers=fresh).status_code == 429
    # A token resolved before the storm keeps working from the same address.
    ok = c.get("/api/v1/corridor", headers={"Authorization": f"Bearer {tokens.carrier}"})
    assert ok.status_code == 200


def test_a_missing_header_is_not_counted_as_a_guess(client) -> None:  # type: ignore[no-untyped-def]
    c, tokens = client
    for _ in range(10):
        assert c.get("/api/v1/corridor").status_code == 401
    assert c.get("/api/v1/corridor", headers={"Authorization": f"Bearer {tokens.carrier}"}
                 ).status_code == 200  # fmt: skip


def test_security_headers_on_api_and_pages(client) -> None:  # type: ignore[no-untyped-def]
    c, tokens = client
    api = c.get("/api/v1/corridor", headers={"Authorization": f"Bearer {tokens.carrier}"})
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.headers["X-Frame-Options"] == "DENY"
    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")
    problem = c.get("/api/v1/corridor")
    assert problem.headers["X-Content-Type-Options"] == "nosniff"
    page = c.get("/terminal")
    # The page keeps its own policy (scripts from 'self'), with the common headers added.
    assert "script-src" in page.headers["Content-Security-Policy"] or (
        page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    )
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "set-cookie" not in {k.lower() for k in page.headers}
