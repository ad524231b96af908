"""Border posts over the API: pre-arrival list, screenings, rulesets, the inspection gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Tokens
from tests.integration.conftest import Api, uid
from tripp.bootstrap import Wiring
from tripp.risk.defaults import default_ruleset_dict
from tripp.risk.engine import random_draw

ENTRY = "AM000101"  # the westbound road itinerary enters Armenia here
EXIT = "AM000102"


def _no_random_rules(api: Api, tokens: Tokens) -> dict[str, Any]:
    """AM's baseline without random selection, so lanes follow from the goods alone."""
    body = default_ruleset_dict("AM")
    body["rules"] = [r for r in body["rules"] if r["kind"] != "random"]
    r = api.call("PUT", "/risk/rulesets/AM", tokens.am_customs, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _released(api: Api, tokens: Tokens, **overrides: Any) -> str:
    r = api.lodge(api.guarantee("1000000.00")["grn"], **overrides)
    assert r.status_code == 201, r.text
    mrn = str(r.json()["mrn"])
    r = api.event(mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
                  seals=["AZ-S-1"])  # fmt: skip
    assert r.status_code == 201, r.text
    return mrn


def _arms(api: Api) -> list[dict[str, Any]]:
    goods = api.declaration("x")["goods"]
    return [{**goods[0], "hs_code": "930190", "description": "hunting rifles"}]


def test_the_expected_list_names_what_to_check_and_what_to_record(api: Api, tokens: Tokens) -> None:
    assert api.itinerary.offices_of_transit == (ENTRY, EXIT)
    _no_random_rules(api, tokens)
    mrn = _released(api, tokens)
    r = api.call("GET", f"/offices/{ENTRY}/expected", tokens.am_customs)
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["mrn"] == mrn]
    assert item["next_event"] == {"type": "border_crossing", "direction": "entry"}
    assert item["office_role"] == "transit" and item["seals"] == ["AZ-S-1"]
    assert item["vehicle_id"] == "10-AZ-123" and item["containers"] == ["CSQU3054383"]
    assert item["lane"] == "green" and item["ruleset"] == {"country": "AM", "version": 2}
    assert item["eta_source"] == "schedule" and item["screening"] is None
    assert item["goods"] == [{"hs_code": "870323", "gross_mass_kg": "12000"}]
    released = datetime.fromisoformat(item["released_at"])
    assert released < datetime.fromisoformat(item["eta"]) < released + timedelta(hours=3)
    exit_item = next(
        i for i in api.call("GET", f"/offices/{EXIT}/expected", tokens.am_customs).json()["items"]
        if i["mrn"] == mrn
    )  # fmt: skip
    assert exit_item["next_event"] == {"type": "border_crossing", "direction": "exit"}
    assert datetime.fromisoformat(exit_item["eta"]) > datetime.fromisoformat(item["eta"])
    # The operator sees the queue without the goods; other parties see nothing of it.
    operator = api.call("GET", f"/offices/{ENTRY}/expected", tokens.operator).json()
    assert all(i["goods"] is None for i in operator["items"])
    for token in (tokens.az_customs, tokens.carrier, tokens.observer):
        assert api.call("GET", f"/offices/{ENTRY}/expected", token).status_code == 403
    assert api.call("GET", "/offices/NOPE01/expected", tokens.am_customs).status_code == 404
    # Once the crossing is recorded the movement leaves the entry office's list.
    r = api.event(mrn, tokens.am_customs, "border_crossing", ENTRY, direction="entry")
    assert r.status_code == 201, r.text
    after = api.call("GET", f"/offices/{ENTRY}/expected", tokens.am_customs).json()["items"]
    assert mrn not in {i["mrn"] for i in after}


def test_the_eta_comes_from_tracking_when_the_tracker_reports(
    api: Api, tokens: Tokens, wiring: Wiring
) -> None:
    api.call("POST", "/devices", tokens.az_customs, json={"id": "ETA-1", "kind": "tracker"})
    r = api.lodge(api.guarantee()["grn"])
    mrn = r.json()["mrn"]
    start = datetime.now(UTC)
    api.event(mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
              at=start, tracker_id="ETA-1")  # fmt: skip
    entry = wiring.corridor.offices[ENTRY]
    lon, lat = entry.location
    at = (start + timedelta(seconds=30)).replace(microsecond=0)
    fix = {"device_id": "ETA-1", "time": at.isoformat(), "lat": lat, "lon": lon, "speed_kmh": 40}
    assert api.call("POST", "/positions", tokens.operator, json=[fix]).status_code == 202
    item = next(
        i for i in api.call("GET", f"/offices/{ENTRY}/expected", tokens.am_customs).json()["items"]
        if i["mrn"] == mrn
    )  # fmt: skip
    assert item["eta_source"] == "tracking"
    # At the office already: the estimate is the fix time, give or take the projection.
    assert abs(datetime.fromisoformat(item["eta"]) - at) < timedelta(minutes=2)


