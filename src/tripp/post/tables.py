"""The node's own SQLite schema, created on start (the node has no migrations: its store
is a cache plus an outbox, and a new release may add tables, never change these).

Times are RFC 3339 text in UTC (``...Z``), which sorts as time does. JSON columns hold
the upstream's items and answers as received, and the exact bodies the node pushes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Node identity: the office whose store this is, and the office's country once known.
meta = Table(
    "meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

# The mirror of GET /offices/{code}/expected. An item that drops off the list stays with
# listed = false: the officer may still record an inspection on a movement that passed.
expected = Table(
    "expected",
    metadata,
    Column("mrn", String(18), primary_key=True),
    Column("item", Text, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Column("pulled_at", String(32), nullable=False),
)

rulesets = Table(
    "rulesets",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("pulled_at", String(32), nullable=False),
)

# The node's decisions; their push state is in the outbox (kind screening).
screenings = Table(
    "screenings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("mrn", String(18), nullable=False),
    Column("lane", String(8), nullable=False),
    Column("basis", String(16), nullable=False),
    Column("ruleset_country", String(2), nullable=False),
    Column("ruleset_version", Integer, nullable=False),
    Column("draw", Float, nullable=False),
    Column("at", String(32), nullable=False),
    Column("request", Text, nullable=False),  # what was scanned: a repeated id must match it
    Column("answer", Text, nullable=False),  # the node's answer, replayed for a repeated id
)

# Everything recorded, in recording order (seq). The body is stored once and sent as is
# on every attempt, so the upstream sees the same request each time and replays it.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("ref_id", String(64), nullable=False),
    Column("mrn", String(18), nullable=False),
    Column("event_type", String(24)),
    Column("inspection_kind", String(16)),
    Column("body", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("upstream_status", Integer),
    Column("upstream_answer", Text),
    Column("synced_at", String(32)),
    Column("conflict", Text),  # why, in words, for the officer
    Column("acknowledged_at", String(32)),
    UniqueConstraint("kind", "mrn", "ref_id", name="uq_outbox_ref"),
    Index("ix_outbox_status", "status", "kind", "seq"),
    Index("ix_outbox_mrn", "mrn", "seq"),
    sqlite_autoincrement=True,  # a sequence number is never reused
)

sync_log = Table(
    "sync_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32), nullable=False),
    Column("reachable", Boolean, nullable=False),
    Column("pushed", Integer, nullable=False),
    Column("conflicts", Integer, nullable=False),
    Column("pulled", Integer, nullable=False),
    Column("error", Text),
    sqlite_autoincrement=True,
)
