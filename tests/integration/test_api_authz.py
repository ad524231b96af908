"""Role-by-endpoint matrix: each role against each endpoint, on its own data and another's.

Expected answers follow API.md: 404 for what the caller may not see (as if it
did not exist), 403 for what it may see but not do, 401 without a token.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

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


Request = Callable[[Api, World, str], Any]
_ids = itertools.count()

CELLS: dict[str, Request] = {
    "corridor": lambda a, w, t: a.call("GET", "/corridor", t),
    "guarantee.create": lambda a, w, t: a.call(
        "POST",
        "/guarantees",
        t,
        json={"holder": "AZ-CARRIER-0001", "reference_amount": "10.00", "currency": "USD"},
    ),
    "guarantee.own": lambda a, w, t: a.call("GET", f"/guarantees/{w.own_grn}", t),
    "guarantee.other": lambda a, w, t: a.call("GET", f"/guarantees/{w.other_grn}", t),
    "movement.lodge.own": lambda a, w, t: a.call(
        "POST", "/movements", t, json=a.declaration(w.own_grn)
    ),
    "movement.lodge.other": lambda a, w, t: a.call(
        "POST", "/movements", t, json=a.declaration(w.other_grn, holder="AZ-CARRIER-0002")
    ),
    "movement.list": lambda a, w, t: a.call("GET", "/movements", t),
    "movement.own": lambda a, w, t: a.call("GET", f"/movements/{w.own_mrn}", t),
    "movement.other": lambda a, w, t: a.call("GET", f"/movements/{w.other_mrn}", t),
    "events.own": lambda a, w, t: a.call("GET", f"/movements/{w.own_mrn}/events", t),
    "events.other": lambda a, w, t: a.call("GET", f"/movements/{w.other_mrn}/events", t),
    "cancel.own": lambda a, w, t: a.event(w.own_mrn, t, "cancel", reason="r"),
    "cancel.other": lambda a, w, t: a.event(w.other_mrn, t, "cancel", reason="r"),
    "stats": lambda a, w, t: a.call("GET", "/stats", t),
    "device.create": lambda a, w, t: a.call(
        "POST", "/devices", t, json={"id": f"D-{next(_ids)}", "kind": "tracker"}
    ),
    "device.armed_own": lambda a, w, t: a.call("GET", "/devices/TRK-OWN", t),
    "positions.post": lambda a, w, t: a.call(
        "POST",
        "/positions",
        t,
        json=[{"device_id": "TRK-OWN", "time": "2026-01-01T00:00:00Z", "lat": 38.9, "lon": 46.3}],
    ),
    "track.own": lambda a, w, t: a.call("GET", f"/movements/{w.own_mrn}/track", t),
    "track.other": lambda a, w, t: a.call("GET", f"/movements/{w.other_mrn}/track", t),
    "alerts.list": lambda a, w, t: a.call("GET", "/alerts", t),
    "webhooks.create": lambda a, w, t: a.call(
        "POST", "/webhooks", t, json={"url": "http://127.0.0.1:9/hook", "kinds": ["seal_opened"]}
    ),
}

# Cells are in CELLS order. "own" means AZ-CARRIER-0001's data; for customs and
# the operator both movements are theirs to see (both cross AZ and AM).
EXPECTED: dict[str, list[int]] = {
    "admin":       [200, 201, 200, 200, 201, 201, 200, 200, 200, 200, 200, 201, 201, 200,
                    201, 200, 202, 200, 200, 200, 201],
    "az_customs":  [200, 201, 200, 200, 403, 403, 200, 200, 200, 200, 200, 201, 201, 200,
                    201, 200, 403, 200, 200, 200, 201],
    "am_customs":  [200, 201, 404, 404, 403, 403, 200, 200, 200, 200, 200, 403, 403, 200,
                    201, 200, 403, 200, 200, 200, 201],
    "carrier":     [200, 403, 200, 404, 201, 403, 200, 200, 404, 200, 404, 201, 404, 200,
                    403, 200, 403, 200, 404, 200, 201],
    "operator":    [200, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 403, 403, 200,
                    201, 200, 202, 200, 200, 200, 201],
    "observer":    [403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200,
                    403, 403, 403, 403, 403, 403, 403],
    "no_token":    [401] * len(CELLS),
}  # fmt: skip


@pytest.mark.parametrize("role", list(EXPECTED))
def test_role_matrix(api: Api, role: str) -> None:
    world = build(api)
    token = None if role == "no_token" else getattr(api.tokens, role)
    got = {name: request(api, world, token).status_code for name, request in CELLS.items()}
    want = dict(zip(CELLS, EXPECTED[role], strict=True))
    assert got == want


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


# --- border posts, fees and travellers: the front office collects, officials decide -------

FRONT_CELLS: dict[str, Request] = {
    "fee.own": lambda a, w, t: a.call("GET", f"/movements/{w.own_mrn}/fee", t),
    "fee.other": lambda a, w, t: a.call("GET", f"/movements/{w.other_mrn}/fee", t),
    # A wrong amount: those who may collect get 422, the others 403 before any check.
    "fee.pay.external": lambda a, w, t: a.call(
        "POST",
        f"/movements/{w.own_mrn}/fee/payments",
        t,
        json={
            "method": "external",
            "reference": f"R-{next(_ids)}",
            "amount": "1.00",
            "currency": "AMD",
        },
    ),
    "fee.top_up": lambda a, w, t: a.call(
        "POST",
        "/fees/accounts/AZ-CARRIER-0001/top-ups",
        t,
        json={"amount": "10.00", "currency": "AMD", "reference": f"T-{next(_ids)}"},
    ),
    "fee.schedules.get": lambda a, w, t: a.call("GET", "/fees/schedules", t),
    "fee.schedules.put": lambda a, w, t: a.call("PUT", "/fees/schedules", t, json=_default_fees()),
    "vehicle.announce": lambda a, w, t: a.call(
        "POST",
        "/vehicles",
        t,
        json={
            "id": f"V-{next(_ids)}",
            "vehicle_id": "10-BUS-1",
            "vehicle_class": "bus",
            "office": "AM000101",
            "travellers": [],
        },
    ),
    "screening": lambda a, w, t: a.call(
        "POST", "/offices/AM000101/screenings", t, json={"mrn": w.own_mrn}
    ),
    "expected": lambda a, w, t: a.call("GET", "/offices/AM000101/expected", t),
    "ruleset.am": lambda a, w, t: a.call("GET", "/risk/rulesets/AM", t),
    "reconciliation": lambda a, w, t: a.call("GET", "/fees/reconciliation?day=2026-01-01", t),
}


def _default_fees() -> dict[str, Any]:
    from tripp.fees.defaults import default_schedule_dict

    return default_schedule_dict()


FRONT_EXPECTED: dict[str, list[int]] = {
    "admin":      [200, 200, 422, 201, 200, 201, 201, 201, 200, 200, 200],
    "az_customs": [200, 200, 403, 403, 200, 403, 403, 403, 403, 403, 200],
    "am_customs": [200, 200, 403, 403, 200, 201, 403, 201, 200, 200, 200],
    "carrier":    [200, 404, 403, 403, 200, 403, 201, 403, 403, 403, 200],
    "operator":   [200, 200, 422, 201, 200, 403, 201, 403, 200, 403, 200],
    "observer":   [403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    "no_token":   [401] * len(FRONT_CELLS),
}  # fmt: skip


@pytest.mark.parametrize("role", list(FRONT_EXPECTED))
def test_front_and_back_office_matrix(api: Api, role: str) -> None:
    world = build(api)
    token = None if role == "no_token" else getattr(api.tokens, role)
    got = {name: request(api, world, token).status_code for name, request in FRONT_CELLS.items()}
    want = dict(zip(FRONT_CELLS, FRONT_EXPECTED[role], strict=True))
    assert got == want
