"""The live stream of one client: looks at the store every ``poll_s`` seconds and turns
what changed into Server-Sent Events (``position``, ``alert``, ``movement``).

The store work runs in the thread pool, never on the event loop. The stream ends when the
client goes, and when the server is asked to stop (SIGINT/SIGTERM in the serving process:
uvicorn waits for open responses before it stops, so a stream that never ended would hold
the shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

from starlette.concurrency import run_in_threadpool

from tripp.dashboard import sse, store
from tripp.dashboard.tail import Tail, newest_by, watermark_after
from tripp.db.uow import UnitOfWork
from tripp.errors import TrippError
from tripp.parties.model import Actor

log = logging.getLogger("tripp.dashboard")
ROWS_PER_LOOK = 5000  # per source: a resumed client catches up over several looks
KEEPALIVE_S = 15.0
RETRY_MS = 2000


def iso(t: datetime) -> str:
    return store.utc(t).isoformat().replace("+00:00", "Z")


def _position(row: Any) -> dict[str, Any]:
    return {"mrn": row.mrn, "lon": row.lon, "lat": row.lat, "fixed_at": iso(row.time),
            "speed_kmh": row.speed_kmh}  # fmt: skip


def alert_data(row: Any) -> dict[str, Any]:
    return {"id": row.id, "mrn": row.mrn, "kind": row.kind, "state": store.alert_state(row),
            "raised_at": iso(row.raised_at)}  # fmt: skip


@dataclass
class Feed:
    """What one connection has sent; ``look`` returns the next events, already framed."""

    uow: UnitOfWork
    actor: Actor
    tail: Tail
    resumed: bool
    _open: set[int] | None = None
    _last_fix: dict[str, datetime] = field(default_factory=dict)

    @property
    def cursor(self) -> str:
        return sse.encode_cursor(self.tail.watermark)

    def look(self) -> bytes:
        since = self.tail.scan_from
        with self.uow.read() as conn:
            fixes = store.positions_since(conn, self.actor, since, ROWS_PER_LOOK)
            changed = store.movements_since(conn, self.actor, since, ROWS_PER_LOOK)
            recorded = store.alerts_since(conn, self.actor, since, ROWS_PER_LOOK)
            open_now = store.open_alert_ids(conn, self.actor)
            if self._open is None:  # first look: closures since the cursor, when resuming
                moved = (
                    store.alerts_closed_since(conn, self.actor, since, ROWS_PER_LOOK)
                    if self.resumed
                    else []
                )
            else:
                moved = store.alerts_by_id(conn, self._open ^ open_now)
        self._open = open_now
        stamps = {
            "positions": [store.utc(r.received_at) for r in fixes],
            "movements": [store.utc(r.updated_at) for r in changed],
            "alerts": [store.utc(r.recorded_at) for r in recorded],
        }
        full = [name for name, rows in (("positions", fixes), ("movements", changed),
                                        ("alerts", recorded)) if len(rows) >= ROWS_PER_LOOK]  # fmt: skip
        out = self._movements(changed) + self._alerts(recorded, moved) + self._positions(fixes)
        self.tail.advance(watermark_after(stamps, full))
        cursor = self.cursor
        return b"".join(sse.event(name, data, cursor) for name, data in out)

    def _movements(self, rows: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        return [
            ("movement", {"mrn": r.mrn, "status": r.state})
            for r in rows
            if self.tail.fresh(
                ("movement", r.mrn, store.utc(r.updated_at)), store.utc(r.updated_at)
            )
        ]

    def _alerts(self, recorded: list[Any], moved: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        stamp = self.tail.watermark
        for r in [*recorded, *moved]:
            key = ("alert", r.id, store.alert_state(r))
            if self.tail.fresh(key, max(stamp, store.utc(r.recorded_at))):
                out.append(("alert", alert_data(r)))
        return out

    def _positions(self, rows: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        fresh = [
            (r.mrn, store.utc(r.time), _position(r))
            for r in rows
            if self.tail.fresh(("fix", r.device_id, store.utc(r.time)), store.utc(r.received_at))
        ]
        out = []
        for mrn, (at, data) in sorted(newest_by(fresh).items()):
            if mrn in self._last_fix and at <= self._last_fix[mrn]:
                continue  # a late, older fix: the map keeps the newer one
            self._last_fix[mrn] = at
            out.append(("position", data))
        return out


class ShutdownWatch:
    """Set when the serving process is asked to stop.

    Wraps the SIGINT/SIGTERM handlers uvicorn installed (only callables: where nobody
    handles a signal the default stays), from the main thread, once.
    """

    def __init__(self) -> None:
        self.closing = False
        self._installed = False

    def install(self) -> None:
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = True
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if callable(previous):
                signal.signal(sig, self._chained(previous))

    def _chained(self, previous: Callable[[int, FrameType | None], Any]) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.closing = True
            previous(signum, frame)

        return handler


async def stream(
    feed: Feed,
    *,
    poll_s: float,
    disconnected: Callable[[], Awaitable[bool]],
    closing: Callable[[], bool],
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[bytes]:
    """The response body: a retry hint, then events as they come, a keepalive comment after
    ``keepalive_s`` of quiet; ends when the client goes or the server stops."""
    yield sse.retry(RETRY_MS) + sse.comment(f"cursor {feed.cursor}")
    quiet_since = time.monotonic()
    while not closing() and not await disconnected():
        try:
            chunk = await run_in_threadpool(feed.look)
        except TrippError as exc:  # the store may be away for a moment: look again later
            log.warning("dashboard stream skipped a look: %s", exc.detail)
            chunk = b""
        now = time.monotonic()
        if chunk:
            yield chunk
            quiet_since = now
        elif now - quiet_since >= keepalive_s:
            yield sse.comment("keepalive")
            quiet_since = now
        await asyncio.sleep(poll_s)
