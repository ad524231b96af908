"""Traveller passage over the API: advance data, screening, officers' decisions, manifests,
data minimisation and the purge."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.travellers.names import WatchlistEntry

OFFICE = "AM000101"


def _person(**overrides: Any) -> dict[str, Any]:
    future = (date.today() + timedelta(days=900)).isoformat()
    body = {"document_type": "P", "document_number": "C01X00T47", "issuing_state": "AZE",
            "nationality": "AZE", "surname": "MAMMADOV", "given_names": "ELCHIN",
            "birth_date": "1980-05-14", "sex": "M", "expiry": future}  # fmt: skip
    return {**body, **overrides}


def _announce(api: Api, token: str, vid: str, people: list[dict[str, Any]]) -> Any:
    body = {"id": vid, "vehicle_id": "10-BUS-01", "vehicle_class": "bus", "office": OFFICE,
            "travellers": people}  # fmt: skip
    return api.call("POST", "/vehicles", token, json=body)


def test_the_front_office_sees_counts_and_officials_see_people(api: Api, tokens: Tokens) -> None:
    expired = _person(document_number="C01X00T48", surname="ALIYEVA", given_names="NIGAR",
                      sex="F", expiry="2020-01-01")  # fmt: skip
    r = _announce(api, tokens.operator, "bus-1", [_person(), expired])
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["counts"] == {"travellers": 2, "pass": 1, "refer": 1, "decided": 0}
    assert all(set(t) == {"id", "row", "outcome", "final_outcome"} for t in view["travellers"])
    again = _announce(api, tokens.operator, "bus-1", [_person(), expired])
    assert again.status_code == 200 and again.json()["counts"] == view["counts"]
    full = api.call("GET", "/vehicles/bus-1", tokens.am_customs).json()
    refer = next(t for t in full["travellers"] if t["outcome"] == "refer")
    assert refer["identity"]["surname"] == "ALIYEVA"
    assert [x["code"] for x in refer["reasons"]] == ["document-expired"]
    assert api.call("GET", "/vehicles/bus-1", tokens.az_customs).status_code == 404
    assert api.call("GET", "/vehicles/bus-1", tokens.other_carrier).status_code == 404
    assert _announce(api, tokens.observer, "bus-2", [_person()]).status_code == 403


def test_only_border_officials_decide(api: Api, tokens: Tokens) -> None:
    r = _announce(api, tokens.carrier, "bus-3", [_person()])
    assert r.status_code == 201, r.text
    traveller = r.json()["travellers"][0]["id"]
    path = f"/travellers/{traveller}/decision"
    assert api.call("POST", path, tokens.operator, json={"outcome": "admitted"}).status_code == 403
    assert api.call("POST", path, tokens.carrier, json={"outcome": "admitted"}).status_code == 403
    assert (
        api.call("POST", path, tokens.az_customs, json={"outcome": "admitted"}).status_code == 404
    )
    r = api.call("POST", path, tokens.am_customs, json={"outcome": "refused"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = api.call("POST", path, tokens.am_customs,
                 json={"outcome": "refused", "note": "document reported stolen"})  # fmt: skip
    assert r.status_code == 200, r.text
    decided = r.json()["travellers"][0]
    assert decided["final_outcome"] == "refused" and decided["officer"] == "AM-CUSTOMS"
    again = api.call("POST", path, tokens.am_customs, json={"outcome": "admitted"})
    assert again.status_code == 409


def test_a_watchlisted_person_is_referred_under_another_spelling(
    api: Api, tokens: Tokens, wiring: Wiring
) -> None:
    passage = api.http.app.state.passage  # type: ignore[attr-defined]
    entry = WatchlistEntry("WL-1", "GRIGORYAN", "HOVHANNES", date(1975, 3, 2), "ARM", "EU", "test")
    assert passage.load_watchlist([entry]) == 1
    person = _person(surname="GRIGORIAN", given_names="OVANES", nationality="ARM",
                     issuing_state="ARM", birth_date="1975-03-02")  # fmt: skip
    r = _announce(api, tokens.operator, "car-1", [person])
    assert r.json()["counts"]["refer"] == 1
    full = api.call("GET", "/vehicles/car-1", tokens.am_customs).json()["travellers"][0]
    assert "watchlist-match" in [x["code"] for x in full["reasons"]]
    assert full["matches"][0]["entry_id"] == "WL-1"


def test_a_manifest_with_a_broken_row_stores_nothing(api: Api, tokens: Tokens) -> None:
    header = "document_type,document_number,issuing_state,nationality,surname,given_names," \
             "birth_date,sex,expiry\n"  # fmt: skip
    good = "P,C01X00T47,AZE,AZE,MAMMADOV,ELCHIN,1980-05-14,M,2031-01-01\n"
    bad = "P,C01X00T49,AZE,AZE,HASANOV,RAUF,1980-13-40,M,2031-01-01\n"
    query = "vehicle_id=10-BUS-09&vehicle_class=bus&office=" + OFFICE
    headers = {"Content-Type": "text/csv"}
    r = api.call("POST", f"/vehicles/m-1/manifest?{query}", tokens.operator,
                 content=header + good + bad, headers=headers)  # fmt: skip
    assert r.status_code == 422
    assert any(e["field"] == "rows[1].birth_date" for e in r.json()["errors"])
    assert api.call("GET", "/vehicles/m-1", tokens.operator).status_code == 404
    r = api.call("POST", f"/vehicles/m-1/manifest?{query}", tokens.operator,
                 content=header + good, headers=headers)  # fmt: skip
    assert r.status_code == 201 and r.json()["counts"]["travellers"] == 1


def test_identities_are_purged_after_the_retention_and_decisions_stay(
    api: Api, tokens: Tokens, wiring: Wiring
) -> None:
    r = _announce(api, tokens.operator, "bus-9", [_person()])
    traveller = r.json()["travellers"][0]["id"]
    api.call("POST", f"/travellers/{traveller}/decision", tokens.am_customs,
             json={"outcome": "admitted"})  # fmt: skip
    passage = api.http.app.state.passage  # type: ignore[attr-defined]
    assert passage.purge(wiring.clock(), 30) == 0  # too recent
    assert passage.purge(wiring.clock() + timedelta(days=31), 30) == 1
    kept = api.call("GET", "/vehicles/bus-9", tokens.am_customs).json()["travellers"][0]
    assert kept["identity"] is None and kept["purged"]
    assert kept["final_outcome"] == "admitted" and kept["outcome"] == "pass"


def test_a_repeated_id_answers_only_its_owner_and_only_the_same_body(
    api: Api, tokens: Tokens
) -> None:
    assert _announce(api, tokens.carrier, "bus-own", [_person()]).status_code == 201
    assert _announce(api, tokens.other_carrier, "bus-own", [_person()]).status_code == 404
    other = _person(document_number="C01X00T99")
    assert _announce(api, tokens.carrier, "bus-own", [other]).status_code == 409


def test_admitting_over_a_serious_reason_needs_the_officers_note(api: Api, tokens: Tokens) -> None:
    expired = _person(expiry="2020-01-01")
    r = _announce(api, tokens.operator, "bus-exp", [expired])
    traveller = r.json()["travellers"][0]["id"]
    full = api.call("GET", "/vehicles/bus-exp", tokens.am_customs).json()["travellers"][0]
    assert full["severity"] == "high"
    path = f"/travellers/{traveller}/decision"
    r = api.call("POST", path, tokens.am_customs, json={"outcome": "admitted"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = api.call("POST", path, tokens.am_customs,
                 json={"outcome": "admitted", "note": "renewal seen at the consulate"})  # fmt: skip
    assert r.status_code == 200
