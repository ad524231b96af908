"""corridor_to_dict: the GET /corridor body, plain JSON with decimals as strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tripp.corridor.loader import bundled_corridor_path, corridor_to_dict, load_corridor

CA_YAML = Path(__file__).resolve().parents[1] / "data" / "corridors" / "central-asia-rail.yaml"


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return corridor_to_dict(load_corridor(bundled_corridor_path()))


def test_body_is_plain_json(body: dict[str, Any]) -> None:
    assert json.loads(json.dumps(body)) == body


def test_body_has_the_contract_fields(body: dict[str, Any]) -> None:
    assert {"id", "name", "offices", "routes", "time_limit_hours", "buffer_m"} <= set(body)
    assert body["id"] == "TRIPP"
    assert body["time_limit_hours"] == 24 and body["buffer_m"] == 500
    office = next(o for o in body["offices"] if o["code"] == "AM000101")
    assert office == {
        "code": "AM000101",
        "name": "Nrnadzor east border post",
        "country": "AM",
        "roles": ["transit"],
        "location": [46.504, 38.888],
        "modes": ["road", "rail"],
        "timezone": "Asia/Yerevan",
        "opening_hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens": "00:00",
             "closes": "24:00"},
        ],
        "estimated": True,
    }  # fmt: skip


def test_routes_and_stop_zones_are_geojson(body: dict[str, Any]) -> None:
    routes = body["routes"]
    assert routes["type"] == "FeatureCollection"
    assert {f["properties"]["mode"] for f in routes["features"]} == {"road", "rail"}
    assert all(f["geometry"]["type"] == "LineString" for f in routes["features"])
    zones = body["stop_zones"]["features"]
    assert all(f["geometry"]["type"] == "Polygon" for f in zones)
    ring = zones[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring[0]) == 2


def test_money_and_rates_are_decimal_strings(body: dict[str, Any]) -> None:
    tariff = body["tariff"]
    assert tariff["default_rate_pct"] == "30"
    assert {
        "hs_prefix": "2402",
        "rate_pct": "150",
        "note": "cigars and cigarettes (high excise)",
    } in (tariff["rates"])
    assert body["currencies"] == {
        "base": "USD",
        "rates_to_base": {"USD": "1", "AZN": "0.5882", "AMD": "0.0026", "EUR": "1.17"},
        "as_of": "2026-01-15",
        "estimated": True,
    }


def test_itineraries_and_hours_of_the_second_corridor() -> None:
    body = corridor_to_dict(load_corridor(CA_YAML))
    assert body["itineraries"][0] == {
        "name": "CA-S-RAIL",
        "mode": "rail",
        "office_of_departure": "KZ510020",
        "offices_of_transit": ["UZ170010", "UZ060010", "TM010001"],
        "office_of_destination": "TM020002",
    }
    saryagash = body["offices"][0]
    assert saryagash["opening_hours"][1] == {"days": ["sat"], "opens": "09:00", "closes": "14:30"}
    assert body["currencies"]["rates_to_base"]["UZS"] == "0.0000715"  # never 7.15E-5
