"""Registering and reading guarantees, scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.codes.currency import is_currency, minor_units
from tripp.codes.grn import new_grn
from tripp.corridor.model import Corridor
from tripp.db.uow import UnitOfWork
from tripp.errors import FieldError, Forbidden, InvalidInput, NotFound
from tripp.guarantees import store
from tripp.guarantees.model import Guarantee
from tripp.movements.declaration import currency_errors
from tripp.parties import store as parties
from tripp.parties.model import Actor, Role

_ISSUERS = (Role.ADMIN, Role.CUSTOMS)


def can_see(actor: Actor, g: Guarantee) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.CARRIER:
        return g.holder == actor.party
    return actor.role is Role.CUSTOMS and g.issued_by == actor.party


def _amount_errors(amount: Decimal, currency: str) -> list[FieldError]:
    errors = []
    if amount <= 0:
        errors.append(FieldError("reference_amount", f"{amount} must be > 0", "amount-positive"))
    elif is_currency(currency) and -int(amount.as_tuple().exponent) > minor_units(currency):
        errors.append(
            FieldError(
                "reference_amount",
                f"{amount} has more decimals than {currency} allows",
                "value-precision",
            )
        )
    return errors


def register(
    uow: UnitOfWork,
    corridor: Corridor,
    actor: Actor,
    *,
    holder: str,
    reference_amount: Decimal,
    currency: str,
    now: datetime,
) -> Guarantee:
    """Register a guarantee accepted by the caller's customs authority."""
    if actor.role not in _ISSUERS:
        raise Forbidden(f"{actor.role} parties do not register guarantees; customs does")
    errors = [
        *currency_errors("currency", currency, corridor),
        *_amount_errors(reference_amount, currency),
    ]
    for _attempt in range(3):
        try:
            with uow.write() as conn:
                g = _new_guarantee(conn, actor, holder, reference_amount, currency, now, errors)
                store.insert_guarantee(conn, g)
                audit.note(conn, "guarantee.register", g.grn, actor.party, actor.role,
                           {"holder": holder, "amount": str(reference_amount),
                            "currency": currency}, lambda: now)  # fmt: skip
            return g
        except IntegrityError:
            continue  # a GRN collision: draw another
    raise RuntimeError("could not draw a unique GRN in 3 attempts")


def _new_guarantee(
    conn: Connection,
    actor: Actor,
    holder: str,
    reference_amount: Decimal,
    currency: str,
    now: datetime,
    errors: list[FieldError],
) -> Guarantee:
    holder_party = parties.get_party(conn, holder)
    if holder_party is None:
        errors = [*errors, FieldError("holder", f"party {holder} does not exist", "party-unknown")]
    if errors or holder_party is None:
        raise InvalidInput(errors)
    country = actor.country or holder_party.country or "ZZ"
    return Guarantee(
        grn=new_grn(year=now.year, country=country),
        holder=holder,
        reference_amount=reference_amount,
        committed=Decimal(0),
        currency=currency,
        issued_by=actor.party,
        created_at=now,
    )


def get(uow: UnitOfWork, actor: Actor, grn: str) -> Guarantee:
    if actor.role in (Role.OPERATOR, Role.OBSERVER):
        raise Forbidden(f"{actor.role} parties do not see guarantees")
    with uow.read() as conn:
        g = store.get_guarantee(conn, grn)
    if g is None or not can_see(actor, g):
        raise NotFound(f"no guarantee {grn}")
    return g
