"""Hostile and odd input found in review: each answered 4xx naming the field, never 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.integration.conftest import Api
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.db.uow import UnitOfWork
from tripp.errors import StoreUnavailable


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/movements", {"cursor": "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "cursor"),  # seq:999…9
        ("/movements", {"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ("/movements", {"office": "AM\x00"}, "office"),
        ("/movements", {"holder": "A\x00"}, "holder"),
        ("/movements/26AZ%00", {}, "mrn"),
        ("/guarantees/26AZ%00", {}, "grn"),
        ("/stats", {"from": "0001-01-01T00:00:00Z"}, "from"),
    ],
)
def test_bad_query_and_path_values(api: Api, path: str, params: dict[str, str], field: str) -> None:
    r = api.call("GET", path, api.tokens.admin, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_far_time_limit_and_tiny_mass_are_refused(api: Api) -> None:
    g = api.guarantee()
    body = api.declaration(g["grn"])
    body["goods"][0]["gross_mass_kg"] = "1e-50000000"
    r = api.call("POST", "/movements", api.tokens.carrier, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goods[0].gross_mass_kg"
    mrn = api.lodge(g["grn"]).json()["mrn"]
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        time_limit="9999-12-31T23:59:59-14:00",
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_limit"


def test_event_ids_are_scoped_to_their_movement(api: Api) -> None:
    g = api.guarantee()
    a = api.lodge(g["grn"]).json()["mrn"]
    b = api.lodge(g["grn"]).json()["mrn"]
    for mrn in (a, b):
        r = api.event(mrn, api.tokens.carrier, "cancel", id="my-ev-1", reason="x")
        assert r.status_code == 201, r.text


def test_clients_cannot_take_the_system_event_id(api: Api) -> None:
    mrn = api.released(api.guarantee()["grn"])
    r = api.event(
        mrn, api.tokens.carrier, "incident", id="system~overdue", kind="other", notes="squatting"
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id"


def test_times_are_answered_in_utc_and_replays_match(api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    baku = timezone(timedelta(hours=4))
    at = datetime.now(baku)
    limit = (at + timedelta(hours=30)).isoformat()
    first = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=at,
        id="r1",
        time_limit=limit,
    )
    again = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=at,
        id="r1",
        time_limit=limit,
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    event = first.json()["event"]
    assert event["at"].endswith("Z") and event["payload"]["time_limit"].endswith("Z")
    assert datetime.fromisoformat(event["at"]) == at.astimezone(UTC)


def test_steps_cannot_go_back_in_time(api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    now = datetime.now(UTC)
    api.event(mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure, at=now)
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "arrival",
        api.itinerary.office_of_destination,
        at=now - timedelta(seconds=1),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "at-in-order"


def test_since_finds_a_late_synced_event(api: Api) -> None:
    lodged = api.lodge(api.guarantee()["grn"]).json()
    mrn, accepted = lodged["mrn"], datetime.fromisoformat(lodged["accepted_at"])
    poll = datetime.now(UTC)
    # Synced after the poll, but it happened (business time) before it.
    r = api.event(
        mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure, at=accepted
    )
    assert r.status_code == 201 and accepted < poll
    found = api.call("GET", "/movements", api.tokens.az_customs, params={"since": poll.isoformat()})
    assert [m["mrn"] for m in found.json()["items"]] == [mrn]


def test_store_errors_do_not_leak_hosts() -> None:
    w = wire(Settings(database_url="postgresql://nobody@127.0.0.1:1/secretdb"))
    with pytest.raises(StoreUnavailable) as caught, UnitOfWork(w.engine).read():
        pass
    assert "127.0.0.1" not in caught.value.detail and "secretdb" not in caught.value.detail
