"""``db.pg_arrays``: what PostgreSQL reads out of each encoded array is what was encoded."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tripp.config import Settings
from tripp.db import pg_arrays
from tripp.db.engine import make_engine

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=4)), timezone(timedelta(hours=-9, minutes=-30))]
)
# PostgreSQL text holds any character but NUL; UTF-8 holds none of the lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@pytest.fixture(scope="module")
def engine(postgres_server: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=postgres_server))
    yield engine
    engine.dispose()


def _read_back(engine: Engine, encoded: pg_arrays.EncodedArray, cast: str) -> list[Any]:
    with engine.connect() as conn:
        value = conn.exec_driver_sql(f"SELECT %(a)b::{cast}", {"a": encoded}).scalar()
    assert isinstance(value, list)
    return value


def _same_floats(got: Sequence[float | None], sent: Sequence[float | None]) -> bool:
    return len(got) == len(sent) and all(
        (g is None and s is None)
        or (g is not None and s is not None and (g == s or (math.isnan(g) and math.isnan(s))))
        for g, s in zip(got, sent, strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | TEXT, max_size=30))
def test_text_arrays(engine: Engine, values: list[str | None]) -> None:
    assert _read_back(engine, pg_arrays.text_array(values), "text[]") == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.floats() | st.integers(-(2**53), 2**53), max_size=30))
def test_float8_arrays_send_none_as_null_and_nan_as_nan(
    engine: Engine, values: list[float | None]
) -> None:
    got = _read_back(engine, pg_arrays.float8_array(values), "float8[]")
    assert _same_floats(got, [None if v is None else float(v) for v in values])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), max_size=30))
def test_int8_arrays(engine: Engine, values: list[int | None]) -> None:
    assert _read_back(engine, pg_arrays.int8_array(values), "int8[]") == values


@settings(max_examples=30, deadline=None)
@given(st.lists(st.none() | st.booleans(), max_size=30))
def test_bool_arrays(engine: Engine, values: list[bool | None]) -> None:
    assert _read_back(engine, pg_arrays.bool_array(values), "bool[]") == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(timezones=ZONES), max_size=30))
def test_timestamptz_arrays_keep_the_instant(engine: Engine, values: list[datetime]) -> None:
    got = _read_back(engine, pg_arrays.timestamptz_array(values), "timestamptz[]")
    assert got == values  # aware datetimes compare by instant
    assert all(g.tzinfo is UTC for g in got)


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(TypeError):
        pg_arrays.timestamptz_array([datetime(2026, 1, 1)])  # naive on purpose


@pytest.mark.parametrize(
    ("encode", "cast"),
    [
        (pg_arrays.text_array, "text[]"),
        (pg_arrays.float8_array, "float8[]"),
        (pg_arrays.int8_array, "int8[]"),
        (pg_arrays.bool_array, "bool[]"),
        (pg_arrays.timestamptz_array, "timestamptz[]"),
    ],
)
def test_empty_arrays(engine: Engine, encode: Callable[[list[Any]], Any], cast: str) -> None:
    assert _read_back(engine, encode([]), cast) == []
