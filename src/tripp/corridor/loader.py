"""Read and validate a corridor: a YAML file plus the GeoJSON file it names.

``load_corridor`` checks every rule of docs/corridor-format.md and collects
every broken one before raising ``CorridorInvalid``, so an operator fixes a
file in one pass instead of one error per run. Each error is a
``CorridorFieldError``: the file (the GeoJSON file for geometry errors), the
field path, the message and the rule's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from tripp.codes.country import is_country
from tripp.codes.currency import is_currency
from tripp.codes.hs import valid_chapter
from tripp.corridor.model import (
    Corridor,
    CorridorInvalid,
    Currencies,
    Itinerary,
    Office,
    OfficeRole,
    OpeningHours,
    Route,
    StopZone,
    Tariff,
    TariffRate,
    TransportMode,
)
from tripp.errors import FieldError

E = TypeVar("E", bound=StrEnum)
LonLat = tuple[float, float]

FORMAT_VERSION = 1
MAX_OFFICES_OF_TRANSIT = 9  # NCTS: a declaration holds up to 9 offices of transit
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WHOLE_FILE = "(file)"  # the field name of errors about a file as a whole
_OFFICE_CODE = re.compile(r"[A-Z]{2}[A-Z0-9]{6}")
_CORRIDOR_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_HS_PREFIX = re.compile(r"[0-9]{2}(?:[0-9]{2})?")


@dataclass(frozen=True)
class CorridorFieldError(FieldError):
    """A broken rule in a corridor file; ``file`` is the YAML or the GeoJSON file."""

    file: str = ""


# --- YAML that means what it says -------------------------------------------------


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader reading plain scalars like YAML 1.2's core schema, and no duplicate keys.

    YAML 1.1 (PyYAML's default) reads ``NO`` (Norway) as False and ``12:30`` as
    the integer 750; here only true/false are booleans, only plain decimals are
    numbers, and a number with a fraction is an exact Decimal, never a float.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = getattr(key_node, "value", None)
            if isinstance(key_node, yaml.ScalarNode) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                    key_node.start_mark,
                )  # fmt: skip
            seen.add(key)
        return super().construct_mapping(node, deep)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a number", node.start_mark
        ) from exc


_RESOLVERS = {
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    "tag:yaml.org,2002:int": (r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    "tag:yaml.org,2002:float": (
        r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$",
        "-+0123456789.",
    ),
}
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _RESOLVERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _first) in _RESOLVERS.items():
    _YamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


# --- collecting errors ------------------------------------------------------------


@dataclass
class _Sink:
    """Where the broken rules of one file go; ``errors`` is shared by both files."""

    file: str
    errors: list[FieldError]

    def add(self, path: str, message: str, rule: str) -> None:
        self.errors.append(CorridorFieldError(path, message, rule, file=self.file))


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "a number", Decimal: "a number", float: "a number"}
    names |= {str: "a string", list: "a list", dict: "a mapping", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def _decimal(value: object) -> Decimal | None:
    """The exact value of a number or numeric string; None unless finite."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, float | str):
            number = Decimal(str(value).strip())  # via str: 0.1 stays 0.1, not a binary float
        else:
            return None
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Node:
    """One mapping of the input, read key by key; keys never read are reported as unknown."""

    def __init__(self, sink: _Sink, path: str, raw: object) -> None:
        self.sink = sink
        self.path = path
        self.is_mapping = isinstance(raw, dict)
        self._raw: dict[Any, Any] = raw if isinstance(raw, dict) else {}
        self._read: set[str] = set()
        if not self.is_mapping:
            self.sink.add(path or WHOLE_FILE, f"must be a mapping, got {_kind(raw)}", "type")

    def at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, rule: str) -> None:
        self.sink.add(self.at(key), message, rule)

    def get(self, key: str, *, required: bool = True) -> object:
        self._read.add(key)
        value = self._raw.get(key)
        if value is None and required and self.is_mapping:
            self.error(key, "is required", "required")
        return value

    def _typed(self, key: str, value: object, expected: str) -> None:
        self.error(key, f"must be {expected}, got {_kind(value)} {value!r}", "type")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self._typed(key, value, "a non-empty string")
            return None
        return value

    def number(self, key: str, *, required: bool = True) -> Decimal | None:
        value = self.get(key, required=required)
        number = None if value is None else _decimal(value)
        if value is not None and number is None:
            self._typed(key, value, "a finite number")
        return number

    def flag(self, key: str) -> bool:
        value = self.get(key, required=False)
        if value is not None and not isinstance(value, bool):
            self._typed(key, value, "true or false")
        return value is True

    def items(self, key: str, *, required: bool = True) -> list[object] | None:
        value = self.get(key, required=required)
        if value is not None and not isinstance(value, list):
            self._typed(key, value, "a list")
            return None
        return value

    def child(self, key: str, *, required: bool = True) -> _Node | None:
        value = self.get(key, required=required)
        return None if value is None else _Node(self.sink, self.at(key), value)

    def entries(self) -> list[tuple[str, object]]:
        """Every key and value, for mappings keyed by data (e.g. currency codes)."""
        self._read.update(str(k) for k in self._raw)
        return [(str(k), v) for k, v in self._raw.items()]

    def finish(self, *, extension_prefix: str = "x_") -> dict[str, Any]:
        """Report unknown keys (typos); return the extension keys, which are kept as is."""
        extensions = {}
        for key in self._raw:
            if str(key).startswith(extension_prefix):
                extensions[str(key)] = self._raw[key]
            elif key not in self._read:
                allowed = ", ".join(sorted(self._read))
                self.error(str(key), f"unknown field; expected one of: {allowed}", "unknown-field")
        return extensions


