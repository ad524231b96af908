"""Teltonika Codec 8 and 8 Extended: frames, AVL records, CRC-16/IBM (pure, no I/O).

Wire format, every integer big-endian:

- IMEI handshake: 2-byte length (15) then 15 ASCII digits; the server answers 0x01 or 0x00.
- Data packet: 4 zero bytes (preamble) | 4-byte data length | data field | 4-byte CRC field.
  The data field is: codec id (0x08 or 0x8E) | record count (1 byte) | AVL records | the
  record count again. The CRC field holds 2 zero bytes then CRC-16/IBM of the data field.
  A whole packet is at most ``MAX_FRAME_BYTES`` (1280) bytes.

Errors: every decoding failure raises a subclass of ``TeltonikaError`` (a ``TrippError``)
whose ``reason`` is a short slug for logs and counters. ``frame_size``, ``decode_packet`` and
``decode_imei`` raise nothing else, whatever bytes they are given. The encoders are for tests
and the bench; they raise ``ValueError`` naming the field when a value does not fit the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from tripp.errors import TrippError
from tripp.tracking.model import Device, Fix, SealState

CODEC_8 = 0x08
CODEC_8E = 0x8E
MAX_FRAME_BYTES = 1280
HEADER_BYTES = 8  # preamble + data length: enough to know how long the frame is
CRC_BYTES = 4
IMEI_DIGITS = 15
IMEI_FRAME_BYTES = 2 + IMEI_DIGITS
PREAMBLE = b"\x00\x00\x00\x00"
MIN_DATA_BYTES = 3  # codec id and the two record counts, with no records between them

IO_TOWING = 246
IO_UNPLUG = 252

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_INT_WIDTHS = (1, 2, 4, 8)  # the fixed-size IO groups, in wire order

IoValue = int | bytes


# --- errors -------------------------------------------------------------------------------


class TeltonikaError(TrippError):
    """A Teltonika frame or handshake that cannot be accepted; ``reason`` names why."""

    reason: ClassVar[str] = "malformed"


class Truncated(TeltonikaError):
    """Fewer bytes than the header (or the minimum frame) requires."""

    reason = "truncated"


class BadPreamble(TeltonikaError):
    """The 4 leading bytes are not zero: the stream is out of step."""

    reason = "bad-preamble"


class BadLength(TeltonikaError):
    """The data length field disagrees with the frame (too small, or bytes left over)."""

    reason = "bad-length"


class FrameTooLong(TeltonikaError):
    """The frame would exceed ``MAX_FRAME_BYTES``."""

    reason = "too-long"


class CrcMismatch(TeltonikaError):
    """The CRC field does not match CRC-16/IBM of the data field."""

    reason = "crc"


class BadCodec(TeltonikaError):
    """The codec id is neither 0x08 nor 0x8E."""

    reason = "bad-codec"


class CountMismatch(TeltonikaError):
    """Record counts differ (or are zero), or an IO total disagrees with its groups."""

    reason = "count-mismatch"


class Malformed(TeltonikaError):
    """The data field's structure is broken (overrun, leftovers, duplicate IO id, bad time)."""

    reason = "malformed"


class BadImei(TeltonikaError):
    """The handshake is not a 2-byte length 15 followed by 15 ASCII digits."""

    reason = "bad-imei"


# --- CRC ----------------------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ibm(data: bytes) -> int:
    """CRC-16/IBM (a.k.a. ARC): reflected polynomial 0xA001, initial value 0, no final XOR."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AvlRecord:
    """One AVL record as sent by the device.

    ``timestamp`` is aware UTC with millisecond precision. ``lon_e7``/``lat_e7`` are signed
    WGS 84 degrees x 1e7 (``lon_deg``/``lat_deg`` give degrees). ``altitude_m`` is metres
    above sea level, ``angle_deg`` degrees clockwise from north, ``speed_kmh`` km/h;
    ``satellites`` 0 means the position is not a valid fix. ``priority``: 0 low, 1 high,
    2 panic. ``event_io`` is the IO id that caused the record (0: periodic).

    ``io`` maps IO id to its raw value: an unsigned int for the 1/2/4/8-byte groups, bytes
    for the 8E variable-length group. ``io_width`` records which fixed group (1, 2, 4 or 8
    bytes) each int came in, so a decoded packet re-encodes byte for byte; ids missing from it
    are encoded in the smallest group that holds the value.
    """

    timestamp: datetime
    priority: int
    lon_e7: int
    lat_e7: int
    altitude_m: int
    angle_deg: int
    satellites: int
    speed_kmh: int
    event_io: int
    io: dict[int, IoValue]
    io_width: dict[int, int] = field(default_factory=dict)

    @property
    def lon_deg(self) -> float:
        return self.lon_e7 / 1e7

    @property
    def lat_deg(self) -> float:
        return self.lat_e7 / 1e7


@dataclass(frozen=True)
class AvlPacket:
    """A data packet: ``codec`` is ``CODEC_8`` or ``CODEC_8E``; 1 to 255 records."""

    codec: int
    records: list[AvlRecord]


@dataclass(frozen=True)
class _Layout:
    """What differs between codec 8 and 8E: field widths in bytes, the variable group."""

    id_bytes: int
    count_bytes: int
    variable_group: bool


_LAYOUTS = {CODEC_8: _Layout(1, 1, False), CODEC_8E: _Layout(2, 2, True)}


# --- decoding -----------------------------------------------------------------------------


class _Cursor:
    """Reads big-endian fields from the data field; running past its end is ``Malformed``."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise Malformed(f"field of {n} bytes at offset {self._pos} overruns the data field")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def sint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big", signed=True)


