"""The few MQTT 5 packets a QoS-1 subscriber exchanges with its broker, and a connection
that reads the socket in bulk.

Why by hand: paho-mqtt (2.2) spends about 100 µs of CPU per QoS-1 message on receipt
(three socket reads per packet, an MQTT 5 ``Properties`` object and a callback per
message; py-spy put 70 % of the receiving thread in paho's packet reading, 40 % in
``Properties``), and its thread shares the GIL with the sink's. Measured on the bench
machine (2 shared cores, Mosquitto 2.0, 2026-11-24), one subscriber with paho against this
module: 7,600-9,500 against 33,000-59,000 messages/s into a sink that stores nothing;
4,100-4,900 against 9,400-10,000 positions/s into ``Tracking.ingest`` on PostgreSQL, which
took 9,800-13,200/s called in process in the same runs. paho offers no way around its
per-message cost (it is in ``decode_publish``), and the other Python MQTT 5 clients either
wrap paho (aiomqtt) or are asyncio-only (gmqtt), which the subscriber's threads do not use.
This module reads up to 256 KiB per ``recv`` and cuts every whole packet out of it in one
pass, a few microseconds per message. Only the subscriber's side is here: CONNECT (Clean Start,
Session Expiry, Receive Maximum, user name and password), CONNACK, SUBSCRIBE (one topic
filter with its options), SUBACK, PUBLISH (QoS 0 and 1, DUP, retain, properties), PUBACK,
PINGREQ, PINGRESP and DISCONNECT. Each packet also encodes and decodes both ways so that
the tests can check the codec against itself (``encode`` → ``decode`` is the identity).
"""

from __future__ import annotations

import selectors
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from typing import NamedTuple

# Packet types (the high nibble of the first byte).
CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
SUBSCRIBE = 8
SUBACK = 9
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14

MAX_REMAINING_LENGTH = 268_435_455  # four bytes of variable-length integer
READ_SIZE = 256 * 1024

# Subscription options (MQTT 5 §3.8.3.1).
RETAIN_SEND_ON_SUBSCRIBE = 0
RETAIN_SEND_IF_NEW_SUB = 1
RETAIN_DO_NOT_SEND = 2


class WireError(ValueError):
    """Bytes that are not a well-formed MQTT 5 packet of the kinds this module handles."""


# --- properties -----------------------------------------------------------------------

# Property identifier -> its type: b byte, h two-byte int, i four-byte int,
# v variable-length int, s UTF-8 string, d binary data, p UTF-8 string pair.
_PROPERTY_TYPES: dict[int, str] = {
    0x01: "b",  # payload format indicator
    0x02: "i",  # message expiry interval
    0x03: "s",  # content type
    0x08: "s",  # response topic
    0x09: "d",  # correlation data
    0x0B: "v",  # subscription identifier
    0x11: "i",  # session expiry interval
    0x12: "s",  # assigned client identifier
    0x13: "h",  # server keep alive
    0x15: "s",  # authentication method
    0x16: "d",  # authentication data
    0x17: "b",  # request problem information
    0x18: "i",  # will delay interval
    0x19: "b",  # request response information
    0x1A: "s",  # response information
    0x1C: "s",  # server reference
    0x1F: "s",  # reason string
    0x21: "h",  # receive maximum
    0x22: "h",  # topic alias maximum
    0x23: "h",  # topic alias
    0x24: "b",  # maximum QoS
    0x25: "b",  # retain available
    0x26: "p",  # user property
    0x27: "i",  # maximum packet size
    0x28: "b",  # wildcard subscription available
    0x29: "b",  # subscription identifier available
    0x2A: "b",  # shared subscription available
}
SESSION_EXPIRY_INTERVAL = 0x11
ASSIGNED_CLIENT_IDENTIFIER = 0x12
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
TOPIC_ALIAS = 0x23

PropertyValue = int | str | bytes | tuple[str, str]
Properties = tuple[tuple[int, PropertyValue], ...]  # in wire order; user properties repeat