def _enum_set(node: _Node, key: str, enum: type[E], rule: str) -> frozenset[E] | None:
    """A non-empty list of enum values, e.g. roles: [departure, destination]."""
    values = node.items(key)
    if values is None:
        return None
    allowed = [e.value for e in enum]
    if not values:
        node.error(key, f"must list at least one of: {', '.join(allowed)}", rule)
        return None
    found: set[E] = set()
    for i, value in enumerate(values):
        if isinstance(value, str) and value in allowed:
            found.add(enum(value))
        else:
            node.error(f"{key}[{i}]", f"{value!r} is not one of: {', '.join(allowed)}", rule)
    return frozenset(found) if len(found) == len(set(map(repr, values))) else None


def _lonlat(sink: _Sink, where: str, value: object) -> LonLat | None:
    """A [lon, lat] (or [lon, lat, elevation]) position in WGS 84 degrees."""
    numbers = [_decimal(v) for v in value] if isinstance(value, list) else []
    coords = [float(n) for n in numbers if n is not None]
    if len(coords) != len(numbers) or len(coords) not in (2, 3):
        sink.add(where, f"must be [longitude, latitude] in degrees, got {value!r}", "lonlat")
        return None
    lon, lat = coords[0], coords[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        message = f"[{lon}, {lat}] is out of range: longitude -180..180, latitude -90..90"
        sink.add(where, message, "lonlat")
        return None
    return (lon, lat)


# --- offices ----------------------------------------------------------------------


def _offices(
    root: _Node, routes: Collection[TransportMode] | None
) -> tuple[dict[str, Office], Collection[str]]:
    """The valid offices by code, and every well-formed code in the file (valid office or not)."""
    items = root.items("offices")
    if items == []:
        root.error("offices", "must list at least one office", "required")
    offices: dict[str, Office] = {}
    code_paths: dict[str, str] = {}
    for i, raw in enumerate(items or []):
        office = _office(_Node(root.sink, f"offices[{i}]", raw), routes, code_paths)
        if office is not None:
            offices[office.code] = office
    return offices, code_paths.keys()


def _office(
    node: _Node, routes: Collection[TransportMode] | None, code_paths: dict[str, str]
) -> Office | None:
    country = _country(node, "country")
    code = _office_code(node, country, code_paths)
    name = node.text("name")
    roles = _enum_set(node, "roles", OfficeRole, "office-roles")
    location = _lonlat(node.sink, node.at("location"), node.get("location"))
    modes = _enum_set(node, "modes", TransportMode, "mode")
    timezone = _timezone(node)
    hours = _opening_hours(node)
    estimated = node.flag("estimated")
    node.text("notes", required=False)
    node.finish()
    if modes is not None and routes is not None:
        for mode in sorted(modes - set(routes)):
            node.error("modes", f"{mode.value!r} has no route in the GeoJSON file", "mode-route")
    if code is None or name is None or country is None or roles is None or modes is None:
        return None
    if location is None or timezone is None or hours is None:
        return None
    return Office(code, name, country, roles, location, modes, timezone, hours, estimated)


def _country(node: _Node, key: str) -> str | None:
    cc = node.text(key)
    if cc is not None and not is_country(cc):
        node.error(key, f"{cc!r} is not an ISO 3166-1 alpha-2 country code", "country")
        return None
    return cc


def _office_code(node: _Node, country: str | None, code_paths: dict[str, str]) -> str | None:
    code = node.text("code")
    if code is None:
        return None
    if not _OFFICE_CODE.fullmatch(code):
        message = f"{code!r} must be 8 characters: country alpha-2 + 6 letters/digits (A-Z, 0-9)"
        node.error("code", message, "office-code")
        return None
    if country is not None and code[:2] != country:
        node.error(
            "code", f"{code!r} must start with the office's country {country!r}", "office-code"
        )
        return None
    if code in code_paths:
        node.error(
            "code", f"{code!r} is already the code of {code_paths[code]}", "office-code-unique"
        )
        return None
    code_paths[code] = node.path
    return code


def _timezone(node: _Node) -> str | None:
    name = node.text("timezone")
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        node.error("timezone", f"{name!r} is not an IANA time zone (e.g. Asia/Baku)", "timezone")
        return None
    return name


def _opening_hours(node: _Node) -> tuple[OpeningHours, ...] | None:
    items = node.items("opening_hours")
    if items == []:
        node.error("opening_hours", "must list at least one opening period", "opening-hours")
    periods = [
        _period(_Node(node.sink, node.at("opening_hours") + f"[{i}]", raw))
        for i, raw in enumerate(items or [])
    ]
    if not periods or None in periods:
        return None
    return tuple(p for p in periods if p is not None)


def _period(node: _Node) -> OpeningHours | None:
    """One opening period: days [mon..sun], opens HH:MM, closes HH:MM or 24:00."""
    days = _weekdays(node)
    opens = _clock(node, "opens", allow_midnight=False)
    closes = _clock(node, "closes", allow_midnight=True)
    node.finish()
    if opens is None or closes is None:
        return None
    until_midnight = closes == time(0)  # "24:00"; "00:00" is refused by _clock
    if not until_midnight and closes <= opens:
        message = (
            f"closes {closes:%H:%M} must be after opens {opens:%H:%M} (use 24:00 for midnight)"
        )
        node.error("closes", message, "opening-hours")
        return None
    return None if days is None else OpeningHours(days, opens, closes, until_midnight)


def _weekdays(node: _Node) -> frozenset[int] | None:
    days = node.items("days")
    if days is None:
        return None
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        node.error(
            "days",
            f"must be a non-empty list of {', '.join(WEEKDAYS)}, got {days!r}",
            "opening-hours",
        )
        return None
    return frozenset(WEEKDAYS.index(str(d)) for d in days)


def _clock(node: _Node, key: str, *, allow_midnight: bool) -> time | None:
    """HH:MM local time; "24:00" (returned as 00:00) only when ``allow_midnight``."""
    value = node.get(key)
    if value is None:
        return None
    if allow_midnight and value == "24:00":
        return time(0)
    if allow_midnight and value == "00:00":
        node.error(key, "'00:00' is ambiguous as a closing time: write 24:00", "opening-hours")
        return None
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        hint = "HH:MM from 00:00 to 23:59" + (", or 24:00" if allow_midnight else "")
        node.error(key, f"must be a quoted time {hint}, got {value!r}", "opening-hours")
        return None
    return time(int(match[1]), int(match[2]))


# --- the GeoJSON file: routes and stop zones ---------------------------------------


@dataclass
class _Geometry:
    routes: dict[TransportMode, Route]
    # with each zone its properties, to report a bad office reference once offices are read
    stop_zones: list[tuple[_Node, StopZone]]
    # Counted valid or not, so that a broken route is reported once, not again as missing.
    line_features: int = 0
    declared_modes: set[TransportMode] = field(default_factory=set)


def _geometry(yaml_path: Path, root: _Node) -> _Geometry | None:
    """Routes and stop zones from the GeoJSON file the YAML names; None if unreadable."""
    ref = root.text("geometry")
    if ref is None:
        return None
    geo_path = yaml_path.parent / ref  # relative to the YAML file, not to the working directory
    sink = _Sink(str(geo_path), root.sink.errors)
    doc = _read_json(geo_path, root, sink)
    return None if doc is None else _features(_Node(sink, "", doc))


def _read_json(path: Path, root: _Node, sink: _Sink) -> object | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        root.error("geometry", f"GeoJSON file {str(path)!r} not found", "geometry-file")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        sink.add(WHOLE_FILE, f"cannot read the GeoJSON file: {exc}", "geometry-file")
        return None
    try:
        doc: object = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        sink.add(WHOLE_FILE, f"not valid JSON: {where}: {exc.msg}", "json-syntax")
        return None
    return doc


def _features(top: _Node) -> _Geometry:
    # No finish() on GeoJSON objects: RFC 7946 allows foreign members and free properties.
    if top.is_mapping and top.get("type") != "FeatureCollection":
        top.error("type", "must be 'FeatureCollection'", "geojson")
    out = _Geometry({}, [])
    route_paths: dict[TransportMode, str] = {}
    for i, raw in enumerate(top.items("features") or []):
        _feature(_Node(top.sink, f"features[{i}]", raw), out, route_paths)
    if top.is_mapping and out.line_features == 0:
        top.error("features", "must hold at least one route (LineString, property mode)", "route")
    return out


def _feature(node: _Node, out: _Geometry, route_paths: dict[TransportMode, str]) -> None:
    geometry = node.child("geometry")
    props = node.child("properties")
    kind = geometry.get("type") if geometry is not None else None
    if geometry is None or props is None:
        return
    if kind == "LineString":
        out.line_features += 1
        route = _route(geometry, props, out.declared_modes)
        if route is not None and route.mode in route_paths:
            message = f"a second {route.mode.value} route; {route_paths[route.mode]} is the first"
            props.error("mode", message, "route-unique")
        elif route is not None:
            out.routes[route.mode] = route
            route_paths[route.mode] = node.path
    elif kind == "Polygon":
        zone = _stop_zone(geometry, props)
        if zone is not None:
            out.stop_zones.append((props, zone))
    elif kind is not None:
        message = f"must be LineString (a route) or Polygon (a stop zone), got {kind!r}"
        geometry.error("type", message, "geojson")


def _mode(node: _Node, key: str) -> TransportMode | None:
    value = node.text(key)
    if value is not None and value not in set(TransportMode):
        node.error(key, f"{value!r} is not one of: road, rail", "mode")
        return None
    return None if value is None else TransportMode(value)


def _positions(sink: _Sink, where: str, value: object) -> list[LonLat] | None:
    if not isinstance(value, list):
        sink.add(where, f"must be a list of [lon, lat] positions, got {_kind(value)}", "type")
        return None
    points = [_lonlat(sink, f"{where}[{i}]", p) for i, p in enumerate(value)]
    valid = [p for p in points if p is not None]
    return valid if len(valid) == len(points) else None


def _route(geometry: _Node, props: _Node, declared: set[TransportMode]) -> Route | None:
    mode = _mode(props, "mode")
    if mode is not None:
        declared.add(mode)
    name = props.text("name", required=False)
    estimated = props.flag("estimated")
    coords = _positions(geometry.sink, geometry.at("coordinates"), geometry.get("coordinates"))
    if coords is not None and len(set(coords)) < 2:
        message = f"a route needs at least 2 distinct vertices, got {len(set(coords))}"
        geometry.error("coordinates", message, "route-vertices")
        return None
    if mode is None or coords is None:
        return None
    return Route(mode, name or f"{mode.value} route", tuple(coords), estimated)


def _stop_zone(geometry: _Node, props: _Node) -> StopZone | None:
    kind = props.text("kind")
    if kind is not None and kind != "stop_zone":
        props.error("kind", f"a Polygon must have kind 'stop_zone', got {kind!r}", "geojson")
    name = props.text("name")
    office = props.text("office", required=False)
    props.flag("estimated")
    ring = _ring(geometry)
    if kind != "stop_zone" or name is None or ring is None:
        return None
    return StopZone(name, tuple(ring), office)


def _ring(geometry: _Node) -> list[LonLat] | None:
    """The one exterior ring of a stop zone: closed, at least 4 positions, a valid polygon."""
    rings = geometry.items("coordinates")
    if rings is None:
        return None
    if len(rings) != 1:
        message = f"a stop zone is one exterior ring without holes, got {len(rings)} rings"
        geometry.error("coordinates", message, "stop-zone")
        return None
    where = geometry.at("coordinates") + "[0]"
    ring = _positions(geometry.sink, where, rings[0])
    if ring is None:
        return None
    if len(ring) < 4 or ring[0] != ring[-1]:
        message = f"must be a closed ring (first = last) of at least 4 positions, got {len(ring)}"
        geometry.sink.add(where, message, "stop-zone")
        return None
    polygon = Polygon(ring)
    if not polygon.is_valid:
        geometry.sink.add(where, f"not a valid polygon: {explain_validity(polygon)}", "stop-zone")
        return None
    return ring


# --- tariff and currencies ------------------------------------------------------


def _tariff(root: _Node) -> Tariff | None:
    node = root.child("tariff")
    if node is None:
        return None
    default = _rate(node, "default_rate_pct")
    estimated = node.flag("estimated")
    node.text("notes", required=False)
    seen: dict[str, int] = {}
    rates: list[TariffRate | None] = []
    for i, raw in enumerate(node.items("rates", required=False) or []):
        rate = _tariff_rate(_Node(node.sink, node.at("rates") + f"[{i}]", raw))
        if rate is not None and rate.hs_prefix in seen:
            message = f"{rate.hs_prefix!r} is already listed at rates[{seen[rate.hs_prefix]}]"
            node.error(f"rates[{i}].hs_prefix", message, "hs-prefix-unique")
            rate = None
        elif rate is not None:
            seen[rate.hs_prefix] = i
        rates.append(rate)
    node.finish()
    if default is None or None in rates:
        return None
    return Tariff(default, tuple(r for r in rates if r is not None), estimated)


def _rate(node: _Node, key: str) -> Decimal | None:
    rate = node.number(key)
    if rate is not None and rate < 0:
        node.error(key, f"must be >= 0 percent, got {rate}", "tariff-rate")
        return None
    return rate


def _tariff_rate(node: _Node) -> TariffRate | None:
    prefix = _hs_prefix(node)
    rate = _rate(node, "rate_pct")
    note = node.text("note", required=False) or ""
    node.finish()
    if prefix is None or rate is None:
        return None
    return TariffRate(prefix, rate, note)


def _hs_prefix(node: _Node) -> str | None:
    """An HS chapter (2 digits) or heading (4 digits); an unquoted 2402 is taken as '2402'."""
    value = node.get("hs_prefix")
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(text, str)
        or not _HS_PREFIX.fullmatch(text)
        or not valid_chapter(int(text[:2]))
        or text[2:] == "00"
    ):
        message = (
            f"{value!r} must be an HS chapter (2 digits, 01-97, not 77) "
            "or heading (4 digits), quoted, e.g. '24' or '2402'"
        )
        node.error("hs_prefix", message, "hs-prefix")
        return None
    return text