def frame_size(header: bytes) -> int:
    """Total length in bytes of the packet whose first 8 bytes are ``header``.

    Raises ``Truncated``, ``BadPreamble``, ``BadLength`` or ``FrameTooLong``: the ones a
    stream reader cannot recover from, since it no longer knows where the next frame starts.
    """
    if len(header) < HEADER_BYTES:
        raise Truncated(f"header of {len(header)} bytes, need {HEADER_BYTES}")
    if header[:4] != PREAMBLE:
        raise BadPreamble(f"preamble {header[:4].hex()} is not 00000000")
    data_len = int.from_bytes(header[4:HEADER_BYTES], "big")
    if data_len < MIN_DATA_BYTES:
        raise BadLength(f"data length {data_len} is below the minimum {MIN_DATA_BYTES}")
    total = HEADER_BYTES + data_len + CRC_BYTES
    if total > MAX_FRAME_BYTES:
        raise FrameTooLong(f"frame of {total} bytes exceeds {MAX_FRAME_BYTES}")
    return total


def decode_packet(frame: bytes) -> AvlPacket:
    """Decode one whole codec 8 / 8E data packet (preamble to CRC field).

    Raises a ``TeltonikaError`` subclass: ``Truncated``, ``BadPreamble``, ``BadLength``,
    ``FrameTooLong``, ``CrcMismatch``, ``BadCodec``, ``CountMismatch`` or ``Malformed``.
    """
    return _decode_data(_checked_data_field(frame))


def _checked_data_field(frame: bytes) -> bytes:
    total = frame_size(frame[:HEADER_BYTES])
    if len(frame) < total:
        raise Truncated(f"frame of {len(frame)} bytes, its header says {total}")
    if len(frame) > total:
        raise BadLength(f"{len(frame) - total} bytes follow the {total}-byte frame")
    data = frame[HEADER_BYTES:-CRC_BYTES]
    sent = int.from_bytes(frame[-CRC_BYTES:], "big")
    computed = crc16_ibm(data)
    if sent != computed:  # the 2 high bytes must be zero too
        raise CrcMismatch(f"CRC field {sent:#010x}, computed {computed:#06x}")
    return data


def _decode_data(data: bytes) -> AvlPacket:
    cur = _Cursor(data)
    codec = cur.uint(1)
    layout = _LAYOUTS.get(codec)
    if layout is None:
        raise BadCodec(f"codec id {codec:#04x} is neither 0x08 nor 0x8e")
    count = cur.uint(1)
    if count == 0:
        raise CountMismatch("packet announces 0 records")
    records = [_decode_record(cur, layout) for _ in range(count)]
    closing = cur.uint(1)
    if closing != count:
        raise CountMismatch(f"record count {count} at the start, {closing} at the end")
    if cur.remaining:
        raise Malformed(f"{cur.remaining} bytes follow the closing record count")
    return AvlPacket(codec=codec, records=records)


