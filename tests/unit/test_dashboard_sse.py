"""Server-Sent Events framing, the stream's cursor and the tail's window (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.dashboard import sse
from tripp.dashboard.tail import Tail, newest_by, watermark_after
from tripp.errors import InvalidInput

T0 = datetime(2026, 3, 1, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


def parse(frame: bytes) -> dict[str, str]:
    """A minimal client: the fields of one event."""
    assert frame.endswith(b"\n\n")
    fields: dict[str, str] = {}
    for line in frame[:-2].decode().split("\n"):
        name, _, value = line.partition(": ")
        fields[name] = fields[name] + "\n" + value if name in fields else value
    return fields


@given(st.dictionaries(st.text(), json_values, max_size=5), st.text(alphabet="abcXYZ09-_"))
def test_an_event_is_one_data_line_a_client_reads_back(
    data: dict[str, object], cursor: str
) -> None:
    frame = sse.event("position", data, cursor)
    assert frame.count(b"\n\n") == 1
    fields = parse(frame)
    assert fields["event"] == "position" and fields["id"] == cursor
    assert json.loads(fields["data"]) == data


def test_comments_and_retry() -> None:
    assert sse.comment("keepalive") == b": keepalive\n\n"
    assert sse.retry(2000) == b"retry: 2000\n\n"
    with pytest.raises(ValueError, match="one line"):
        sse.comment("a\nb")
    with pytest.raises(ValueError, match="event_id"):
        sse.event("alert", {}, "a\nid: b")
    with pytest.raises(ValueError, match="name"):
        sse.event("Bad Name", {})


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_a_cursor_round_trips(at: datetime) -> None:
    token = sse.encode_cursor(at)
    assert sse.decode_cursor(token) == at
    assert "=" not in token and "/" not in token and "+" not in token


@pytest.mark.parametrize("token", ["", "x", "c2VxOjE", "ZGFzaDE6LTE", "ZGFzaDE6YWJj", "A" * 100])
def test_foreign_cursors_are_refused(token: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sse.decode_cursor(token, "Last-Event-ID")
    assert caught.value.errors[0].field == "Last-Event-ID"


def test_the_tail_sends_each_key_once_within_its_window() -> None:
    tail = Tail(T0, overlap=timedelta(seconds=5))
    assert tail.scan_from == T0 - timedelta(seconds=5)
    assert tail.fresh("a", T0 + timedelta(seconds=1))
    assert not tail.fresh("a", T0 + timedelta(seconds=1))
    tail.advance(T0 + timedelta(seconds=2))
    assert tail.watermark == T0 + timedelta(seconds=2) and tail.remembered == 1
    tail.advance(T0 + timedelta(seconds=10))
    assert tail.remembered == 0  # out of the window: the look no longer returns it
    tail.advance(T0)  # never back
    assert tail.watermark == T0 + timedelta(seconds=10)


def test_the_tail_wants_aware_times() -> None:
    with pytest.raises(ValueError, match="watermark"):
        Tail(datetime(2026, 1, 1))


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 100), st.integers()), max_size=30))
def test_coalescing_keeps_the_latest_per_key(rows: list[tuple[str, int, int]]) -> None:
    timed = [(k, T0 + timedelta(seconds=s), v) for k, s, v in rows]
    best = newest_by(timed)
    assert set(best) == {k for k, _, _ in rows}
    for key, (at, _) in best.items():
        assert at == max(t for k, t, _ in timed if k == key)


def test_a_source_cut_at_its_limit_holds_the_watermark() -> None:
    stamps = {"positions": [T0, T0 + timedelta(seconds=1)], "alerts": [T0 + timedelta(seconds=9)]}
    assert watermark_after(stamps, []) == T0 + timedelta(seconds=9)
    assert watermark_after(stamps, ["positions"]) == T0 + timedelta(seconds=1)
    assert watermark_after({"positions": []}, []) is None
