"""Devices, position batches, arming at release, tracks and the latest position, over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.conftest import Api


def register(api: Api, device_id: str, token: str | None = None, **extra: Any) -> Any:
    return api.call(
        "POST",
        "/devices",
        token or api.tokens.az_customs,
        json={"id": device_id, "kind": "tracker", **extra},
    )


def fixes(
    device: str, start: datetime, n: int, lon: float = 46.30, lat: float = 38.91
) -> list[dict[str, Any]]:
    return [
        {
            "device_id": device,
            "time": (start + timedelta(seconds=10 * i)).isoformat(),
            "lat": lat,
            "lon": lon + 0.0005 * i,
            "speed_kmh": 40.0,
        }
        for i in range(n)
    ]


def released_with_tracker(api: Api, device: str) -> str:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        seals=["S1"],
        tracker_id=device,
    )
    assert r.status_code == 201, r.text
    return str(mrn)


def test_device_registration_and_roles(api: Api) -> None:
    r = register(api, "TRK-1", imei="356307042441013", model="FMB920", seal_io=2)
    assert r.status_code == 201 and r.json()["armed_for"] is None
    assert register(api, "TRK-1").status_code == 409
    assert register(api, "TRK-2", imei="356307042441013").status_code == 409  # IMEI taken
    assert register(api, "TRK-3", token=api.tokens.carrier).status_code == 403
    assert register(api, "TRK-4", token=api.tokens.operator).status_code == 201
    bad = register(api, "TRK-5", imei="12345")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "imei"
    assert api.call("GET", "/devices/TRK-1", api.tokens.carrier).status_code == 404
    assert api.call("GET", "/devices/TRK-1", api.tokens.observer).status_code == 403


def test_release_arms_and_arrival_disarms(api: Api) -> None:
    register(api, "TRK-A")
    mrn = released_with_tracker(api, "TRK-A")
    device = api.call("GET", "/devices/TRK-A", api.tokens.carrier).json()
    assert device["armed_for"] == mrn  # the holder sees the device armed on its movement
    other = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    r = api.event(
        other,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        tracker_id="TRK-A",
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "tracker-unavailable"
    r = api.event(
        other,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        tracker_id="NO-SUCH",
    )
    assert r.status_code == 422
    assert api.call("GET", f"/movements/{other}", api.tokens.admin).json()["state"] == "accepted"
    api.event(mrn, api.tokens.az_customs, "arrival", api.itinerary.office_of_destination)
    assert api.call("GET", "/devices/TRK-A", api.tokens.admin).json()["armed_for"] is None


def test_positions_batch_duplicates_and_track(api: Api) -> None:
    register(api, "TRK-B")
    mrn = released_with_tracker(api, "TRK-B")
    start = datetime.now(UTC) + timedelta(seconds=10)  # leaves room for a late fix after release
    batch = fixes("TRK-B", start, 5)
    r = api.call("POST", "/positions", api.tokens.operator, json=batch)
    assert r.status_code == 202 and r.json() == {"accepted": 5, "duplicates": 0, "unknown": 0}
    r = api.call(
        "POST",
        "/positions",
        api.tokens.operator,
        json=batch[2:]
        + fixes("TRK-B", start + timedelta(seconds=50), 2)
        + fixes("GHOST", start, 1),
    )
    assert r.json() == {"accepted": 2, "duplicates": 3, "unknown": 1}
    track = api.call("GET", f"/movements/{mrn}/track", api.tokens.carrier).json()
    assert track["type"] == "Feature" and track["geometry"]["type"] == "LineString"
    assert len(track["geometry"]["coordinates"]) == 7
    times = track["properties"]["times"]
    assert times == sorted(times)
    # A late fix (older than the others) takes its place in time order.
    late = fixes("TRK-B", start - timedelta(seconds=5), 1)
    assert api.call("POST", "/positions", api.tokens.operator, json=late).json()["accepted"] == 1
    track = api.call("GET", f"/movements/{mrn}/track", api.tokens.am_customs).json()
    assert track["properties"]["times"][0] == late[0]["time"].replace("+00:00", "Z")
    device = api.call("GET", "/devices/TRK-B", api.tokens.operator).json()
    assert device["latest_position"]["time"] == times[-1]  # the late fix did not replace it
    assert api.call("GET", f"/movements/{mrn}/track", api.tokens.other_carrier).status_code == 404


def test_positions_of_unarmed_devices_are_stored_without_a_movement(api: Api) -> None:
    register(api, "TRK-C")
    start = datetime.now(UTC)
    r = api.call("POST", "/positions", api.tokens.operator, json=fixes("TRK-C", start, 3))
    assert r.json()["accepted"] == 3
    latest = api.call("GET", "/devices/TRK-C", api.tokens.admin).json()["latest_position"]
    assert latest is not None and latest["lat"] == 38.91
    assert api.call("GET", "/alerts", api.tokens.admin).json()["items"] == []


def test_bad_position_batches(api: Api) -> None:
    start = datetime.now(UTC)
    for item, field in [
        ({"lat": 91}, "[0].lat"),
        ({"time": "2026-01-01T00:00:00"}, "[0].time"),
        ({"seal": "half"}, "[0].seal"),
        ({"speed_kmh": -1}, "[0].speed_kmh"),
    ]:
        body = [{**fixes("X", start, 1)[0], **item}]
        r = api.call("POST", "/positions", api.tokens.operator, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (item, r.text)
    assert api.call("POST", "/positions", api.tokens.operator, json=[]).status_code == 422
    assert (
        api.call("POST", "/positions", api.tokens.carrier, json=fixes("X", start, 1)).status_code
        == 403
    )
    a, b = fixes("X", start, 1)[0], {**fixes("X", start, 1)[0], "lat": 1.0}
    r = api.call("POST", "/positions", api.tokens.operator, json=[a, b])
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "position-conflict"
