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


def _armed(api: Api, clock: Clock, device: str) -> tuple[str, datetime]:
    t = api.tokens
    api.call("POST", "/devices", t.az_customs, json={"id": device, "kind": "tracker"})
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = clock.now
    r = api.event(
        mrn, t.az_customs, "release", api.itinerary.office_of_departure, at=start, tracker_id=device
    )
    assert r.status_code == 201, r.text
    return mrn, start


def test_fixes_older_than_the_arming_are_stored_apart(timed_api: Api, clock: Clock) -> None:
    api = timed_api
    mrn, start = _armed(api, clock, "OLD-1")
    old = drive(api, "OLD-1", start - timedelta(hours=3), off_route_from=0, off_route_to=0, n=2)
    for fix in (old[1], old[0]):  # the second is older still: once a replay would crash
        r = api.call("POST", "/positions", api.tokens.operator, json=[fix])
        assert r.status_code == 202, r.text
    track = api.call("GET", f"/movements/{mrn}/track", api.tokens.operator).json()
    assert track["properties"]["fixes"] == 0


def test_late_fix_after_two_deviation_episodes(timed_api: Api, clock: Clock) -> None:
    api = timed_api
    mrn, start = _armed(api, clock, "TWO-1")
    clock.now = start + timedelta(minutes=30)
    first = drive(api, "TWO-1", start, off_route_from=10, off_route_to=25, n=60)
    second = drive(api, "TWO-1", start, off_route_from=45, off_route_to=60, n=60)
    fixes = first[:40] + second[40:]
    late, rest = fixes[5], fixes[:5] + fixes[6:]
    assert api.call("POST", "/positions", api.tokens.operator, json=rest).status_code == 202
    r = api.call("POST", "/positions", api.tokens.operator, json=[late])
    assert r.status_code == 202, r.text
    items = api.call("GET", "/alerts", api.tokens.operator, params={"mrn": mrn}).json()["items"]
    deviations = sorted((a for a in items if a["kind"] == "route_deviation"), key=lambda a: a["at"])
    assert len(deviations) == 2, items
    assert deviations[0]["cleared_at"] is not None and deviations[1]["cleared_at"] is None


def test_a_rearmed_device_shows_nothing_of_the_previous_trip(timed_api: Api, clock: Clock) -> None:
    api, t = timed_api, timed_api.tokens
    mrn_a, start = _armed(api, clock, "RE-1")
    clock.now = start + timedelta(minutes=10)
    trip_a = drive(api, "RE-1", start, off_route_from=0, off_route_to=0, n=20)
    api.call("POST", "/positions", t.operator, json=trip_a[:10])
    assert (
        api.event(
            mrn_a, t.az_customs, "arrival", api.itinerary.office_of_destination, at=clock.now
        ).status_code
        == 201
    )
    other = api.guarantee(holder="AZ-CARRIER-0002")["grn"]
    mrn_b = api.lodge(other, token=t.other_carrier, holder="AZ-CARRIER-0002").json()["mrn"]
    r = api.event(
        mrn_b,
        t.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=clock.now,
        tracker_id="RE-1",
    )
    assert r.status_code == 201, r.text
    device = api.call("GET", "/devices/RE-1", t.other_carrier).json()
    assert device["armed_for"] == mrn_b and device["latest_position"] is None
    api.call("POST", "/positions", t.operator, json=trip_a[10:])  # trip A's fixes, late
    track_b = api.call("GET", f"/movements/{mrn_b}/track", t.other_carrier).json()
    assert track_b["properties"]["fixes"] == 0


def test_time_driven_alerts_from_the_periodic_round(timed_api: Api, clock: Clock) -> None:
    api, t = timed_api, timed_api.tokens
    mrns = []
    for i in range(3):  # several movements: the round works in chunks
        api.call("POST", "/devices", t.az_customs, json={"id": f"TIME-{i}", "kind": "tracker"})
        mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
        r = api.event(
            mrn,
            t.az_customs,
            "release",
            api.itinerary.office_of_departure,
            at=clock.now,
            tracker_id=f"TIME-{i}",
            time_limit=(clock.now + timedelta(hours=2)).isoformat(),
        )
        assert r.status_code == 201, r.text
        mrns.append(mrn)
    tracking = api.http.app.state.tracking  # type: ignore[attr-defined]
    tracking.monitor.check_chunk = 2  # three movements: two transactions
    assert tracking.check_time() == 0  # just armed: nothing yet
    clock.now += timedelta(minutes=20)  # silent for longer than silent_after_s (600 s)
    assert tracking.check_time() == 3
    clock.now += timedelta(hours=2)  # past the time limit
    tracking.check_time()
    assert tracking.check_time() == 0  # a second round in the same state changes nothing
    items = api.call("GET", "/alerts", t.operator).json()["items"]
    kinds = sorted((a["mrn"], a["kind"]) for a in items)
    assert kinds == sorted([(m, k) for m in mrns for k in ("overdue", "tracker_silent")])