def encode_varint(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise WireError(f"variable-length integer {n} out of range")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def decode_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The integer at ``data[pos:]`` and the position after it; ``end`` bounds the read."""
    value = 0
    for i in range(4):
        if pos >= end:
            raise WireError("variable-length integer cut short")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos
    raise WireError("variable-length integer longer than four bytes")


def _string(value: str) -> bytes:
    try:
        raw = value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raise WireError("string cannot be UTF-8") from None
    return _binary(raw)


def _binary(raw: bytes) -> bytes:
    if len(raw) > 0xFFFF:
        raise WireError("string or binary field longer than 65535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def _read_binary(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    if pos + 2 > end:
        raise WireError("length of a string cut short")
    size = (data[pos] << 8) | data[pos + 1]
    pos += 2
    if pos + size > end:
        raise WireError("string cut short")
    return data[pos : pos + size], pos + size


def _read_string(data: bytes, pos: int, end: int) -> tuple[str, int]:
    raw, pos = _read_binary(data, pos, end)
    try:
        return raw.decode(), pos
    except UnicodeDecodeError:
        raise WireError("string is not UTF-8") from None


def encode_properties(props: Properties) -> bytes:
    out = bytearray()
    for ident, value in props:
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            raise WireError(f"unknown property 0x{ident:02x}")
        out += encode_varint(ident)
        if kind == "b" and isinstance(value, int) and 0 <= value <= 0xFF:
            out.append(value)
        elif kind == "h" and isinstance(value, int) and 0 <= value <= 0xFFFF:
            out += value.to_bytes(2, "big")
        elif kind == "i" and isinstance(value, int) and 0 <= value <= 0xFFFFFFFF:
            out += value.to_bytes(4, "big")
        elif kind == "v" and isinstance(value, int):
            out += encode_varint(value)
        elif kind == "s" and isinstance(value, str):
            out += _string(value)
        elif kind == "d" and isinstance(value, bytes):
            out += _binary(value)
        elif kind == "p" and isinstance(value, tuple):
            out += _string(value[0]) + _string(value[1])
        else:
            raise WireError(f"bad value for property 0x{ident:02x}")
    return encode_varint(len(out)) + bytes(out)


def decode_properties(data: bytes, pos: int, end: int) -> tuple[Properties, int]:
    size, pos = decode_varint(data, pos, end)
    stop = pos + size
    if stop > end:
        raise WireError("properties cut short")
    if not size:
        return (), pos
    props: list[tuple[int, PropertyValue]] = []
    while pos < stop:
        ident, pos = decode_varint(data, pos, stop)
        kind = _PROPERTY_TYPES.get(ident)
        value: PropertyValue
        if kind is None:
            raise WireError(f"unknown property 0x{ident:02x}")
        if kind == "b":
            if pos + 1 > stop:
                raise WireError("property cut short")
            value, pos = data[pos], pos + 1
        elif kind == "h":
            if pos + 2 > stop:
                raise WireError("property cut short")
            value, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif kind == "i":
            if pos + 4 > stop:
                raise WireError("property cut short")
            value, pos = int.from_bytes(data[pos : pos + 4], "big"), pos + 4
        elif kind == "v":
            value, pos = decode_varint(data, pos, stop)
        elif kind == "s":
            value, pos = _read_string(data, pos, stop)
        elif kind == "d":
            value, pos = _read_binary(data, pos, stop)
        else:
            key, pos = _read_string(data, pos, stop)
            val, pos = _read_string(data, pos, stop)
            value = (key, val)
        props.append((ident, value))
    return tuple(props), pos


def property_value(props: Properties, ident: int) -> PropertyValue | None:
    """The first value of property ``ident``, or None."""
    for key, value in props:
        if key == ident:
            return value
    return None


# --- packets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Connect:
    client_id: str
    keepalive_s: int
    clean_start: bool = False
    username: str | None = None
    password: bytes | None = None
    properties: Properties = ()


@dataclass(frozen=True)
class Connack:
    session_present: bool
    reason_code: int
    properties: Properties = ()


@dataclass(frozen=True)
class Subscribe:
    packet_id: int
    topic_filter: str
    qos: int = 1
    retain_handling: int = RETAIN_SEND_ON_SUBSCRIBE
    no_local: bool = False
    retain_as_published: bool = False
    properties: Properties = ()


@dataclass(frozen=True)
class Suback:
    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = ()


class Publish(NamedTuple):
    """``topic`` as sent (UTF-8 is the reader's concern); ``packet_id`` None at QoS 0.

    A tuple, unlike the other packets: a subscriber decodes one per message, and a frozen
    dataclass cost a fifth of the decoding.
    """

    topic: bytes
    payload: bytes
    qos: int = 0
    packet_id: int | None = None
    dup: bool = False
    retain: bool = False
    properties: Properties = ()


@dataclass(frozen=True)
class Puback:
    packet_id: int


@dataclass(frozen=True)
class PingReq:
    pass


@dataclass(frozen=True)
class PingResp:
    pass


@dataclass(frozen=True)
class Disconnect:
    reason_code: int = 0
    properties: Properties = ()


Packet = Connect | Connack | Subscribe | Suback | Publish | Puback | PingReq | PingResp | Disconnect


def _frame(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


def encode_puback(packet_id: int) -> bytes:
    """PUBACK with reason Success and no properties: four bytes."""
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


PINGREQ_BYTES = b"\xc0\x00"


def encode(packet: Packet) -> bytes:
    """The bytes of ``packet``; raises ``WireError`` for a value MQTT cannot carry."""
    if isinstance(packet, Publish):
        return _encode_publish(packet)
    if isinstance(packet, Puback):
        _check_packet_id(packet.packet_id)
        return encode_puback(packet.packet_id)
    if isinstance(packet, Connect):
        return _encode_connect(packet)
    if isinstance(packet, Connack):
        if packet.reason_code not in range(256):
            raise WireError("reason code must be a byte")
        body = bytes([int(packet.session_present), packet.reason_code])
        return _frame(0x20, body + encode_properties(packet.properties))
    if isinstance(packet, Subscribe):
        return _encode_subscribe(packet)
    if isinstance(packet, Suback):
        _check_packet_id(packet.packet_id)
        if not packet.reason_codes or any(c not in range(256) for c in packet.reason_codes):
            raise WireError("SUBACK needs reason codes, each a byte")
        head = packet.packet_id.to_bytes(2, "big") + encode_properties(packet.properties)
        return _frame(0x90, head + bytes(packet.reason_codes))
    if isinstance(packet, PingReq):
        return PINGREQ_BYTES
    if isinstance(packet, PingResp):
        return b"\xd0\x00"
    if packet.reason_code not in range(256):
        raise WireError("reason code must be a byte")
    return _frame(0xE0, bytes([packet.reason_code]) + encode_properties(packet.properties))


def _check_packet_id(packet_id: int) -> None:
    if not 1 <= packet_id <= 0xFFFF:
        raise WireError(f"packet id {packet_id} out of range")


def _encode_connect(packet: Connect) -> bytes:
    if not 0 <= packet.keepalive_s <= 0xFFFF:
        raise WireError("keep alive out of range")
    flags = 0x02 if packet.clean_start else 0
    if packet.username is not None:
        flags |= 0x80
    if packet.password is not None:
        flags |= 0x40
    body = _string("MQTT") + bytes([5, flags]) + packet.keepalive_s.to_bytes(2, "big")
    body += encode_properties(packet.properties) + _string(packet.client_id)
    if packet.username is not None:
        body += _string(packet.username)
    if packet.password is not None:
        body += _binary(packet.password)
    return _frame(0x10, body)


def _encode_subscribe(packet: Subscribe) -> bytes:
    _check_packet_id(packet.packet_id)
    if packet.qos not in (0, 1, 2) or packet.retain_handling not in (0, 1, 2):
        raise WireError("bad subscription options")
    options = (
        packet.qos
        | (0x04 if packet.no_local else 0)
        | (0x08 if packet.retain_as_published else 0)
        | packet.retain_handling << 4
    )
    body = packet.packet_id.to_bytes(2, "big") + encode_properties(packet.properties)
    return _frame(0x82, body + _string(packet.topic_filter) + bytes([options]))


def _encode_publish(packet: Publish) -> bytes:
    if packet.qos not in (0, 1, 2) or (packet.packet_id is None) != (packet.qos == 0):
        raise WireError("a PUBLISH has a packet id exactly when its QoS is above 0")
    first = 0x30 | packet.qos << 1 | (0x08 if packet.dup else 0) | (0x01 if packet.retain else 0)
    body = _binary(packet.topic)
    if packet.packet_id is not None:
        _check_packet_id(packet.packet_id)
        body += packet.packet_id.to_bytes(2, "big")
    return _frame(first, body + encode_properties(packet.properties) + packet.payload)


# Required flags (low nibble of the first byte) of each packet type but PUBLISH.
_FLAGS = {
    CONNECT: 0,
    CONNACK: 0,
    PUBACK: 0,
    SUBSCRIBE: 2,
    SUBACK: 0,
    PINGREQ: 0,
    PINGRESP: 0,
    DISCONNECT: 0,
}


def decode(data: bytes) -> Packet:
    """The one whole packet in ``data``; raises ``WireError`` for anything else."""
    packets, used = split(data)
    if len(packets) != 1 or used != len(data):
        raise WireError("not exactly one whole packet")
    return packets[0]


def split(data: bytes) -> tuple[list[Packet], int]:
    """The whole packets at the start of ``data`` and how many bytes they take; a packet
    cut short at the end is left for the next read. Raises ``WireError`` on a malformed
    packet, after which the connection cannot be read on (drop it)."""
    packets: list[Packet] = []
    append = packets.append
    pos = 0
    size = len(data)
    while pos + 2 <= size:
        first = data[pos]
        # Remaining length, inlined for the common one- and two-byte cases.
        length = data[pos + 1]
        start = pos + 2
        if length & 0x80:
            try:
                length, start = decode_varint(data, pos + 1, size)
            except WireError:
                if size - pos <= 4 and all(b & 0x80 for b in data[pos + 1 :]):
                    break  # the length itself is cut short
                raise
        end = start + length
        if end > size:
            break
        if first >> 4 == PUBLISH:
            append(_decode_publish(data, first, start, end))
        else:
            append(_decode_other(data, first, start, end))
        pos = end
    return packets, pos


def _decode_publish(data: bytes, first: int, pos: int, end: int) -> Publish:
    qos = (first >> 1) & 3
    if qos == 3:
        raise WireError("PUBLISH with QoS 3")
    if pos + 2 > end:
        raise WireError("PUBLISH cut short")
    tsize = (data[pos] << 8) | data[pos + 1]
    pos += 2
    if pos + tsize > end:
        raise WireError("PUBLISH topic cut short")
    topic = data[pos : pos + tsize]
    pos += tsize
    packet_id = None
    if qos:
        if pos + 2 > end:
            raise WireError("PUBLISH packet id cut short")
        packet_id = (data[pos] << 8) | data[pos + 1]
        if not packet_id:
            raise WireError("PUBLISH packet id 0")
        pos += 2
    if pos < end and data[pos] == 0:  # no properties: the usual case
        props: Properties = ()
        pos += 1
    else:
        props, pos = decode_properties(data, pos, end)
    return Publish(
        topic, data[pos:end], qos, packet_id, bool(first & 0x08), bool(first & 0x01), props
    )


def _decode_other(data: bytes, first: int, pos: int, end: int) -> Packet:
    kind = first >> 4
    if _FLAGS.get(kind) != first & 0x0F:
        raise WireError(f"unexpected packet 0x{first:02x}")
    if kind == PUBACK:
        if end - pos < 2:
            raise WireError("PUBACK cut short")
        _packet_id = (data[pos] << 8) | data[pos + 1]
        if end - pos != 2 or not _packet_id:
            raise WireError("only plain PUBACKs are read")
        return Puback(_packet_id)
    if kind in (PINGREQ, PINGRESP):
        if end != pos:
            raise WireError("PINGREQ/PINGRESP with a body")
        return PingReq() if kind == PINGREQ else PingResp()
    if kind == CONNACK:
        if end - pos < 2 or data[pos] > 1:
            raise WireError("bad CONNACK")
        session_present, reason = bool(data[pos]), data[pos + 1]
        props, pos = decode_properties(data, pos + 2, end)
        _done(pos, end)
        return Connack(session_present, reason, props)
    if kind == SUBACK:
        if end - pos < 2:
            raise WireError("SUBACK cut short")
        packet_id = (data[pos] << 8) | data[pos + 1]
        props, pos = decode_properties(data, pos + 2, end)
        if not packet_id or pos >= end:
            raise WireError("bad SUBACK")
        return Suback(packet_id, tuple(data[pos:end]), props)
    if kind == DISCONNECT:
        if pos == end:
            return Disconnect()
        reason = data[pos]
        props = ()
        if end - pos > 1:
            props, pos = decode_properties(data, pos + 1, end)
            _done(pos, end)
        return Disconnect(reason, props)
    if kind == SUBSCRIBE:
        return _decode_subscribe(data, pos, end)
    return _decode_connect(data, pos, end)


def _done(pos: int, end: int) -> None:
    if pos != end:
        raise WireError("trailing bytes in a packet")


def _decode_subscribe(data: bytes, pos: int, end: int) -> Subscribe:
    if end - pos < 2:
        raise WireError("SUBSCRIBE cut short")
    packet_id = (data[pos] << 8) | data[pos + 1]
    props, pos = decode_properties(data, pos + 2, end)
    topic_filter, pos = _read_string(data, pos, end)
    if pos + 1 != end or not packet_id:
        raise WireError("only one-filter SUBSCRIBEs are read")
    options = data[pos]
    if options & 0xC0 or options & 0x03 == 3 or (options >> 4) & 3 == 3:
        raise WireError("bad subscription options")
    return Subscribe(
        packet_id,
        topic_filter,
        options & 3,
        (options >> 4) & 3,
        bool(options & 0x04),
        bool(options & 0x08),
        props,
    )


def _decode_connect(data: bytes, pos: int, end: int) -> Connect:
    name, pos = _read_string(data, pos, end)
    if name != "MQTT" or end - pos < 4 or data[pos] != 5:
        raise WireError("not an MQTT 5 CONNECT")
    flags = data[pos + 1]
    if flags & 0x3D:  # reserved bit and wills: not built here
        raise WireError("CONNECT flags not read here")
    keepalive = int.from_bytes(data[pos + 2 : pos + 4], "big")
    props, pos = decode_properties(data, pos + 4, end)
    client_id, pos = _read_string(data, pos, end)
    username = password = None
    if flags & 0x80:
        username, pos = _read_string(data, pos, end)
    if flags & 0x40:
        password, pos = _read_binary(data, pos, end)
    _done(pos, end)
    return Connect(client_id, keepalive, bool(flags & 0x02), username, password, props)


# --- the connection -------------------------------------------------------------------


class Connection:
    """One socket to the broker: ``send`` writes, ``read`` returns the whole packets that
    arrived (waiting at most ``timeout_s``). Raises ``OSError`` when the socket fails or
    the broker closes it, ``WireError`` on a malformed packet. ``tls``: the context to
    wrap the socket in (verifying the broker's certificate and host name), or None."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is not None:
                # The handshake happens here, within ``timeout_s``; a certificate that does
                # not verify raises ``ssl.SSLCertVerificationError``, an ``OSError``.
                sock = tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        # Reads wait in select(); the timeout bounds a send to a broker that stopped reading.
        sock.settimeout(timeout_s)
        self._sock = sock
        # epoll on Linux: unlike select(), indifferent to descriptor numbers above 1023.
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ)
        self._buffer = b""
        self.last_sent = time.monotonic()

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)
        self.last_sent = time.monotonic()

    def read(self, timeout_s: float) -> list[Packet]:
        sock = self._sock
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        if not pending and not self._selector.select(timeout_s):
            return []
        chunk = sock.recv(READ_SIZE)
        if not chunk:
            raise ConnectionResetError("the MQTT broker closed the connection")
        data = self._buffer + chunk if self._buffer else chunk
        packets, used = split(data)
        self._buffer = data[used:]
        return packets

    def close(self) -> None:
        self._selector.close()
        self._sock.close()


DISCONNECT_BYTES = b"\xe0\x00"  # normal disconnection, no properties: the session stays


def encode_pubacks(packet_ids: list[int]) -> bytes:
    """PUBACKs (reason Success, no properties) for ``packet_ids``, in order, in one write."""
    return struct.pack(f">{len(packet_ids)}I", *[0x40020000 | i for i in packet_ids])
