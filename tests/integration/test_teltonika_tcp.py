"""The Teltonika listener over real sockets on 127.0.0.1 with an in-memory sink and directory."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tripp.tracking.model import Device, DeviceKind, Fix, IngestResult
from tripp.tracking.teltonika import (
    CODEC_8,
    CODEC_8E,
    AvlPacket,
    AvlRecord,
    encode_imei,
    encode_packet,
)
from tripp.tracking.teltonika_server import Counters, TeltonikaServer

TRUCK = Device(id="TRUCK-1", kind=DeviceKind.TRACKER, imei="356307042441013")
SEAL = Device(id="SEAL-1", kind=DeviceKind.ESEAL, imei="356307042441021", seal_io=2)
UNKNOWN_IMEI = "999999999999999"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
QUIET_S = 0.25  # how long "no answer" is waited for
ANSWER_S = 3.0  # generous bound for an answer that must come


class ListSink:
    """Keeps fixes in a list; can be slowed down (per device) or made to fail."""

    def __init__(self, *, delay_s: float = 0.0, slow_device: str | None = None) -> None:
        self.fixes: list[Fix] = []
        self.delay_s = delay_s
        self.slow_device = slow_device
        self.failing = False
        self.returned = threading.Event()
        self._lock = threading.Lock()

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        if self.slow_device is None or fixes[0].device_id == self.slow_device:
            time.sleep(self.delay_s)
        if self.failing:
            raise RuntimeError("database unavailable")
        with self._lock:
            self.fixes.extend(fixes)
        self.returned.set()
        return IngestResult(accepted=len(fixes), duplicates=0)


class Directory:
    def __init__(self, *devices: Device) -> None:
        self._devices = {d.imei: d for d in devices}

    def by_imei(self, imei: str) -> Device | None:
        return self._devices.get(imei)

    def by_id(self, device_id: str) -> Device | None:
        return next((d for d in self._devices.values() if d.id == device_id), None)


def packet(n: int = 3, *, codec: int = CODEC_8, satellites: int = 8) -> bytes:
    records = [
        AvlRecord(
            timestamp=T0 + timedelta(seconds=30 * i),
            priority=0,
            lon_e7=495_000_000 + 1_000 * i,
            lat_e7=405_000_000,
            altitude_m=100,
            angle_deg=90,
            satellites=satellites,
            speed_kmh=60,
            event_io=0,
            io={2: 0, 66: 12_600},
        )
        for i in range(n)
    ]
    return encode_packet(AvlPacket(codec, records))


class Client:
    """One device's side of a TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def handshake(self, imei: str) -> bytes:
        await self.send(encode_imei(imei))
        return await asyncio.wait_for(self.reader.readexactly(1), ANSWER_S)

    async def ack(self) -> int:
        return int.from_bytes(await asyncio.wait_for(self.reader.readexactly(4), ANSWER_S), "big")

    async def assert_silent(self, seconds: float = QUIET_S) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.reader.read(1), seconds)

    async def assert_closed(self) -> None:
        assert await asyncio.wait_for(self.reader.read(), ANSWER_S) == b""

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


@asynccontextmanager
async def serving(sink: ListSink, **options: Any) -> AsyncIterator[TeltonikaServer]:
    server = TeltonikaServer(sink=sink, directory=Directory(TRUCK, SEAL), **options)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def connected(server: TeltonikaServer) -> AsyncIterator[Client]:
    client = Client(*await asyncio.open_connection("127.0.0.1", server.port))
    try:
        yield client
    finally:
        await client.close()


async def session(server: TeltonikaServer, imei: str = TRUCK.imei or "") -> int:
    """A well-behaved device: handshake, one 2-record packet; returns the ack."""
    async with connected(server) as device:
        assert await device.handshake(imei) == b"\x01"
        await device.send(packet(2))
        return await device.ack()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10))


# --- handshake --------------------------------------------------------------------------------


def test_a_known_imei_is_accepted_and_an_unknown_one_rejected() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink) as server:
            async with connected(server) as device:
                assert await device.handshake(TRUCK.imei or "") == b"\x01"
            async with connected(server) as stranger:
                assert await stranger.handshake(UNKNOWN_IMEI) == b"\x00"
                await stranger.assert_closed()
            assert server.counters.rejected_imei == 1
            assert server.counters.connections == 2

    run(scenario)


# --- acknowledgement ------------------------------------------------------------------------


def test_three_records_are_acknowledged_with_3_only_after_ingest_returned() -> None:
    sink = ListSink(delay_s=0.6)

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as device:
            await device.handshake(SEAL.imei or "")
            await device.send(packet(3, codec=CODEC_8E))
            await device.assert_silent(0.3)  # the sink is still working
            assert not sink.returned.is_set()
            assert await device.ack() == 3
            assert sink.returned.is_set()
            assert [f.device_id for f in sink.fixes] == ["SEAL-1"] * 3
            assert sink.fixes[0].seal is not None
            counters = server.counters
            assert (counters.frames_ok, counters.records, counters.frames_rejected) == (1, 3, 0)

    run(scenario)