def _currencies(root: _Node) -> Currencies | None:
    node = root.child("currencies")
    if node is None:
        return None
    base = _currency_code(node, "base", node.get("base"))
    as_of = _as_of(node)
    estimated = node.flag("estimated")
    rates = _rates_to_base(node, base)
    node.finish()
    if base is None or rates is None or as_of is None:
        return None
    return Currencies(base, rates, as_of, estimated)


def _currency_code(node: _Node, key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_currency(value):
        node.error(key, f"{value!r} is not an ISO 4217 currency code", "currency")
        return None
    return value


def _as_of(node: _Node) -> str | None:
    """The date the rates were taken, as ISO 8601; "" when not given, None when invalid."""
    value = node.get("as_of", required=False)
    if value is None:
        return ""
    if isinstance(value, date):  # YAML reads an unquoted 2026-01-15 as a date
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        node.error("as_of", f"must be a date YYYY-MM-DD, got {value!r}", "type")
        return None


def _rates_to_base(node: _Node, base: str | None) -> dict[str, Decimal] | None:
    """How many base units one unit of each currency is worth: positive, base = 1."""
    rates_node = node.child("rates_to_base")
    if rates_node is None:
        return None
    rates: dict[str, Decimal] = {}
    valid = rates_node.is_mapping
    for code, value in rates_node.entries():
        rate = _decimal(value)
        known = _currency_code(rates_node, code, code) is not None
        if rate is None or rate <= 0:
            message = f"must be a positive number of {base or 'base'} units, got {value!r}"
            rates_node.error(code, message, "currency-rate")
            rate = None
        valid = valid and known and rate is not None
        if known and rate is not None:
            rates[code] = rate
    listed_but_broken = base in dict(rates_node.entries()) and base not in rates
    if base is not None and not listed_but_broken and rates.get(base) != 1:
        message = f"the base currency {base} must be listed with rate 1, got {rates.get(base)}"
        node.error("rates_to_base", message, "currency-base")
        valid = False
    return rates if valid else None


# --- itineraries -----------------------------------------------------------------

_UNREAD = object()  # sentinel: None is a value an itinerary may wrongly hold


@dataclass(frozen=True)
class _Refs:
    """What an itinerary may refer to. ``known`` holds every office code in the file,
    valid or not, so an office with its own errors is not reported again as unknown."""

    offices: Mapping[str, Office]
    known: Collection[str]
    modes_with_route: Collection[TransportMode] | None


def _itineraries(root: _Node, refs: _Refs) -> tuple[Itinerary, ...] | None:
    names: dict[str, int] = {}
    result: list[Itinerary | None] = []
    for i, raw in enumerate(root.items("itineraries", required=False) or []):
        node = _Node(root.sink, f"itineraries[{i}]", raw)
        itinerary = _itinerary(node, refs)
        if itinerary is not None and itinerary.name in names:
            message = (
                f"{itinerary.name!r} is already the name of itineraries[{names[itinerary.name]}]"
            )
            node.error("name", message, "itinerary-unique")
            itinerary = None
        elif itinerary is not None:
            names[itinerary.name] = i
        result.append(itinerary)
    return None if None in result else tuple(r for r in result if r is not None)


def _itinerary(node: _Node, refs: _Refs) -> Itinerary | None:
    name = node.text("name")
    mode = _mode(node, "mode")
    routed = refs.modes_with_route
    if mode is not None and routed is not None and mode not in routed:
        node.error("mode", f"{mode.value!r} has no route in the GeoJSON file", "mode-route")
    departure = _office_ref(
        node, "office_of_departure", role=OfficeRole.DEPARTURE, mode=mode, refs=refs
    )
    transit = _transit_refs(node, mode, refs)
    destination = _office_ref(
        node, "office_of_destination", role=OfficeRole.DESTINATION, mode=mode, refs=refs
    )
    node.text("description", required=False)
    node.finish()
    if name is None or mode is None or departure is None or destination is None:
        return None
    return None if transit is None else Itinerary(name, mode, departure, transit, destination)


def _transit_refs(node: _Node, mode: TransportMode | None, refs: _Refs) -> tuple[str, ...] | None:
    key = "offices_of_transit"
    codes = node.items(key, required=False) or []
    if len(codes) > MAX_OFFICES_OF_TRANSIT:
        message = f"at most {MAX_OFFICES_OF_TRANSIT} offices of transit, got {len(codes)}"
        node.error(key, message, "itinerary-transit-count")
    found = [
        _office_ref(node, f"{key}[{i}]", code, role=OfficeRole.TRANSIT, mode=mode, refs=refs)
        for i, code in enumerate(codes)
    ]
    for i, code in enumerate(found):
        if code is not None and code in found[:i]:
            node.error(f"{key}[{i}]", f"{code} is listed twice", "itinerary-transit-unique")
    valid = [c for c in found if c is not None]
    ok = len(valid) == len(codes) == len(set(valid)) <= MAX_OFFICES_OF_TRANSIT
    return tuple(valid) if ok else None


def _office_ref(
    node: _Node,
    key: str,
    code: object = _UNREAD,
    *,
    role: OfficeRole,
    mode: TransportMode | None,
    refs: _Refs,
) -> str | None:
    """The office code at ``key`` if it names an office with ``role`` that handles ``mode``.

    ``code`` is the value when the caller has read it (an item of a list); by
    default it is read from ``node``, where a missing value is reported as required.
    """
    if code is _UNREAD:
        code = node.get(key)
        if code is None:
            return None
    office = refs.offices.get(code) if isinstance(code, str) else None
    if office is None:
        if not isinstance(code, str) or code not in refs.known:
            node.error(key, f"{code!r} is not an office of this corridor", "office-ref")
        return None
    if role not in office.roles:
        roles = ", ".join(sorted(office.roles))
        node.error(
            key, f"{code} is not an office of {role.value} (its roles: {roles})", "itinerary-role"
        )
        return None
    if mode is not None and mode not in office.modes:
        node.error(key, f"{code} does not handle {mode.value}", "itinerary-mode")
        return None
    return office.code


# --- the whole corridor ------------------------------------------------------------

T = TypeVar("T")


def _sure(value: T | None) -> T:
    # Every parser returns None only after recording an error; load_corridor
    # builds the Corridor only when there are none.
    assert value is not None, "a parser returned None without recording an error"
    return value


def load_corridor(path: Path | str) -> Corridor:
    """Read ``path`` (YAML) and the GeoJSON file it names, checking every rule.

    Raises ``CorridorInvalid`` listing every broken rule as ``CorridorFieldError``
    (file, field path, message, rule), including unreadable files and bad syntax.
    """
    path = Path(path)
    errors: list[FieldError] = []
    sink = _Sink(str(path), errors)
    doc = _read_yaml(path, sink)
    corridor = _corridor(path, _Node(sink, "", doc)) if not errors else None
    if corridor is None:
        raise CorridorInvalid(str(path), errors)
    return corridor


def _read_yaml(path: Path, sink: _Sink) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sink.add(WHOLE_FILE, f"cannot read the corridor file: {exc}", "file")
        return None
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        sink.add(WHOLE_FILE, f"not valid YAML: {where}{exc.problem}", "yaml-syntax")
    except yaml.YAMLError as exc:
        sink.add(WHOLE_FILE, f"not valid YAML: {exc}", "yaml-syntax")
    return None


def _corridor(path: Path, root: _Node) -> Corridor | None:
    if not root.is_mapping:
        return None
    _format_version(root)
    corridor_id = _corridor_id(root)
    name = root.text("name")
    description = root.text("description", required=False) or ""
    geometry = _geometry(path, root)
    routes = None if geometry is None else geometry.routes
    declared = None if geometry is None else geometry.declared_modes
    buffer_m = _positive(root, "buffer_m", "buffer")
    time_limit_hours = _positive(root, "time_limit_hours", "time-limit")
    offices, known = _offices(root, declared)
    tariff = _tariff(root)
    currencies = _currencies(root)
    itineraries = _itineraries(root, _Refs(offices, known, declared))
    sources = _sources(root)
    extra = root.finish()
    for props, zone in geometry.stop_zones if geometry is not None else []:
        if zone.office is not None and zone.office not in known:
            props.error(
                "office", f"{zone.office!r} is not an office of this corridor", "office-ref"
            )
    if root.sink.errors:
        return None
    return Corridor(
        id=_sure(corridor_id),
        name=_sure(name),
        description=description,
        offices=offices,
        routes=_sure(routes),
        buffer_m=_sure(buffer_m),
        time_limit_hours=_sure(time_limit_hours),
        tariff=_sure(tariff),
        currencies=_sure(currencies),
        stop_zones=tuple(zone for _, zone in _sure(geometry).stop_zones),
        itineraries=_sure(itineraries),
        sources=sources,
        extra=extra,
    )


def _sources(root: _Node) -> tuple[str, ...]:
    items = root.items("sources", required=False) or []
    texts = tuple(s for s in items if isinstance(s, str))
    if len(texts) != len(items):
        root.error("sources", "must be a list of strings", "type")
    return texts


def _format_version(root: _Node) -> None:
    version = root.get("format", required=False)
    if version is not None and version != FORMAT_VERSION:
        message = f"this loader reads format {FORMAT_VERSION}, got {version!r}"
        root.error("format", message, "format-version")


def _corridor_id(root: _Node) -> str | None:
    value = root.text("id")
    if value is not None and not _CORRIDOR_ID.fullmatch(value):
        message = (
            f"{value!r} must be 1-32 of A-Z, 0-9, '-' and '_', starting with a letter or digit"
        )
        root.error("id", message, "corridor-id")
        return None
    return value


def _positive(root: _Node, key: str, rule: str) -> float | None:
    number = root.number(key)
    if number is not None and number <= 0:
        root.error(key, f"must be > 0, got {number}", rule)
        return None
    return None if number is None else float(number)


def bundled_corridor_path() -> Path:
    """The TRIPP corridor shipped with the package (its GeoJSON file sits beside it)."""
    return Path(__file__).parent / "data" / "tripp.yaml"


# --- JSON for GET /corridor ---------------------------------------------------------


def corridor_to_dict(c: Corridor) -> dict[str, Any]:
    """The body of GET /corridor (API.md): plain JSON types, decimals as strings."""
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "offices": [_office_json(o) for o in c.offices.values()],
        "routes": c.routes_geojson(),
        "time_limit_hours": c.time_limit_hours,
        "buffer_m": c.buffer_m,
        "stop_zones": _stop_zones_geojson(c.stop_zones),
        "tariff": _tariff_json(c.tariff),
        "currencies": _currencies_json(c.currencies),
        "itineraries": [_itinerary_json(i) for i in c.itineraries],
        "sources": list(c.sources),
    }


