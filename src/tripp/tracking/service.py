"""Use cases of tracking: register devices, ingest fixes from every channel, read
tracks, latest positions and alerts, each scoped to the caller.

``Tracking.ingest`` is the one pipeline every channel feeds: duplicates are
dropped by (device, time), new fixes are stored, the latest position kept
apart, and the fixes of armed devices evaluated against the corridor in time
order, all in one unit of work, so an acknowledged fix is durable and its
alerts with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, exists, select, update
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.corridor.model import Corridor
from tripp.db.tables import alerts, movement_offices, movements
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, Forbidden, NotFound
from tripp.movements import policy
from tripp.movements import store as movement_store
from tripp.parties.model import Actor, Role
from tripp.tracking import store
from tripp.tracking.model import Device, Fix, IngestResult
from tripp.tracking.monitor import Monitor
from tripp.tracking.partitions import ensure_partitions, purge_before

Clock = Callable[[], datetime]
_REGISTRARS = (Role.ADMIN, Role.CUSTOMS, Role.OPERATOR)
_READERS = (Role.ADMIN, Role.CUSTOMS, Role.OPERATOR, Role.CARRIER)
_DEVICE_TIME = attrgetter("device_id", "time")


@dataclass
class Tracking:
    uow: UnitOfWork
    corridor: Corridor
    clock: Clock
    monitor: Monitor

    # --- devices -----------------------------------------------------------------

    def register(self, actor: Actor, device: Device) -> Device:
        if actor.role not in _REGISTRARS:
            raise Forbidden(f"{actor.role} parties do not register devices")
        try:
            with self.uow.write() as conn:
                store.insert_device(conn, device, by=actor.party, at=self.clock())
        except IntegrityError as exc:
            raise Conflict(
                f"device {device.id} or IMEI {device.imei} is registered already"
            ) from exc
        return device

    def device(self, actor: Actor, device_id: str) -> tuple[Device, str | None, Fix | None]:
        """The device, the MRN it is armed for and its latest fix."""
        if actor.role not in _READERS:
            raise Forbidden(f"{actor.role} parties do not see devices")
        with self.uow.read() as conn:
            found = store.get_device(conn, device_id)
            if found is None or not self._may_see_device(conn, actor, found[1]):
                raise NotFound(f"no device {device_id}")
            device, mrn, armed_at = found
            latest = store.latest(conn, device_id)
        # A carrier sees positions of its own trip only, not the previous holder's.
        if (
            actor.role is Role.CARRIER
            and latest is not None
            and (armed_at is None or latest.time < armed_at)
        ):
            latest = None
        return device, mrn, latest

    def _may_see_device(self, conn: Connection, actor: Actor, mrn: str | None) -> bool:
        if actor.role is not Role.CARRIER:
            return True
        # A carrier sees a device only while it is armed for one of its movements.
        movement = movement_store.get_movement(conn, mrn) if mrn else None
        return movement is not None and movement.holder == actor.party

    # --- ingest ------------------------------------------------------------------

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        unique = list({(f.device_id, f.time): f for f in fixes}.values())
        with self.uow.write() as conn:
            known = store.registered(conn, sorted({f.device_id for f in unique}))
            # Written in key order: two batches then lock rows in the same order (no deadlock).
            kept = sorted((f for f in unique if f.device_id in known), key=_DEVICE_TIME)
            armed = {device: at for device, at in known.items() if at is not None}
            # A fix belongs to the movement its device is armed for only from the arming on:
            # an older fix (a previous trip's, uploaded late) must not land on this one.
            mrn_of = [_movement_of(f, armed) for f in kept]
            # Before the fixes are stored: each state's last fix is then the last evaluated.
            loaded = self.monitor.watch(conn, sorted({m for m in mrn_of if m is not None}))
            repeats = store.store_fixes(conn, kept, mrn_of, self.clock())
            by_mrn: dict[str, list[Fix]] = defaultdict(list)
            for i, (f, mrn) in enumerate(zip(kept, mrn_of, strict=True)):
                if mrn is not None and i not in repeats:
                    by_mrn[mrn].append(f)
            since = {mrn: at for mrn, at in armed.values()}
            written = self.monitor.on_batch(conn, loaded, by_mrn, since)
        self.monitor.cache.apply(written)  # committed: the copies may now be reused
        unknown = len(unique) - len(kept)
        accepted = len(kept) - len(repeats)
        return IngestResult(accepted, len(fixes) - accepted - unknown, unknown)

    def check_time(self) -> int:
        """Run the time-driven rules (overdue, tracker_silent) for every armed movement."""
        return self.monitor.check_time(self.uow, self.clock())

    def acknowledge(self, actor: Actor, alert_id: int, note: str | None) -> Any:
        """Close an open alert on a person's word; the record keeps who, when and why."""
        if actor.role not in (Role.ADMIN, Role.CUSTOMS, Role.OPERATOR):
            raise Forbidden(f"{actor.role} parties do not acknowledge alerts")
        now = self.clock()
        with self.uow.write() as conn:
            if not alert_visible(conn, actor, alert_id):
                raise NotFound(f"no alert {alert_id}")
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()
            if row.cleared_at is not None:
                raise Conflict(f"alert {alert_id} was cleared at {row.cleared_at.isoformat()}")
            movement = movement_store.get_movement(conn, row.mrn, for_update=True)
            assert movement is not None  # the foreign key keeps it
            details = {**row.details, "acknowledged": {"by": actor.party, "at": _iso(now),
                                                       "note": note}}  # fmt: skip
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values(details=details))
            self.monitor.acknowledge(conn, movement, row.kind, now)
            audit.note(conn, "alert.acknowledge", row.mrn, actor.party, actor.role,
                       {"alert": alert_id, "kind": row.kind}, self.clock)  # fmt: skip
            return conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()

    def housekeeping(self, retention_days: int) -> int:
        """Create the coming months' partitions; drop history older than the retention."""
        now = self.clock()
        with self.uow.write() as conn:
            ensure_partitions(conn, now)
            if retention_days <= 0:
                return 0
            return purge_before(conn, now - timedelta(days=retention_days))

    # --- reading -----------------------------------------------------------------

    def track(self, actor: Actor, mrn: str) -> tuple[str, list[Fix]]:
        if actor.role not in _READERS:
            raise Forbidden(f"{actor.role} parties do not see tracks")
        with self.uow.read() as conn:
            movement = movement_store.get_movement(conn, mrn)
            if movement is None or not policy.can_see(actor, movement, self.corridor):
                raise NotFound(f"no movement {mrn}")
            found = movement.state.value, store.movement_fixes(conn, mrn)
        audit.read(self.uow, "track", mrn, movement.holder, actor.party, actor.role, self.clock)
        return found

    def alerts(
        self,
        actor: Actor,
        *,
        mrn: str | None,
        kind: str | None,
        since: datetime | None,
        after_id: int,
        limit: int,
    ) -> tuple[list[Any], int | None]:
        if actor.role not in _READERS:
            raise Forbidden(f"{actor.role} parties do not see alerts")
        with self.uow.read() as conn:
            return store.list_alerts(
                conn, mrn=mrn, kind=kind, since=since, scope=alert_scope(actor),
                after_id=after_id, limit=limit,
            )  # fmt: skip


def _movement_of(f: Fix, armed: dict[str, tuple[str, datetime]]) -> str | None:
    found = armed.get(f.device_id)
    return found[0] if found is not None and f.time >= found[1] else None


def alert_scope(actor: Actor) -> Any:
    """Which alerts a caller sees: customs, those on its territory and on the movements
    that start or end in its country; a carrier, those of its own movements."""
    if actor.role is Role.CUSTOMS:
        own_movement = exists().where(
            movement_offices.c.mrn == alerts.c.mrn,
            movement_offices.c.country == actor.country,
            movement_offices.c.role.in_(["departure", "destination"]),
        )
        return (alerts.c.country == actor.country) | own_movement
    if actor.role is Role.CARRIER:
        return exists().where(movements.c.mrn == alerts.c.mrn, movements.c.holder == actor.party)
    return None


def alert_visible(conn: Connection, actor: Actor, alert_id: int) -> bool:
    """Whether ``actor`` may see alert ``alert_id`` (the same rule as GET /alerts)."""
    if actor.role not in _READERS:
        return False
    query = select(alerts.c.id).where(alerts.c.id == alert_id)
    scope = alert_scope(actor)
    if scope is not None:
        query = query.where(scope)
    return conn.execute(query).first() is not None


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
