"""The PostgreSQL engine's sessions: what tripp sets on each connection, and what a URL
may set instead."""

from __future__ import annotations

from datetime import UTC

from psycopg.pq import Format

from tripp.config import Settings
from tripp.db.engine import BINARY_RESULTS, make_engine


def test_sessions_are_in_utc_so_timestamps_come_back_in_utc(postgres_server: str) -> None:
    engine = make_engine(Settings(database_url=postgres_server))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "UTC"
            value = conn.exec_driver_sql("SELECT '2026-01-01 12:00+04'::timestamptz").scalar()
    finally:
        engine.dispose()
    # The same object, not an equal zone: tracking skips the conversion on that test.
    assert value.tzinfo is UTC and value.hour == 8


def test_options_in_the_url_win(postgres_server: str) -> None:
    url = postgres_server + "?options=-c%20timezone%3DAsia/Baku"
    engine = make_engine(Settings(database_url=url))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "Asia/Baku"
    finally:
        engine.dispose()


def test_a_statement_may_ask_for_its_rows_in_binary(postgres_server: str) -> None:
    engine = make_engine(Settings(database_url=postgres_server))
    query = "SELECT '2026-01-01 12:00+04'::timestamptz, 1.5::float8, 'x'::varchar, NULL::int8"
    try:
        with engine.connect() as conn:
            binary = conn.exec_driver_sql(query, execution_options={BINARY_RESULTS: True})
            assert binary.cursor.format == Format.BINARY
            got = binary.one()
            text = conn.exec_driver_sql(query)  # the next statement's cursor is its own
            assert text.cursor.format == Format.TEXT
            assert tuple(text.one()) == tuple(got)
    finally:
        engine.dispose()
    assert got[0].tzinfo is UTC and got[0].hour == 8 and tuple(got[1:]) == (1.5, "x", None)
