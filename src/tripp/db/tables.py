"""The schema, as SQLAlchemy Core tables; Alembic migrations mirror it.

Money is kept as integer minor units with its currency: exact on both
stores, unlike SQLite's REAL for NUMERIC.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tripp.db.types import Json, UTCDateTime

metadata = MetaData()

# MRNs and device ids are codes: on PostgreSQL they compare byte by byte (collation "C"),
# which the ingest of positions does in every index probe of a batch; migration 0012 says
# what the locale's collation cost. SQLite compares text that way already.
MRN = String(18).with_variant(String(18, collation="C"), "postgresql")
DEVICE_ID = String(64).with_variant(String(64, collation="C"), "postgresql")

parties = Table(
    "parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("country", String(2)),
    Column("name", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("party_id", String(64), ForeignKey("parties.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

guarantees = Table(
    "guarantees",
    metadata,
    Column("grn", String(24), primary_key=True),
    Column("holder", String(64), ForeignKey("parties.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reference_minor", BigInteger, nullable=False),
    Column("committed_minor", BigInteger, nullable=False),
    Column("issued_by", String(64), ForeignKey("parties.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "committed_minor >= 0 AND committed_minor <= reference_minor",
        name="ck_guarantee_never_over_committed",
    ),
)

movements = Table(
    "movements",
    metadata,
    Column(
        "seq",
        Integer().with_variant(BigInteger, "postgresql"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("mrn", MRN, nullable=False, unique=True),
    Column("holder", String(64), ForeignKey("parties.id"), nullable=False),
    Column("guarantee_grn", String(24), ForeignKey("guarantees.grn"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("declaration", Json, nullable=False),
    Column("liability_minor", BigInteger, nullable=False),
    Column("liability_currency", String(3), nullable=False),
    Column("accepted_at", UTCDateTime, nullable=False),
    Column("released_at", UTCDateTime),
    Column("time_limit", UTCDateTime),
    Column("arrived_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("seals", Json, nullable=False),
    Column("tracker_id", DEVICE_ID),
    Index("ix_movements_holder", "holder"),
    Index("ix_movements_state_time_limit", "state", "time_limit"),
    Index("ix_movements_updated_at", "updated_at"),
)

# One row per office of a movement's itinerary: lets a customs party find the
# movements that touch its country, and the office filter, with plain indexes.
movement_offices = Table(
    "movement_offices",
    metadata,
    Column("mrn", MRN, ForeignKey("movements.mrn"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("office_code", String(8), nullable=False),
    Column("country", String(2), nullable=False),
    Column("role", String(16), nullable=False),
    Index("ix_movement_offices_office", "office_code"),
    Index("ix_movement_offices_country", "country", "mrn"),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq",
        Integer().with_variant(BigInteger, "postgresql"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("id", String(64), nullable=False),
    Column("mrn", MRN, ForeignKey("movements.mrn"), nullable=False),
    Column("type", String(24), nullable=False),
    Column("office", String(8)),
    Column("at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("payload", Json, nullable=False),
    Column("state_before", String(16), nullable=False),
    Column("state_after", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    # The recording authority's Ed25519 signature (tripp.signing), when it has a key.
    Column("signature", String(128)),
    Column("key_id", String(16)),
    Index("ix_events_mrn", "mrn", "seq"),
    # Ids are the client's, unique per movement: one party's ids say nothing of another's.
    UniqueConstraint("mrn", "id", name="uq_events_mrn_id"),
)

idempotency = Table(
    "idempotency_keys",
    metadata,
    Column("party_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("mrn", MRN, ForeignKey("movements.mrn"), nullable=False),
    Column("response", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("mrn", name="uq_idempotency_mrn"),
)


devices = Table(
    "devices",
    metadata,
    Column("id", DEVICE_ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("imei", String(15), unique=True),
    Column("model", String(100)),
    Column("seal_io", Integer),
    Column("registered_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("armed_mrn", MRN, ForeignKey("movements.mrn")),
    Column("armed_at", UTCDateTime),
)

# History: one row per (device, time), which is also how duplicates are dropped.
# On PostgreSQL the migration creates it partitioned by month on ``time``.
positions = Table(
    "positions",
    metadata,
    Column("device_id", DEVICE_ID, primary_key=True),
    Column("time", UTCDateTime, primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("speed_kmh", Float),
    Column("course", Float),
    Column("seal", String(16)),
    Column("attributes", Json, nullable=False),
    Column("mrn", MRN),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_positions_mrn_time", "mrn", "time"),
    Index("ix_positions_received_at", "received_at"),
)

# The latest fix per device, kept apart so "where is it now" never scans history.
latest_positions = Table(
    "latest_positions",
    metadata,
    Column("device_id", DEVICE_ID, primary_key=True),
    Column("time", UTCDateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("speed_kmh", Float),
    Column("course", Float),
    Column("seal", String(16)),
)

monitor_states = Table(
    "monitor_states",
    metadata,
    Column("mrn", MRN, ForeignKey("movements.mrn"), primary_key=True),
    Column("state", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Random per write: a worker's cached copy is current while the version matches.
    Column("version", BigInteger, nullable=False, server_default="0"),
)

alerts = Table(
    "alerts",
    metadata,
    Column(
        "id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True
    ),
    Column("mrn", MRN, ForeignKey("movements.mrn"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("device_id", DEVICE_ID),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("cleared_at", UTCDateTime),
    Column("lon", Float),
    Column("lat", Float),
    Column("country", String(2)),
    Column("details", Json, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_alerts_mrn_kind", "mrn", "kind"),
    # One open alert per kind per movement, whatever the concurrency.
    Index(
        "uq_alerts_open",
        "mrn",
        "kind",
        unique=True,
        postgresql_where=text("cleared_at IS NULL"),
        sqlite_where=text("cleared_at IS NULL"),
    ),
    Index("ix_alerts_raised_at", "raised_at"),
    Index("ix_alerts_recorded_at", "recorded_at"),
)

risk_rulesets = Table(
    "risk_rulesets",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", Json, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

trusted_traders = Table(
    "trusted_traders",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("holder", String(64), primary_key=True),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
)

screenings = Table(
    "screenings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("mrn", MRN, ForeignKey("movements.mrn"), nullable=False),
    Column("office", String(8), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("lane", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("reasons", Json, nullable=False),
    Column("ruleset_country", String(2), nullable=False),
    Column("ruleset_version", Integer, nullable=False),
    Column("draw", Float, nullable=False),
    # The inputs as screened (goods, mass, history, alerts, trust): with the ruleset version
    # and the draw, an auditor can recompute the decision without today's data.
    Column("subject", Json, nullable=False),
    Column("screened_by", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Index("ix_screenings_mrn_office", "mrn", "office", "at"),
)

fee_schedule_sets = Table(
    "fee_schedule_sets",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("body", Json, nullable=False),
    Column("published_by", String(64), nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
)

fees = Table(
    "fees",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("payer", String(64), nullable=False),
    Column("authority", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("paid_from", String(160), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("schedule_id", String(64), nullable=False),
    Column("assessment", Json, nullable=False),
    Column("assessed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("namespace", String(24), nullable=False),
    Column("reference", String(160), nullable=False),
    Column("fee", String(64), nullable=False),
    Column("memo", String(500), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("namespace", "reference", name="uq_ledger_reference"),
    Index("ix_ledger_transactions_at", "at"),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column(
        "seq",
        Integer().with_variant(BigInteger, "postgresql"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("tx_id", String(200), ForeignKey("ledger_transactions.id"), nullable=False),
    Column("account", String(160), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Index("ix_ledger_postings_account", "account", "currency"),
    Index("ix_ledger_postings_tx", "tx_id"),
)

ledger_balances = Table(
    "ledger_balances",
    metadata,
    Column("account", String(160), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("balance_minor", BigInteger, nullable=False),
    # A prepaid account holds the carrier's money: a credit balance, never a debit.
    CheckConstraint(
        "account NOT LIKE 'carrier:%:prepaid' OR balance_minor <= 0",
        name="ck_prepaid_not_overdrawn",
    ),
)

vehicle_announcements = Table(
    "vehicle_announcements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vehicle_id", String(64), nullable=False),
    Column("vehicle_class", String(24), nullable=False),
    Column("office", String(8), nullable=False),
    Column("carrier", String(64), nullable=False),
    Column("expected_at", UTCDateTime),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A repeated id with another body is refused rather than answered as the first.
    Column("request_hash", String(64), nullable=False),
)

travellers = Table(
    "travellers",
    metadata,
    Column(
        "id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True
    ),
    Column("announcement_id", String(64), ForeignKey("vehicle_announcements.id"), nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("identity", Json),  # document and person: emptied by the purge job
    Column("outcome", String(8), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("reasons", Json, nullable=False),
    Column("matches", Json, nullable=False),
    Column("final_outcome", String(12)),
    Column("officer", String(64)),
    Column("note", String(2000)),
    Column("decided_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("purged_at", UTCDateTime),
    Index("ix_travellers_announcement", "announcement_id", "row_no"),
    Index("ix_travellers_created", "created_at"),
)

watchlist_entries = Table(
    "watchlist_entries",
    metadata,
    Column(
        "seq",
        Integer().with_variant(BigInteger, "postgresql"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("entry_id", String(64), nullable=False, unique=True),
    Column("surname", String(100), nullable=False),
    Column("given_names", String(200), nullable=False),
    Column("birth_date", Date),
    Column("nationality", String(3)),
    Column("list_id", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)

# The audit log's hash chain (tripp.audit): seq is assigned by the appender under the head
# row's lock, never by the database, so the chain has no gaps a rollback could leave.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("party", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    # The detail's canonical JSON text, kept byte for byte as hashed.
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_subject", "subject", "seq"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Public halves of the parties' signing keys (tripp.signing); the private halves never
# enter the database.
party_keys = Table(
    "party_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("party", String(64), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
