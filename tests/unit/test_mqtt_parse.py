"""MQTT position messages: what parses, what is refused and which field is named."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.errors import TrippError
from tripp.tracking import mqtt
from tripp.tracking.model import Fix, IngestResult, SealState
from tripp.tracking.mqtt import (
    MAX_PAYLOAD_BYTES,
    BrokerAddress,
    MqttConfigError,
    MqttPayloadError,
    MqttSubscriber,
    parse_message,
)

TOPIC = "tripp/positions/TRK-0001"
GOOD: dict[str, Any] = {"time": "2024-05-01T12:00:00Z", "lat": 40.4093, "lon": 49.8671}


def body(**changes: Any) -> bytes:
    """GOOD with ``changes``; a value of ``...`` removes the key."""
    doc = {**GOOD, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def refused_field(topic: str, payload: bytes) -> str:
    with pytest.raises(MqttPayloadError) as caught:
        parse_message(topic, payload)
    return caught.value.field


# --- what parses ----------------------------------------------------------------


def test_minimal_payload_takes_the_device_from_the_topic() -> None:
    fix = parse_message(TOPIC, body())
    assert fix == Fix("TRK-0001", datetime(2024, 5, 1, 12, tzinfo=UTC), 40.4093, 49.8671)


def test_full_payload() -> None:
    payload = body(device_id="TRK-0001", speed_kmh=62.5, course=359.9, seal="tampered")
    fix = parse_message(TOPIC, payload)
    assert (fix.speed_kmh, fix.course, fix.seal) == (62.5, 359.9, SealState.TAMPERED)
    assert fix.attributes == {}


def test_time_with_an_offset_is_converted_to_utc() -> None:
    fix = parse_message(TOPIC, body(time="2024-05-01T16:00:00+04:00"))
    assert fix.time == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert fix.time.tzinfo is UTC


def test_null_optional_fields_are_unknown() -> None:
    fix = parse_message(TOPIC, body(device_id=None, speed_kmh=None, course=None, seal=None))
    assert (fix.speed_kmh, fix.course, fix.seal) == (None, None, None)


def test_integers_and_bounds_are_accepted() -> None:
    fix = parse_message(TOPIC, body(lat=-90, lon=180, speed_kmh=0, course=360))
    assert (fix.lat, fix.lon, fix.speed_kmh, fix.course) == (-90.0, 180.0, 0.0, 360.0)


def test_extra_scalar_fields_become_attributes() -> None:
    fix = parse_message(TOPIC, body(batt=87, charging=False, fw="1.2", hdop=0.9, note=None))
    assert fix.attributes == {"batt": 87, "charging": False, "fw": "1.2", "hdop": 0.9, "note": None}


def test_another_topic_root() -> None:
    fix = parse_message("test/abc/positions/SEAL-9", body(), root="test/abc/positions")
    assert fix.device_id == "SEAL-9"


# --- what is refused, by field ----------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        "tripp/other/TRK-0001",
        "tripp/positions",
        "tripp/positions/",
        "tripp/positions/a/b",
        "tripp/positions/a b",
        "tripp/positions/+",
        "tripp/positions/\x07bell",
        "tripp/positions/" + "x" * 65,
        "",
    ],
)
def test_bad_topic(topic: str) -> None:
    assert refused_field(topic, body()) == "topic"


def test_device_id_of_64_characters_is_accepted() -> None:
    assert parse_message("tripp/positions/" + "x" * 64, body()).device_id == "x" * 64


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"time": "2024-05-01T12:00:00Z", "lat": 1, "lon": 2}',  # UTF-8 BOM
        b'{"time": "2024-05-01T12:00:00Z", "lat": NaN, "lon": 2}',
        b'{"time": "2024-05-01T12:00:00Z", "lat": 1, "lon": Infinity}',
        b"[" * 100_000,
        b" " * (MAX_PAYLOAD_BYTES + 1),
    ],
)
def test_bad_payload(payload: bytes) -> None:
    assert refused_field(TOPIC, payload) == "payload"


def test_payload_at_the_size_limit_is_read() -> None:
    payload = body()
    payload += b" " * (MAX_PAYLOAD_BYTES - len(payload))
    assert parse_message(TOPIC, payload).device_id == "TRK-0001"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"device_id": "TRK-0002"}, "device_id"),
        ({"device_id": 1}, "device_id"),
        ({"time": ...}, "time"),
        ({"time": None}, "time"),
        ({"time": 1714564800}, "time"),
        ({"time": "yesterday"}, "time"),
        ({"time": "2024-05-01T12:00:00"}, "time"),  # no offset
        ({"time": "2024-05-01"}, "time"),
        ({"time": "2024-13-01T12:00:00Z"}, "time"),
        ({"time": "0001-01-01T00:00:00+01:00"}, "time"),  # before year 1 in UTC
        ({"lat": ...}, "lat"),
        ({"lat": None}, "lat"),
        ({"lat": "40.4"}, "lat"),
        ({"lat": True}, "lat"),
        ({"lat": 90.0001}, "lat"),
        ({"lat": -91}, "lat"),
        ({"lat": 10**400}, "lat"),
        ({"lon": ...}, "lon"),
        ({"lon": 180.5}, "lon"),
        ({"lon": [49.8]}, "lon"),
        ({"speed_kmh": -1}, "speed_kmh"),
        ({"speed_kmh": 1000.1}, "speed_kmh"),
        ({"speed_kmh": "fast"}, "speed_kmh"),
        ({"course": -0.1}, "course"),
        ({"course": 360.5}, "course"),
        ({"seal": "broken"}, "seal"),
        ({"seal": "CLOSED"}, "seal"),
        ({"seal": 1}, "seal"),
        ({"seal": ["open"]}, "seal"),
        ({"io": {"239": 1}}, "io"),
        ({"tags": ["a"]}, "tags"),
    ],
)
def test_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused_field(TOPIC, body(**changes)) == field


def test_json_overflow_to_infinity_is_refused() -> None:
    payload = b'{"time": "2024-05-01T12:00:00Z", "lat": 1e400, "lon": 2}'
    with pytest.raises(MqttPayloadError, match="lat: must be finite"):
        parse_message(TOPIC, payload)


def test_error_is_a_tripp_error_that_does_not_quote_the_payload() -> None:
    with pytest.raises(MqttPayloadError) as caught:
        parse_message(TOPIC, body(lat="SECRET-VALUE", fw="SECRET-TOO"))
    error = caught.value
    assert isinstance(error, TrippError)
    assert error.status == 422
    assert error.detail == "lat: must be a number"
    assert "SECRET" not in str(error)


# --- properties -----------------------------------------------------------------


@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_payload_errors(payload: bytes) -> None:
    with contextlib.suppress(MqttPayloadError):
        parse_message(TOPIC, payload)


@given(st.text(max_size=80), st.binary(max_size=64))
def test_arbitrary_topics_raise_only_payload_errors(topic: str, payload: bytes) -> None:
    with contextlib.suppress(MqttPayloadError):
        parse_message(topic, payload)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["2024-05-01T12:00:00Z", "closed", "open", "TRK-0001", "2024-05-01"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
FIELDS = st.sampled_from(["device_id", "time", "lat", "lon", "speed_kmh", "course", "seal", "x"])


@given(st.dictionaries(FIELDS, JSON_VALUES))
def test_arbitrary_objects_give_a_valid_fix_or_a_payload_error(doc: dict[str, Any]) -> None:
    try:
        fix = parse_message(TOPIC, json.dumps({**GOOD, **doc}).encode())
    except MqttPayloadError as error:
        assert error.field in {*doc, "payload"}
    else:
        assert fix.device_id == "TRK-0001"
        assert fix.time.utcoffset() is not None
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180


def _outcome(payload: bytes) -> tuple[Any, ...]:
    """What parse_message makes of ``payload``, with the type of every attribute value."""
    try:
        fix = parse_message(TOPIC, payload)
    except MqttPayloadError as error:
        return ("refused", error.field, error.message)
    attributes = sorted((k, type(v).__name__, repr(v)) for k, v in fix.attributes.items())
    return ("fix", fix._replace(attributes={}), attributes)


def _json_only(payload: bytes) -> tuple[Any, ...]:
    refuse = orjson.JSONDecodeError("forced", "", 0)
    with mock.patch.object(mqtt.orjson, "loads", side_effect=refuse):
        return _outcome(payload)


BIG_INTS = st.integers(2**62, 2**70) | st.integers(-(2**70), -(2**62)) | st.integers()
EDGE_VALUES = JSON_VALUES | BIG_INTS | st.floats() | st.text(max_size=5)


@given(st.dictionaries(FIELDS | st.sampled_from(["battery", "odo"]), EDGE_VALUES), st.booleans())
def test_orjson_gives_what_json_alone_would(doc: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps({**GOOD, **doc}, ensure_ascii=ascii_only)
    payload = text.encode("utf-8", "surrogatepass")  # lone surrogates: bad UTF-8 for both
    assert _outcome(payload) == _json_only(payload)


@pytest.mark.parametrize(
    "extra",
    ["18446744073709551616", "-9223372036854775809", "1e999", "1e-999", '"\\ud800"', "-0"],
)
def test_orjson_edges_match_json(extra: str) -> None:
    for name in ("lat", "battery"):
        payload = json.dumps(GOOD)[:-1].encode() + f', "{name}": {extra}}}'.encode()
        assert _outcome(payload) == _json_only(payload)


# --- broker URL and subscriber options ---------------------------------------------


def test_broker_url_defaults_and_credentials() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1") == BrokerAddress("127.0.0.1", 1883)
    tls = BrokerAddress.parse("mqtts://u%40x:p%3Aw@broker.example:9883/")
    assert (tls.host, tls.port, tls.tls, tls.username, tls.password) == (
        "broker.example",
        9883,
        True,
        "u@x",
        "p:w",
    )
    assert BrokerAddress.parse("mqtts://broker.example").port == 8883


def test_broker_url_never_shows_the_password() -> None:
    address = BrokerAddress.parse("mqtt://tripp:s3cret@broker:1883")
    assert "s3cret" not in str(address) and "s3cret" not in repr(address)
    assert str(address) == "mqtt://tripp@broker:1883"


@pytest.mark.parametrize(
    "url",
    [
        "http://broker:1883",
        "mqtt://",
        "mqtt://broker:port",
        "mqtt://broker:99999",
        "mqtt://broker/topic",
        "mqtt://broker?x=1",
        "broker:1883",
    ],
)
def test_bad_broker_url(url: str) -> None:
    with pytest.raises(MqttConfigError):
        BrokerAddress.parse(url)


def test_bad_broker_url_error_hides_the_password() -> None:
    with pytest.raises(MqttConfigError) as caught:
        BrokerAddress.parse("http://tripp:s3:cret@broker")
    assert "s3" not in str(caught.value) and "cret" not in str(caught.value)


class NullSink:
    def ingest(self, fixes: Any) -> IngestResult:
        return IngestResult(len(fixes), 0)


def test_subscription_topics() -> None:
    plain = MqttSubscriber("mqtt://h", NullSink(), "w1")
    shared = MqttSubscriber("mqtt://h", NullSink(), "w1", "track")
    assert plain.subscription == "tripp/positions/+"
    assert shared.subscription == "$share/track/tripp/positions/+"


@pytest.mark.parametrize(
    "options",
    [
        {"client_id": ""},
        {"shared_group": ""},
        {"shared_group": "a/b"},
        {"topic_root": "tripp/+"},
        {"topic_root": "tripp/"},
        {"topic_root": "$SYS/x"},
        {"batch_max_messages": 0},
        {"batch_max_wait_ms": -1},
        {"session_expiry_s": 0},
        {"keepalive_s": 0},
        {"reconnect_min_s": 0},
        {"reconnect_min_s": 5, "reconnect_max_s": 1},
    ],
)
def test_bad_subscriber_options(options: dict[str, Any]) -> None:
    args: dict[str, Any] = {"url": "mqtt://h", "sink": NullSink(), "client_id": "w1", **options}
    with pytest.raises(MqttConfigError):
        MqttSubscriber(**args)


def test_a_ca_file_for_a_plain_url_or_not_pem_is_refused_at_once(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(MqttConfigError, match="not mqtts://"):
        MqttSubscriber("mqtt://127.0.0.1:1883", NullSink(), "c", ca_file=str(not_pem))
    with pytest.raises(MqttConfigError, match="cannot be read as PEM"):
        MqttSubscriber("mqtts://127.0.0.1:8883", NullSink(), "c", ca_file=str(not_pem))
    with pytest.raises(MqttConfigError, match="cannot be read as PEM"):
        MqttSubscriber("mqtts://127.0.0.1", NullSink(), "c", ca_file=str(tmp_path / "none"))


def test_a_subscriber_starts_once() -> None:
    subscriber = MqttSubscriber("mqtt://127.0.0.1:1", NullSink(), "w1", reconnect_min_s=0.05)
    subscriber.start()
    subscriber.stop()
    with pytest.raises(TrippError, match="start once"):
        subscriber.start()