def test_records_without_a_fix_are_acknowledged_but_not_stored() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await device.send(packet(2, satellites=0))
            assert await device.ack() == 2
            assert sink.fixes == []
            assert server.counters.records_without_fix == 2

    run(scenario)


def test_pipelined_packets_and_keepalive_bytes_are_each_acknowledged_in_order() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await device.send(packet(1) + b"\xff" + packet(4))
            assert [await device.ack(), await device.ack()] == [1, 4]
            assert len(sink.fixes) == 5

    run(scenario)


# --- corrupt and hostile input ----------------------------------------------------------------


def test_a_corrupt_frame_gets_no_ack_and_its_correct_resend_does() -> None:
    sink = ListSink()
    good = packet(3)
    corrupt = bytearray(good)
    corrupt[30] ^= 0x10

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await device.send(bytes(corrupt))
            await device.assert_silent()
            assert server.counters.frames_rejected == 1
            await device.send(good)
            assert await device.ack() == 3
            assert len(sink.fixes) == 3

    run(scenario)


def test_garbage_closes_only_its_own_connection() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink) as server:
            async with connected(server) as web:  # not a Teltonika device at all
                await web.send(b"GET / HTTP/1.1\r\nHost: tripp\r\n\r\n")
                assert await web.reader.read() == b"\x00"
            async with connected(server) as confused:  # handshake right, then out of step
                await confused.handshake(TRUCK.imei or "")
                await confused.send(b"\x01\x02\x03\x04" + bytes(range(40)))
                await confused.assert_closed()
            assert await session(server) == 2
            assert server.counters.frames_rejected == 1
            assert server.counters.rejected_imei == 1

    run(scenario)


def test_a_length_over_1280_closes_the_connection() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await device.send(b"\0\0\0\0" + (5_000).to_bytes(4, "big"))
            await device.assert_closed()
            assert server.counters.frames_rejected == 1

    run(scenario)


def test_a_slowloris_does_not_block_a_second_device_and_is_cut_off() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink, frame_timeout_s=0.5) as server:
            async with connected(server) as slow_hello, connected(server) as slow_frame:
                await slow_hello.send(encode_imei(TRUCK.imei or "")[:3])
                await slow_frame.handshake(SEAL.imei or "")
                await slow_frame.send(packet(1)[:20])
                started = time.monotonic()
                assert await session(server) == 2
                assert time.monotonic() - started < 0.5
                await slow_hello.assert_closed()
                await slow_frame.assert_closed()
            assert server.counters.timeouts == 2

    run(scenario)


def test_an_idle_connection_is_closed() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink, idle_timeout_s=0.3) as server, connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await device.assert_closed()
            assert server.counters.timeouts == 1

    run(scenario)


def test_a_slow_ingest_for_one_device_does_not_stall_another() -> None:
    sink = ListSink(delay_s=1.5, slow_device=SEAL.id)

    async def scenario() -> None:
        async with serving(sink) as server, connected(server) as seal:
            await seal.handshake(SEAL.imei or "")
            await seal.send(packet(1))
            started = time.monotonic()
            assert await session(server) == 2
            assert time.monotonic() - started < 1.0
            assert await seal.ack() == 1

    run(scenario)


def test_a_failing_sink_gets_no_ack_and_the_listener_lives_on() -> None:
    sink = ListSink()
    sink.failing = True

    async def scenario() -> None:
        async with serving(sink) as server:
            async with connected(server) as device:
                await device.handshake(TRUCK.imei or "")
                await device.send(packet(3))
                await device.assert_closed()  # no 4-byte ack came before the close
            assert server.counters.ingest_errors == 1
            assert server.counters.frames_ok == 0
            sink.failing = False
            assert await session(server) == 2

    run(scenario)


# --- limits and lifecycle -----------------------------------------------------------------------


def test_connections_beyond_the_limit_are_closed_at_once() -> None:
    sink = ListSink()

    async def scenario() -> None:
        async with serving(sink, max_connections=1) as server, connected(server) as first:
            assert await first.handshake(TRUCK.imei or "") == b"\x01"
            async with connected(server) as second:
                await second.assert_closed()
            assert server.counters.refused_connections == 1

    run(scenario)


def test_stop_closes_open_connections_and_forgets_the_port() -> None:
    sink = ListSink()
    counters = Counters()

    async def scenario() -> None:
        server = TeltonikaServer(sink=sink, directory=Directory(TRUCK), counters=counters)
        await server.start("127.0.0.1", 0)
        async with connected(server) as device:
            await device.handshake(TRUCK.imei or "")
            await server.stop()
            await device.assert_closed()
        await server.stop()  # twice is harmless
        with pytest.raises(RuntimeError, match="not started"):
            _ = server.port
        assert counters.open_connections == 0

    run(scenario)


@pytest.mark.parametrize(
    "options", [{"idle_timeout_s": 0}, {"frame_timeout_s": -1}, {"max_connections": 0}]
)
def test_limits_must_be_positive(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        TeltonikaServer(sink=ListSink(), directory=Directory(), **options)  # type: ignore[arg-type]
