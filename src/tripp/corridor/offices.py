"""The ``offices`` of a corridor file: customs offices with their roles and opening hours."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tripp.codes.country import is_country
from tripp.corridor.fields import Node, enum_set, lonlat
from tripp.corridor.model import Office, OfficeRole, OpeningHours, TransportMode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFICE_CODE = re.compile(r"[A-Z]{2}[A-Z0-9]{6}")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def read_offices(
    root: Node, routes: Collection[TransportMode] | None
) -> tuple[dict[str, Office], Collection[str]]:
    """The valid offices by code, and every well-formed code in the file (valid office or not).

    ``routes`` are the modes the GeoJSON file declares a route for; None if it is unreadable.
    """
    items = root.items("offices")
    if items == []:
        root.error("offices", "must list at least one office", "required")
    offices: dict[str, Office] = {}
    code_paths: dict[str, str] = {}
    for i, raw in enumerate(items or []):
        office = _office(Node(root.sink, f"offices[{i}]", raw), routes, code_paths)
        if office is not None:
            offices[office.code] = office
    return offices, code_paths.keys()


def _office(
    node: Node, routes: Collection[TransportMode] | None, code_paths: dict[str, str]
) -> Office | None:
    country = _country(node, "country")
    code = _office_code(node, country, code_paths)
    name = node.text("name")
    roles = enum_set(node, "roles", OfficeRole, "office-roles")
    location = lonlat(node.sink, node.at("location"), node.get("location"))
    modes = enum_set(node, "modes", TransportMode, "mode")
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


def _country(node: Node, key: str) -> str | None:
    cc = node.text(key)
    if cc is not None and not is_country(cc):
        node.error(key, f"{cc!r} is not an ISO 3166-1 alpha-2 country code", "country")
        return None
    return cc


def _office_code(node: Node, country: str | None, code_paths: dict[str, str]) -> str | None:
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


def _timezone(node: Node) -> str | None:
    name = node.text("timezone")
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        node.error("timezone", f"{name!r} is not an IANA time zone (e.g. Asia/Baku)", "timezone")
        return None
    return name


def _opening_hours(node: Node) -> tuple[OpeningHours, ...] | None:
    items = node.items("opening_hours")
    if items == []:
        node.error("opening_hours", "must list at least one opening period", "opening-hours")
    periods = [
        _period(Node(node.sink, node.at("opening_hours") + f"[{i}]", raw))
        for i, raw in enumerate(items or [])
    ]
    if not periods or None in periods:
        return None
    return tuple(p for p in periods if p is not None)


def _period(node: Node) -> OpeningHours | None:
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


def _weekdays(node: Node) -> frozenset[int] | None:
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


def _clock(node: Node, key: str, *, allow_midnight: bool) -> time | None:
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
