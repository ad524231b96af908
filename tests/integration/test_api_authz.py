"""What the generated matrix (test_authz_generated.py: every route, role and party, on both
stores) cannot say by status code alone: a hidden record is indistinguishable from an absent
one, the operator's view carries no commercial data, a carrier's lists hold only its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.integration.conftest import Api


@dataclass
class World:
    own_grn: str  # AZ-CARRIER-0001's, issued by AZ-CUSTOMS
    other_grn: str  # AZ-CARRIER-0002's, issued by AZ-CUSTOMS
    own_mrn: str
    other_mrn: str


def build(api: Api) -> World:
    own = api.guarantee("500000.00", holder="AZ-CARRIER-0001")["grn"]
    other = api.guarantee("500000.00", holder="AZ-CARRIER-0002")["grn"]
    api.call("POST", "/devices", api.tokens.admin, json={"id": "TRK-OWN", "kind": "tracker"})
    armed = api.lodge(own).json()["mrn"]
    api.event(
        armed,
        api.tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        tracker_id="TRK-OWN",
    )
    own_mrn = api.lodge(own).json()["mrn"]
    other_mrn = api.lodge(other, token=api.tokens.other_carrier, holder="AZ-CARRIER-0002").json()[
        "mrn"
    ]
    return World(own, other, own_mrn, other_mrn)


def test_404_is_indistinguishable_from_absent(api: Api) -> None:
    world = build(api)
    hidden = api.call("GET", f"/movements/{world.other_mrn}", api.tokens.carrier)
    absent = api.call("GET", "/movements/26AZ000000000000J0", api.tokens.carrier)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["title"] == absent.json()["title"]


def test_operator_sees_no_commercial_data(api: Api) -> None:
    world = build(api)
    for body in (
        api.call("GET", f"/movements/{world.own_mrn}", api.tokens.operator).json(),
        api.call("GET", "/movements", api.tokens.operator).json()["items"][0],
    ):
        assert body["view"] == "operational"
        for key in ("consignor", "consignee", "liability", "guarantee"):
            assert body.get(key) is None
        for item in body["goods"]:
            assert item.get("value") is None and item.get("description") is None
        text = str(body)
        assert "Baku Motors" not in text and "40000" not in text


def test_carrier_lists_only_its_own(api: Api) -> None:
    world = build(api)
    mine = api.call("GET", "/movements", api.tokens.carrier).json()["items"]
    mrns = {m["mrn"] for m in mine}
    assert world.own_mrn in mrns and world.other_mrn not in mrns
    assert {m["holder"] for m in mine} == {"AZ-CARRIER-0001"}
    theirs = api.call("GET", "/movements", api.tokens.carrier, params={"holder": "AZ-CARRIER-0002"})
    assert theirs.json()["items"] == []
