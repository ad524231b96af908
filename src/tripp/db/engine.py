"""Engines for the two supported stores.

SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` for write units of work:
writers queue on the database lock instead of failing on upgrade from a
read lock, which is what makes the guarantee commitment race-free there.
PostgreSQL serialises writers on the guarantee row (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from psycopg.pq import Format
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tripp.config import Settings
from tripp.db import pg_arrays

READ_ONLY = "tripp_read_only"
# Execution option: PostgreSQL sends the rows in binary (tracking's hot statements). Their
# timestamps and floats then need no formatting by the server nor parsing by the driver.
BINARY_RESULTS = "tripp_binary_results"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


_TCP_GUARDS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms that sent data may stay unacknowledged
}


def _session_options(settings: Settings, from_url: str | tuple[str, ...] | None) -> str:
    """The server settings each session starts with; a URL's own ``options`` come last, so
    they win for any setting they name.

    Why UTC: tripp keeps every instant in UTC, and psycopg returns timestamps in the
    session's zone; in UTC they come back as ``datetime.UTC`` itself, which needs no
    conversion, where a server zone such as Etc/UTC cost a conversion per value read (a
    fifth of the work of reading a batch's movements in tracking ingest).

    Why the timeouts: a statement stuck behind a lock, or a transaction left open by a
    client that hung, would otherwise hold its connection, and the rows it locked, for
    ever; the first is cancelled (a 503 to retry, nothing written), the second ended. An
    idle transaction gets ten times as long: tripp's own never wait on anything but the
    database, yet a command-line job may compute between two statements.
    """
    options = ["-c timezone=UTC"]
    if settings.db_statement_timeout_s > 0:
        ms = round(settings.db_statement_timeout_s * 1000)
        options += [
            f"-c statement_timeout={ms}",
            f"-c idle_in_transaction_session_timeout={10 * ms}",
        ]
    if from_url:
        options += [from_url] if isinstance(from_url, str) else list(from_url)
    return " ".join(options)


def make_engine(settings: Settings) -> Engine:
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.database or ":memory:", settings.sqlite_synchronous)
    # Why connect_timeout: while PostgreSQL restarts, connecting is refused at once and the
    # request answers 503; but a host that drops packets (failover, partition) would hold
    # each request's thread for the kernel's TCP timeout (minutes), exhausting the thread
    # pool so that nothing answers at all. A URL's own ?connect_timeout= still wins.
    connect_args: dict[str, Any] = {} if "connect_timeout" in url.query else {"connect_timeout": 5}
    # Why keepalives and a TCP user timeout: a connection whose server vanished (a host
    # down, a network partition) would otherwise wait for an answer for the kernel's two
    # hours, holding its request, or a tracking worker, for as long.
    for name, value in _TCP_GUARDS.items():
        if name not in url.query:
            connect_args[name] = value
    connect_args["options"] = _session_options(settings, url.query.get("options"))
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # Why pre-ping: after a database restart every pooled connection is dead; the ping on
        # checkout finds that and replaces it (and the older ones), so the first requests after
        # recovery succeed instead of failing once per stale connection.
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        pg_arrays.register(dbapi_conn.adapters)

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        _conn: Any, cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        # SQLAlchemy makes a cursor per statement: the format stays with this one.
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = Format.BINARY

    return engine


def _sqlite_engine(path: str, synchronous: str) -> Engine:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=NullPool if path == ":memory:" else None,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to issue.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
