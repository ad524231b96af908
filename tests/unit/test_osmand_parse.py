"""The OsmAnd decoder: Traccar's examples, every timestamp form, units, refusals."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.tracking.model import SealState
from tripp.tracking.osmand import OsmAndError, parse_json, parse_query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def query(text: str) -> dict[str, str]:
    """Parameters as the listener hands them over (last value of a repeated key wins)."""
    return dict(parse_qsl(text.lstrip("/?"), keep_blank_values=True))


def refusal(params: dict[str, str]) -> OsmAndError:
    with pytest.raises(OsmAndError) as caught:
        parse_query(params, now=NOW)
    return caught.value


def base(**extra: str) -> dict[str, str]:
    return {"id": "dev-1", "lat": "40.4", "lon": "49.9", **extra}


# --- Traccar's examples ----------------------------------------------------------------


def test_traccar_client_example() -> None:
    fix = parse_query(
        query(
            "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"
            "&hdop=6.0&altitude=224.0&speed=0.0"
        ),
        now=NOW,
    )
    assert fix.device_id == "902064"
    assert fix.time == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (42.06288, -88.23412)
    assert fix.speed_kmh == 0.0
    assert fix.attributes == {"hdop": 6.0, "altitude": 224.0}


def test_location_parameter_and_epoch_seconds() -> None:
    fix = parse_query(query("/?id=123456&timestamp=1377177267&location=60.0,30.0"), now=NOW)
    assert fix.device_id == "123456"
    assert fix.time == datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (60.0, 30.0)


def test_report_without_id_is_refused() -> None:
    error = refusal(query("/?timestamp=1377177267&lat=60.0&lon=30.0"))
    assert error.parameter == "id"
    assert error.status == 400


def test_missing_id_is_reported_before_other_problems() -> None:
    assert refusal({"lat": "abc", "speed": "fast"}).parameter == "id"


def test_deviceid_is_an_alias_for_id() -> None:
    assert parse_query({"deviceid": "abc", "lat": "1", "lon": "2"}, now=NOW).device_id == "abc"


# --- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("1377177267", datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)),
        ("1377177267123", datetime(2013, 8, 22, 13, 14, 27, 123000, tzinfo=UTC)),
        ("2016-01-27T18:55:47Z", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
        ("2016-01-27T18:55:47.250Z", datetime(2016, 1, 27, 18, 55, 47, 250000, tzinfo=UTC)),
        ("2016-01-27T20:55:47+02:00", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
        ("2016-01-27T18:55:47", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
        ("2016-01-27 18:55:47", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(sent: str, expected: datetime) -> None:
    fix = parse_query(base(timestamp=sent), now=NOW)
    assert fix.time == expected
    assert fix.time.utcoffset() == timedelta(0)


@pytest.mark.parametrize("sent", [None, ""])
def test_missing_timestamp_means_server_time(sent: str | None) -> None:
    params = base() if sent is None else base(timestamp=sent)
    assert parse_query(params, now=NOW).time == NOW


@pytest.mark.parametrize(
    "sent",
    [
        "yesterday",
        "2016-13-45T00:00:00Z",
        "-5",
        "0",
        "946684799",  # one second before 2000
        str(int((NOW + timedelta(days=2)).timestamp())),
        "99999999999999999999",
        "1" * 400,
        "9999-12-31T23:59:59-23:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_absurd_or_garbled_timestamps_are_refused(sent: str) -> None:
    assert refusal(base(timestamp=sent)).parameter == "timestamp"


def test_a_clock_a_little_ahead_is_tolerated() -> None:
    ahead = NOW + timedelta(hours=2)
    fix = parse_query(base(timestamp=str(int(ahead.timestamp()))), now=NOW)
    assert fix.time == ahead


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_query(base(), now=datetime(2024, 5, 1))


# --- position, speed, course -----------------------------------------------------------


def test_speed_in_knots_becomes_kmh() -> None:
    assert parse_query(base(speed="10"), now=NOW).speed_kmh == pytest.approx(18.52)


def test_negative_speed_and_bearing_mean_unknown() -> None:
    fix = parse_query(base(speed="-1", bearing="-1"), now=NOW)
    assert (fix.speed_kmh, fix.course) == (None, None)


@pytest.mark.parametrize(
    ("key", "sent", "course"), [("bearing", "90.5", 90.5), ("heading", "360", 0)]
)
def test_bearing_or_heading_is_the_course(key: str, sent: str, course: float) -> None:
    assert parse_query(base(**{key: sent}), now=NOW).course == course


def test_lat_lon_win_over_location() -> None:
    fix = parse_query(base(location="1.0,2.0"), now=NOW)
    assert (fix.lat, fix.lon) == (40.4, 49.9)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"id": "d", "lat": "91", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "0", "lon": "-180.5"}, "lon"),
        ({"id": "d", "lat": "abc", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "NaN", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "0", "lon": "Infinity"}, "lon"),
        ({"id": "d", "lat": "1e999", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "0x1A", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "1_0", "lon": "0"}, "lat"),
        ({"id": "d", "lat": "10"}, "lon"),
        ({"id": "d", "lon": "10"}, "lat"),
        ({"id": "d"}, "lat"),
        ({"id": "d", "location": "60.0"}, "location"),
        ({"id": "d", "location": "60.0;30.0"}, "location"),
        ({"id": "d", "location": "95,30"}, "location"),
        (base(speed="fast"), "speed"),
        (base(bearing="400"), "bearing"),
        (base(heading="north"), "heading"),
        (base(altitude="high"), "altitude"),
        (base(accuracy="1,5"), "accuracy"),
        (base(hdop="x"), "hdop"),
        (base(batt="full"), "batt"),
        (base(charge="maybe"), "charge"),
        (base(valid="yes please"), "valid"),
        (base(seal="ajar"), "seal"),
        ({"id": "  ", "lat": "0", "lon": "0"}, "id"),
        ({"id": "x" * 129, "lat": "0", "lon": "0"}, "id"),
        ({"id": "a\nb", "lat": "0", "lon": "0"}, "id"),
    ],
)
def test_each_refusal_names_its_parameter(params: dict[str, str], parameter: str) -> None:
    error = refusal(params)
    assert error.parameter == parameter
    assert str(error).startswith(f"{parameter}: ")


def test_error_messages_stay_short_for_hostile_values() -> None:
    assert len(str(refusal(base(speed="9" * 10_000 + "x")))) < 120


# --- attributes and the seal -----------------------------------------------------------


def test_known_and_unknown_parameters_are_kept_typed() -> None:
    fix = parse_query(
        base(
            altitude="224.5",
            accuracy="12",
            hdop="0.9",
            batt="87.5",
            charge="true",
            valid="0",
            driverUniqueId="007",
            temp="21.5",
            count="3",
            ignition="false",
            note="door ok",
            iccid="8944500102198304826",
            phone="0551234567",
            wild="NaN",
        ),
        now=NOW,
    )
    assert fix.attributes == {
        "altitude": 224.5,
        "accuracy": 12.0,
        "hdop": 0.9,
        "batt": 87.5,
        "charge": True,
        "valid": False,
        "driverUniqueId": "007",
        "temp": 21.5,
        "count": 3,
        "ignition": False,
        "note": "door ok",
        "iccid": "8944500102198304826",  # identifiers stay exact strings
        "phone": "0551234567",
        "wild": "NaN",
    }


def test_blank_known_parameters_are_absent() -> None:
    fix = parse_query(base(speed="", altitude="", charge=""), now=NOW)
    assert fix.speed_kmh is None
    assert fix.attributes == {}


@pytest.mark.parametrize("sent", ["closed", "open", "Tampered"])
def test_seal_parameter_sets_the_seal_state(sent: str) -> None:
    assert parse_query(base(seal=sent), now=NOW).seal is SealState(sent.lower())


# --- the JSON form ---------------------------------------------------------------------


def json_report(**location: Any) -> dict[str, Any]:
    return {
        "device_id": "phone-7",
        "location": {
            "timestamp": "2024-04-30T10:00:00.500Z",
            "coords": {
                "latitude": 41.7,
                "longitude": 44.8,
                "speed": 10,
                "heading": 270,
                "accuracy": 4.5,
                "altitude": 490,
            },
            **location,
        },
    }


def test_json_form_speed_in_metres_per_second() -> None:
    fix = parse_json(
        json_report(
            is_moving=True,
            odometer=12345.6,
            battery={"level": 0.42, "is_charging": True},
            extras={"seal": "closed", "trip": "T-1", "nested": {"x": 1}},
        ),
        now=NOW,
    )
    assert fix.device_id == "phone-7"
    assert fix.time == datetime(2024, 4, 30, 10, 0, 0, 500000, tzinfo=UTC)
    assert (fix.lat, fix.lon, fix.course) == (41.7, 44.8, 270)
    assert fix.speed_kmh == pytest.approx(36.0)
    assert fix.seal is SealState.CLOSED
    assert fix.attributes == {
        "trip": "T-1",
        "altitude": 490.0,
        "accuracy": 4.5,
        "is_moving": True,
        "odometer": 12345.6,
        "batt": pytest.approx(42.0),
        "charge": True,
    }


def test_json_form_unknown_values_and_missing_timestamp() -> None:
    doc = json_report(battery={"level": -1})
    del doc["location"]["timestamp"]
    doc["location"]["coords"].update(speed=-1, heading=-1, accuracy=-1)
    fix = parse_json(doc, now=NOW)
    assert (fix.time, fix.speed_kmh, fix.course) == (NOW, None, None)
    assert "batt" not in fix.attributes and "accuracy" not in fix.attributes


def test_json_extras_never_override_known_attributes() -> None:
    fix = parse_json(json_report(extras={"altitude": "sky"}), now=NOW)
    assert fix.attributes["altitude"] == 490.0


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = json_report()
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "parameter"),
    [
        ([], "body"),
        ("text", "body"),
        ({"location": {}}, "device_id"),
        (_broken(("device_id",), ["x"]), "device_id"),
        (_broken(("device_id",), ""), "device_id"),
        (_broken(("location",), [json_report()["location"]]), "location"),
        (_broken(("location",), None), "location"),
        (_broken(("location", "coords"), None), "location.coords"),
        (_broken(("location", "coords", "latitude"), None), "location.coords.latitude"),
        (_broken(("location", "coords", "latitude"), "41.7"), "location.coords.latitude"),
        (_broken(("location", "coords", "latitude"), True), "location.coords.latitude"),
        (_broken(("location", "coords", "latitude"), 100), "location.coords.latitude"),
        (_broken(("location", "coords", "longitude"), float("nan")), "location.coords.longitude"),
        (_broken(("location", "coords", "longitude"), 10**400), "location.coords.longitude"),
        (_broken(("location", "coords", "speed"), "fast"), "location.coords.speed"),
        (_broken(("location", "coords", "heading"), 720), "location.coords.heading"),
        (_broken(("location", "timestamp"), "noon"), "location.timestamp"),
        (_broken(("location", "timestamp"), 1.5), "location.timestamp"),
        (_broken(("location", "timestamp"), "1990-01-01T00:00:00Z"), "location.timestamp"),
        (_broken(("location", "is_moving"), "yes"), "location.is_moving"),
        (_broken(("location", "odometer"), "far"), "location.odometer"),
        (_broken(("location", "battery"), 0.5), "location.battery"),
        (_broken(("location", "battery"), {"level": 42}), "location.battery.level"),
        (_broken(("location", "extras"), "x"), "location.extras"),
        (_broken(("location", "extras"), {"seal": "gone"}), "location.extras.seal"),
        (_broken(("location", "extras"), {"seal": 1}), "location.extras.seal"),
    ],
)
def test_each_json_refusal_names_its_field(doc: object, parameter: str) -> None:
    with pytest.raises(OsmAndError) as caught:
        parse_json(doc, now=NOW)
    assert caught.value.parameter == parameter


# --- only ever OsmAndError -------------------------------------------------------------

PARAMETERS = [
    *("id", "deviceid", "timestamp", "lat", "lon", "location", "speed", "bearing", "heading"),
    *("altitude", "accuracy", "hdop", "batt", "charge", "valid", "driverUniqueId", "seal"),
]
KEYS = st.sampled_from(PARAMETERS) | st.text(max_size=8)
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "true", "0", "1e999", "-1", "60,30", "2016-01-27 18:55:47"]),
)


@given(st.dictionaries(KEYS, VALUES, max_size=12))
def test_arbitrary_parameters_raise_only_osmand_error(params: dict[str, str]) -> None:
    try:
        fix = parse_query(params, now=NOW)
    except OsmAndError as error:
        assert error.status == 400
    else:
        assert fix.device_id.strip()


def _with_lat_lon(params: dict[str, str]) -> dict[str, str]:
    return {"id": "d", "lat": "1", "lon": "2", **params}


@given(st.dictionaries(KEYS, VALUES, max_size=12).map(_with_lat_lon))
def test_arbitrary_extra_parameters_raise_only_osmand_error(params: dict[str, str]) -> None:
    with contextlib.suppress(OsmAndError):
        parse_query(params, now=NOW)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _graft(doc: dict[str, Any], path: list[str], value: object) -> dict[str, Any]:
    node: Any = doc
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[path[-1]] = value
    return doc


JSON_PATHS = st.sampled_from(
    [
        ["device_id"],
        ["location"],
        ["location", "timestamp"],
        ["location", "coords"],
        ["location", "coords", "latitude"],
        ["location", "coords", "speed"],
        ["location", "coords", "heading"],
        ["location", "coords", "accuracy"],
        ["location", "battery"],
        ["location", "battery", "level"],
        ["location", "activity"],
        ["location", "extras"],
        ["location", "extras", "seal"],
        ["location", "odometer"],
    ]
)


@given(JSON_PATHS, JSON_VALUES)
def test_arbitrary_json_values_raise_only_osmand_error(path: list[str], value: object) -> None:
    with contextlib.suppress(OsmAndError):
        parse_json(_graft(json_report(), path, value), now=NOW)


@given(JSON_VALUES)
def test_arbitrary_json_documents_raise_only_osmand_error(doc: object) -> None:
    with contextlib.suppress(OsmAndError):
        parse_json(doc, now=NOW)
