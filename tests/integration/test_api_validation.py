"""Bad input over HTTP: 422 problem+json whose errors name the field; nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Api


def goods(**kw: Any) -> list[dict[str, Any]]:
    item = {
        "hs_code": "870323",
        "description": "cars",
        "gross_mass_kg": "1000",
        "packages": 1,
        "value": "100.00",
        "currency": "USD",
    }
    return [item, {**item, **kw}]


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("hs chapter", {"goods": goods(hs_code="770000")}, "goods[1].hs_code", "hs-code"),
    ("hs length", {"goods": goods(hs_code="8703")}, "goods[1].hs_code", "hs-code"),
    ("mass", {"goods": goods(gross_mass_kg="0")}, "goods[1].gross_mass_kg", "mass-positive"),
    ("value", {"goods": goods(value="-5")}, "goods[1].value", "value-non-negative"),
    ("currency", {"goods": goods(currency="ABC")}, "goods[1].currency", "currency-iso4217"),
    (
        "container",
        {
            "transport": {
                "mode": "road",
                "vehicle_id": "V1",
                "nationality": "AZ",
                "containers": ["CSQU3054384"],
            }
        },
        "transport.containers[0]",
        "container-number",
    ),
    (
        "nationality",
        {"transport": {"mode": "road", "vehicle_id": "V1", "nationality": "XX"}},
        "transport.nationality",
        "country-iso3166",
    ),
    (
        "unknown office",
        {"office_of_destination": "AZ999999"},
        "office_of_destination",
        "office-unknown",
    ),
    (
        "too many transits",
        {"offices_of_transit": ["AM000001"] * 10},
        "offices_of_transit",
        "transit-offices-max",
    ),
    (
        "consignor country",
        {"consignor": {"name": "X", "country": "ZZ"}},
        "consignor.country",
        "country-iso3166",
    ),
    ("missing field", {"goods": None}, "goods", "list_type"),
    ("wrong type", {"goods": goods(packages="many")}, "goods[1].packages", "int_parsing"),
    ("unknown field", {"colour": "red"}, "colour", "extra_forbidden"),
    # Text is plain digits (API.md's "25000.00"), not whatever Python's Decimal reads.
    ("NaN text", {"goods": goods(value="NaN")}, "goods[1].value", "decimal_parsing"),
    ("exponent text", {"goods": goods(value="1e3")}, "goods[1].value", "decimal_parsing"),
    (
        "spaced text",
        {"goods": goods(gross_mass_kg=" 12")},
        "goods[1].gross_mass_kg",
        "decimal_parsing",
    ),
    ("grouped text", {"goods": goods(value="1_000")}, "goods[1].value", "decimal_parsing"),
    (
        "NUL byte",
        {"consignee": {"name": "a\x00b", "country": "AZ"}},
        "consignee.name",
        "value_error",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "field", "rule"), CASES, ids=[c[0] for c in CASES])
def test_bad_declaration_names_the_field(
    api: Api, case: str, overrides: dict[str, Any], field: str, rule: str
) -> None:
    g = api.guarantee()
    body = api.declaration(g["grn"], **overrides)
    r = api.call("POST", "/movements", api.tokens.carrier, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["type"].startswith("urn:tripp:problem:")
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in problem["errors"]
    ], problem
    assert api.call("GET", "/movements", api.tokens.admin).json()["items"] == []
    assert (
        api.call("GET", f"/guarantees/{g['grn']}", api.tokens.carrier).json()["committed"] == "0.00"
    )


def test_a_nan_number_is_refused_by_name(api: Api) -> None:
    """JSON has no NaN, but Python's parser reads the literal; the value must still fail."""
    g = api.guarantee()
    body = json.dumps(api.declaration(g["grn"], goods=goods(value=float("nan"))))
    assert "NaN" in body
    headers = {"Content-Type": "application/json"}
    r = api.call("POST", "/movements", api.tokens.carrier, content=body, headers=headers)
    assert r.status_code == 422, r.text
    errors = [(e["field"], e["rule"]) for e in r.json()["errors"]]
    assert ("goods[1].value", "finite_number") in errors, errors


def test_guarantee_of_another_holder(api: Api) -> None:
    other = api.guarantee(holder="AZ-CARRIER-0002")
    r = api.lodge(other["grn"])
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "guarantee",
            "rule": "guarantee-holder",
            "message": r.json()["errors"][0]["message"],
        }
    ]


def test_malformed_json(api: Api) -> None:
    r = api.call(
        "POST",
        "/movements",
        api.tokens.carrier,
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] in ("body", "")


def test_event_payload_is_checked_per_type(api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    r = api.event(
        mrn,
        api.tokens.am_customs,
        "border_crossing",
        api.itinerary.offices_of_transit[0],
        direction="sideways",
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "direction"
    r = api.event(
        mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure, seals=["S1", "S1"]
    )
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "seals[1]",
        "message": "seal 'S1' is listed twice",
        "rule": "seal-repeated",
    }
    r = api.event(mrn, api.tokens.az_customs, "release", api.itinerary.office_of_destination)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "office-place"
    assert api.call("GET", f"/movements/{mrn}", api.tokens.carrier).json()["state"] == "accepted"


def test_guarantee_validation(api: Api) -> None:
    for body, field in [
        ({"holder": "NOBODY", "reference_amount": "10", "currency": "USD"}, "holder"),
        (
            {"holder": "AZ-CARRIER-0001", "reference_amount": "0", "currency": "USD"},
            "reference_amount",
        ),
        ({"holder": "AZ-CARRIER-0001", "reference_amount": "10", "currency": "GBP"}, "currency"),
        (
            {"holder": "AZ-CARRIER-0001", "reference_amount": "1.001", "currency": "USD"},
            "reference_amount",
        ),
    ]:
        r = api.call("POST", "/guarantees", api.tokens.az_customs, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
