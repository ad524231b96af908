"""Alerts raised from positions posted over the API, and who sees them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import LineString

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.api.app import create_app
from tripp.bootstrap import Wiring
from tripp.corridor.model import TransportMode


def drive(
    api: Api, device: str, start: datetime, *, off_route_from: int, off_route_to: int, n: int = 60
) -> list[dict[str, Any]]:
    """Fixes every 10 s along the road route at ~50 km/h; some pushed 1.5 km north."""
    route = api.corridor.routes[TransportMode.ROAD]
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:32638", always_xy=True)
    to_deg = Transformer.from_crs("EPSG:32638", "EPSG:4326", always_xy=True)
    line = LineString([to_m.transform(*c) for c in route.coordinates])
    out = []
    for i in range(n):
        point = line.interpolate(1000 + 140 * i)
        y = point.y + (1500 if off_route_from <= i < off_route_to else 0)
        lon, lat = to_deg.transform(point.x, y)
        out.append(
            {
                "device_id": device,
                "time": (start + timedelta(seconds=10 * i)).isoformat(),
                "lat": lat,
                "lon": lon,
                "speed_kmh": 50.0,
                "seal": "closed",
            }
        )
    return out


class Clock:
    """A clock the test moves: the server's idea of now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_api(wiring: Wiring, tokens: Tokens, clock: Clock) -> Iterator[Api]:
    timed = Wiring(wiring.settings, wiring.engine, wiring.corridor, clock)
    with TestClient(create_app(timed, run_jobs=False)) as client:
        yield Api(client, tokens, wiring.corridor)


def test_deviation_raised_once_and_cleared_and_scoped(timed_api: Api, clock: Clock) -> None:
    api, t = timed_api, timed_api.tokens
    assert (
        api.call(
            "POST", "/devices", t.az_customs, json={"id": "TRK-D", "kind": "tracker"}
        ).status_code
        == 201
    )
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = clock.now
    r = api.event(
        mrn,
        t.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=start,
        tracker_id="TRK-D",
    )
    assert r.status_code == 201, r.text
    clock.now = start + timedelta(minutes=15)
    fixes = drive(api, "TRK-D", start, off_route_from=20, off_route_to=40)
    # Posted in two batches, the second one first: late fixes are replayed in time order.
    for batch in (fixes[30:], fixes[:30]):
        assert api.call("POST", "/positions", t.operator, json=batch).status_code == 202
    items = api.call("GET", "/alerts", t.operator, params={"mrn": mrn}).json()["items"]
    deviations = [a for a in items if a["kind"] == "route_deviation"]
    assert len(deviations) == 1, items
    alert = deviations[0]
    raised = datetime.fromisoformat(alert["at"])
    assert start + timedelta(seconds=200) <= raised <= start + timedelta(seconds=280)
    assert alert["cleared_at"] is not None and alert["details"]["evidence"]
    assert {a["kind"] for a in items} == {"route_deviation"}, items
    # Scoping: the holder and the customs of its departure country see it; another carrier not.
    assert len(api.call("GET", "/alerts", t.carrier).json()["items"]) == 1
    assert len(api.call("GET", "/alerts", t.az_customs).json()["items"]) == 1
    assert api.call("GET", "/alerts", t.other_carrier).json()["items"] == []
    am = api.call("GET", "/alerts", t.am_customs).json()["items"]
    assert len(am) == (1 if alert["country"] == "AM" else 0)
    assert api.call("GET", "/alerts", t.observer).status_code == 403


def test_seal_opened_stays_until_acknowledged(timed_api: Api, clock: Clock) -> None:
    api, t = timed_api, timed_api.tokens
    api.call("POST", "/devices", t.az_customs, json={"id": "SEAL-1", "kind": "eseal"})
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = clock.now
    api.event(
        mrn,
        t.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=start,
        tracker_id="SEAL-1",
    )
    clock.now = start + timedelta(minutes=15)
    fixes = drive(api, "SEAL-1", start, off_route_from=999, off_route_to=999, n=12)
    for f in fixes[5:]:
        f["seal"] = "open"
    api.call("POST", "/positions", t.operator, json=fixes[:8])
    (alert,) = api.call("GET", "/alerts", t.az_customs, params={"kind": "seal_opened"}).json()[
        "items"
    ]
    assert alert["cleared_at"] is None
    assert api.call("POST", f"/alerts/{alert['id']}/acknowledge", t.carrier).status_code == 403
    r = api.call(
        "POST",
        f"/alerts/{alert['id']}/acknowledge",
        t.az_customs,
        json={"note": "seal checked by the mobile team"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["cleared_at"] is not None
    assert r.json()["details"]["acknowledged"]["by"] == "AZ-CUSTOMS"
    again = api.call("POST", f"/alerts/{alert['id']}/acknowledge", t.az_customs)
    assert again.status_code == 409
    # The seal still reports open: no new alert while the condition lasts.
    api.call("POST", "/positions", t.operator, json=fixes[8:])
    items = api.call("GET", "/alerts", t.operator, params={"kind": "seal_opened"}).json()["items"]
    assert len(items) == 1
