"""Movements, their offices, events and idempotency keys in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, exists, insert, select, tuple_, update

from tripp.codes.currency import from_minor, to_minor
from tripp.corridor.model import Corridor, TransportMode
from tripp.db.tables import events, idempotency, movement_offices, movements
from tripp.movements.codec import declaration_from_json, declaration_to_json
from tripp.movements.model import EventType, Movement, MovementEvent, MovementState
from tripp.signing.documents import event_document


@dataclass(frozen=True)
class StoredEvent:
    event: MovementEvent
    seq: int
    recorded_at: datetime
    state_before: MovementState
    state_after: MovementState
    request_hash: str
    mrn: str
    signature: str | None = None  # the recording authority's, base64 (tripp.signing)
    key_id: str | None = None

    def document(self) -> dict[str, Any]:
        """What the recording authority's signature covers."""
        e = self.event
        return event_document(
            mrn=self.mrn, event_id=e.id, type=e.type.value, office=e.office, at=e.at,
            recorded_by=e.recorded_by, payload=_json_payload(e.payload),
            state_before=self.state_before.value, state_after=self.state_after.value,
        )  # fmt: skip


@dataclass(frozen=True)
class MovementFilter:
    state: MovementState | None = None
    office: str | None = None
    holder: str | None = None
    since: datetime | None = None
    country: str | None = None  # a customs caller's scope: movements touching it
    after_seq: int = 0
    limit: int = 50


def insert_movements(conn: Connection, items: list[Movement], corridor: Corridor) -> None:
    """Insert movements and their itinerary rows with one executemany each."""
    if not items:
        return
    conn.execute(insert(movements), [_row(m) for m in items])
    conn.execute(insert(movement_offices), [o for m in items for o in _office_rows(m, corridor)])


def _office_rows(m: Movement, corridor: Corridor) -> list[dict[str, Any]]:
    return [
        {
            "mrn": m.mrn,
            "position": i,
            "office_code": code,
            "country": office.country if (office := corridor.office(code)) else code[:2],
            "role": role.value,
        }
        for i, (_, role, code) in enumerate(m.declaration.offices())
    ]


def _row(m: Movement) -> dict[str, Any]:
    return {
        "mrn": m.mrn,
        "holder": m.holder,
        "guarantee_grn": m.guarantee,
        "state": m.state.value,
        "declaration": declaration_to_json(m.declaration),
        "liability_minor": to_minor(m.liability, m.liability_currency),
        "liability_currency": m.liability_currency,
        "accepted_at": m.accepted_at,
        "released_at": m.released_at,
        "time_limit": m.time_limit,
        "arrived_at": m.arrived_at,
        "updated_at": m.updated_at or m.accepted_at,
        "seals": list(m.seals),
        "tracker_id": m.tracker_id,
    }


def save_state(conn: Connection, m: Movement) -> None:
    row = _row(m)
    keys = ("state", "released_at", "time_limit", "arrived_at", "updated_at", "seals", "tracker_id")
    conn.execute(
        update(movements).where(movements.c.mrn == m.mrn).values({k: row[k] for k in keys})
    )


def _movement(row: Row[Any]) -> Movement:
    return Movement(
        mrn=row.mrn,
        holder=row.holder,
        declaration=declaration_from_json(row.declaration),
        liability=from_minor(row.liability_minor, row.liability_currency),
        liability_currency=row.liability_currency,
        accepted_at=row.accepted_at,
        state=MovementState(row.state),
        released_at=row.released_at,
        time_limit=row.time_limit,
        arrived_at=row.arrived_at,
        seals=tuple(row.seals),
        tracker_id=row.tracker_id,
        updated_at=row.updated_at,
    )


def get_movement(conn: Connection, mrn: str, *, for_update: bool = False) -> Movement | None:
    query = select(movements).where(movements.c.mrn == mrn)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _movement(row) if row else None


def get_movements(conn: Connection, mrns: Sequence[str]) -> list[Movement]:
    """The movements of ``mrns`` that exist, in the order given; one query per 500."""
    rows: dict[str, Row[Any]] = {}
    for i in range(0, len(mrns), 500):
        chunk = list(mrns[i : i + 500])
        rows.update((r.mrn, r) for r in conn.execute(select(movements).where(
            movements.c.mrn.in_(chunk))))  # fmt: skip
    return [_movement(rows[m]) for m in mrns if m in rows]


