"""Parties and bearer tokens: minting, lookup, revocation.

A token is shown once, at creation; only its SHA-256 is stored. Tokens carry
256 random bits, so a fast hash is enough (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthenticated
from tripp.parties import store
from tripp.parties.model import Actor, Party, Role
from tripp.parties.store import TokenRecord

TOKEN_PREFIX = "tripp"

Clock = Callable[[], datetime]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_party(uow: UnitOfWork, party: Party, now: datetime) -> Party:
    try:
        with uow.write() as conn:
            store.insert_party(conn, party, now)
            audit.note(conn, "party.add", party.id, "SYSTEM", "admin",
                       {"role": party.role.value, "country": party.country}, lambda: now)  # fmt: skip
    except IntegrityError as exc:
        raise Conflict(f"party {party.id} exists already") from exc
    return party


def list_parties(uow: UnitOfWork) -> list[Party]:
    with uow.read() as conn:
        return store.list_parties(conn)


def create_token(
    uow: UnitOfWork, *, party_id: str, role: Role, label: str, now: datetime
) -> tuple[str, TokenRecord]:
    """Mint a token for ``party_id`` acting as ``role``; returns (secret, record)."""
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    with uow.write() as conn:
        party = store.get_party(conn, party_id)
        if party is None:
            raise NotFound(f"party {party_id} does not exist; add it with 'tripp party add'")
        if party.role is not role:
            raise InvalidInput(
                [
                    FieldError(
                        "role",
                        f"party {party_id} acts as {party.role}, not {role}",
                        "role-of-party",
                    )
                ]
            )
        store.insert_token(
            conn,
            token_id=token_id,
            party_id=party_id,
            role=role,
            digest=digest(secret),
            label=label,
            at=now,
        )
        # The token's id and label only: never its secret or digest.
        audit.note(conn, "token.create", party_id, "SYSTEM", "admin",
                   {"token": token_id, "role": role.value, "label": label}, lambda: now)  # fmt: skip
    return secret, TokenRecord(token_id, party_id, role, label, now, None)


def list_tokens(uow: UnitOfWork, party_id: str | None = None) -> list[TokenRecord]:
    with uow.read() as conn:
        return store.list_tokens(conn, party_id)


def revoke_token(uow: UnitOfWork, token_id: str, now: datetime) -> None:
    with uow.write() as conn:
        if not store.revoke_token(conn, token_id, now):
            raise NotFound(f"no active token {token_id}")
        audit.note(conn, "token.revoke", token_id, "SYSTEM", "admin", {}, lambda: now)


def authenticate(uow: UnitOfWork, token: str) -> Actor:
    """The actor a bearer token stands for; Unauthenticated if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX + "_"):
        raise Unauthenticated("the bearer token is not a tripp token")
    with uow.read() as conn:
        found = store.token_by_hash(conn, digest(token))
    if found is None or found[0].revoked_at is not None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    record, party = found
    return Actor(party=party.id, role=record.role, country=party.country)
