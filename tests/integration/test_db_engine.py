"""The PostgreSQL engine's sessions: what tripp sets on each connection, and what a URL
may set instead."""

from __future__ import annotations

from datetime import UTC

from tripp.config import Settings
from tripp.db.engine import make_engine


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
