"""load_corridor: the second corridor loads; every rule fails naming file, field and rule."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tripp.corridor.loader import CorridorFieldError, load_corridor
from tripp.corridor.model import CorridorInvalid, OfficeRole, TransportMode

CORRIDORS = Path(__file__).resolve().parents[1] / "data" / "corridors"
CA_YAML = CORRIDORS / "central-asia-rail.yaml"
CA_GEOJSON = CORRIDORS / "central-asia-rail.geojson"
BROKEN = CORRIDORS / "broken"
Doc = dict[str, Any]


# --- helpers: edit a copy of the second corridor by field path --------------------


def _steps(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in re.findall(r"(\w+)|\[(\d+)\]", path)]


def set_at(doc: Any, path: str, value: Any) -> None:
    *parents, last = _steps(path)
    for step in parents:
        doc = doc[step]
    doc[last] = value


def delete_at(doc: Any, path: str) -> None:
    *parents, last = _steps(path)
    for step in parents:
        doc = doc[step]
    del doc[last]


def write_corridor(
    folder: Path,
    edit_yaml: Callable[[Doc], None] | None = None,
    edit_geojson: Callable[[Doc], None] | None = None,
) -> Path:
    doc = yaml.safe_load(CA_YAML.read_text(encoding="utf-8"))
    geo = json.loads(CA_GEOJSON.read_text(encoding="utf-8"))
    if edit_yaml:
        edit_yaml(doc)
    if edit_geojson:
        edit_geojson(geo)
    (folder / "central-asia-rail.geojson").write_text(json.dumps(geo), encoding="utf-8")
    path = folder / "corridor.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[CorridorFieldError]:
    with pytest.raises(CorridorInvalid) as caught:
        load_corridor(path)
    assert caught.value.source == str(path)
    assert all(isinstance(e, CorridorFieldError) for e in caught.value.errors)
    return [e for e in caught.value.errors if isinstance(e, CorridorFieldError)]


def sets(*pairs: tuple[str, Any]) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        for path, value in pairs:
            set_at(doc, path, value)

    return edit


def deletes(path: str) -> Callable[[Doc], None]:
    return lambda doc: delete_at(doc, path)


# --- the second corridor --------------------------------------------------------------


def test_second_corridor_loads() -> None:
    c = load_corridor(CA_YAML)
    assert c.id == "CA-RAIL"
    assert set(c.routes) == {TransportMode.RAIL}
    assert c.buffer_m == 1000 and c.time_limit_hours == 96
    assert [o.country for o in c.offices.values()] == ["KZ", "UZ", "UZ", "TM", "TM"]
    assert c.offices["UZ170010"].roles == {OfficeRole.TRANSIT}
    assert c.offices["KZ510020"].timezone == "Asia/Almaty"
    (south, north) = c.itineraries
    assert len(south.offices_of_transit) == 3
    assert north.offices_of_transit == tuple(reversed(south.offices_of_transit))
    assert c.currencies.base == "EUR"
    assert c.tariff.rate_for("240220") == Decimal("120")
    assert c.tariff.rate_for("240110") == Decimal("20")  # no chapter 24 rate here
    assert len(c.stop_zones) == 6


def test_second_corridor_keeps_numbers_exact_and_times_local() -> None:
    c = load_corridor(CA_YAML)
    assert c.currencies.rates_to_base["UZS"] == Decimal("0.0000715")
    assert c.tariff.rate_for("850440") == Decimal("12.5")
    assert all(isinstance(r, Decimal) for r in c.currencies.rates_to_base.values())
    weekdays, saturday = c.offices["KZ510020"].opening_hours
    assert weekdays.weekdays == frozenset(range(5))
    assert (saturday.opens, saturday.closes) == (time(9), time(14, 30))
    assert c.currencies.as_of == "2025-12-01"


def test_geometry_path_is_relative_to_the_yaml_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_corridor(str(CA_YAML)).id == "CA-RAIL"


def test_extension_keys_are_kept_in_extra(tmp_path: Path) -> None:
    path = write_corridor(tmp_path, sets(("x_operator", {"name": "ACME"})))
    assert load_corridor(path).extra == {"x_operator": {"name": "ACME"}}


# --- every rule, one broken field at a time -----------------------------------------

YAML_CASES = [
    # (edit, field, rule)
    (deletes("name"), "name", "required"),
    (deletes("offices[0].timezone"), "offices[0].timezone", "required"),
    (sets(("buffer_m", "wide")), "buffer_m", "type"),
    (sets(("name", 12)), "name", "type"),
    (sets(("offices", {"a": 1})), "offices", "type"),
    (sets(("bufer_m", 3)), "bufer_m", "unknown-field"),
    (sets(("offices[0].phone", "1")), "offices[0].phone", "unknown-field"),
    (sets(("format", 2)), "format", "format-version"),
    (sets(("id", "ca rail")), "id", "corridor-id"),
    (sets(("offices", [])), "offices", "required"),
    (sets(("offices[0].code", "KZ51")), "offices[0].code", "office-code"),
    (sets(("offices[0].code", "kz510020")), "offices[0].code", "office-code"),
    (sets(("offices[0].code", "KZ51002!")), "offices[0].code", "office-code"),
    (sets(("offices[0].code", "UZ510020")), "offices[0].code", "office-code"),
    (sets(("offices[0].country", "XX")), "offices[0].country", "country"),
    (
        sets(("offices[2].code", "UZ170010")),
        "offices[2].code",
        "office-code-unique",
    ),
    (sets(("offices[0].roles", [])), "offices[0].roles", "office-roles"),
    (sets(("offices[0].roles", ["departure", "customs"])), "offices[0].roles[1]", "office-roles"),
    (sets(("offices[0].location", [69.17])), "offices[0].location", "lonlat"),
    (sets(("offices[0].location", [200, 41])), "offices[0].location", "lonlat"),
    (sets(("offices[0].location", [69.17, -91])), "offices[0].location", "lonlat"),
    (sets(("offices[0].location", ["a", 41])), "offices[0].location", "lonlat"),
    (sets(("offices[0].modes", ["ship"])), "offices[0].modes[0]", "mode"),
    (sets(("offices[0].modes", [])), "offices[0].modes", "mode"),
    (sets(("offices[0].modes", ["rail", "road"])), "offices[0].modes", "mode-route"),
    (sets(("offices[0].timezone", "Mars/Olympus")), "offices[0].timezone", "timezone"),
    (sets(("offices[0].timezone", "../etc/passwd")), "offices[0].timezone", "timezone"),
    (sets(("offices[0].timezone", "Asia")), "offices[0].timezone", "timezone"),
    (sets(("offices[0].opening_hours", [])), "offices[0].opening_hours", "opening-hours"),
    (
        sets(("offices[0].opening_hours[0].days", ["mon", "funday"])),
        "offices[0].opening_hours[0].days",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].days", [])),
        "offices[0].opening_hours[0].days",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].opens", "8:00")),
        "offices[0].opening_hours[0].opens",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].opens", "24:00")),
        "offices[0].opening_hours[0].opens",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].closes", "25:00")),
        "offices[0].opening_hours[0].closes",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].closes", "00:00")),
        "offices[0].opening_hours[0].closes",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].closes", "07:00")),
        "offices[0].opening_hours[0].closes",
        "opening-hours",
    ),
    (
        sets(("offices[0].opening_hours[0].opens", 800)),
        "offices[0].opening_hours[0].opens",
        "opening-hours",
    ),
    (sets(("buffer_m", 0)), "buffer_m", "buffer"),
    (sets(("buffer_m", -5)), "buffer_m", "buffer"),
    (sets(("time_limit_hours", 0)), "time_limit_hours", "time-limit"),
    (sets(("tariff.default_rate_pct", -1)), "tariff.default_rate_pct", "tariff-rate"),
    (sets(("tariff.rates[0].rate_pct", -0.5)), "tariff.rates[0].rate_pct", "tariff-rate"),
    (sets(("tariff.rates[0].rate_pct", "lots")), "tariff.rates[0].rate_pct", "type"),
    *[
        (sets(("tariff.rates[0].hs_prefix", bad)), "tariff.rates[0].hs_prefix", "hs-prefix")
        for bad in ("77", "00", "98", "9", "240", "2400", "24021", "ab", 7)
    ],
    (sets(("tariff.rates[1].hs_prefix", "09")), "tariff.rates[1].hs_prefix", "hs-prefix-unique"),
    (sets(("currencies.base", "ABC")), "currencies.base", "currency"),
    (sets(("currencies.rates_to_base.ABC", 1)), "currencies.rates_to_base.ABC", "currency"),
    (sets(("currencies.rates_to_base.USD", 0)), "currencies.rates_to_base.USD", "currency-rate"),
    (sets(("currencies.rates_to_base.USD", -1)), "currencies.rates_to_base.USD", "currency-rate"),
    (
        sets(("currencies.rates_to_base.USD", "lots")),
        "currencies.rates_to_base.USD",
        "currency-rate",
    ),
    (sets(("currencies.rates_to_base.EUR", 2)), "currencies.rates_to_base", "currency-base"),
    (sets(("currencies.base", "USD")), "currencies.rates_to_base", "currency-base"),
    (deletes("currencies.rates_to_base.EUR"), "currencies.rates_to_base", "currency-base"),
    (sets(("currencies.as_of", "01/12/2025")), "currencies.as_of", "type"),
    (
        sets(("itineraries[0].office_of_departure", "KZ999999")),
        "itineraries[0].office_of_departure",
        "office-ref",
    ),
    (
        sets(("itineraries[0].office_of_departure", "UZ170010")),
        "itineraries[0].office_of_departure",
        "itinerary-role",
    ),
    (
        sets(("itineraries[0].offices_of_transit[1]", "KZ510020")),
        "itineraries[0].offices_of_transit[1]",
        "itinerary-role",
    ),
    (
        sets(("itineraries[0].office_of_destination", "UZ060010")),
        "itineraries[0].office_of_destination",
        "itinerary-role",
    ),
    (
        sets(("itineraries[0].offices_of_transit", ["UZ170010"] * 10)),
        "itineraries[0].offices_of_transit",
        "itinerary-transit-count",
    ),
    (
        sets(("itineraries[0].offices_of_transit", ["UZ170010", "UZ060010", "UZ170010"])),
        "itineraries[0].offices_of_transit[2]",
        "itinerary-transit-unique",
    ),
    (sets(("itineraries[1].name", "CA-S-RAIL")), "itineraries[1].name", "itinerary-unique"),
    (
        sets(("itineraries[0].offices_of_transit", [None])),
        "itineraries[0].offices_of_transit[0]",
        "office-ref",
    ),
    (
        deletes("itineraries[0].office_of_departure"),
        "itineraries[0].office_of_departure",
        "required",
    ),
    (
        sets(("itineraries[0].office_of_destination", 5)),
        "itineraries[0].office_of_destination",
        "office-ref",
    ),
    (sets(("itineraries[0].mode", "road")), "itineraries[0].mode", "mode-route"),
    (sets(("itineraries[0].mode", "bus")), "itineraries[0].mode", "mode"),
    (sets(("sources", [1])), "sources", "type"),
]


@pytest.mark.parametrize(("edit", "field", "rule"), YAML_CASES)
def test_yaml_rule_is_reported_with_file_field_and_rule(
    tmp_path: Path, edit: Callable[[Doc], None], field: str, rule: str
) -> None:
    path = write_corridor(tmp_path, edit_yaml=edit)
    errors = errors_of(path)
    assert (str(path), field, rule) in [(e.file, e.field, e.rule) for e in errors], errors


def add_road_route(geo: Doc) -> None:
    road = copy.deepcopy(geo["features"][0])
    road["properties"]["mode"] = "road"
    geo["features"].append(road)


def test_itinerary_office_must_handle_the_mode(tmp_path: Path) -> None:
    path = write_corridor(
        tmp_path, sets(("offices[0].modes", ["road"])), edit_geojson=add_road_route
    )
    errors = errors_of(path)
    assert [(e.field, e.rule) for e in errors] == [
        ("itineraries[0].office_of_departure", "itinerary-mode"),
        ("itineraries[1].office_of_destination", "itinerary-mode"),
    ]


SQUARE = [[69.0, 41.0], [69.01, 41.0], [69.01, 41.01], [69.0, 41.01], [69.0, 41.0]]
BOW_TIE = [[69.0, 41.0], [69.01, 41.01], [69.01, 41.0], [69.0, 41.01], [69.0, 41.0]]


def _append_line(geo: Doc) -> None:
    geo["features"].append(copy.deepcopy(geo["features"][0]))


def _only_zones(geo: Doc) -> None:
    geo["features"] = geo["features"][1:]


GEOJSON_CASES = [
    (sets(("type", "Feature")), "type", "geojson"),
    (sets(("features", {})), "features", "type"),
    (_only_zones, "features", "route"),
    (
        sets(("features[0].geometry.coordinates", [[69.17, 41.46]])),
        "features[0].geometry.coordinates",
        "route-vertices",
    ),
    (
        sets(("features[0].geometry.coordinates", [[69.17, 41.46], [69.17, 41.46]])),
        "features[0].geometry.coordinates",
        "route-vertices",
    ),
    (
        sets(("features[0].geometry.coordinates[3]", [200, 41])),
        "features[0].geometry.coordinates[3]",
        "lonlat",
    ),
    (
        sets(("features[0].geometry.coordinates[3]", [69.0])),
        "features[0].geometry.coordinates[3]",
        "lonlat",
    ),
    (sets(("features[0].properties.mode", "ship")), "features[0].properties.mode", "mode"),
    (deletes("features[0].properties.mode"), "features[0].properties.mode", "required"),
    (_append_line, "features[7].properties.mode", "route-unique"),
    (sets(("features[1].geometry.type", "Point")), "features[1].geometry.type", "geojson"),
    (sets(("features[1].properties.kind", "parking")), "features[1].properties.kind", "geojson"),
    (deletes("features[1].properties.name"), "features[1].properties.name", "required"),
    (
        sets(("features[1].properties.office", "XX000000")),
        "features[1].properties.office",
        "office-ref",
    ),
    (
        sets(("features[1].geometry.coordinates", [BOW_TIE])),
        "features[1].geometry.coordinates[0]",
        "stop-zone",
    ),
    (
        sets(("features[1].geometry.coordinates", [SQUARE[:-1]])),
        "features[1].geometry.coordinates[0]",
        "stop-zone",
    ),
    (
        sets(("features[1].geometry.coordinates", [SQUARE[:2] + SQUARE[:1]])),
        "features[1].geometry.coordinates[0]",
        "stop-zone",
    ),
    (
        sets(("features[1].geometry.coordinates", [SQUARE, SQUARE])),
        "features[1].geometry.coordinates",
        "stop-zone",
    ),
]


@pytest.mark.parametrize(("edit", "field", "rule"), GEOJSON_CASES)
def test_geojson_rule_is_reported_with_the_geojson_file(
    tmp_path: Path, edit: Callable[[Doc], None], field: str, rule: str
) -> None:
    path = write_corridor(tmp_path, edit_geojson=edit)
    errors = errors_of(path)
    geojson = str(tmp_path / "central-asia-rail.geojson")
    assert (geojson, field, rule) in [(e.file, e.field, e.rule) for e in errors], errors


def test_a_valid_edit_passes(tmp_path: Path) -> None:
    """The helpers themselves: an unchanged copy loads."""
    assert load_corridor(write_corridor(tmp_path)).id == "CA-RAIL"


# --- whole files ----------------------------------------------------------------------


def test_bad_yaml_syntax_names_the_file_and_the_line() -> None:
    (error,) = errors_of(BROKEN / "bad-syntax.yaml")
    assert (error.file, error.field, error.rule) == (
        str(BROKEN / "bad-syntax.yaml"),
        "(file)",
        "yaml-syntax",
    )
    assert "line 5" in error.message


def test_missing_geojson_names_both_files() -> None:
    (error,) = errors_of(BROKEN / "missing-geojson.yaml")
    assert (error.field, error.rule) == ("geometry", "geometry-file")
    assert error.file == str(BROKEN / "missing-geojson.yaml")
    assert "does-not-exist.geojson" in error.message


def test_bad_json_names_the_geojson_file() -> None:
    (error,) = errors_of(BROKEN / "bad-json.yaml")
    assert (error.file, error.rule) == (str(BROKEN / "bad-json.geojson"), "json-syntax")


def test_every_error_is_collected_across_both_files() -> None:
    errors = errors_of(BROKEN / "many-errors.yaml")
    assert {e.file.rsplit("/", 1)[-1] for e in errors} == {
        "many-errors.yaml",
        "many-errors.geojson",
    }
    assert {e.rule for e in errors} >= {
        "route-vertices", "stop-zone", "buffer", "office-code", "office-roles", "lonlat",
        "mode", "timezone", "opening-hours", "tariff-rate", "hs-prefix", "currency",
        "currency-base", "mode-route", "office-ref",
    }  # fmt: skip
    assert len(errors) >= 15


def test_missing_yaml_file(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path / "nope.yaml")
    assert (error.field, error.rule) == ("(file)", "file")


@pytest.mark.parametrize("text", ["", "- a list\n", "just text\n"])
def test_document_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    (error,) = errors_of(path)
    assert (error.field, error.rule) == ("(file)", "type")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    text = CA_YAML.read_text(encoding="utf-8").replace(
        "buffer_m: 1000", "buffer_m: 1000\nbuffer_m: 5"
    )
    path = tmp_path / "central-asia-rail.yaml"
    path.write_text(text, encoding="utf-8")
    (error,) = errors_of(path)
    assert error.rule == "yaml-syntax" and "duplicate key 'buffer_m'" in error.message


def test_exception_message_lists_every_error(tmp_path: Path) -> None:
    with pytest.raises(CorridorInvalid) as caught:
        load_corridor(BROKEN / "many-errors.yaml")
    assert str(caught.value).count("\n") == len(caught.value.errors) - 1
    assert caught.value.status == 422


# --- YAML scalars mean what they say ---------------------------------------------------


def test_yaml_1_1_surprises_are_avoided(tmp_path: Path) -> None:
    """Unquoted NO stays Norway, 12:30 stays a time, 0.1 stays exactly 0.1."""
    text = CA_YAML.read_text(encoding="utf-8")
    text = text.replace("country: KZ", "country: NO").replace("code: KZ510020", "code: NO510020")
    text = text.replace("KZ510020", "NO510020")
    text = text.replace('closes: "14:30"', "closes: 12:30")
    text = text.replace("USD: 0.86", "USD: 0.1")
    path = tmp_path / "central-asia-rail.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / CA_GEOJSON.name).write_text(
        CA_GEOJSON.read_text(encoding="utf-8").replace("KZ510020", "NO510020"), encoding="utf-8"
    )
    c = load_corridor(path)
    assert c.offices["NO510020"].country == "NO"
    assert c.offices["NO510020"].opening_hours[1].closes == time(12, 30)
    assert c.currencies.rates_to_base["USD"] == Decimal("0.1")
    assert str(c.currencies.rates_to_base["USD"]) == "0.1"


def test_an_unquoted_heading_is_read_as_digits(tmp_path: Path) -> None:
    path = write_corridor(tmp_path, sets(("tariff.rates[4].hs_prefix", 8517)))
    assert load_corridor(path).tariff.rates[4].hs_prefix == "8517"


def test_the_documented_example_is_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "corridor-format.md").read_text(
        encoding="utf-8"
    )
    blocks = dict(re.findall(r"`(corridor\.\w+)`:\n\n```\w+\n(.*?)```", doc, re.S))
    assert set(blocks) == {"corridor.yaml", "corridor.geojson"}
    for name, text in blocks.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert load_corridor(tmp_path / "corridor.yaml").id == "DEMO"


def test_a_broken_base_rate_is_reported_once(tmp_path: Path) -> None:
    errors = errors_of(write_corridor(tmp_path, sets(("currencies.rates_to_base.EUR", 0))))
    assert [(e.field, e.rule) for e in errors] == [
        ("currencies.rates_to_base.EUR", "currency-rate")
    ]
