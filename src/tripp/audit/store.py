"""The audit log's tables: append under the head row's lock, read back in order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import orjson
from sqlalchemy import Connection, insert, select, update

from tripp.audit.chain import Entry, Head, Note, link
from tripp.db.tables import audit_head, audit_log

_BATCH = 5_000


def append(conn: Connection, notes: Sequence[Note], at: datetime) -> list[Entry]:
    """Chain ``notes`` after the current head, inside the caller's transaction.

    The head row is the lock: PostgreSQL's ``FOR UPDATE`` makes concurrent appenders take
    turns from here to their commit (and a rollback gives the numbers back, so the chain
    never has a gap); SQLite's writers are already one at a time (``BEGIN IMMEDIATE``).
    """
    if not notes:
        return []
    query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    entries = link(Head(row.seq, row.hash), notes, at)
    conn.execute(insert(audit_log), [_row(e) for e in entries])
    last = entries[-1]
    conn.execute(update(audit_head).where(audit_head.c.id == 1)
                 .values(seq=last.seq, hash=last.hash))  # fmt: skip
    return entries


def head(conn: Connection) -> Head:
    row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                       .where(audit_head.c.id == 1)).one()  # fmt: skip
    return Head(row.seq, row.hash)


def entries(conn: Connection, *, subject: str | None = None) -> Iterator[Entry]:
    """Every entry in sequence order (or those about ``subject``), read in batches."""
    after = -1
    while True:
        query = select(audit_log).where(audit_log.c.seq > after)
        if subject is not None:
            query = query.where(audit_log.c.subject == subject)
        rows = conn.execute(query.order_by(audit_log.c.seq).limit(_BATCH)).all()
        for r in rows:
            yield Entry(r.seq, r.at, r.action, r.subject, r.party, r.role,
                        orjson.loads(r.detail), r.prev_hash, r.hash)  # fmt: skip
        if len(rows) < _BATCH:
            return
        after = rows[-1].seq


def _row(e: Entry) -> dict[str, object]:
    return {
        "seq": e.seq, "at": e.at, "action": e.action, "subject": e.subject, "party": e.party,
        "role": e.role, "detail": orjson.dumps(e.detail, option=orjson.OPT_SORT_KEYS).decode(),
        "prev_hash": e.prev_hash, "hash": e.hash,
    }  # fmt: skip
