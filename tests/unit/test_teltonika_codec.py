"""Teltonika codec 8 / 8E: the documentation frame, built frames, corruption, properties."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tripp.tracking.model import Device, DeviceKind, SealState
from tripp.tracking.teltonika import (
    CODEC_8,
    CODEC_8E,
    MAX_FRAME_BYTES,
    AvlPacket,
    AvlRecord,
    BadCodec,
    BadImei,
    BadLength,
    BadPreamble,
    CountMismatch,
    CrcMismatch,
    FrameTooLong,
    Malformed,
    TeltonikaError,
    Truncated,
    crc16_ibm,
    decode_imei,
    decode_packet,
    encode_imei,
    encode_packet,
    frame_size,
    record_to_fix,
)

DOC_FRAME = bytes.fromhex(
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01"
    "F10000601A014E0000000000000000010000C7CF"
)
T0 = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def wrap(data: bytes) -> bytes:
    """A frame around an arbitrary data field, with a correct length and CRC."""
    return b"\0" * 4 + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


def data_field(frame: bytes) -> bytes:
    return frame[8:-4]


def record(**overrides: object) -> AvlRecord:
    values: dict[str, object] = {
        "timestamp": T0,
        "priority": 0,
        "lon_e7": 495_123_456,
        "lat_e7": 405_654_321,
        "altitude_m": 120,
        "angle_deg": 275,
        "satellites": 9,
        "speed_kmh": 64,
        "event_io": 0,
        "io": {239: 1, 66: 12_800, 16: 1_234_567, 78: 0x0102030405060708},
        "io_width": {239: 1, 66: 2, 16: 4, 78: 8},
    }
    values.update(overrides)
    return AvlRecord(**values)  # type: ignore[arg-type]


# --- the documentation frame ------------------------------------------------------------------


def test_documentation_frame_decodes_to_the_stated_values() -> None:
    packet = decode_packet(DOC_FRAME)
    assert packet.codec == CODEC_8
    [rec] = packet.records
    assert rec.timestamp == datetime(2019, 6, 10, 10, 4, 46, tzinfo=UTC)
    assert rec.io == {21: 3, 1: 1, 66: 24079, 241: 24602, 78: 0}
    assert (rec.priority, rec.satellites, rec.event_io) == (1, 0, 1)


def test_documentation_frame_reencodes_byte_for_byte() -> None:
    assert encode_packet(decode_packet(DOC_FRAME)) == DOC_FRAME


def test_crc_known_answers() -> None:
    assert crc16_ibm(b"123456789") == 0xBB3D  # CRC-16/ARC check value
    assert crc16_ibm(b"") == 0
    assert crc16_ibm(data_field(DOC_FRAME)) == 0xC7CF


# --- frames built here --------------------------------------------------------------------------


def test_codec8_packet_with_several_records_and_every_group_round_trips() -> None:
    records = [
        record(),
        record(timestamp=T0 + timedelta(seconds=30), lon_e7=-1_234_567, lat_e7=-7_654_321),
        record(altitude_m=-28, event_io=239, priority=2, io={1: 1, 21: 4}, io_width={}),
    ]
    frame = encode_packet(AvlPacket(CODEC_8, records))
    decoded = decode_packet(frame)
    assert decoded.codec == CODEC_8
    assert [r.io for r in decoded.records] == [r.io for r in records]
    assert decoded.records[1].lon_deg == pytest.approx(-0.1234567)
    assert decoded.records[2].altitude_m == -28
    assert decoded.records[2].io_width == {1: 1, 21: 1}  # smallest group chosen
    assert encode_packet(decoded) == frame


def test_codec8e_packet_with_wide_ids_and_variable_length_values_round_trips() -> None:
    io: dict[int, int | bytes] = {
        1: 1,
        300: 65_535,
        1_000: 2**32 - 1,
        11: 2**64 - 1,
        385: b"\x01\x02\xff",
        10_000: b"",
    }
    records = [
        record(io=io, io_width={1: 1, 300: 2, 1_000: 4, 11: 8}, event_io=385),
        record(timestamp=T0 + timedelta(milliseconds=1)),
    ]
    frame = encode_packet(AvlPacket(CODEC_8E, records))
    assert frame[8] == CODEC_8E
    decoded = decode_packet(frame)
    assert decoded == AvlPacket(CODEC_8E, records)
    assert decoded.records[1].timestamp.microsecond == 1_000
    assert encode_packet(decoded) == frame


def test_codec8_cannot_carry_bytes_values() -> None:
    with pytest.raises(ValueError, match="codec 8"):
        encode_packet(AvlPacket(CODEC_8, [record(io={5: b"x"})]))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"priority": 256}, "priority"), ({"lat_e7": 2**31}, "lat_e7"), ({"io": {300: 1}}, "IO id")],
)
def test_encoder_names_the_value_that_does_not_fit(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        encode_packet(AvlPacket(CODEC_8, [record(**overrides)]))


# --- corruption -------------------------------------------------------------------------------


@pytest.mark.parametrize("bit", [8 * 8, 8 * 20 + 3, 8 * 40 + 7, 8 * (len(DOC_FRAME) - 1)])
def test_a_flipped_bit_in_the_data_or_crc_is_a_crc_mismatch(bit: int) -> None:
    frame = bytearray(DOC_FRAME)
    frame[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CrcMismatch):
        decode_packet(bytes(frame))


@pytest.mark.parametrize("keep", [0, 5, 8, 12, len(DOC_FRAME) - 1])
def test_a_truncated_frame_is_truncated(keep: int) -> None:
    with pytest.raises(Truncated):
        decode_packet(DOC_FRAME[:keep])


def test_bytes_after_the_frame_are_a_bad_length() -> None:
    with pytest.raises(BadLength):
        decode_packet(DOC_FRAME + b"\0")


def test_a_nonzero_preamble_is_bad() -> None:
    with pytest.raises(BadPreamble):
        decode_packet(b"\x01" + DOC_FRAME[1:])


def test_an_unknown_codec_is_bad() -> None:
    with pytest.raises(BadCodec):
        decode_packet(wrap(b"\x0c" + data_field(DOC_FRAME)[1:]))


def test_differing_record_counts_are_a_count_mismatch() -> None:
    data = data_field(DOC_FRAME)
    with pytest.raises(CountMismatch, match="1 at the start, 2 at the end"):
        decode_packet(wrap(data[:-1] + b"\x02"))


def test_an_io_total_disagreeing_with_its_groups_is_a_count_mismatch() -> None:
    data = bytearray(data_field(DOC_FRAME))
    data[2 + 24 + 1] = 6  # the record's total IO count: 5 elements follow
    with pytest.raises(CountMismatch, match="6 IO"):
        decode_packet(wrap(bytes(data)))


def test_zero_records_is_a_count_mismatch() -> None:
    with pytest.raises(CountMismatch):
        decode_packet(wrap(b"\x08\x00\x00"))


def test_a_record_running_past_the_data_field_is_malformed() -> None:
    with pytest.raises(Malformed):
        decode_packet(wrap(b"\x08\x01" + b"\0" * 10 + b"\x01"))


def test_a_repeated_io_id_is_malformed() -> None:
    data = data_field(encode_packet(AvlPacket(CODEC_8, [record(io={1: 1, 2: 0}, io_width={})])))
    with pytest.raises(Malformed, match="twice"):
        decode_packet(wrap(data.replace(b"\x02\x01\x01\x02\x00", b"\x02\x01\x01\x01\x00")))


def test_a_frame_over_1280_bytes_is_too_long() -> None:
    too_long = wrap(b"\x08" + b"\0" * (MAX_FRAME_BYTES - 12))
    assert len(too_long) == MAX_FRAME_BYTES + 1
    with pytest.raises(FrameTooLong):
        decode_packet(too_long)
    with pytest.raises(FrameTooLong):
        frame_size(too_long[:8])


def test_the_encoder_refuses_frames_over_1280_bytes() -> None:
    with pytest.raises(ValueError, match="exceeds 1280"):
        encode_packet(AvlPacket(CODEC_8, [record()] * 40))


def test_every_decoding_error_is_a_teltonika_error_with_a_reason() -> None:
    with pytest.raises(TeltonikaError) as caught:
        decode_packet(b"\0\0\0\0\0\0\0\x01")
    assert caught.value.reason == "bad-length"


# --- IMEI handshake -------------------------------------------------------------------------


def test_imei_round_trip() -> None:
    frame = bytes.fromhex("000F333536333037303432343431303133")
    assert decode_imei(frame) == "356307042441013"
    assert encode_imei("356307042441013") == frame


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"\x00", Truncated),
        (b"\x00\x0f123", Truncated),
        (b"\x00\x10" + b"1" * 16, BadImei),
        (b"\x00\x0f" + b"12345678901234x", BadImei),
        (b"\x00\x0f" + "١٢٣٤٥٦٧٨٩٠١٢٣٤٥".encode()[:15], BadImei),
        (b"\x00\x0f" + b"1" * 16, BadImei),
    ],
)
def test_bad_imei_handshakes(frame: bytes, error: type[TeltonikaError]) -> None:
    with pytest.raises(error):
        decode_imei(frame)


# --- records to fixes ---------------------------------------------------------------------------


ESEAL = Device(id="ES-1", kind=DeviceKind.ESEAL, imei="356307042441013", seal_io=2)


def test_record_to_fix_maps_position_speed_course_seal_and_io() -> None:
    rec = record(io={2: 1, 252: 1, 246: 0, 385: b"\xab\xcd"}, io_width={})
    fix = record_to_fix(ESEAL, rec)
    assert fix is not None
    assert (fix.device_id, fix.time) == ("ES-1", T0)
    assert (fix.lat, fix.lon) == pytest.approx((40.5654321, 49.5123456))
    assert (fix.speed_kmh, fix.course, fix.seal) == (64.0, 275.0, SealState.OPEN)
    assert fix.attributes["io"] == {"2": 1, "252": 1, "246": 0, "385": "abcd"}
    assert (fix.attributes["unplug"], fix.attributes["towing"]) == (True, False)


@pytest.mark.parametrize(
    ("io", "seal"),
    [({2: 0}, SealState.CLOSED), ({2: 1}, SealState.OPEN), ({2: 7}, None), ({}, None)],
)
def test_seal_state_comes_from_the_devices_seal_io(
    io: dict[int, int | bytes], seal: SealState | None
) -> None:
    fix = record_to_fix(ESEAL, record(io=io, io_width={}))
    assert fix is not None
    assert fix.seal == seal


def test_a_device_without_seal_io_reports_no_seal() -> None:
    tracker = Device(id="TR-1", kind=DeviceKind.TRACKER, imei="356307042441014")
    fix = record_to_fix(tracker, record(io={2: 1}, io_width={}))
    assert fix is not None
    assert fix.seal is None


@pytest.mark.parametrize(
    "overrides", [{"satellites": 0}, {"lat_e7": 910_000_000}, {"lon_e7": -1_810_000_000}]
)
def test_records_without_a_valid_position_give_no_fix(overrides: dict[str, object]) -> None:
    assert record_to_fix(ESEAL, record(**overrides)) is None


# --- properties ---------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@st.composite
def avl_records(draw: st.DrawFn, extended: bool) -> AvlRecord:
    id_max = 0xFFFF if extended else 0xFF
    ids = draw(st.lists(st.integers(0, id_max), unique=True, max_size=12))
    io: dict[int, int | bytes] = {}
    io_width: dict[int, int] = {}
    for io_id in ids:
        width = draw(st.sampled_from([1, 2, 4, 8, 0] if extended else [1, 2, 4, 8]))
        if width == 0:
            io[io_id] = draw(st.binary(max_size=16))
        else:
            io[io_id] = draw(st.integers(0, 2 ** (8 * width) - 1))
            io_width[io_id] = width
    ms = draw(st.integers(0, 2**42))
    return AvlRecord(
        timestamp=EPOCH + timedelta(milliseconds=ms),
        priority=draw(st.integers(0, 255)),
        lon_e7=draw(st.integers(-(2**31), 2**31 - 1)),
        lat_e7=draw(st.integers(-(2**31), 2**31 - 1)),
        altitude_m=draw(st.integers(-(2**15), 2**15 - 1)),
        angle_deg=draw(st.integers(0, 0xFFFF)),
        satellites=draw(st.integers(0, 255)),
        speed_kmh=draw(st.integers(0, 0xFFFF)),
        event_io=draw(st.integers(0, id_max)),
        io=io,
        io_width=io_width,
    )


@st.composite
def avl_packets(draw: st.DrawFn) -> AvlPacket:
    codec = draw(st.sampled_from([CODEC_8, CODEC_8E]))
    records = draw(st.lists(avl_records(extended=codec == CODEC_8E), min_size=1, max_size=4))
    return AvlPacket(codec, records)


@settings(max_examples=300)
@given(avl_packets())
def test_decode_inverts_encode(packet: AvlPacket) -> None:
    frame = encode_packet(packet)
    assert decode_packet(frame) == packet
    assert encode_packet(decode_packet(frame)) == frame


def _decodes_or_raises_teltonika_error(frame: bytes) -> None:
    with suppress(TeltonikaError):
        decode_packet(frame)


@settings(max_examples=500)
@given(st.binary(max_size=1400))
@example(b"\0" * 8)
@example(DOC_FRAME[:20])
def test_arbitrary_bytes_only_raise_teltonika_error(frame: bytes) -> None:
    _decodes_or_raises_teltonika_error(frame)


@settings(max_examples=500)
@given(st.sampled_from([CODEC_8, CODEC_8E]), st.binary(max_size=300))
@example(CODEC_8, b"\x01" + b"\xff" * 8)  # a timestamp far beyond year 9999
def test_arbitrary_data_fields_with_valid_crc_only_raise_teltonika_error(
    codec: int, body: bytes
) -> None:
    # A valid CRC sends random bytes past the framing checks into the record parser.
    _decodes_or_raises_teltonika_error(wrap(bytes([codec]) + body))


@settings(max_examples=300)
@given(avl_packets(), st.data())
def test_mutated_valid_frames_only_raise_teltonika_error(
    packet: AvlPacket, data: st.DataObject
) -> None:
    body = bytearray(data_field(encode_packet(packet)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        body[position] = data.draw(st.integers(0, 255))
    _decodes_or_raises_teltonika_error(wrap(bytes(body)))


@given(st.binary(max_size=40))
def test_arbitrary_handshakes_only_raise_teltonika_error(frame: bytes) -> None:
    with suppress(TeltonikaError):
        decode_imei(frame)
