"""Parties and token hashes in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from tripp.db.tables import parties, tokens
from tripp.parties.model import Party, Role


@dataclass(frozen=True)
class TokenRecord:
    id: str
    party_id: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


def insert_party(conn: Connection, party: Party, at: datetime) -> None:
    conn.execute(
        insert(parties),
        [
            {
                "id": party.id,
                "role": party.role.value,
                "country": party.country,
                "name": party.name,
                "created_at": at,
            }
        ],
    )


def _party(row: Row[Any]) -> Party:
    return Party(row.id, Role(row.role), row.country, row.name)


def get_party(conn: Connection, party_id: str) -> Party | None:
    row = conn.execute(select(parties).where(parties.c.id == party_id)).first()
    return _party(row) if row else None


def list_parties(conn: Connection) -> list[Party]:
    return [_party(r) for r in conn.execute(select(parties).order_by(parties.c.id))]


def insert_token(
    conn: Connection,
    *,
    token_id: str,
    party_id: str,
    role: Role,
    digest: str,
    label: str,
    at: datetime,
) -> None:
    conn.execute(
        insert(tokens),
        [
            {
                "id": token_id,
                "party_id": party_id,
                "role": role.value,
                "hash": digest,
                "label": label,
                "created_at": at,
                "revoked_at": None,
            }
        ],
    )


def _token(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        row.id, row.party_id, Role(row.role), row.label, row.created_at, row.revoked_at
    )


def token_by_hash(conn: Connection, digest: str) -> tuple[TokenRecord, Party] | None:
    query = (
        select(tokens, parties.c.country, parties.c.name, parties.c.role.label("party_role"))
        .join(parties, parties.c.id == tokens.c.party_id)
        .where(tokens.c.hash == digest)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return _token(row), Party(row.party_id, Role(row.party_role), row.country, row.name)


def list_tokens(conn: Connection, party_id: str | None = None) -> list[TokenRecord]:
    query = select(tokens).order_by(tokens.c.created_at)
    if party_id is not None:
        query = query.where(tokens.c.party_id == party_id)
    return [_token(r) for r in conn.execute(query)]


def revoke_token(conn: Connection, token_id: str, at: datetime) -> bool:
    result = conn.execute(
        update(tokens)
        .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return result.rowcount == 1