def test_screening_by_mrn_vehicle_and_container_is_stored_and_replayable(
    api: Api, tokens: Tokens
) -> None:
    _no_random_rules(api, tokens)
    mrn = _released(api, tokens)
    path = f"/offices/{ENTRY}/screenings"
    r = api.call("POST", path, tokens.am_customs, json={"id": "scan-1", "mrn": mrn})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["lane"] == "green" and first["ruleset"] == {"country": "AM", "version": 2}
    assert first["draw"] == pytest.approx(random_draw(mrn, "AM", 2))
    again = api.call("POST", path, tokens.am_customs, json={"id": "scan-1", "mrn": mrn})
    assert again.status_code == 200 and again.json() == first
    reused = api.call("POST", path, tokens.am_customs, json={"id": "scan-1", "vehicle_id": "X"})
    assert reused.status_code == 409
    by_plate = api.call("POST", path, tokens.am_customs, json={"vehicle_id": "10-AZ-123"})
    assert by_plate.status_code == 201 and by_plate.json()["mrn"] == mrn
    by_box = api.call("POST", path, tokens.am_customs, json={"container": "CSQU3054383"})
    assert by_box.status_code == 201 and by_box.json()["mrn"] == mrn
    listed = api.call("GET", f"/movements/{mrn}/screenings", tokens.am_customs).json()["items"]
    assert first["id"] in {s["id"] for s in listed}


def test_screening_input_and_rights_are_checked(api: Api, tokens: Tokens) -> None:
    mrn = _released(api, tokens)
    path = f"/offices/{ENTRY}/screenings"
    r = api.call("POST", path, tokens.am_customs, json={"mrn": mrn, "vehicle_id": "10-AZ-123"})
    assert r.status_code == 422 and "exactly one" in r.text
    r = api.call("POST", path, tokens.am_customs, json={"container": "NOTABOX"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "container"
    assert (
        api.call("POST", path, tokens.am_customs, json={"vehicle_id": "NOBODY"}).status_code == 404
    )
    # Azerbaijani customs do not screen at an Armenian office, nor do carriers or the operator.
    for token in (tokens.az_customs, tokens.carrier, tokens.operator):
        assert api.call("POST", path, token, json={"mrn": mrn}).status_code == 403
    departure = api.itinerary.office_of_departure
    r = api.call("POST", f"/offices/{departure}/screenings", tokens.az_customs, json={"mrn": mrn})
    assert r.status_code == 404  # the movement does not pass its own office of departure


def test_red_lane_needs_a_load_inspection_before_it_crosses(api: Api, tokens: Tokens) -> None:
    mrn = _released(api, tokens, goods=_arms(api))
    r = api.call("POST", f"/offices/{ENTRY}/screenings", tokens.am_customs, json={"mrn": mrn})
    decision = r.json()
    assert decision["lane"] == "red" and decision["inspection_required"]
    assert "arms" in {reason["rule"] for reason in decision["reasons"]}
    crossing = {"direction": "entry"}
    r = api.event(mrn, tokens.am_customs, "border_crossing", ENTRY, **crossing)
    assert r.status_code == 409 and "xray or physical" in r.json()["detail"]
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="documentary",
                  outcome="no_findings", duration_min=10)  # fmt: skip
    assert r.status_code == 201, r.text
    r = api.event(mrn, tokens.am_customs, "border_crossing", ENTRY, **crossing)
    assert r.status_code == 409  # papers do not show the load
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="xray",
                  outcome="no_findings", duration_min=25)  # fmt: skip
    assert r.status_code == 201, r.text
    listed = api.call("GET", f"/offices/{ENTRY}/expected", tokens.am_customs).json()["items"]
    assert not next(i for i in listed if i["mrn"] == mrn)["inspection_required"]
    r = api.event(mrn, tokens.am_customs, "border_crossing", ENTRY, **crossing)
    assert r.status_code == 201, r.text
    # The next office screens again, under its own gate.
    r = api.call("POST", f"/offices/{EXIT}/screenings", tokens.am_customs, json={"mrn": mrn})
    assert r.json()["lane"] == "red"
    r = api.event(mrn, tokens.am_customs, "border_crossing", EXIT, direction="exit")
    assert r.status_code == 409


def test_inspection_events_are_validated(api: Api, tokens: Tokens) -> None:
    mrn = _released(api, tokens)
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="physical",
                  outcome="findings", duration_min=40)  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "findings"
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="physical",
                  outcome="no_findings", duration_min=40, follow_up="enquiry")  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "follow_up"
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="scan",
                  outcome="no_findings", duration_min=5)  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    departure = api.itinerary.office_of_departure
    r = api.event(mrn, tokens.az_customs, "inspection", departure, kind="physical",
                  outcome="no_findings", duration_min=5)  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "office-place"
    r = api.event(mrn, tokens.az_customs, "inspection", ENTRY, kind="physical",
                  outcome="no_findings", duration_min=5)  # fmt: skip
    assert r.status_code == 403  # Armenian office, Azerbaijani officer
    r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="physical",
                  outcome="findings", findings="undeclared cigarettes behind the cars",
                  duration_min=55, follow_up="enquiry")  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "under_enquiry"


