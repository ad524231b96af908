"""The node's SQLite store: the mirror, the outbox, the sync log.

WAL with ``synchronous=FULL``: a write the node acknowledged survives a power cut, and the
sync thread reads while the officer writes. Write transactions start with ``BEGIN
IMMEDIATE`` so that two writers queue on the lock instead of one failing on upgrade; each
check-then-insert of the service (e.g. "not crossed yet, so record the crossing") is
therefore atomic. The service owns its transactions through ``read()`` and ``write()``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError

from tripp.db.uow import translated_errors
from tripp.errors import StoreFull, StoreUnavailable
from tripp.post.errors import NodeMisconfigured
from tripp.post.mirror import MirrorQueries, dumps
from tripp.post.model import Kind, Record, Status
from tripp.post.tables import expected, metadata, outbox, screenings, sync_log
from tripp.risk.model import Lane

_READ_ONLY = "post_read_only"
SYNC_LOG_KEPT = 1000  # rounds kept; older ones are history nobody reads


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    kind: Kind
    ref_id: str
    mrn: str
    event_type: str | None
    inspection_kind: str | None
    body: dict[str, Any]
    answer: dict[str, Any]
    created_at: str
    status: Status
    attempts: int
    last_error: str | None
    upstream_status: int | None
    upstream_answer: Any
    synced_at: str | None
    conflict: str | None
    acknowledged_at: str | None


@dataclass(frozen=True)
class RoundLog:
    started_at: str
    finished_at: str
    reachable: bool
    pushed: int
    conflicts: int
    pulled: int
    error: str | None


class NodeStore:
    """The engine of one node's store; ``open`` creates the schema and checks the office."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, path: Path, office: str) -> NodeStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(_engine(path))
        try:
            metadata.create_all(store.engine)
            with store.write() as tx:
                owner = tx.get_meta("office")
                if owner is None:
                    tx.set_meta("office", office)
        except (DatabaseError, StoreUnavailable, StoreFull) as exc:
            store.close()
            # The driver's words (the cause) say more about a local file than ours.
            cause = exc.__cause__ or exc
            raise NodeMisconfigured(f"{path} is not a usable node store: {cause}") from exc
        if owner is not None and owner != office:
            store.close()
            raise NodeMisconfigured(f"{path} is the store of office {owner}, not {office}")
        return store

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._begin(read_only=True) as conn:
            yield Tx(conn)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._begin(read_only=False) as conn:
            yield Tx(conn)

    @contextmanager
    def _begin(self, *, read_only: bool) -> Iterator[Connection]:
        # Disk full (507), locked past the timeout or file gone (503): as on the server.
        with translated_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_READ_ONLY: read_only})
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()