def _decode_record(cur: _Cursor, layout: _Layout) -> AvlRecord:
    timestamp = _from_epoch_ms(cur.uint(8))
    priority = cur.uint(1)
    lon_e7, lat_e7 = cur.sint(4), cur.sint(4)
    altitude_m, angle_deg = cur.sint(2), cur.uint(2)
    satellites, speed_kmh = cur.uint(1), cur.uint(2)
    event_io = cur.uint(layout.id_bytes)
    io_total = cur.uint(layout.count_bytes)
    io, io_width = _decode_io(cur, layout)
    if io_total != len(io):
        raise CountMismatch(f"record announces {io_total} IO elements, its groups hold {len(io)}")
    return AvlRecord(
        timestamp=timestamp,
        priority=priority,
        lon_e7=lon_e7,
        lat_e7=lat_e7,
        altitude_m=altitude_m,
        angle_deg=angle_deg,
        satellites=satellites,
        speed_kmh=speed_kmh,
        event_io=event_io,
        io=io,
        io_width=io_width,
    )


def _decode_io(cur: _Cursor, layout: _Layout) -> tuple[dict[int, IoValue], dict[int, int]]:
    io: dict[int, IoValue] = {}
    io_width: dict[int, int] = {}
    for width in _INT_WIDTHS:
        for _ in range(cur.uint(layout.count_bytes)):
            io_id = cur.uint(layout.id_bytes)
            _put_io(io, io_id, cur.uint(width))
            io_width[io_id] = width
    if layout.variable_group:
        for _ in range(cur.uint(2)):
            io_id = cur.uint(2)
            _put_io(io, io_id, cur.take(cur.uint(2)))
    return io, io_width


def _put_io(io: dict[int, IoValue], io_id: int, value: IoValue) -> None:
    # A repeated id would silently lose a value and break byte-exact re-encoding.
    if io_id in io:
        raise Malformed(f"IO id {io_id} appears twice in one record")
    io[io_id] = value


def _from_epoch_ms(ms: int) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError as exc:
        raise Malformed(f"timestamp {ms} ms is beyond the calendar") from exc


def decode_imei(frame: bytes) -> str:
    """The IMEI from a handshake: 2-byte length 15, then exactly 15 ASCII digits.

    Raises ``Truncated`` (fewer bytes) or ``BadImei`` (other length, non-digits, extra bytes).
    """
    if len(frame) < 2:
        raise Truncated(f"IMEI handshake of {len(frame)} bytes")
    length = int.from_bytes(frame[:2], "big")
    if length != IMEI_DIGITS:
        raise BadImei(f"IMEI length {length}, expected {IMEI_DIGITS}")
    digits = frame[2:]
    if len(digits) < IMEI_DIGITS:
        raise Truncated(f"IMEI of {len(digits)} bytes, expected {IMEI_DIGITS}")
    if len(digits) > IMEI_DIGITS:
        raise BadImei(f"{len(digits) - IMEI_DIGITS} bytes follow the IMEI")
    if not digits.isdigit():  # bytes.isdigit() accepts ASCII 0-9 only
        raise BadImei("IMEI is not 15 ASCII digits")
    return digits.decode("ascii")


# --- encoding (tests, bench, simulators) --------------------------------------------------


def encode_imei(imei: str) -> bytes:
    """The handshake a device sends: 2-byte length then the 15 ASCII digits."""
    if len(imei) != IMEI_DIGITS or not (imei.isascii() and imei.isdigit()):
        raise ValueError(f"imei={imei!r} must be 15 ASCII digits")
    return IMEI_DIGITS.to_bytes(2, "big") + imei.encode("ascii")


def encode_packet(packet: AvlPacket) -> bytes:
    """The wire frame for ``packet`` (the inverse of ``decode_packet``).

    Raises ``ValueError`` naming the field when a value does not fit its wire width, the
    codec is unknown, codec 8 carries bytes values, or the frame would exceed 1280 bytes.
    """
    layout = _LAYOUTS.get(packet.codec)
    if layout is None:
        raise ValueError(f"codec={packet.codec:#x} must be 0x08 or 0x8e")
    if not 1 <= len(packet.records) <= 255:
        raise ValueError(f"{len(packet.records)} records; a packet holds 1 to 255")
    count = _pack(len(packet.records), 1, "record count")
    body = b"".join(_encode_record(record, layout) for record in packet.records)
    data = bytes([packet.codec]) + count + body + count
    frame = PREAMBLE + _pack(len(data), 4, "data length") + data + _pack(crc16_ibm(data), 4, "crc")
    if len(frame) > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    return frame


def _encode_record(record: AvlRecord, layout: _Layout) -> bytes:
    return b"".join(
        (
            _pack(_to_epoch_ms(record.timestamp), 8, "timestamp"),
            _pack(record.priority, 1, "priority"),
            _pack(record.lon_e7, 4, "lon_e7", signed=True),
            _pack(record.lat_e7, 4, "lat_e7", signed=True),
            _pack(record.altitude_m, 2, "altitude_m", signed=True),
            _pack(record.angle_deg, 2, "angle_deg"),
            _pack(record.satellites, 1, "satellites"),
            _pack(record.speed_kmh, 2, "speed_kmh"),
            _pack(record.event_io, layout.id_bytes, "event_io"),
            _pack(len(record.io), layout.count_bytes, "IO count"),
            _encode_io(record, layout),
        )
    )


