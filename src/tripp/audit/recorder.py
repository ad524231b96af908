"""What services call: ``note(conn, ...)`` inside a write; the notes join the chain just
before that transaction commits, so a rolled-back command leaves no entry and a committed
one never lacks its entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from tripp.audit import store
from tripp.audit.chain import Note
from tripp.db.uow import UnitOfWork, before_commit, scratch

_NOTES = "audit.notes"


def note(
    conn: Connection,
    action: str,
    subject: str,
    party: str,
    role: str,
    detail: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Log ``action`` on ``subject`` by ``party`` when this transaction commits."""
    pending = scratch(conn)
    notes: list[Note] | None = pending.get(_NOTES)
    if notes is None:
        notes = pending[_NOTES] = []
        stamp = clock or _now
        before_commit(conn, "audit", lambda c: _flush(c, stamp()))
    notes.append(Note(action, subject[:128], party, role, _plain(detail or {})))


def read(
    uow: UnitOfWork,
    what: str,
    subject: str,
    owner: str,
    party: str,
    role: str,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Log that ``party`` read ``subject``, which belongs to ``owner``, when it is not its
    own: a unit of work of its own, since reads run in read-only transactions."""
    if party == owner:
        return
    with uow.write() as conn:
        note(conn, f"read.{what}", subject, party, role, {"owner": owner}, clock)


def _flush(conn: Connection, at: datetime) -> None:
    notes = scratch(conn).pop(_NOTES, [])
    store.append(conn, notes, at)


def _plain(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    """The detail as it will read back from the store (JSON types only): hashed as stored."""
    loaded: Mapping[str, Any] = orjson.loads(
        orjson.dumps(detail, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    )
    return loaded


def _now() -> datetime:
    return datetime.now(UTC)


def alert_listener(conn: Connection, view: Mapping[str, Any], event: str, now: datetime) -> None:
    """A tracking monitor listener: alerts raised and cleared by the rules join the log."""
    note(conn, f"alert.{event}", str(view["mrn"]), "SYSTEM", "monitor",
         {"alert": view["id"], "kind": view["kind"]}, lambda: now)  # fmt: skip
