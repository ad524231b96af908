"""API fixtures: a TestClient over the real app, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tripp.api.app import create_app
from tripp.bootstrap import Wiring
from tripp.corridor.model import Corridor, Itinerary, TransportMode
from tripp.movements.examples import example_declaration

_ids = itertools.count()


def uid(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids)}-{datetime.now(UTC).timestamp():.6f}"


def road_itinerary(corridor: Corridor, departure_country: str = "AZ") -> Itinerary:
    """The first road itinerary departing from ``departure_country`` with offices of transit."""
    for it in corridor.itineraries:
        office = corridor.offices[it.office_of_departure]
        if (
            it.mode is TransportMode.ROAD
            and office.country == departure_country
            and it.offices_of_transit
        ):
            return it
    raise LookupError(f"no road itinerary from {departure_country} in {corridor.id}")


def declaration_body(
    it: Itinerary, grn: str, holder: str = "AZ-CARRIER-0001", **overrides: Any
) -> dict[str, Any]:
    """A sound declaration along ``it``; ``overrides`` replace top-level fields."""
    return example_declaration(it, grn, holder, **overrides)


@dataclass
class Api:
    """A thin client speaking as one token at a time."""

    http: TestClient
    tokens: Tokens
    corridor: Corridor
    itinerary: Itinerary = field(init=False)

    def __post_init__(self) -> None:
        self.itinerary = road_itinerary(self.corridor)

    def call(self, method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, "/api/v1" + path, headers=headers, **kw)

    def guarantee(
        self,
        amount: str = "100000.00",
        holder: str = "AZ-CARRIER-0001",
        token: str | None = None,
        currency: str = "USD",
    ) -> dict[str, Any]:
        r = self.call(
            "POST",
            "/guarantees",
            token or self.tokens.az_customs,
            json={"holder": holder, "reference_amount": amount, "currency": currency},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def declaration(
        self, grn: str, holder: str = "AZ-CARRIER-0001", **overrides: Any
    ) -> dict[str, Any]:
        return declaration_body(self.itinerary, grn, holder, **overrides)

    def lodge(self, grn: str, token: str | None = None, **overrides: Any) -> httpx.Response:
        holder = overrides.pop("holder", "AZ-CARRIER-0001")
        return self.call(
            "POST",
            "/movements",
            token or self.tokens.carrier,
            json=self.declaration(grn, holder=holder, **overrides),
        )

    def event(
        self,
        mrn: str,
        token: str,
        type_: str,
        office: str | None = None,
        at: datetime | None = None,
        **payload: Any,
    ) -> httpx.Response:
        body = {
            "id": payload.pop("id", uid()),
            "type": type_,
            "at": (at or datetime.now(UTC)).isoformat(),
            **payload,
        }
        if office is not None:
            body["office"] = office
        return self.call("POST", f"/movements/{mrn}/events", token, json=body)

    def released(self, grn: str) -> str:
        r = self.lodge(grn)
        assert r.status_code == 201, r.text
        mrn = str(r.json()["mrn"])
        r = self.event(
            mrn,
            self.tokens.az_customs,
            "release",
            self.itinerary.office_of_departure,
            seals=["AZ-S-1", "AZ-S-2"],
        )
        assert r.status_code == 201, r.text
        return mrn


@pytest.fixture
def api(wiring: Wiring, tokens: Tokens) -> Iterator[Api]:
    with TestClient(create_app(wiring, run_jobs=False), raise_server_exceptions=False) as client:
        yield Api(client, tokens, wiring.corridor)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
