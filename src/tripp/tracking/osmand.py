"""The OsmAnd HTTP protocol (Traccar Client and many phone apps) decoded into a ``Fix``. Pure.

Two forms, both answered on the OsmAnd listener's port (Traccar's 5055):

* parameters (query string or form body), ``parse_query``:
  ``id`` or ``deviceid`` (required); ``timestamp`` as epoch seconds (below 2^31),
  epoch milliseconds, ISO 8601 or ``yyyy-MM-dd HH:mm:ss`` (UTC when no offset is
  given), the server's ``now`` when absent; ``lat`` and ``lon``, or ``location=lat,lon``
  (WGS 84 degrees); ``speed`` in knots (stored as km/h); ``bearing`` or ``heading``
  (degrees clockwise from north). ``altitude`` (m), ``accuracy`` (m), ``hdop``,
  ``batt`` (percent), ``charge``, ``valid``, ``driverUniqueId`` and every unknown key
  go to ``Fix.attributes`` under the name they were sent with, typed where they look
  like numbers or booleans.
* JSON (the Transistorsoft background-geolocation shape), ``parse_json``: see there.

tripp extension: ``seal=closed|open|tampered`` (query) or ``location.extras.seal`` (JSON)
sets ``Fix.seal``, so an e-seal app can report through the same channel.

Where tripp is stricter than Traccar, and why:

* a position is required: Traccar falls back to the device's last location, but a
  ``Fix`` always has one and inventing it would hide a dead GPS;
* timestamps before 2000 or more than a day ahead of ``now`` are refused: they come
  from GPS week-rollover bugs or unset clocks and would poison tracks and alerts;
* numbers must be plain finite decimals (no ``NaN``, ``Infinity``, hex or ``1_000``);
  booleans in ``valid`` and ``charge`` must be ``true/false/1/0``.

Where tripp is more lenient: an empty optional value (``speed=``) counts as absent,
and a negative ``speed`` or ``bearing`` means "unknown" (what iOS reports), as Traccar
already does in the JSON form.

Every refusal is an ``OsmAndError`` (HTTP 400) naming the parameter and the rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tripp.errors import TrippError
from tripp.tracking.model import Fix, SealState

KMH_PER_KNOT = 1.852
KMH_PER_MPS = 3.6
EPOCH_SECONDS_BELOW = 2**31
"""Traccar's rule: an integer timestamp below this is seconds, otherwise milliseconds."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST_FIX = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_AHEAD = timedelta(days=1)
MAX_DEVICE_ID_CHARS = 128