def _encode_io(record: AvlRecord, layout: _Layout) -> bytes:
    groups: dict[int, list[tuple[int, int]]] = {width: [] for width in _INT_WIDTHS}
    variable: list[tuple[int, bytes]] = []
    for io_id, value in record.io.items():
        if isinstance(value, bytes):
            variable.append((io_id, value))
        else:
            groups[_io_width(io_id, value, record.io_width)].append((io_id, value))
    if variable and not layout.variable_group:
        raise ValueError(f"IO ids {[i for i, _ in variable]} carry bytes; codec 8 cannot")
    parts: list[bytes] = []
    for width, pairs in groups.items():
        parts.append(_pack(len(pairs), layout.count_bytes, "IO group count"))
        for io_id, value in pairs:
            parts += (_pack(io_id, layout.id_bytes, "IO id"), _pack(value, width, f"IO {io_id}"))
    if layout.variable_group:
        parts.append(_pack(len(variable), 2, "IO group count"))
        for io_id, raw in variable:
            parts += (_pack(io_id, 2, "IO id"), _pack(len(raw), 2, f"IO {io_id} length"), raw)
    return b"".join(parts)


def _io_width(io_id: int, value: int, widths: Mapping[int, int]) -> int:
    width = widths.get(io_id)
    if width is None:
        width = next((w for w in _INT_WIDTHS if 0 <= value < 1 << (8 * w)), 8)
    if width not in _INT_WIDTHS:
        raise ValueError(f"io_width[{io_id}]={width} must be 1, 2, 4 or 8")
    return width


def _pack(value: int, size: int, name: str, *, signed: bool = False) -> bytes:
    try:
        return value.to_bytes(size, "big", signed=signed)
    except OverflowError as exc:
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"{name}={value} does not fit {size} {kind} bytes") from exc


def _to_epoch_ms(timestamp: datetime) -> int:
    if timestamp.tzinfo is None:
        raise ValueError(f"timestamp={timestamp!r} must be timezone-aware")
    return (timestamp - _EPOCH) // _ONE_MS


# --- records to fixes ---------------------------------------------------------------------


def record_to_fix(device: Device, record: AvlRecord) -> Fix | None:
    """The ``Fix`` for one record of ``device``, or None when the record has no valid position.

    None means: 0 satellites (the device says its GPS had no fix) or coordinates outside
    WGS 84 ranges. The server still acknowledges such records (else the device resends them
    forever) but stores nothing for them, so their IO values are not kept either.

    ``speed_kmh`` is km/h, ``course`` the record's angle in degrees. ``seal`` comes from the
    IO id ``device.seal_io`` (0 closed, 1 open; absent or any other value: None). IO values go
    to ``attributes["io"]`` keyed by the id as a string (JSON-safe), bytes as hex; unplug
    (IO 252) and towing (IO 246) are also flagged as ``attributes["unplug"/"towing"]``.
    """
    lat, lon = record.lat_deg, record.lon_deg
    if record.satellites == 0 or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Fix(
        device_id=device.id,
        time=record.timestamp,
        lat=lat,
        lon=lon,
        speed_kmh=float(record.speed_kmh),
        course=float(record.angle_deg),
        seal=_seal_state(device, record),
        attributes=_attributes(record),
    )


_SEAL_VALUES = {0: SealState.CLOSED, 1: SealState.OPEN}


def _seal_state(device: Device, record: AvlRecord) -> SealState | None:
    if device.seal_io is None:
        return None
    value = record.io.get(device.seal_io)
    # An unexpected value is not guessed at; it stays visible in attributes["io"].
    return _SEAL_VALUES.get(value) if isinstance(value, int) else None


def _attributes(record: AvlRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "io": {str(k): v.hex() if isinstance(v, bytes) else v for k, v in record.io.items()},
        "priority": record.priority,
        "altitude_m": record.altitude_m,
        "satellites": record.satellites,
        "event_io": record.event_io,
    }
    for name, io_id in (("unplug", IO_UNPLUG), ("towing", IO_TOWING)):
        value = record.io.get(io_id)
        if isinstance(value, int):
            attributes[name] = value != 0
    return attributes
