"""The unit of work: one transaction per command, rolled back unless committed."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tripp.db.engine import READ_ONLY
from tripp.errors import StoreFull, StoreUnavailable

T = TypeVar("T")
log = logging.getLogger("tripp.db")

_HOOKS = "tripp.before_commit"
_SCRATCH = "tripp.scratch"


def scratch(conn: Connection) -> dict[str, Any]:
    """Space for what a write collects until it commits (the audit log's notes). It lives
    on the pooled DBAPI connection, so ``write()`` empties it when the transaction ends."""
    found: dict[str, Any] = conn.info.setdefault(_SCRATCH, {})
    return found


def before_commit(conn: Connection, name: str, hook: Callable[[Connection], None]) -> None:
    """Run ``hook`` once, last, inside this write's transaction, just before it commits."""
    conn.info.setdefault(_HOOKS, {})[name] = hook


class UnitOfWork:
    """Hands out transactions on one engine.

    ``write()`` and ``read()`` are context managers yielding a Connection in
    an open transaction. Leaving ``write()`` normally commits; an exception
    rolls back, so a failed command leaves nothing half-written.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with translated_errors(), self.engine.connect() as conn:
            try:
                with conn.begin():
                    yield conn
                    # Hooks may add more hooks (or notes): run until none is left.
                    while hooks := conn.info.pop(_HOOKS, None):
                        for hook in hooks.values():
                            hook(conn)
            finally:
                conn.info.pop(_HOOKS, None)
                conn.info.pop(_SCRATCH, None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with (
            translated_errors(),
            self.engine.connect().execution_options(**{READ_ONLY: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def run(self, work: Callable[[Connection], T]) -> T:
        with self.write() as conn:
            return work(conn)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Driver errors as domain errors, once for every store (the server's, a post node's):
    a full disk is ``StoreFull``, an unreachable or failing database ``StoreUnavailable``."""
    try:
        yield
    except DBAPIError as exc:
        if _disk_full(exc.orig):
            # SQLite's and PostgreSQL's messages here name no host, user or password.
            log.error("store full, write refused: %s", exc.orig)
            raise StoreFull(
                "the store's disk is full: the write was refused and nothing was recorded; "
                "retry once space is freed"
            ) from exc
        if isinstance(exc, OperationalError):
            # The driver's message names hosts and databases: log it, do not answer it.
            _outage.warn(f"database unavailable: {exc.orig}")
            raise StoreUnavailable("the database is unavailable; retry shortly") from exc
        if exc.connection_invalidated:
            _outage.warn("database connection lost")
            raise StoreUnavailable("the database connection was lost") from exc
        raise
    except PoolTimeout as exc:
        # Every pooled connection is busy past the pool's timeout (a frozen or saturated
        # database): the request changed nothing, so it is a 503 to retry, not a 500.
        _outage.warn(f"no database connection free: {exc}")
        raise StoreUnavailable("the database is saturated; retry shortly") from exc


class _OutageLog:
    """One warning per interval while the database is away, with how many were folded in:
    an outage under load fails hundreds of requests a second, and each would log a line."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last = -interval_s
        self._folded = 0

    def warn(self, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self._interval_s:
                self._folded += 1
                return
            folded, self._folded, self._last = self._folded, 0, now
        more = f" ({folded} more since the last report)" if folded else ""
        log.warning("%s%s", message, more)


_outage = _OutageLog()


_PG_DISK_FULL = "53100"  # SQLSTATE disk_full (class 53, insufficient resources)


def _disk_full(orig: BaseException | None) -> bool:
    """Whether the driver's error says the disk (or the database's size cap) is full."""
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)  # maybe extended: the low byte is primary
        return (
            isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL
        ) or "database or disk is full" in str(orig)
    # psycopg 3 names the SQLSTATE ``sqlstate``; psycopg2 named it ``pgcode``.
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate == _PG_DISK_FULL
