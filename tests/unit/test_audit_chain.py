"""The hash chain names the first altered, removed, reordered or truncated entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tripp.audit.chain import START, Entry, Head, Note, link, verify

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def chain(n: int) -> list[Entry]:
    entries: list[Entry] = []
    head = START
    for i in range(n):
        note = Note(f"movement.e{i}", f"MRN{i % 3}", "AM-CUSTOMS", "customs", {"i": i, "x": [i]})
        entries += link(head, [note], T0 + timedelta(seconds=i))
        head = Head(entries[-1].seq, entries[-1].hash)
    return entries


def test_an_untouched_chain_verifies() -> None:
    entries = chain(20)
    verdict = verify(entries, [Head(20, entries[-1].hash)])
    assert verdict.ok and verdict.checked == 20 and verdict.head.seq == 20


def test_an_empty_chain_verifies() -> None:
    assert verify([]).ok


FIELDS = {
    "at": lambda e: replace(e, at=e.at + timedelta(microseconds=1)),
    "action": lambda e: replace(e, action=e.action + "x"),
    "subject": lambda e: replace(e, subject="OTHER"),
    "party": lambda e: replace(e, party="AZ-CUSTOMS"),
    "role": lambda e: replace(e, role="admin"),
    "detail": lambda e: replace(e, detail={**e.detail, "i": -1}),
    "hash": lambda e: replace(e, hash="f" * 64),
}


@given(n=st.integers(2, 30), data=st.data(), field=st.sampled_from(sorted(FIELDS)))
def test_any_altered_field_is_named_at_its_entry(n: int, data: st.DataObject, field: str) -> None:
    entries = chain(n)
    k = data.draw(st.integers(0, n - 1))
    entries[k] = FIELDS[field](entries[k])
    verdict = verify(entries)
    assert verdict.first_bad is not None
    assert verdict.first_bad.seq == k + 1
    assert verdict.first_bad.problem == "altered"
    assert verdict.checked == k


@given(n=st.integers(3, 30), data=st.data())
def test_altered_and_rehashed_is_named_by_its_successor_s_link(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    k = data.draw(st.integers(0, n - 2))
    forged = link(Head(k, entries[k].prev_hash),
                  [Note("forged", "MRN0", "AM-CUSTOMS", "customs", {})], entries[k].at)[0]  # fmt: skip
    entries[k] = forged
    verdict = verify(entries)
    assert verdict.first_bad is not None and verdict.first_bad.seq == k + 1
    assert verdict.first_bad.problem == "altered"


@given(n=st.integers(3, 30), data=st.data())
def test_a_removed_entry_is_named(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    k = data.draw(st.integers(0, n - 2))
    del entries[k]
    verdict = verify(entries)
    assert verdict.first_bad is not None
    assert (verdict.first_bad.seq, verdict.first_bad.problem) == (k + 1, "removed")


@given(n=st.integers(3, 30), data=st.data())
def test_two_swapped_entries_are_named_as_reordered(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    k = data.draw(st.integers(0, n - 2))
    # As an UPDATE swapping their sequence numbers leaves them, read back in seq order.
    a, b = entries[k], entries[k + 1]
    entries[k], entries[k + 1] = replace(b, seq=a.seq), replace(a, seq=b.seq)
    verdict = verify(entries)
    assert verdict.first_bad is not None
    assert (verdict.first_bad.seq, verdict.first_bad.problem) == (k + 1, "reordered")


def test_removing_the_newest_entries_shows_against_a_kept_head() -> None:
    entries = chain(10)
    kept = Head(10, entries[-1].hash)
    verdict = verify(entries[:7], [kept])
    assert verdict.first_bad is not None
    assert (verdict.first_bad.seq, verdict.first_bad.problem) == (8, "truncated")


def test_a_rewritten_log_fails_a_kept_head_even_when_it_chains() -> None:
    entries = chain(10)
    kept = Head(5, entries[4].hash)
    rewritten = chain(3) + link(Head(3, chain(3)[-1].hash),
                                [Note("other", "S", "P", "r", {})] * 7, T0)  # fmt: skip
    verdict = verify(rewritten, [kept])
    assert verdict.first_bad is not None
    assert (verdict.first_bad.seq, verdict.first_bad.problem) == (5, "altered")
