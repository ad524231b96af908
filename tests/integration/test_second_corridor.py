"""The same system on a different corridor (rail, three transit countries, EUR base):
the corridor format is general, and so is the API built on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tripp.api.app import create_app
from tripp.bootstrap import Wiring, utc_now, wire
from tripp.config import Settings
from tripp.parties import service as parties
from tripp.parties.model import Party, Role

CORRIDOR = Path(__file__).parents[1] / "data" / "corridors" / "central-asia-rail.yaml"
CUSTOMS = {"KZ-CUSTOMS": "KZ", "UZ-CUSTOMS": "UZ", "TM-CUSTOMS": "TM"}


@pytest.fixture
def ca(database_url: str) -> Iterator[tuple[TestClient, dict[str, str], Wiring]]:
    w = wire(Settings(database_url=database_url, corridor=str(CORRIDOR)))
    w.upgrade()
    uow, now = w.context.uow, utc_now()
    tokens = {}
    for party, country in CUSTOMS.items():
        parties.add_party(uow, Party(party, Role.CUSTOMS, country), now)
        tokens[party] = parties.create_token(
            uow, party_id=party, role=Role.CUSTOMS, label="", now=now
        )[0]
    parties.add_party(uow, Party("KZ-CARRIER-1", Role.CARRIER, "KZ"), now)
    tokens["carrier"] = parties.create_token(
        uow, party_id="KZ-CARRIER-1", role=Role.CARRIER, label="", now=now
    )[0]
    tokens["AZ-CUSTOMS"] = parties.create_token(
        uow, party_id="AZ-CUSTOMS", role=Role.CUSTOMS, label="", now=now
    )[0]
    with TestClient(create_app(w, run_jobs=False)) as client:
        yield client, tokens, w
    w.engine.dispose()


def test_lifecycle_on_a_rail_corridor_through_three_countries(
    ca: tuple[TestClient, dict[str, str], Wiring],
) -> None:
    http, tokens, w = ca

    def call(method: str, path: str, who: str, **kw: object):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return http.request(method, "/api/v1" + path, headers=headers, **kw)  # type: ignore[arg-type]

    assert call("GET", "/corridor", "carrier").json()["id"] != "TRIPP"
    g = call(
        "POST",
        "/guarantees",
        "KZ-CUSTOMS",
        json={"holder": "KZ-CARRIER-1", "reference_amount": "50000.00", "currency": "EUR"},
    )
    assert g.status_code == 201, g.text
    it = next(i for i in w.corridor.itineraries if i.name == "CA-S-RAIL")
    body = {
        "holder": "KZ-CARRIER-1",
        "guarantee": g.json()["grn"],
        "office_of_departure": it.office_of_departure,
        "offices_of_transit": list(it.offices_of_transit),
        "office_of_destination": it.office_of_destination,
        "transport": {
            "mode": "rail",
            "vehicle_id": "WAGON-1",
            "nationality": "KZ",
            "containers": ["CSQU3054383"],
        },
        "goods": [
            {
                "hs_code": "851712",
                "description": "telephones",
                "gross_mass_kg": "800",
                "packages": 40,
                "value": "10000000",
                "currency": "KZT",
            }
        ],
        "consignor": {"name": "Almaty Trade", "country": "KZ"},
        "consignee": {"name": "Ashgabat Import", "country": "TM"},
    }
    r = call("POST", "/movements", "carrier", json=body)
    assert r.status_code == 201, r.text
    mrn = r.json()["mrn"]
    # 10,000,000 KZT x 10 % (heading 8517) x 0.00165 EUR/KZT
    assert r.json()["liability"] == {"amount": "1650.00", "currency": "EUR"}
    assert mrn[2:4] == "KZ"
    assert call("GET", f"/movements/{mrn}", "AZ-CUSTOMS").status_code == 404  # not its country

    def event(who: str, kind: str, office: str | None = None, **payload: object) -> str:
        body = {
            "id": f"{kind}-{office}",
            "type": kind,
            "at": datetime.now(UTC).isoformat(),
            **({"office": office} if office else {}),
            **payload,
        }
        r = call("POST", f"/movements/{mrn}/events", who, json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["state"])

    assert event("KZ-CUSTOMS", "release", it.office_of_departure, seals=["KZ-1"]) == "released"
    for office, who in zip(
        it.offices_of_transit, ("UZ-CUSTOMS", "UZ-CUSTOMS", "TM-CUSTOMS"), strict=True
    ):
        assert event(who, "border_crossing", office, direction="entry") == "in_transit"
    assert event("TM-CUSTOMS", "arrival", it.office_of_destination) == "arrived"
    assert (
        event("TM-CUSTOMS", "control_result", it.office_of_destination, outcome="satisfactory")
        == "written_off"
    )
    after = call("GET", f"/guarantees/{g.json()['grn']}", "KZ-CUSTOMS").json()
    assert Decimal(after["available"]) == Decimal("50000.00")
