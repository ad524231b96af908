"""A hash chain of audit entries, and its verification (pure, no I/O).

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical body
(its sequence number, time, actor, action, subject and detail, as sorted-key JSON). An
entry altered in any field no longer matches its hash; one altered *and* rehashed no longer
matches the link its successor holds; a removed entry leaves a gap in the sequence; a
reordered one links to a predecessor other than the entry before it. Only the last entries
can vanish without a trace inside the log itself, which is why the head (sequence number
and hash) is exported and signed: a kept head proves every entry up to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True)
class Note:
    """What a service asks to be logged; it becomes an Entry when its transaction commits."""

    action: str  # e.g. "movement.release", "screening", "read.movement"
    subject: str  # what it is about: an MRN, an office, a party
    party: str  # who did it
    role: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    action: str
    subject: str
    party: str
    role: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


START = Head(0, GENESIS)


def body(seq: int, at: datetime, note: Note) -> bytes:
    """The canonical bytes an entry's hash covers (microsecond UTC time, sorted keys)."""
    return orjson.dumps(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": note.action,
            "subject": note.subject,
            "party": note.party,
            "role": note.role,
            "detail": note.detail,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def digest(prev_hash: str, seq: int, at: datetime, note: Note) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body(seq, at, note)).hexdigest()


def link(head: Head, notes: Iterable[Note], at: datetime) -> list[Entry]:
    """The entries ``notes`` become when appended after ``head`` at time ``at``."""
    entries = []
    for note in notes:
        seq = head.seq + 1
        h = digest(head.hash, seq, at, note)
        entries.append(Entry(seq, at, note.action, note.subject, note.party, note.role,
                             note.detail, head.hash, h))  # fmt: skip
        head = Head(seq, h)
    return entries


def as_note(entry: Entry) -> Note:
    return Note(entry.action, entry.subject, entry.party, entry.role, entry.detail)


@dataclass(frozen=True)
class Break:
    """The first entry that fails verification, and why."""

    seq: int
    problem: str  # altered | removed | reordered | truncated
    message: str


@dataclass(frozen=True)
class Verdict:
    checked: int
    head: Head
    first_bad: Break | None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def verify(entries: Iterable[Entry], known_heads: Iterable[Head] = ()) -> Verdict:
    """Check ``entries`` (in sequence order, as stored) from the genesis.

    ``known_heads`` are heads kept elsewhere (the stored head row, exported signed heads):
    each must be found in the chain with its hash, else entries at or before it were removed
    or rewritten.
    """
    ordered = list(entries)
    position = {e.hash: e.seq for e in ordered}
    head = START
    checked = 0
    for entry in ordered:
        problem = _check(entry, head, position)
        if problem is not None:
            return Verdict(checked, head, problem)
        head = Head(entry.seq, entry.hash)
        checked += 1
    hashes = {e.seq: e.hash for e in ordered}
    for kept in sorted(known_heads, key=lambda h: h.seq):
        if kept.seq > head.seq:
            return Verdict(checked, head, Break(head.seq + 1, "truncated",
                f"the log ends at entry {head.seq} but a kept head names entry {kept.seq}: "
                f"entries {head.seq + 1}..{kept.seq} were removed"))  # fmt: skip
        if kept.seq > 0 and hashes.get(kept.seq) != kept.hash:
            return Verdict(checked, head, Break(kept.seq, "altered",
                f"entry {kept.seq} is not the one a kept head certifies: the log was "
                "rewritten up to it"))  # fmt: skip
    return Verdict(checked, head, None)


def _check(entry: Entry, head: Head, position: Mapping[str, int]) -> Break | None:
    expected = head.seq + 1
    if entry.seq > expected:
        return Break(expected, "removed", f"entries {expected}..{entry.seq - 1} are missing "
                     f"(entry {entry.seq} follows entry {head.seq})")  # fmt: skip
    if entry.seq < expected:
        return Break(entry.seq, "reordered", f"entry {entry.seq} appears again after entry "
                     f"{head.seq}")  # fmt: skip
    if entry.prev_hash != head.hash:
        elsewhere = position.get(entry.prev_hash)
        if elsewhere is not None and elsewhere != head.seq:
            return Break(entry.seq, "reordered", f"entry {entry.seq} links to entry "
                         f"{elsewhere}, not to entry {head.seq} before it")  # fmt: skip
        return Break(head.seq if head.seq else entry.seq, "altered",
                     f"entry {entry.seq} does not link to entry {head.seq}: entry {head.seq} "
                     "was altered and rehashed, or replaced")  # fmt: skip
    if digest(entry.prev_hash, entry.seq, entry.at, as_note(entry)) != entry.hash:
        return Break(entry.seq, "altered", f"entry {entry.seq}'s content does not match "
                     "its hash")  # fmt: skip
    return None