_INTEGER = re.compile(r"[+-]?\d{1,20}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_SEALS = {state.value: state for state in SealState}

# Parameters that become Fix fields rather than attributes.
_FIX_KEYS = frozenset(
    {"id", "deviceid", "timestamp", "lat", "lon", "location", "speed", "bearing", "heading", "seal"}
)

Scalar = int | float | bool | str


class OsmAndError(TrippError):
    """An OsmAnd request the listener refuses; ``parameter`` names the culprit."""

    status = 400
    title = "Bad OsmAnd request"
    slug = "bad-osmand-request"

    def __init__(self, parameter: str, rule: str) -> None:
        self.parameter = parameter
        self.rule = rule
        super().__init__(f"{parameter}: {rule}")


# --- the parameter form ---------------------------------------------------------------


def parse_query(params: Mapping[str, str], *, now: datetime) -> Fix:
    """One ``Fix`` from query or form parameters; ``now`` (aware UTC) stands in for a
    missing ``timestamp``. Raises ``OsmAndError`` and nothing else for bad input."""
    _require_aware(now)
    device_id = _query_device_id(params)  # first: a report from nobody is refused as such
    lat, lon = _query_position(params)
    timestamp = _present(params, "timestamp")
    return Fix(
        device_id=device_id,
        time=now if timestamp is None else parse_timestamp("timestamp", timestamp, now=now),
        lat=lat,
        lon=lon,
        speed_kmh=_query_speed_kmh(params),
        course=_query_course(params),
        seal=_seal("seal", _present(params, "seal")),
        attributes=_query_attributes(params),
    )


def _query_device_id(params: Mapping[str, str]) -> str:
    for key in ("id", "deviceid"):
        value = _present(params, key)
        if value is not None:
            return _device_id(key, value)
    raise OsmAndError("id", "required (or deviceid)")


def _query_position(params: Mapping[str, str]) -> tuple[float, float]:
    lat, lon = _present(params, "lat"), _present(params, "lon")
    if lat is None and lon is None:
        location = _present(params, "location")
        if location is None:
            raise OsmAndError("lat", "required with lon (or location=lat,lon)")
        return _location(location)
    if lat is None:
        raise OsmAndError("lat", "required with lon")
    if lon is None:
        raise OsmAndError("lon", "required with lat")
    return _latitude("lat", _number("lat", lat)), _longitude("lon", _number("lon", lon))


def _location(value: str) -> tuple[float, float]:
    # Like Traccar, anything after the second comma (an altitude, say) is ignored.
    parts = value.split(",")
    if len(parts) < 2:
        raise OsmAndError("location", f"{_quote(value)} is not 'lat,lon'")
    lat = _latitude("location", _number("location", parts[0]))
    return lat, _longitude("location", _number("location", parts[1]))


def _query_speed_kmh(params: Mapping[str, str]) -> float | None:
    value = _present(params, "speed")
    if value is None:
        return None
    return _known_if_positive(_number("speed", value) * KMH_PER_KNOT)


def _query_course(params: Mapping[str, str]) -> float | None:
    for key in ("bearing", "heading"):
        value = _present(params, key)
        if value is not None:
            return _course(key, _number(key, value))
    return None


def _query_attributes(params: Mapping[str, str]) -> dict[str, Scalar]:
    attributes: dict[str, Scalar] = {}
    for key, value in params.items():
        if key in _FIX_KEYS:
            continue
        typed = _TYPED_ATTRIBUTES.get(key)
        if typed is None:
            attributes[key] = loose_scalar(value)
        elif value.strip():
            attributes[key] = typed(key, value)
    return attributes


# --- the JSON form --------------------------------------------------------------------


def parse_json(doc: object, *, now: datetime) -> Fix:
    """One ``Fix`` from the JSON form (``Content-Type: application/json``)::

        {"device_id": "...", "location": {
            "timestamp": ISO 8601, "coords": {"latitude", "longitude", "speed" (m/s),
            "heading" (degrees), "accuracy" (m), "altitude" (m)},
            "is_moving", "odometer" (m), "event", "mock", "activity": {"type"},
            "battery": {"level" (0..1), "is_charging"}, "extras": {...}}}

    Speed becomes km/h; battery level becomes ``batt`` in percent, as in the
    parameter form. Scalar ``extras`` join the attributes without overriding them;
    ``extras.seal`` sets ``Fix.seal``. A missing timestamp means ``now`` (aware UTC).
    Raises ``OsmAndError`` and nothing else for bad input.
    """
    _require_aware(now)
    root = _object("body", doc)
    device_id = _json_device_id(root.get("device_id"))  # first, as the query form does
    location = _location_object(root.get("location"))
    coords = _object("location.coords", location.get("coords"))
    extras = _object("location.extras", location.get("extras", {}))
    return Fix(
        device_id=device_id,
        time=_json_time(location.get("timestamp"), now),
        lat=_latitude(_LAT, _json_number(_LAT, coords.get("latitude"))),
        lon=_longitude(_LON, _json_number(_LON, coords.get("longitude"))),
        speed_kmh=_json_speed_kmh(coords.get("speed")),
        course=_json_course(coords.get("heading")),
        seal=_seal(_SEAL, _optional_text(_SEAL, extras.get("seal"))),
        attributes=_json_attributes(location, coords, extras),
    )


_LAT = "location.coords.latitude"
_LON = "location.coords.longitude"
_SEAL = "location.extras.seal"


def _location_object(value: object) -> Mapping[str, Any]:
    if isinstance(value, list):
        # The plugin batches locations in a list when batchSync is on; Traccar refuses too.
        raise OsmAndError("location", "must be one object; turn off batchSync")
    return _object("location", value)


def _json_device_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise OsmAndError("device_id", "required, a string")
    return _device_id("device_id", value)


def _json_time(value: object, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise OsmAndError("location.timestamp", "must be an ISO 8601 string")
    return parse_timestamp("location.timestamp", value, now=now)


def _json_speed_kmh(value: object) -> float | None:
    speed = _json_optional_number("location.coords.speed", value)
    return None if speed is None else _known_if_positive(speed * KMH_PER_MPS)


def _json_course(value: object) -> float | None:
    heading = _json_optional_number("location.coords.heading", value)
    return None if heading is None else _course("location.coords.heading", heading)


def _json_attributes(
    location: Mapping[str, Any], coords: Mapping[str, Any], extras: Mapping[str, Any]
) -> dict[str, Scalar]:
    attributes = {key: value for key, value in extras.items() if _is_scalar(value)}
    attributes.pop("seal", None)
    attributes.update(_coords_attributes(coords))
    attributes.update(_motion_attributes(location))
    attributes.update(_battery_attributes(location.get("battery")))
    if location.get("alarm") is not None:
        attributes["alarm"] = _text("location.alarm", location["alarm"])
    return attributes


def _coords_attributes(coords: Mapping[str, Any]) -> dict[str, Scalar]:
    attributes: dict[str, Scalar] = {}
    altitude = _json_optional_number("location.coords.altitude", coords.get("altitude"))
    if altitude is not None:
        attributes["altitude"] = altitude
    accuracy = _json_optional_number("location.coords.accuracy", coords.get("accuracy"))
    if accuracy is not None and accuracy >= 0:  # -1 is the platforms' "unknown"
        attributes["accuracy"] = accuracy
    return attributes


def _motion_attributes(location: Mapping[str, Any]) -> dict[str, Scalar]:
    attributes: dict[str, Scalar] = {}
    for key in ("is_moving", "mock"):
        if location.get(key) is not None:
            attributes[key] = _json_boolean(f"location.{key}", location[key])
    odometer = _json_optional_number("location.odometer", location.get("odometer"))
    if odometer is not None:
        attributes["odometer"] = odometer
    if location.get("event") is not None:
        attributes["event"] = _text("location.event", location["event"])
    activity = _object("location.activity", location.get("activity", {}))
    if activity.get("type") is not None:
        attributes["activity"] = _text("location.activity.type", activity["type"])
    return attributes


def _battery_attributes(value: object) -> dict[str, Scalar]:
    battery = _object("location.battery", {} if value is None else value)
    attributes: dict[str, Scalar] = {}
    level = _json_optional_number("location.battery.level", battery.get("level"))
    if level is not None and level >= 0:  # -1 means unknown
        if level > 1:
            raise OsmAndError("location.battery.level", f"{level} must be within 0..1")
        attributes["batt"] = level * 100
    if battery.get("is_charging") is not None:
        attributes["charge"] = _json_boolean("location.battery.is_charging", battery["is_charging"])
    return attributes


# --- values shared by both forms ------------------------------------------------------


def parse_timestamp(parameter: str, value: str, *, now: datetime) -> datetime:
    """Aware UTC time from epoch seconds (below 2^31), epoch milliseconds, ISO 8601 or
    ``yyyy-MM-dd HH:mm:ss`` (UTC unless an offset is given); refused before 2000 or more
    than a day ahead of ``now``."""
    text = value.strip()
    if _INTEGER.fullmatch(text):
        return _from_epoch(parameter, int(text), now)
    try:
        parsed = datetime.fromisoformat(text)
        time = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise OsmAndError(
            parameter, f"{_quote(value)} is not epoch seconds, milliseconds or ISO 8601"
        ) from None
    return _plausible(parameter, time, now)


def _from_epoch(parameter: str, count: int, now: datetime) -> datetime:
    in_seconds = count < EPOCH_SECONDS_BELOW  # Traccar's rule
    # Range-checked as a number first: absurd counts would overflow timedelta.
    seconds = count if in_seconds else count / 1000
    if not EARLIEST_FIX.timestamp() <= seconds <= (now + MAX_CLOCK_AHEAD).timestamp():
        raise OsmAndError(parameter, f"{count} is before 2000 or more than a day ahead")
    # timedelta keeps milliseconds exact where a float of seconds could round.
    return _EPOCH + (timedelta(seconds=count) if in_seconds else timedelta(milliseconds=count))


def _plausible(parameter: str, time: datetime, now: datetime) -> datetime:
    if not EARLIEST_FIX <= time <= now + MAX_CLOCK_AHEAD:
        raise OsmAndError(parameter, f"{time.isoformat()} is before 2000 or more than a day ahead")
    return time


def _device_id(parameter: str, value: str) -> str:
    text = value.strip()
    if not text:
        raise OsmAndError(parameter, "must not be blank")
    if len(text) > MAX_DEVICE_ID_CHARS or not text.isprintable():
        raise OsmAndError(parameter, f"must be at most {MAX_DEVICE_ID_CHARS} printable characters")
    return text


def _number(parameter: str, value: str) -> float:
    text = value.strip()
    if _DECIMAL.fullmatch(text) is None:
        raise OsmAndError(parameter, f"{_quote(value)} is not a decimal number")
    return _finite(parameter, float(text))


def _finite(parameter: str, number: float) -> float:
    if not math.isfinite(number):
        raise OsmAndError(parameter, f"{number} is not a finite number")
    return number


def _latitude(parameter: str, degrees: float) -> float:
    if not -90 <= degrees <= 90:
        raise OsmAndError(parameter, f"latitude {degrees} must be within -90..90")
    return degrees


def _longitude(parameter: str, degrees: float) -> float:
    if not -180 <= degrees <= 180:
        raise OsmAndError(parameter, f"longitude {degrees} must be within -180..180")
    return degrees


def _course(parameter: str, degrees: float) -> float | None:
    if degrees < 0:
        return None  # iOS reports -1 when the course is unknown
    if degrees > 360:
        raise OsmAndError(parameter, f"{degrees} must be within 0..360 degrees")
    return degrees % 360


def _known_if_positive(speed_kmh: float) -> float | None:
    # Negative speed is the platforms' "unknown" (iOS sends -1), not a direction.
    return None if speed_kmh < 0 else speed_kmh


def _boolean(parameter: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OsmAndError(parameter, f"{_quote(value)} is not true, false, 1 or 0")


def _seal(parameter: str, value: str | None) -> SealState | None:
    if value is None:
        return None
    state = _SEALS.get(value.strip().lower())
    if state is None:
        raise OsmAndError(parameter, f"{_quote(value)} is not closed, open or tampered")
    return state


def loose_scalar(value: str) -> Scalar:
    """An unknown parameter's value as a number, a boolean, or the string as sent."""
    text = value.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.fullmatch(text):
        # Leading zeros or more than 15 digits mark an identifier (ICCID, phone
        # number), not a quantity: keep it exact as a string.
        digits = text.lstrip("+-")
        return value if len(digits) > 15 or (len(digits) > 1 and digits[0] == "0") else int(text)
    if _DECIMAL.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else value
    return value


def _present(params: Mapping[str, str], key: str) -> str | None:
    """The value of ``key``, or None when absent or blank."""
    value = params.get(key)
    return value if value is not None and value.strip() else None


def _quote(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, cut short so a hostile value stays small."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError(f"now={now!r} must be timezone-aware (UTC)")


def _as_sent(parameter: str, value: str) -> str:
    return value


# How the well-known parameters are typed; every other key goes through loose_scalar.
_TYPED_ATTRIBUTES: dict[str, Callable[[str, str], Scalar]] = {
    "altitude": _number,
    "accuracy": _number,
    "hdop": _number,
    "batt": _number,
    "charge": _boolean,
    "valid": _boolean,
    "driverUniqueId": _as_sent,
}


# --- JSON value helpers ---------------------------------------------------------------


def _object(parameter: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OsmAndError(parameter, "required, a JSON object")
    return value


def _json_number(parameter: str, value: object) -> float:
    number = _json_optional_number(parameter, value)
    if number is None:
        raise OsmAndError(parameter, "required, a number")
    return number


def _json_optional_number(parameter: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OsmAndError(parameter, "must be a number")
    try:
        return _finite(parameter, float(value))
    except OverflowError:  # an integer too large for a float
        raise OsmAndError(parameter, "is out of range") from None


def _json_boolean(parameter: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise OsmAndError(parameter, "must be true or false")
    return value


def _text(parameter: str, value: object) -> str:
    if not isinstance(value, str):
        raise OsmAndError(parameter, "must be a string")
    return value


def _optional_text(parameter: str, value: object) -> str | None:
    return None if value is None else _text(parameter, value)


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)