class Watched(NamedTuple):
    """What tracking needs of a movement, read without parsing its declaration.

    A tuple: tracking loads one per movement of every batch of fixes.
    """

    mrn: str
    state: MovementState
    mode: TransportMode
    time_limit: datetime | None


def list_movements(conn: Connection, f: MovementFilter) -> tuple[list[Movement], int | None]:
    """A page of movements in acceptance order, and the seq to continue after (or None)."""
    query = select(movements).where(movements.c.seq > f.after_seq)
    if f.state is not None:
        query = query.where(movements.c.state == f.state.value)
    if f.holder is not None:
        query = query.where(movements.c.holder == f.holder)
    if f.since is not None:
        query = query.where(movements.c.updated_at >= f.since)
    if f.office is not None:
        query = query.where(_touches(movement_offices.c.office_code == f.office))
    if f.country is not None:
        query = query.where(_touches(movement_offices.c.country == f.country))
    rows = conn.execute(query.order_by(movements.c.seq).limit(f.limit + 1)).all()
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return [_movement(r) for r in rows], (rows[-1].seq if more else None)


def _touches(condition: Any) -> Any:
    return exists().where(movement_offices.c.mrn == movements.c.mrn, condition)


def overdue_mrns(conn: Connection, now: datetime, states: Sequence[MovementState]) -> list[str]:
    query = select(movements.c.mrn).where(
        movements.c.state.in_([s.value for s in states]), movements.c.time_limit < now
    )
    return list(conn.execute(query.order_by(movements.c.time_limit)).scalars())


def insert_event(conn: Connection, stored: StoredEvent) -> None:
    e = stored.event
    conn.execute(
        insert(events),
        [
            {
                "id": e.id,
                "mrn": stored.mrn,
                "type": e.type.value,
                "office": e.office,
                "at": e.at,
                "recorded_at": stored.recorded_at,
                "recorded_by": e.recorded_by,
                "payload": _json_payload(e.payload),
                "state_before": stored.state_before.value,
                "state_after": stored.state_after.value,
                "request_hash": stored.request_hash,
                "signature": stored.signature,
                "key_id": stored.key_id,
            }
        ],
    )


def _json_payload(payload: Any) -> dict[str, Any]:
    return {
        k: v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for k, v in payload.items()
    }


def _event(row: Row[Any]) -> StoredEvent:
    return StoredEvent(
        event=MovementEvent(
            id=row.id,
            type=EventType(row.type),
            office=row.office,
            at=row.at,
            recorded_by=row.recorded_by,
            payload=row.payload,
        ),
        seq=row.seq,
        recorded_at=row.recorded_at,
        state_before=MovementState(row.state_before),
        state_after=MovementState(row.state_after),
        signature=row.signature,
        key_id=row.key_id,
        request_hash=row.request_hash,
        mrn=row.mrn,
    )


def get_event(conn: Connection, mrn: str, event_id: str) -> StoredEvent | None:
    row = conn.execute(select(events).where(events.c.mrn == mrn, events.c.id == event_id)).first()
    return _event(row) if row else None


def list_events(conn: Connection, mrn: str) -> list[StoredEvent]:
    query = select(events).where(events.c.mrn == mrn).order_by(events.c.at, events.c.seq)
    return [_event(r) for r in conn.execute(query)]


@dataclass(frozen=True)
class IdempotentAnswer:
    request_hash: str
    mrn: str
    response: dict[str, Any]


def get_idempotent_many(
    conn: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], IdempotentAnswer]:
    """Stored answers for (party, key) pairs; absent keys are absent from the result."""
    if not keys:
        return {}
    found = conn.execute(
        select(idempotency).where(tuple_(idempotency.c.party_id, idempotency.c.key).in_(keys))
    )
    return {
        (row.party_id, row.key): IdempotentAnswer(row.request_hash, row.mrn, row.response)
        for row in found
    }


def put_idempotent_many(
    conn: Connection, items: list[tuple[tuple[str, str], IdempotentAnswer]], at: datetime
) -> None:
    if not items:
        return
    conn.execute(
        insert(idempotency),
        [
            {
                "party_id": party,
                "key": key,
                "request_hash": answer.request_hash,
                "mrn": answer.mrn,
                "response": answer.response,
                "created_at": at,
            }
            for (party, key), answer in items
        ],
    )