def _dec(value: Decimal) -> str:
    return format(value, "f")  # never exponent notation: Decimal("1E+2") -> "100"


def _ordered(values: Iterable[E], enum: type[E]) -> list[str]:
    chosen = set(values)
    return [e.value for e in enum if e in chosen]


def _office_json(o: Office) -> dict[str, Any]:
    return {
        "code": o.code,
        "name": o.name,
        "country": o.country,
        "roles": _ordered(o.roles, OfficeRole),
        "location": [o.location[0], o.location[1]],
        "modes": _ordered(o.modes, TransportMode),
        "timezone": o.timezone,
        "opening_hours": [_period_json(p) for p in o.opening_hours],
        "estimated": o.estimated,
    }


def _period_json(p: OpeningHours) -> dict[str, Any]:
    return {
        "days": [WEEKDAYS[d] for d in sorted(p.weekdays)],
        "opens": f"{p.opens:%H:%M}",
        "closes": "24:00" if p.until_midnight else f"{p.closes:%H:%M}",
    }


def _stop_zones_geojson(zones: Iterable[StopZone]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "properties": {"kind": "stop_zone", "name": z.name, "office": z.office},
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in z.ring]]},
        }
        for z in zones
    ]
    return {"type": "FeatureCollection", "features": features}


def _tariff_json(t: Tariff) -> dict[str, Any]:
    rates = [
        {"hs_prefix": r.hs_prefix, "rate_pct": _dec(r.rate_pct), "note": r.note} for r in t.rates
    ]
    return {"default_rate_pct": _dec(t.default_rate_pct), "rates": rates, "estimated": t.estimated}


def _currencies_json(c: Currencies) -> dict[str, Any]:
    return {
        "base": c.base,
        "rates_to_base": {code: _dec(rate) for code, rate in c.rates_to_base.items()},
        "as_of": c.as_of or None,
        "estimated": c.estimated,
    }


def _itinerary_json(i: Itinerary) -> dict[str, Any]:
    return {
        "name": i.name,
        "mode": i.mode.value,
        "office_of_departure": i.office_of_departure,
        "offices_of_transit": list(i.offices_of_transit),
        "office_of_destination": i.office_of_destination,
    }
