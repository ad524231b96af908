"""The PostgreSQL engine's sessions: what tripp sets on each connection, and what a URL
may set instead."""

from __future__ import annotations

import time
from datetime import UTC

import pytest
from fastapi.testclient import TestClient
from psycopg.pq import Format
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import OperationalError

from tests.conftest import mint_tokens, reset_postgres
from tests.integration.conftest import Api
from tripp.api.app import create_app
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.db import migrate
from tripp.db.engine import BINARY_RESULTS, make_engine
from tripp.db.tables import movements


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


# --- timeouts ----------------------------------------------------------------------


def _shown(engine: Engine, *names: str) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(conn.exec_driver_sql(f"SHOW {n}").scalar() for n in names)


TIMEOUTS = ("statement_timeout", "idle_in_transaction_session_timeout")


def test_sessions_time_out_stuck_statements_and_idle_transactions(postgres_server: str) -> None:
    engine = make_engine(Settings(database_url=postgres_server))
    try:
        assert _shown(engine, *TIMEOUTS) == ("30s", "5min")
        with engine.connect() as conn:
            parameters = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        # The client side of the socket: a vanished server is noticed within a minute.
        assert parameters["keepalives"] == "1" and parameters["tcp_user_timeout"] == "30000"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("timeout_s", "url_options", "expected"),
    [
        (0, "", ("0", "0")),
        (2.5, "", ("2500ms", "25s")),
        (30, "?options=-c%20statement_timeout%3D7s", ("7s", "5min")),
    ],
)
def test_the_timeout_is_a_setting_and_a_url_may_override_it(
    postgres_server: str, timeout_s: float, url_options: str, expected: tuple[str, str]
) -> None:
    settings = Settings(
        database_url=postgres_server + url_options, db_statement_timeout_s=timeout_s
    )
    engine = make_engine(settings)
    try:
        assert _shown(engine, *TIMEOUTS) == expected
    finally:
        engine.dispose()


def test_migrations_run_without_the_timeout_and_leave_it_in_place(postgres_server: str) -> None:
    reset_postgres(postgres_server)
    w = wire(Settings(database_url=postgres_server, db_statement_timeout_s=0.1))
    try:
        with pytest.raises(OperationalError, match="statement timeout"), w.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_sleep(0.3)")
        with migrate._untimed(w.engine) as conn:  # what upgrade and downgrade run on
            conn.exec_driver_sql("SELECT pg_sleep(0.3)")
        assert _shown(w.engine, *TIMEOUTS) == ("100ms", "1s")
        # A failed migration's connection is dropped, not pooled without its timeout.
        with pytest.raises(ZeroDivisionError), migrate._untimed(w.engine):
            raise ZeroDivisionError
        assert _shown(w.engine, *TIMEOUTS) == ("100ms", "1s")

        w.upgrade()
        with w.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        w.engine.dispose()


def test_a_write_stuck_behind_a_lock_is_cancelled_and_answered_503(postgres_server: str) -> None:
    reset_postgres(postgres_server)
    w = wire(Settings(database_url=postgres_server, db_statement_timeout_s=1, fees_enforced=False))
    w.upgrade()
    tokens = mint_tokens(w)
    locker = create_engine(postgres_server)
    try:
        with TestClient(create_app(w, run_jobs=False), raise_server_exceptions=False) as http:
            api = Api(http, tokens, w.corridor)
            grn = api.guarantee()["grn"]
            r = api.lodge(grn)
            assert r.status_code == 201, r.text
            mrn = r.json()["mrn"]
            with locker.begin() as conn:  # another client holds the movement's row
                conn.execute(select(movements).where(movements.c.mrn == mrn).with_for_update())
                started = time.monotonic()
                r = api.event(mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
                              seals=["AZ-S-1"])  # fmt: skip
                waited = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "Retry-After" in r.headers
            assert 1 <= waited < 10
            # Nothing of the cancelled release was written; once the lock is gone it goes in.
            assert (
                api.call("GET", f"/movements/{mrn}", tokens.carrier).json()["state"] != "released"
            )
            r = api.event(mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
                          seals=["AZ-S-1"])  # fmt: skip
            assert r.status_code == 201, r.text
    finally:
        locker.dispose()
        w.engine.dispose()