def test_findings_followed_up_as_incidents_count_in_the_holders_history(
    api: Api, tokens: Tokens
) -> None:
    _no_random_rules(api, tokens)
    mrn = _released(api, tokens)
    for _ in range(3):
        r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="physical",
                      outcome="findings", findings="seal number differs", duration_min=30,
                      follow_up="incident", id=uid())  # fmt: skip
        assert r.status_code == 201, r.text
    other = _released(api, tokens)
    r = api.call("POST", f"/offices/{ENTRY}/screenings", tokens.am_customs, json={"mrn": other})
    history = [x for x in r.json()["reasons"] if x["kind"] == "holder_history"]
    assert history and "incident" in history[0]["detail"]


def test_rulesets_are_versioned_and_each_customs_manages_its_own(api: Api, tokens: Tokens) -> None:
    r = api.call("GET", "/risk/rulesets/AM", tokens.am_customs)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert api.call("GET", "/risk/rulesets/AM", tokens.az_customs).status_code == 403
    assert api.call("GET", "/risk/rulesets/AM", tokens.carrier).status_code == 403
    body = default_ruleset_dict("AM")
    assert api.call("PUT", "/risk/rulesets/AM", tokens.az_customs, json=body).status_code == 403
    published = api.call("PUT", "/risk/rulesets/AM", tokens.am_customs, json=body).json()
    assert published["version"] == 2 and published["country"] == "AM"
    again = api.call("PUT", "/risk/rulesets/AM", tokens.am_customs, json=body).json()
    assert again["version"] == 3
    old = api.call("GET", "/risk/rulesets/AM/versions/1", tokens.am_customs).json()
    assert old["version"] == 1
    broken = {**body, "thresholds": {"yellow": 60, "red": 50}}
    r = api.call("PUT", "/risk/rulesets/AM", tokens.am_customs, json=broken)
    assert r.status_code == 422
    assert any(e["field"].startswith("thresholds") for e in r.json()["errors"])
    assert api.call("GET", "/risk/rulesets/AM", tokens.am_customs).json()["version"] == 3


def test_trusted_traders_score_lower(api: Api, tokens: Tokens) -> None:
    _no_random_rules(api, tokens)
    mrn = _released(api, tokens)
    path = f"/offices/{ENTRY}/screenings"
    before = api.call("POST", path, tokens.am_customs, json={"mrn": mrn}).json()["score"]
    r = api.call("PUT", "/risk/trusted/AM/AZ-CARRIER-0001", tokens.am_customs)
    assert r.status_code == 204
    assert api.call("PUT", "/risk/trusted/AM/AZ-CARRIER-0001", tokens.az_customs).status_code == 403
    after = api.call("POST", path, tokens.am_customs, json={"mrn": mrn}).json()
    assert after["score"] < before
    assert "trusted_trader" in {x["kind"] for x in after["reasons"]}


def test_a_stored_decision_recomputes_from_its_inputs(api: Api, tokens: Tokens) -> None:
    """An auditor takes the stored subject and ruleset version and gets the same lane."""
    from decimal import Decimal

    from tripp.corridor.model import TransportMode
    from tripp.risk.engine import screen
    from tripp.risk.model import HolderHistory, Subject
    from tripp.risk.ruleset import from_dict

    mrn = _released(api, tokens, goods=_arms(api))
    decision = api.call(
        "POST", f"/offices/{ENTRY}/screenings", tokens.am_customs, json={"mrn": mrn}
    ).json()
    s = decision["subject"]
    version = decision["ruleset"]["version"]
    rules = api.call("GET", f"/risk/rulesets/AM/versions/{version}", tokens.am_customs).json()
    again = screen(
        Subject(
            mrn=s["mrn"], country=s["country"], office=s["office"], holder=s["holder"],
            mode=TransportMode(s["mode"]), gross_mass_kg=Decimal(s["gross_mass_kg"]),
            hs_codes=tuple(s["hs_codes"]), vehicle_class=s["vehicle"],
            history=HolderHistory(**s["history"]), alerts=frozenset(s["alerts"]),
            trusted_trader=s["trusted_trader"],
        ),
        from_dict(rules),
    )  # fmt: skip
    assert again.lane.value == decision["lane"] and again.score == decision["score"]
    assert [r.rule for r in again.reasons] == [r["rule"] for r in decision["reasons"]]
    listed = api.call("GET", f"/movements/{mrn}/screenings", tokens.operator).json()["items"]
    assert listed and all(x["subject"] is None for x in listed)  # not for the operator


def test_a_plate_with_several_movements_is_not_screened_for_one(api: Api, tokens: Tokens) -> None:
    _released(api, tokens)
    _released(api, tokens, goods=_arms(api))  # the same truck, 10-AZ-123
    r = api.call("POST", f"/offices/{ENTRY}/screenings", tokens.am_customs,
                 json={"vehicle_id": "10-AZ-123"})  # fmt: skip
    assert r.status_code == 409 and "scan each MRN" in r.json()["detail"]


def test_concurrent_grants_of_trust_do_not_fail(api: Api, tokens: Tokens) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def grant(_: int) -> int:
        return int(api.call("PUT", "/risk/trusted/AM/AZ-CARRIER-0002", tokens.am_customs)
                   .status_code)  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(grant, range(12))) == {204}
