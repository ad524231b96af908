"""The movement lifecycle over the API, with real tokens of each role, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import Api
from tripp.codes.mrn import mrn_problem
from tripp.movements import service

PROBLEM = "application/problem+json"


def test_whole_lifecycle_returns_the_guarantee(api: Api) -> None:
    t, it = api.tokens, api.itinerary
    g = api.guarantee("100000.00")
    device = {"id": "TRK-1", "kind": "eseal"}
    assert api.call("POST", "/devices", t.az_customs, json=device).status_code == 201
    r = api.lodge(g["grn"])
    assert r.status_code == 201, r.text
    movement = r.json()
    mrn = movement["mrn"]
    assert mrn_problem(mrn) is None and mrn[2:4] == "AZ"
    assert r.headers["Location"] == f"/api/v1/movements/{mrn}"
    assert movement["state"] == "accepted" and movement["view"] == "full"
    liability = movement["liability"]
    assert liability["currency"] == "USD" and float(liability["amount"]) > 0
    g1 = api.call("GET", f"/guarantees/{g['grn']}", t.carrier).json()
    assert g1["committed"] == liability["amount"]

    steps = [
        (
            t.az_customs,
            "release",
            it.office_of_departure,
            {"seals": ["AZ-S-1"], "tracker_id": "TRK-1"},
            "released",
        ),
        (
            t.am_customs,
            "border_crossing",
            it.offices_of_transit[0],
            {"direction": "entry"},
            "in_transit",
        ),
        (
            t.am_customs,
            "border_crossing",
            it.offices_of_transit[-1],
            {"direction": "exit"},
            "in_transit",
        ),
        (t.az_customs, "arrival", it.office_of_destination, {}, "arrived"),
        (
            t.az_customs,
            "control_result",
            it.office_of_destination,
            {"outcome": "satisfactory"},
            "written_off",
        ),
    ]
    for token, kind, office, payload, state in steps:
        r = api.event(mrn, token, kind, office, **payload)
        assert r.status_code == 201, r.text
        assert r.json()["state"] == state

    final = api.call("GET", f"/movements/{mrn}", t.carrier).json()
    assert final["state"] == "written_off" and final["seals"] == ["AZ-S-1"]
    assert final["tracker_id"] == "TRK-1" and final["time_limit"] is not None
    timeline = api.call("GET", f"/movements/{mrn}/events", t.am_customs).json()["items"]
    assert [e["type"] for e in timeline] == [s[1] for s in steps]
    g2 = api.call("GET", f"/guarantees/{g['grn']}", t.az_customs).json()
    assert g2["committed"] == "0.00" and g2["available"] == g2["reference_amount"] == "100000.00"

    stats = api.call("GET", "/stats", t.observer).json()
    assert stats["movements"] == 1 and stats["movements_by_state"] == {"written_off": 1}
    assert stats["transit_time_hours"]["count"] == 1
    assert 0 <= stats["transit_time_hours"]["median"] < 0.1
    assert stats["border_crossings_by_office"] == {o: 1 for o in it.offices_of_transit}
    assert "mrn" not in str(stats) and mrn not in str(stats)


def test_cancel_by_holder_frees_the_guarantee(api: Api) -> None:
    g = api.guarantee("100000.00")
    mrn = api.lodge(g["grn"]).json()["mrn"]
    r = api.event(mrn, api.tokens.carrier, "cancel", reason="buyer withdrew")
    assert r.status_code == 201 and r.json()["state"] == "cancelled"
    assert r.json()["allowed_events"] == []
    assert (
        api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()["committed"] == "0.00"
    )


def test_incident_keeps_the_state(api: Api) -> None:
    g = api.guarantee()
    mrn = api.released(g["grn"])
    r = api.event(
        mrn,
        api.tokens.carrier,
        "incident",
        kind="accident",
        notes="trailer axle",
        location=[46.25, 38.90],
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "released" and r.json()["event"]["payload"]["kind"] == "accident"


def test_enquiry_then_recovery_keeps_liability_committed(api: Api) -> None:
    g = api.guarantee()
    mrn = api.released(g["grn"])
    committed = api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()["committed"]
    r = api.event(mrn, api.tokens.az_customs, "enquiry", reason="no arrival")
    assert r.json()["state"] == "under_enquiry"
    r = api.event(mrn, api.tokens.az_customs, "resolve_enquiry", outcome="recovery")
    assert r.status_code == 201 and r.json()["state"] == "recovery"
    after = api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()
    assert after["committed"] == committed != "0.00"


def test_discrepancies_then_discharge(api: Api) -> None:
    t, it = api.tokens, api.itinerary
    mrn = api.released(api.guarantee()["grn"])
    api.event(mrn, t.az_customs, "arrival", it.office_of_destination)
    r = api.event(
        mrn, t.az_customs, "control_result", it.office_of_destination, outcome="discrepancies"
    )
    assert r.json()["state"] == "under_enquiry"
    r = api.event(mrn, t.az_customs, "resolve_enquiry", outcome="discharged")
    assert r.json()["state"] == "written_off"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("release", {"seals": []}),
        ("cancel", {"reason": "x"}),
        ("arrival", {}),
        ("resolve_enquiry", {"outcome": "discharged"}),
    ],
)
def test_illegal_transitions_answer_409_naming_the_state(
    api: Api, kind: str, payload: dict[str, object]
) -> None:
    t, it = api.tokens, api.itinerary
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    api.event(mrn, t.carrier, "cancel", reason="changed plans")
    office = {"release": it.office_of_departure, "arrival": it.office_of_destination}.get(kind)
    r = api.event(mrn, t.az_customs, kind, office, **payload)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["state"] == "cancelled" and problem["allowed"] == []
    assert "cancelled" in problem["detail"]


def test_illegal_transition_lists_allowed_types(api: Api) -> None:
    mrn = api.released(api.guarantee()["grn"])
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "control_result",
        api.itinerary.office_of_destination,
        outcome="satisfactory",
    )
    assert r.status_code == 409
    assert r.json()["state"] == "released"
    assert set(r.json()["allowed"]) == {
        "border_crossing",
        "incident",
        "arrival",
        "enquiry",
        "inspection",
    }


def test_event_retry_is_idempotent(api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    office = api.itinerary.office_of_departure
    at = datetime.now(UTC)
    first = api.event(mrn, api.tokens.az_customs, "release", office, at=at, id="rel-1", seals=["S"])
    again = api.event(mrn, api.tokens.az_customs, "release", office, at=at, id="rel-1", seals=["S"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(api.call("GET", f"/movements/{mrn}/events", api.tokens.carrier).json()["items"]) == 1
    other = api.event(mrn, api.tokens.az_customs, "release", office, at=at, id="rel-1", seals=["T"])
    assert other.status_code == 409


def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    g = api.guarantee()
    body = api.declaration(g["grn"])
    headers = {"Idempotency-Key": "order-42"}
    first = api.call("POST", "/movements", api.tokens.carrier, json=body, headers=dict(headers))
    again = api.call("POST", "/movements", api.tokens.carrier, json=body, headers=dict(headers))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = api.call("GET", "/movements", api.tokens.carrier).json()["items"]
    assert len(listed) == 1
    committed = api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()["committed"]
    assert committed == first.json()["liability"]["amount"]
    body["goods"][0]["value"] = "1.00"
    changed = api.call("POST", "/movements", api.tokens.carrier, json=body, headers=dict(headers))
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"


def test_insufficient_guarantee_commits_nothing(api: Api) -> None:
    g = api.guarantee("10.00")
    r = api.lodge(g["grn"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "guarantee"
    assert r.json()["errors"][0]["rule"] == "guarantee-insufficient"
    assert (
        api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()["committed"] == "0.00"
    )
    assert api.call("GET", "/movements", api.tokens.admin).json()["items"] == []


def test_overdue_movement_is_put_under_enquiry(api: Api, wiring) -> None:  # type: ignore[no-untyped-def]
    g = api.guarantee()
    mrn = api.lodge(g["grn"]).json()["mrn"]
    now = datetime.now(UTC)
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=now,
        time_limit=(now + timedelta(seconds=1)).isoformat(),
    )
    assert r.status_code == 201, r.text
    later = service.Context(wiring.context.uow, wiring.corridor, lambda: now + timedelta(hours=1))
    assert service.overdue_enquiries(later) == [mrn]
    assert service.overdue_enquiries(later) == []  # the second run finds nothing to do
    moved = api.call("GET", f"/movements/{mrn}", api.tokens.az_customs).json()
    assert moved["state"] == "under_enquiry"
    events = api.call("GET", f"/movements/{mrn}/events", api.tokens.az_customs).json()["items"]
    assert events[-1]["type"] == "enquiry" and events[-1]["recorded_by"] == "SYSTEM"


def test_event_in_the_future_is_refused(api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    r = api.event(
        mrn,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=datetime.now(UTC) + timedelta(hours=2),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "at-not-future"


def test_authentication(api: Api, wiring) -> None:  # type: ignore[no-untyped-def]
    for token in (None, "nonsense", "tripp_abc_def"):
        r = api.call("GET", "/movements", token)
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_token_stops_working_within_the_cache_time(wiring) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from tripp.api.app import create_app
    from tripp.bootstrap import Wiring, utc_now
    from tripp.parties import service as parties
    from tripp.parties.model import Party, Role

    uncached = Wiring(
        replace(wiring.settings, auth_cache_s=0), wiring.engine, wiring.corridor, wiring.clock
    )
    uow = wiring.context.uow
    parties.add_party(uow, Party("AZ-CARRIER-0009", Role.CARRIER, "AZ"), utc_now())
    secret, record = parties.create_token(
        uow, party_id="AZ-CARRIER-0009", role=Role.CARRIER, label="t", now=utc_now()
    )
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(uncached, run_jobs=False)) as http:
        assert http.get("/api/v1/movements", headers=headers).status_code == 200
        parties.revoke_token(uow, record.id, utc_now())
        assert http.get("/api/v1/movements", headers=headers).status_code == 401


def test_listing_filters_and_paging(api: Api) -> None:
    g = api.guarantee("1000000.00")
    mrns = [api.lodge(g["grn"]).json()["mrn"] for _ in range(5)]
    api.event(mrns[0], api.tokens.carrier, "cancel", reason="x")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/movements", api.tokens.carrier, params=params).json()
        seen += [m["mrn"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mrns
    cancelled = api.call(
        "GET", "/movements", api.tokens.carrier, params={"state": "cancelled"}
    ).json()
    assert [m["mrn"] for m in cancelled["items"]] == [mrns[0]]
    by_office = api.call(
        "GET",
        "/movements",
        api.tokens.am_customs,
        params={"office": api.itinerary.offices_of_transit[0]},
    ).json()
    assert len(by_office["items"]) == 5
    bad = api.call("GET", "/movements", api.tokens.carrier, params={"cursor": "!!"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
