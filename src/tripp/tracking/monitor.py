"""Glue between stored fixes and the pure alert rules (``geometry``, ``alerts``).

Runs inside the ingest unit of work: the movement is locked and its monitor
state loaded (``watch``, before the batch's fixes are stored, so the newest
stored fix is the last one evaluated), the new fixes evaluated in time order,
alerts opened or cleared, and the state saved if more than its last fix
changed, all committed together with the fixes themselves. A fix older than
the last one evaluated is stored first and then the movement's stored fixes
are replayed from a fresh state, so late fixes are judged in their time order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tripp.corridor.model import Corridor, TransportMode
from tripp.db.tables import alerts, devices
from tripp.db.uow import UnitOfWork
from tripp.movements.model import UNDER_WAY, Movement, MovementState
from tripp.movements.store import Watched
from tripp.tracking import store
from tripp.tracking.alerts import (
    AlertChange,
    AlertContext,
    AlertKind,
    Change,
    MonitorState,
    acknowledge,
    check_time,
    evaluate,
    quiet_count,
    with_last_fix,
)
from tripp.tracking.geometry import Assessment, CorridorGeometry
from tripp.tracking.model import Fix
from tripp.tracking.state_cache import StateCache, StateUpdates
from tripp.tracking.territory import CountryLocator
from tripp.tracking.views import alert_view

log = logging.getLogger("tripp.tracking.monitor")
# Called in the alert's own transaction with (connection, alert view, "raised"|"cleared",
# now): the webhook outbox hangs here, so a delivery exists if and only if the alert does.
CHECK_CHUNK = 200  # movements per transaction in a round of the time-driven rules
AlertListener = Callable[[Connection, dict[str, Any], str, datetime], None]
# MRN → (the movement, its monitor state as stored, its newest stored fix), as
# ``Monitor.watch`` loads them; the state's last fix is the newer of the two.
Watching = dict[str, tuple[Watched, MonitorState, store.Watch]]
# Alert contexts kept, one per movement; past it they are all dropped and built again.
CONTEXTS_KEPT = 50_000
_MOVEMENT_STATES = {s.value: s for s in MovementState}


class Monitor:
    def __init__(self, corridor: Corridor, locator: CountryLocator | None = None) -> None:
        self.corridor = corridor
        self.geometry = CorridorGeometry.from_corridor(corridor)
        self.locator = locator or CountryLocator.bundled()
        self.listeners: list[AlertListener] = []
        self.check_chunk = CHECK_CHUNK
        self.cache = StateCache()
        # MRN → (movement state, mode, time limit, the context they make).
        self._contexts: dict[
            str, tuple[MovementState, TransportMode, datetime | None, AlertContext]
        ] = {}

    def watch(self, conn: Connection, mrns: Sequence[str]) -> Watching:
        """Lock the movements a batch is about to add fixes to and load their states.

        Called before the batch's fixes are stored: the newest stored fix of the movement is
        then the last one evaluated for it (quiet fixes are not written into the stored
        state; see ``on_batch``).
        """
        mrns = sorted(mrns)
        copies = self.cache.copies(mrns)
        modes = self.cache.known_modes(mrns)
        versions = {mrn: version for mrn, (version, _) in copies.items()}
        loaded: Watching = {}
        read: dict[str, tuple[int, MonitorState]] = {}
        for row in store.watch(conn, mrns, versions, modes):
            mode = modes.get(row.mrn)
            if mode is None:
                mode = TransportMode(str(row.mode))
                self.cache.remember_mode(row.mrn, mode)
            movement = Watched(row.mrn, _MOVEMENT_STATES[row.state], mode, row.time_limit)
            state = _current(row, copies)
            if row.stored is not None and row.version is not None:
                read[row.mrn] = (row.version, state)
            loaded[row.mrn] = (movement, state, row)
        # Read under the lock, so committed: kept whatever becomes of this transaction. As
        # states are seldom written, a worker that only read a state would otherwise parse
        # it again for every batch (another worker, or the server, wrote it).
        self.cache.apply(read)
        return loaded

    def on_batch(
        self,
        conn: Connection,
        loaded: Watching,
        groups: Mapping[str, Sequence[Fix]],
        armed_since: Mapping[str, datetime | None],
    ) -> StateUpdates:
        """Evaluate the new fixes of movements ``watch`` loaded (the fixes stored by now);
        one geometry pass per transport mode.

        A state is written only when more than its last fix changed: the last fix is the
        newest stored one (``watch``), and a vehicle going its way changes nothing else, so
        most batches write no state at all. Returns the states written, for
        ``cache.apply`` once the transaction has committed (a copy of a state that was
        rolled back must never be reused).
        """
        # (movement, state, fixes, its load) or, to replay, (movement, fresh state, the
        # movement's stored fixes, None).
        work: list[tuple[Watched, MonitorState, list[Fix], store.Watch | None]] = []
        for mrn in sorted(groups):
            if mrn not in loaded:  # no such movement (any more): nothing to judge
                continue
            movement, state, row = loaded[mrn]
            group = groups[mrn]
            fixes = sorted(group, key=_fix_order) if len(group) > 1 else list(group)
            last_at = _newer(state.last_fix_at, row.last_at)
            if last_at is not None and fixes[0].time < last_at:
                # A late fix: judge the movement's whole history again, in order.
                fixes = store.movement_fixes(conn, mrn, since=armed_since.get(mrn))
                if fixes:
                    work.append((movement, MonitorState(), fixes, None))
            else:
                work.append((movement, state, fixes, row))
        assessments = self._assess_by_mode([(m, f) for m, _, f, _ in work])
        states: dict[str, MonitorState] = {}
        latest: datetime | None = None
        for (movement, state, fixes, load), (assessment, offset) in zip(
            work, assessments, strict=True
        ):
            context = self._context(movement)
            if load is not None:
                quiet = quiet_count(state, context, fixes, assessment, offset, last_at=load.last_at)
                if quiet == len(fixes):
                    continue  # only the last fix changes, and it is stored as a fix
                state = with_last_fix(state, load.last)
            new_state, changes = evaluate(state, context, fixes, assessment, offset)
            now = fixes[-1].time
            if load is None:
                self._rewrite(conn, movement.mrn, changes, now)
            else:
                self._record(conn, changes, now)
            if load is None or changes or new_state.differs_beyond_last_fix(state):
                states[movement.mrn] = new_state
                latest = now if latest is None else max(latest, now)
        if latest is None:
            return {}
        versions = store.save_monitor_states(
            conn, {m: s.to_json() for m, s in states.items()}, latest
        )
        return {m: (versions[m], s) for m, s in states.items()}

    def _assess_by_mode(
        self, items: list[tuple[Watched, list[Fix]]]
    ) -> list[tuple[Assessment, int]]:
        """Each movement's assessment, computed in one vectorised call per mode: the
        mode's assessment and the row of the movement's first fix in it."""
        out: list[tuple[Assessment, int] | None] = [None] * len(items)
        by_mode: dict[TransportMode, list[int]] = {}
        for i, (movement, _) in enumerate(items):
            by_mode.setdefault(movement.mode, []).append(i)
        for mode, indexes in by_mode.items():
            fixes = [f for i in indexes for f in items[i][1]]
            whole = self.geometry.assess_fixes(mode, fixes)
            start = 0
            for i in indexes:
                out[i] = (whole, start)
                start += len(items[i][1])
        return [a for a in out if a is not None]

    def check_time(self, uow: UnitOfWork, now: datetime) -> int:
        """Time-driven rules for every movement with an armed device; returns changes made."""
        with uow.read() as conn:
            mrns = sorted(
                {r[0] for r in conn.execute(select(devices.c.armed_mrn).where(
                    devices.c.armed_mrn.is_not(None)))}
            )  # fmt: skip
        made = 0
        # Chunks of movements per transaction: a round over thousands of armed movements
        # costs a few transactions, and only the states that changed are written back.
        for start in range(0, len(mrns), self.check_chunk):
            with uow.write() as conn:
                chunk_made, written = self._check_chunk(
                    conn, mrns[start : start + self.check_chunk], now
                )
            self.cache.apply(written)  # committed: the copies may now be reused
            made += chunk_made
        return made

    def _check_chunk(
        self, conn: Connection, mrns: Sequence[str], now: datetime
    ) -> tuple[int, StateUpdates]:
        """The time-driven rules for ``mrns``, loaded as a batch of fixes loads them."""
        changed: dict[str, MonitorState] = {}
        made = 0
        for mrn, (movement, stored, load) in sorted(self.watch(conn, mrns).items()):
            before = with_last_fix(stored, load.last)
            state, changes = check_time(before, self._context(movement), now)
            self._record(conn, changes, now)
            if changes or state.differs_beyond_last_fix(before) or load.version is None:
                changed[mrn] = state
            made += len(changes)
        versions = store.save_monitor_states(
            conn, {m: s.to_json() for m, s in changed.items()}, now
        )
        return made, {m: (versions[m], s) for m, s in changed.items()}

    def acknowledge(self, conn: Connection, movement: Movement, kind: str, at: datetime) -> None:
        """A person closes the open alert of ``kind``; the kind stays quiet while its
        condition lasts (a seal still reporting open is not raised again)."""
        _, stored, load = self.watch(conn, [movement.mrn])[movement.mrn]
        state = with_last_fix(stored, load.last)
        new_state, changes = acknowledge(state, self._context(movement), AlertKind(kind), at)
        self._record(conn, changes, at)
        if not changes:  # the state had lost it (an old replay): close the record anyway
            for alert_id in _clear(conn, movement.mrn, kind, at):
                self._notify(conn, alert_id, "cleared", at)
        store.save_monitor_state(conn, movement.mrn, new_state.to_json(), at)

    def _context(self, movement: Movement | Watched) -> AlertContext:
        if isinstance(movement, Watched):  # one per movement and batch: kept
            # Keyed by MRN and checked field by field: hashing the enums in the tuple costs
            # a Python call each, more than building the context did.
            kept = self._contexts.get(movement.mrn)
            if (
                kept is not None and kept[0] is movement.state and kept[1] is movement.mode
                and kept[2] == movement.time_limit
            ):  # fmt: skip
                return kept[3]
            if len(self._contexts) >= CONTEXTS_KEPT:
                self._contexts.clear()
            context = self._new_context(movement)
            self._contexts[movement.mrn] = (movement.state, movement.mode, movement.time_limit,
                                            context)  # fmt: skip
            return context
        return self._new_context(movement)

    def _new_context(self, movement: Movement | Watched) -> AlertContext:
        mode = (
            movement.mode if isinstance(movement, Watched) else movement.declaration.transport.mode
        )
        return AlertContext(
            mrn=movement.mrn,
            mode=mode,
            time_limit=movement.time_limit,
            armed=movement.state in UNDER_WAY,
            rules=self.corridor.tracking,
        )

    def _record(self, conn: Connection, changes: Sequence[AlertChange], now: datetime) -> None:
        for change in changes:
            if change.change is Change.RAISED:
                alert_id = self._open(conn, change, now)
                if alert_id is not None:
                    self._notify(conn, alert_id, "raised", now)
            else:
                for alert_id in _clear(conn, change.mrn, change.kind.value, change.at):
                    self._notify(conn, alert_id, "cleared", now)

    def _rewrite(
        self, conn: Connection, mrn: str, changes: Sequence[AlertChange], now: datetime
    ) -> None:
        """After a replay, make the movement's alert records match the replayed episodes.

        Episodes and records of a kind are paired in time order: a record is corrected in
        place, a replayed episode without a record is inserted, a record without an episode
        is withdrawn. Records are closed before any is reopened, so the one-open-alert index
        holds at every step; only changes of open/closed are announced.
        """
        episodes = _episodes(changes)
        kinds = set(episodes) | {r.kind for r in conn.execute(
            select(alerts.c.kind).where(alerts.c.mrn == mrn)).all()}  # fmt: skip
        for kind in sorted(kinds):
            rows = conn.execute(
                select(alerts).where(alerts.c.mrn == mrn, alerts.c.kind == kind)
                .order_by(alerts.c.raised_at, alerts.c.id)
            ).all()  # fmt: skip
            eps = episodes.get(kind, [])
            for row in rows[len(eps) :]:  # withdrawn: the full history does not hold them
                if row.cleared_at is None:
                    _set_cleared(conn, row.id, row.raised_at, {**row.details, "withdrawn": True})
                    self._notify(conn, row.id, "cleared", now)
            pairs = list(zip(rows, eps, strict=False))
            for row, (raised, cleared_at) in sorted(pairs, key=lambda p: p[1][1] is None):
                self._correct(conn, row, raised, cleared_at, now)
            for raised, cleared_at in eps[len(rows) :]:
                alert_id = self._open(conn, raised, now)
                if alert_id is not None:
                    self._notify(conn, alert_id, "raised", now)
                    if cleared_at is not None:
                        _set_cleared(conn, alert_id, cleared_at, None)
                        self._notify(conn, alert_id, "cleared", now)

    def _correct(
        self,
        conn: Connection,
        row: Any,
        raised: AlertChange,
        cleared_at: datetime | None,
        now: datetime,
    ) -> None:
        lon, lat = raised.location if raised.location else (None, None)
        country = self.locator.country(lon, lat) if lon is not None and lat is not None else None
        conn.execute(
            update(alerts).where(alerts.c.id == row.id).values(
                raised_at=raised.at, cleared_at=cleared_at, lon=lon, lat=lat, country=country,
                details={**row.details, "evidence": [e.to_json() for e in raised.evidence]},
            )
        )  # fmt: skip
        if (row.cleared_at is None) != (cleared_at is None):
            self._notify(conn, row.id, "cleared" if cleared_at else "raised", now)

    def _open(self, conn: Connection, change: AlertChange, now: datetime) -> int | None:
        if _open_id(conn, change.mrn, change.kind.value) is not None:
            return None  # already open: the same alert goes on
        lon, lat = change.location if change.location else (None, None)
        country = self.locator.country(lon, lat) if lon is not None and lat is not None else None
        row = {
            "mrn": change.mrn, "kind": change.kind.value, "device_id": change.device_id,
            "raised_at": change.at, "lon": lon, "lat": lat, "country": country,
            "details": {"evidence": [e.to_json() for e in change.evidence]},
            "recorded_at": now,
        }  # fmt: skip
        return int(conn.execute(insert(alerts).returning(alerts.c.id), [row]).scalar_one())

    def _notify(self, conn: Connection, alert_id: int, event: str, now: datetime) -> None:
        if not self.listeners:
            return
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()
        view = alert_view(row)
        for listener in self.listeners:
            listener(conn, view, event, now)


def _newer(a: datetime | None, b: datetime | None) -> datetime | None:
    return a if b is None or (a is not None and a >= b) else b


def _fix_order(f: Fix) -> tuple[datetime, str]:
    return (f.time, f.device_id)


def _current(row: store.Watch, copies: Mapping[str, tuple[int, MonitorState]]) -> MonitorState:
    """The movement's state: as stored when it was sent, else the cached copy of the same
    version, else (nothing stored) a fresh one."""
    if row.stored is not None:
        return _parse(row.mrn, row.stored)
    if row.version is None:
        return MonitorState()
    return copies[row.mrn][1]


def _parse(mrn: str, raw: dict[str, Any] | None) -> MonitorState:
    if raw is None:
        return MonitorState()
    try:
        return MonitorState.from_json(raw)
    except ValueError:
        # An unreadable state (older format) must not stop ingest: start afresh.
        log.warning("monitor state of %s unreadable; starting afresh", mrn)
        return MonitorState()


def _open_id(conn: Connection, mrn: str, kind: str) -> int | None:
    row = conn.execute(
        select(alerts.c.id)
        .where(alerts.c.mrn == mrn, alerts.c.kind == kind, alerts.c.cleared_at.is_(None))
        .order_by(alerts.c.raised_at.desc(), alerts.c.id.desc())
    ).first()
    return None if row is None else int(row.id)


def _episodes(
    changes: Sequence[AlertChange],
) -> dict[str, list[tuple[AlertChange, datetime | None]]]:
    """Per kind, the replayed episodes in order: (the raising change, cleared at or None)."""
    episodes: dict[str, list[tuple[AlertChange, datetime | None]]] = {}
    for change in changes:
        kind = episodes.setdefault(change.kind.value, [])
        if change.change is Change.RAISED:
            kind.append((change, None))
        elif kind and kind[-1][1] is None:
            kind[-1] = (kind[-1][0], change.at)
    return episodes


def _set_cleared(
    conn: Connection, alert_id: int, at: datetime, details: dict[str, Any] | None
) -> None:
    values: dict[str, Any] = {"cleared_at": at}
    if details is not None:
        values["details"] = details
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def _clear(conn: Connection, mrn: str, kind: str, at: datetime) -> list[int]:
    alert_id = _open_id(conn, mrn, kind)
    if alert_id is None:
        return []
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(cleared_at=at))
    return [alert_id]
