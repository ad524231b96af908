"""The MQTT 5 codec of the subscriber: packets round-trip, streams split anywhere, and
arbitrary bytes raise only ``WireError``."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.tracking import mqtt_wire as wire
from tripp.tracking.mqtt_wire import WireError

# --- strategies --------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
PACKET_IDS = st.integers(1, 0xFFFF)
BYTE = st.integers(0, 0xFF)

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "b": BYTE,
    "h": st.integers(0, 0xFFFF),
    "i": st.integers(0, 0xFFFFFFFF),
    "v": st.integers(0, wire.MAX_REMAINING_LENGTH),
    "s": TEXT,
    "d": st.binary(max_size=40),
    "p": st.tuples(TEXT, TEXT),
}
PROPERTY = st.sampled_from(sorted(wire._PROPERTY_TYPES.items())).flatmap(
    lambda item: st.tuples(st.just(item[0]), _VALUES[item[1]])
)
PROPERTIES = st.lists(PROPERTY, max_size=4).map(tuple)

PUBLISH = st.integers(0, 2).flatmap(
    lambda qos: st.builds(
        wire.Publish,
        topic=st.binary(max_size=60),
        payload=st.binary(max_size=300),
        qos=st.just(qos),
        packet_id=st.none() if qos == 0 else PACKET_IDS,
        dup=st.booleans(),
        retain=st.booleans(),
        properties=PROPERTIES,
    )
)
PACKETS: st.SearchStrategy[wire.Packet] = st.one_of(
    PUBLISH,
    st.builds(
        wire.Connect,
        client_id=TEXT,
        keepalive_s=st.integers(0, 0xFFFF),
        clean_start=st.booleans(),
        username=st.none() | TEXT,
        password=st.none() | st.binary(max_size=20),
        properties=PROPERTIES,
    ),
    st.builds(wire.Connack, st.booleans(), BYTE, PROPERTIES),
    st.builds(
        wire.Subscribe,
        packet_id=PACKET_IDS,
        topic_filter=TEXT,
        qos=st.integers(0, 2),
        retain_handling=st.integers(0, 2),
        no_local=st.booleans(),
        retain_as_published=st.booleans(),
        properties=PROPERTIES,
    ),
    st.builds(
        wire.Suback, PACKET_IDS, st.lists(BYTE, min_size=1, max_size=4).map(tuple), PROPERTIES
    ),
    st.builds(wire.Puback, PACKET_IDS),
    st.just(wire.PingReq()),
    st.just(wire.PingResp()),
    st.builds(wire.Disconnect, BYTE, PROPERTIES),
)


# --- round trips -------------------------------------------------------------------


@given(PACKETS)
def test_encode_then_decode_is_the_identity(packet: wire.Packet) -> None:
    assert wire.decode(wire.encode(packet)) == packet


@given(st.lists(PACKETS, max_size=8), st.lists(st.integers(0, 5000), max_size=6))
def test_a_stream_cut_anywhere_gives_the_same_packets(
    packets: list[wire.Packet], cuts: list[int]
) -> None:
    stream = b"".join(wire.encode(p) for p in packets)
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    got: list[wire.Packet] = []
    buffer = b""
    for start, end in itertools.pairwise(bounds):
        data = buffer + stream[start:end]
        more, used = wire.split(data)
        got += more
        buffer = data[used:]
    assert got == packets
    assert buffer == b""


@given(st.integers(0, wire.MAX_REMAINING_LENGTH))
def test_varint_round_trip(n: int) -> None:
    raw = wire.encode_varint(n)
    assert len(raw) == 1 + (n >= 128) + (n >= 128**2) + (n >= 128**3)
    assert wire.decode_varint(raw, 0, len(raw)) == (n, len(raw))


@given(st.lists(PACKET_IDS, max_size=50))
def test_pubacks_in_one_write(ids: list[int]) -> None:
    raw = wire.encode_pubacks(ids)
    assert raw == b"".join(wire.encode(wire.Puback(i)) for i in ids)
    assert wire.split(raw) == ([wire.Puback(i) for i in ids], len(raw))


# --- what the broker sends, byte for byte ------------------------------------------


def test_known_bytes() -> None:
    assert wire.encode(wire.Puback(0x0102)) == b"\x40\x02\x01\x02"
    assert wire.encode(wire.PingReq()) == b"\xc0\x00"
    assert wire.decode(wire.DISCONNECT_BYTES) == wire.Disconnect()
    # QoS 1 PUBLISH, DUP, topic "a/b", id 7, no properties, payload "hi"
    raw = b"\x3a\x0a\x00\x03a/b\x00\x07\x00hi"
    assert wire.decode(raw) == wire.Publish(b"a/b", b"hi", 1, 7, dup=True)
    # CONNACK, session present, success, Server Keep Alive 30
    connack = wire.decode(b"\x20\x06\x01\x00\x03\x13\x00\x1e")
    assert connack == wire.Connack(True, 0, ((wire.SERVER_KEEP_ALIVE, 30),))


def test_connect_carries_the_session_options() -> None:
    raw = wire.encode(
        wire.Connect(
            "w1",
            60,
            username="u",
            password=b"p",
            properties=((wire.SESSION_EXPIRY_INTERVAL, 3600), (wire.RECEIVE_MAXIMUM, 1000)),
        )
    )
    # 0x10, length, "MQTT", version 5, flags (user, password, Clean Start 0), keep alive 60
    assert raw[2:12] == b"\x00\x04MQTT\x05\xc0\x00\x3c"
    assert raw[12:21] == b"\x08\x11\x00\x00\x0e\x10\x21\x03\xe8"


def test_subscribe_options_byte() -> None:
    raw = wire.encode(wire.Subscribe(1, "t/+", qos=1, retain_handling=wire.RETAIN_SEND_IF_NEW_SUB))
    assert raw == b"\x82\x09\x00\x01\x00\x00\x03t/+\x11"


def test_a_length_cut_short_waits_for_more() -> None:
    assert wire.split(b"\x30\xff") == ([], 0)
    assert wire.split(b"\x30\xff\xff\xff") == ([], 0)
    with pytest.raises(WireError):
        wire.split(b"\x30\xff\xff\xff\xff\x01")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x36\x00",  # QoS 3
        b"\x32\x05\x00\x01a\x00\x00",  # packet id 0
        b"\x30\x03\x00\x01a",  # no property length
        b"\x41\x02\x00\x01",  # PUBACK with flags
        b"\x62\x02\x00\x01",  # PUBREL: not read here
        b"\x20\x03\x02\x00\x00",  # CONNACK flags beyond session present
        b"\xd0\x01\x00",  # PINGRESP with a body
        b"\x90\x03\x00\x01\x00",  # SUBACK without reason codes
        b"\x30\x05\x00\x01a\x01\xff",  # unknown property
    ],
)
def test_malformed_packets(raw: bytes) -> None:
    with pytest.raises(WireError):
        wire.split(raw)


@pytest.mark.parametrize(
    "packet",
    [
        wire.Publish(b"t", b"", qos=1),  # QoS 1 without a packet id
        wire.Publish(b"t", b"", qos=0, packet_id=1),
        wire.Puback(0),
        wire.Connect("\ud800", 1),
        wire.Connack(False, 0, ((0x7F, 1),)),
        wire.Connack(False, 0, ((wire.RECEIVE_MAXIMUM, "x"),)),
        wire.Subscribe(1, "t", qos=3),
        wire.Publish(b"t" * 70000, b""),
    ],
)
def test_values_mqtt_cannot_carry(packet: wire.Packet) -> None:
    with pytest.raises(WireError):
        wire.encode(packet)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_wire_errors(data: bytes) -> None:
    try:
        packets, used = wire.split(data)
    except WireError:
        return
    assert 0 <= used <= len(data)
    for packet in packets:
        assert wire.decode(wire.encode(packet)) == packet


@given(st.sampled_from([0x10, 0x20, 0x30, 0x32, 0x3B, 0x40, 0x82, 0x90, 0xE0]), st.binary())
def test_arbitrary_bodies_raise_only_wire_errors(first: int, body: bytes) -> None:
    raw = bytes([first]) + wire.encode_varint(len(body)) + body
    with contextlib.suppress(WireError):
        wire.decode(raw)


# --- the connection ----------------------------------------------------------------


def _pair() -> tuple[wire.Connection, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        conn = wire.Connection("127.0.0.1", server.getsockname()[1])
        broker, _ = server.accept()
    return conn, broker


def test_connection_reads_many_packets_per_read_and_keeps_the_rest() -> None:
    conn, broker = _pair()
    try:
        sent = [wire.Publish(b"t/%d" % i, b"x" * i, 1, i + 1) for i in range(200)]
        stream = b"".join(wire.encode(p) for p in sent)
        broker.sendall(stream[:1001])
        got = conn.read(1.0)
        assert 0 < len(got) < 200
        writer = threading.Thread(target=broker.sendall, args=(stream[1001:],))
        writer.start()
        while len(got) < 200:
            got += conn.read(1.0)
        writer.join()
        assert got == sent
        assert conn.read(0.01) == []  # nothing more: the wait times out
        conn.send(wire.encode_pubacks([1, 2]))
        assert broker.recv(100) == b"\x40\x02\x00\x01\x40\x02\x00\x02"
    finally:
        conn.close()
        broker.close()


def test_connection_closed_by_the_broker() -> None:
    conn, broker = _pair()
    broker.close()
    try:
        with pytest.raises(ConnectionResetError):
            conn.read(1.0)
    finally:
        conn.close()


# --- the subscriber against a scripted broker ----------------------------------------


class ScriptedBroker:
    """One listening socket; the test reads and writes packets on each accepted client."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.url = f"mqtt://u:p%40ss@127.0.0.1:{self.server.getsockname()[1]}"
        self.client: socket.socket | None = None
        self._buffer = b""

    def accept(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client, _ = self.server.accept()
        self.client.settimeout(5)
        self._buffer = b""

    def expect(self, kind: type[Any]) -> Any:
        assert self.client is not None
        while True:
            packets, _used = wire.split(self._buffer)
            if packets:
                self._buffer = self._buffer[len(wire.encode(packets[0])) :]
                assert isinstance(packets[0], kind), packets[0]
                return packets[0]
            chunk = self.client.recv(65536)
            assert chunk, "the subscriber closed the connection"
            self._buffer += chunk

    def send(self, *packets: wire.Packet) -> None:
        assert self.client is not None
        self.client.sendall(b"".join(wire.encode(p) for p in packets))

    def handshake(self, connack: wire.Connack | None = None) -> wire.Connect:
        self.accept()
        connect = self.expect(wire.Connect)
        self.send(connack or wire.Connack(False, 0))
        if connack is None or connack.reason_code < 0x80:
            subscribe = self.expect(wire.Subscribe)
            self.send(wire.Suback(subscribe.packet_id, (1,)))
        return connect  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.server.close()


class ListSink:
    def __init__(self) -> None:
        self.calls: list[list[Any]] = []

    def ingest(self, fixes: Any) -> Any:
        from tripp.tracking.model import IngestResult

        self.calls.append(list(fixes))
        return IngestResult(accepted=len(fixes), duplicates=0)


@pytest.fixture
def broker() -> Any:
    b = ScriptedBroker()
    yield b
    b.close()


def _publish(i: int, qos: int = 1) -> wire.Publish:
    payload = b'{"time":"2024-05-01T12:00:%02dZ","lat":40.0,"lon":49.8}' % (i % 60)
    return wire.Publish(b"tripp/positions/DEV-%d" % i, payload, qos, i + 1 if qos else None)


def test_subscriber_session_batches_and_acknowledgements(broker: ScriptedBroker) -> None:
    from tripp.tracking.mqtt import MqttSubscriber

    sink = ListSink()
    subscriber = MqttSubscriber(
        broker.url, sink, "w1", batch_max_messages=10, batch_max_wait_ms=20, session_expiry_s=99
    )
    subscriber.start()
    try:
        connect = broker.handshake()
        assert (connect.client_id, connect.clean_start) == ("w1", False)
        assert (connect.username, connect.password) == ("u", b"p@ss")
        assert dict(connect.properties) == {
            wire.SESSION_EXPIRY_INTERVAL: 99,
            wire.RECEIVE_MAXIMUM: 20,
        }
        assert subscriber.wait_ready(5)
        # 25 messages in one write, one of them QoS 0 and one not a position.
        messages = [_publish(i, qos=0 if i == 3 else 1) for i in range(25)]
        messages[7] = wire.Publish(b"tripp/positions/DEV-7", b"{not json", 1, 8)
        broker.send(*messages)
        acked = [broker.expect(wire.Puback).packet_id for _ in range(24)]
        assert acked == [m.packet_id for m in messages if m.packet_id is not None]
        assert [len(c) for c in sink.calls] == [9, 10, 5]  # batches of at most 10
        counters = subscriber.counters
        assert (counters.received, counters.ingested, counters.rejected) == (25, 24, 1)
    finally:
        subscriber.stop()
    broker.expect(wire.Disconnect)


def test_subscriber_pings_and_follows_the_server_keep_alive(broker: ScriptedBroker) -> None:
    from tripp.tracking.mqtt import MqttSubscriber

    subscriber = MqttSubscriber(broker.url, ListSink(), "w1", keepalive_s=600)
    subscriber.start()
    try:
        broker.handshake(wire.Connack(False, 0, ((wire.SERVER_KEEP_ALIVE, 1),)))
        broker.expect(wire.PingReq)  # within 0.75 s of the SUBSCRIBE, not 600
        broker.send(wire.PingResp())
        broker.expect(wire.PingReq)
        # No PINGRESP this time: the subscriber gives the connection up and comes back.
        connect = broker.handshake()
        assert connect.client_id == "w1"
        assert eventually(lambda: subscriber.counters.reconnects == 1)
    finally:
        subscriber.stop()


def test_subscriber_retries_a_refused_connection(broker: ScriptedBroker) -> None:
    from tripp.tracking.mqtt import MqttSubscriber

    subscriber = MqttSubscriber(broker.url, ListSink(), "w1", reconnect_min_s=0.05)
    subscriber.start()
    try:
        broker.handshake(wire.Connack(False, 0x87))  # not authorized
        assert not subscriber.ready
        broker.handshake()
        assert subscriber.wait_ready(5)
        broker.send(wire.Disconnect(0x8B))  # server shutting down
        broker.handshake()
        assert subscriber.wait_ready(5)
    finally:
        subscriber.stop()


def eventually(check: Any, timeout_s: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