def _engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # BEGIN is ours to issue, see _on_begin
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class Tx(MirrorQueries):
    """The queries of one transaction: the mirror's (``MirrorQueries``), the outbox's and
    the sync log's."""

    # --- recording ---------------------------------------------------------------------

    def append(
        self,
        *,
        kind: Kind,
        ref_id: str,
        mrn: str,
        body: Mapping[str, Any],
        answer: Mapping[str, Any],
        at: str,
        event_type: str | None = None,
        inspection_kind: str | None = None,
    ) -> int:
        """Add a row to the outbox, pending; its sequence number."""
        result = self.conn.execute(
            insert(outbox).values(
                kind=kind.value,
                ref_id=ref_id,
                mrn=mrn,
                event_type=event_type,
                inspection_kind=inspection_kind,
                body=dumps(body),
                answer=dumps(answer),
                created_at=at,
                status=Status.PENDING.value,
                attempts=0,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def add_screening(self, row: Mapping[str, Any]) -> None:
        self.conn.execute(insert(screenings).values(**row))

    def screening(self, screening_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The request and the answer of a stored screening."""
        row = self.conn.execute(
            select(screenings.c.request, screenings.c.answer).where(screenings.c.id == screening_id)
        ).first()
        return None if row is None else (json.loads(row.request), json.loads(row.answer))

    def find(self, kind: Kind, ref_id: str, mrn: str | None = None) -> OutboxRow | None:
        query = select(outbox).where(outbox.c.kind == kind.value, outbox.c.ref_id == ref_id)
        if mrn is not None:
            query = query.where(outbox.c.mrn == mrn)
        row = self.conn.execute(query).first()
        return None if row is None else _row(row)

    def rows_of(self, mrn: str) -> list[OutboxRow]:
        rows = self.conn.execute(select(outbox).where(outbox.c.mrn == mrn).order_by(outbox.c.seq))
        return [_row(r) for r in rows]

    def records(self, mrn: str) -> list[Record]:
        """The movement's outbox rows as the local rules see them, in recording order."""
        query = (
            select(outbox, screenings.c.lane)
            .outerjoin(
                screenings,
                (outbox.c.kind == Kind.SCREENING.value) & (screenings.c.id == outbox.c.ref_id),
            )
            .where(outbox.c.mrn == mrn)
            .order_by(outbox.c.seq)
        )
        return [_record(r) for r in self.conn.execute(query)]

    def passed_mrns(self) -> set[str]:
        """Movements whose crossing or arrival is recorded here and not refused upstream."""
        query = select(outbox.c.mrn).where(
            outbox.c.kind == Kind.EVENT.value,
            outbox.c.event_type.in_(("border_crossing", "arrival")),
            outbox.c.status != Status.CONFLICT.value,
        )
        return set(self.conn.execute(query).scalars())

    # --- pushing -------------------------------------------------------------------------

    def pending(self, kind: Kind) -> list[OutboxRow]:
        query = (
            select(outbox)
            .where(outbox.c.kind == kind.value, outbox.c.status == Status.PENDING.value)
            .order_by(outbox.c.seq)
        )
        return [_row(r) for r in self.conn.execute(query)]

    def settle(
        self,
        seq: int,
        status: Status,
        *,
        upstream_status: int,
        answer: Any,
        at: str,
        conflict: str | None = None,
    ) -> None:
        """Record the upstream's definitive answer to one row."""
        self.conn.execute(
            update(outbox)
            .where(outbox.c.seq == seq)
            .values(
                status=status.value,
                attempts=outbox.c.attempts + 1,
                upstream_status=upstream_status,
                upstream_answer=dumps(answer),
                synced_at=at,
                conflict=conflict,
                last_error=None,
            )
        )

    def attempt_failed(self, seq: int, error: str) -> None:
        self.conn.execute(
            update(outbox)
            .where(outbox.c.seq == seq)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )

    # --- conflicts and status ------------------------------------------------------------

    def conflicts(self, *, include_acknowledged: bool) -> list[OutboxRow]:
        query = select(outbox).where(outbox.c.status == Status.CONFLICT.value)
        if not include_acknowledged:
            query = query.where(outbox.c.acknowledged_at.is_(None))
        return [_row(r) for r in self.conn.execute(query.order_by(outbox.c.seq))]

    def acknowledge(self, seq: int, at: str) -> OutboxRow | None:
        """Mark a conflict as seen by the officer; it is kept all the same."""
        self.conn.execute(
            update(outbox)
            .where(
                outbox.c.seq == seq,
                outbox.c.status == Status.CONFLICT.value,
                outbox.c.acknowledged_at.is_(None),
            )
            .values(acknowledged_at=at)
        )
        row = self.conn.execute(
            select(outbox).where(outbox.c.seq == seq, outbox.c.status == Status.CONFLICT.value)
        ).first()
        return None if row is None else _row(row)

    def counts(self) -> dict[str, int]:
        """Rows per ``<kind>_<status>``, plus ``conflicts_open`` and ``expected``."""
        out: dict[str, int] = {f"{k}_{s}": 0 for k in Kind for s in Status}
        query = select(outbox.c.kind, outbox.c.status, func.count()).group_by(
            outbox.c.kind, outbox.c.status
        )
        for kind, status, n in self.conn.execute(query):
            out[f"{kind}_{status}"] = int(n)
        out["conflicts_open"] = len(self.conflicts(include_acknowledged=False))
        listed = select(func.count()).select_from(expected).where(expected.c.listed.is_(True))
        out["expected"] = int(self.conn.execute(listed).scalar() or 0)
        return out

    def log_round(self, entry: RoundLog) -> None:
        self.conn.execute(insert(sync_log).values(**entry.__dict__))
        newest = self.conn.execute(select(func.max(sync_log.c.id))).scalar() or 0
        self.conn.execute(delete(sync_log).where(sync_log.c.id <= newest - SYNC_LOG_KEPT))

    def last_round(self) -> RoundLog | None:
        row = self.conn.execute(select(sync_log).order_by(sync_log.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return RoundLog(
            row.started_at,
            row.finished_at,
            row.reachable,
            row.pushed,
            row.conflicts,
            row.pulled,
            row.error,
        )

    def rounds(self) -> int:
        """How many rounds this store has logged (the id never goes back)."""
        return int(self.conn.execute(select(func.max(sync_log.c.id))).scalar() or 0)

    def last_contact(self) -> str | None:
        """When the upstream last answered a whole round."""
        query = select(func.max(sync_log.c.finished_at)).where(sync_log.c.reachable.is_(True))
        value = self.conn.execute(query).scalar()
        return None if value is None else str(value)


def _record(r: Any) -> Record:
    taken = r.upstream_status is not None and 200 <= r.upstream_status < 300
    lane = r.lane
    if taken and r.kind == Kind.SCREENING.value:
        # Once the upstream screened, its lane rules the gate here too, as it will upstream.
        lane = json.loads(r.upstream_answer).get("lane", lane)
    return Record(
        r.seq,
        Kind(r.kind),
        Status(r.status),
        r.ref_id,
        r.event_type,
        r.inspection_kind,
        None if lane is None else Lane(lane),
        taken,
    )


def _row(r: Any) -> OutboxRow:
    return OutboxRow(
        seq=r.seq,
        kind=Kind(r.kind),
        ref_id=r.ref_id,
        mrn=r.mrn,
        event_type=r.event_type,
        inspection_kind=r.inspection_kind,
        body=json.loads(r.body),
        answer=json.loads(r.answer),
        created_at=r.created_at,
        status=Status(r.status),
        attempts=r.attempts,
        last_error=r.last_error,
        upstream_status=r.upstream_status,
        upstream_answer=None if r.upstream_answer is None else json.loads(r.upstream_answer),
        synced_at=r.synced_at,
        conflict=r.conflict,
        acknowledged_at=r.acknowledged_at,
    )
