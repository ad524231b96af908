"""Teltonika TCP listener: IMEI handshake, codec 8/8E packets, acknowledged after ingest.

Per connection: the device sends its IMEI and gets 0x01 if the directory knows it (else 0x00
and the connection closes). Then each data packet is read whole (preamble + length framing,
at most 1280 bytes), decoded, turned into fixes and handed to the sink in a worker thread;
only once the sink has returned (the fixes are durable) does the device get the 4-byte
record count. A packet that fails its CRC or structure gets no acknowledgement, so the device
resends it, and the connection keeps reading. A bad preamble or length means the stream is
out of step; that connection (only) is closed and the device reconnects.

Resource bounds: ``idle_timeout_s`` between packets, ``frame_timeout_s`` for the handshake and
for each packet once its first byte has arrived (against slow-drip clients), at most 1280
bytes buffered per packet and ``max_connections`` open at once. A single byte 0xFF between
packets is a device keep-alive (Teltonika "ping") and is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from tripp.tracking.model import Device, DeviceDirectory, Fix, PositionSink
from tripp.tracking.teltonika import (
    HEADER_BYTES,
    IMEI_DIGITS,
    MAX_FRAME_BYTES,
    AvlPacket,
    TeltonikaError,
    decode_imei,
    decode_packet,
    frame_size,
    record_to_fix,
)

log = logging.getLogger("tripp.tracking.teltonika")

ACCEPT = b"\x01"
REJECT = b"\x00"
PING = 0xFF
_CLOSE_GRACE_S = 1.0


@dataclass
class Counters:
    """Running totals since start, for metrics and tests (mutated on the event loop only).

    ``connections`` counts every accepted TCP connection and ``open_connections`` those still
    open; ``frames_rejected`` counts packets that were not acknowledged because they failed
    to decode (CRC, structure, framing); ``records`` counts acknowledged records, of which
    ``records_without_fix`` were not stored (0 satellites or impossible coordinates).
    """

    frames_ok: int = 0
    frames_rejected: int = 0
    records: int = 0
    records_without_fix: int = 0
    connections: int = 0
    open_connections: int = 0
    refused_connections: int = 0
    rejected_imei: int = 0
    ingest_errors: int = 0
    timeouts: int = 0


class _Hangup(Exception):
    """Close this connection; the cause has already been counted and logged."""


class TeltonikaServer:
    """An asyncio TCP listener for Teltonika devices feeding one ``PositionSink``.

    ``idle_timeout_s``: seconds a connection may stay silent between packets.
    ``frame_timeout_s``: seconds allowed for the handshake, for one packet once it has
    started, and for sending an answer. ``max_connections``: beyond it new connections are
    closed at once. The sink and the directory may block (database): both run in threads.
    """

    def __init__(
        self,
        *,
        sink: PositionSink,
        directory: DeviceDirectory,
        counters: Counters | None = None,
        idle_timeout_s: float = 300.0,
        frame_timeout_s: float = 30.0,
        max_connections: int = 10_000,
    ) -> None:
        for name, value in (
            ("idle_timeout_s", idle_timeout_s),
            ("frame_timeout_s", frame_timeout_s),
            ("max_connections", max_connections),
        ):
            if value <= 0:
                raise ValueError(f"{name}={value} must be > 0")
        self._sink = sink
        self._directory = directory
        self.counters = counters if counters is not None else Counters()
        self._idle_timeout_s = idle_timeout_s
        self._frame_timeout_s = frame_timeout_s
        self._max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, host: str = "0.0.0.0", port: int = 5027) -> None:
        """Listen on ``host``:``port``; port 0 picks a free port (read it from ``port``)."""
        if self._server is not None:
            raise RuntimeError("TeltonikaServer is already started")
        self._closing = False
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, limit=MAX_FRAME_BYTES
        )
        log.info("teltonika listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every open connection; safe to call twice.

        An ingest already running in its thread completes, but its packet is not
        acknowledged: the device resends it and the sink reports it as a duplicate.
        """
        if self._server is None:
            return
        self._closing = True
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        log.info("teltonika listener stopped")

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful after ``start(port=0)``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("TeltonikaServer is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    # --- one connection -----------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = _peer_name(writer)
        self.counters.connections += 1
        self.counters.open_connections += 1
        try:
            await self._converse(reader, writer, peer)
        except _Hangup:
            pass
        except (asyncio.IncompleteReadError, ConnectionError):
            log.debug("teltonika %s disconnected", peer)
        except TimeoutError:
            self.counters.timeouts += 1
            log.info("teltonika %s timed out; closing", peer)
        except Exception:  # the listener must outlive any one connection's failure
            log.exception("teltonika %s: unexpected error; closing", peer)
        finally:
            self.counters.open_connections -= 1
            if task is not None:
                self._tasks.discard(task)
            await _close(writer)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        if self._closing or self.counters.open_connections > self._max_connections:
            self.counters.refused_connections += 1
            log.warning("teltonika %s refused: closing or %d open", peer, self._max_connections)
            return
        device = await self._handshake(reader, writer, peer)
        while True:
            frame = await self._read_frame(reader, peer)
            if frame is None:
                continue  # keep-alive byte
            count = await self._accept_frame(frame, device, peer)
            if count is not None:
                await self._send(writer, count.to_bytes(4, "big"))

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> Device:
        """The registered device behind this connection; answers 0x01, or 0x00 and hangs up."""
        async with asyncio.timeout(self._frame_timeout_s):
            raw = await reader.readexactly(2)
            # Only read on when the length is right: never wait for an arbitrary length.
            if int.from_bytes(raw, "big") == IMEI_DIGITS:
                raw += await reader.readexactly(IMEI_DIGITS)
        try:
            imei = decode_imei(raw)
        except TeltonikaError as exc:
            await self._reject_imei(writer, peer, f"malformed handshake ({exc.reason})")
            raise _Hangup from exc
        device = await self._lookup(imei, peer)
        if device is None:
            await self._reject_imei(writer, peer, f"unknown IMEI {imei}")
            raise _Hangup
        await self._send(writer, ACCEPT)
        log.info("teltonika %s: device %s (IMEI %s) connected", peer, device.id, imei)
        return device

    async def _lookup(self, imei: str, peer: str) -> Device | None:
        try:
            return await asyncio.to_thread(self._directory.by_imei, imei)
        except Exception as exc:
            # No answer at all: a 0x00 would tell the device it is unknown, which it may not be.
            log.exception("teltonika %s: device lookup for IMEI %s failed", peer, imei)
            raise _Hangup from exc

    async def _reject_imei(self, writer: asyncio.StreamWriter, peer: str, why: str) -> None:
        self.counters.rejected_imei += 1
        log.warning("teltonika %s rejected: %s", peer, why)
        with suppress(ConnectionError, TimeoutError):
            await self._send(writer, REJECT)

    async def _read_frame(self, reader: asyncio.StreamReader, peer: str) -> bytes | None:
        """One whole packet, or None for a keep-alive byte.

        Raises ``_Hangup`` when the header cannot be trusted (the stream is out of step),
        ``TimeoutError`` on idle or slow clients, ``IncompleteReadError`` at end of stream.
        """
        async with asyncio.timeout(self._idle_timeout_s):
            first = await reader.readexactly(1)
        if first[0] == PING:
            return None
        async with asyncio.timeout(self._frame_timeout_s):
            header = first + await reader.readexactly(HEADER_BYTES - 1)
            try:
                total = frame_size(header)
            except TeltonikaError as exc:
                self.counters.frames_rejected += 1
                log.warning("teltonika %s: cannot resynchronise (%s); closing", peer, exc.reason)
                raise _Hangup from exc
            return header + await reader.readexactly(total - HEADER_BYTES)

    async def _accept_frame(self, frame: bytes, device: Device, peer: str) -> int | None:
        """The record count to acknowledge, or None if the packet is rejected (no ack)."""
        try:
            packet = decode_packet(frame)
        except TeltonikaError as exc:
            self.counters.frames_rejected += 1
            log.warning(
                "teltonika %s device %s: %d-byte packet rejected (%s): %s",
                peer,
                device.id,
                len(frame),
                exc.reason,
                exc.detail,
            )
            return None
        fixes = _fixes(device, packet)
        if fixes:
            await self._ingest(fixes, device, peer)
        self.counters.frames_ok += 1
        self.counters.records += len(packet.records)
        self.counters.records_without_fix += len(packet.records) - len(fixes)
        return len(packet.records)

    async def _ingest(self, fixes: Sequence[Fix], device: Device, peer: str) -> None:
        try:
            # The sink blocks until the fixes are durable; the event loop must not.
            await asyncio.to_thread(self._sink.ingest, fixes)
        except Exception as exc:
            # Unacknowledged, the device keeps the records and resends after reconnecting.
            self.counters.ingest_errors += 1
            log.exception("teltonika %s device %s: ingest failed; closing", peer, device.id)
            raise _Hangup from exc

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        async with asyncio.timeout(self._frame_timeout_s):
            await writer.drain()


def _fixes(device: Device, packet: AvlPacket) -> list[Fix]:
    fixes = (record_to_fix(device, record) for record in packet.records)
    return [fix for fix in fixes if fix is not None]


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The peer may be gone or stalled; closing must neither raise nor hang.
    with suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), _CLOSE_GRACE_S)
