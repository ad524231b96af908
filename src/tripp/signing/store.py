"""The published public keys (table ``party_keys``): anyone verifying needs only these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from tripp.db.tables import party_keys
from tripp.signing.keys import KeyPair


def publish(conn: Connection, pair: KeyPair, at: datetime) -> None:
    conn.execute(insert(party_keys), [{"key_id": pair.key_id, "party": pair.party,
                                       "public_key": pair.public_b64, "created_at": at}])  # fmt: skip


def public_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(party_keys).order_by(party_keys.c.party, party_keys.c.created_at))
    return [{"key_id": r.key_id, "party": r.party, "public_key": r.public_key,
             "created_at": r.created_at.isoformat()} for r in rows]  # fmt: skip
