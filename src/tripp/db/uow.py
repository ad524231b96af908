"""The unit of work: one transaction per command, rolled back unless committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from tripp.db.engine import READ_ONLY
from tripp.errors import StoreUnavailable

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
        with _translated(), self.engine.connect() as conn:
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
            _translated(),
            self.engine.connect().execution_options(**{READ_ONLY: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def run(self, work: Callable[[Connection], T]) -> T:
        with self.write() as conn:
            return work(conn)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        # The driver's message names hosts and databases: log it, do not answer it.
        log.warning("database unavailable: %s", exc.orig)
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable("the database connection was lost") from exc
        raise
