"""Lodging declarations, one at a time or as a batch in one unit of work.

A batch is how tripp keeps up under load: the HTTP layer groups declarations
that arrive together (``tripp.api.batching``) and this module accepts them in
one transaction, one commit, with ``executemany`` inserts. Each declaration
is still decided alone, in arrival order, against the guarantee as the
earlier ones left it; a refused one writes nothing and does not disturb the
others. A single declaration is a batch of one: there is one code path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.codes.mrn import new_mrn
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput, TrippError
from tripp.guarantees import store as guarantees
from tripp.guarantees.model import Guarantee
from tripp.movements import store
from tripp.movements.declaration import Declaration, validate_declaration
from tripp.movements.liability import liability
from tripp.movements.model import Movement
from tripp.movements.service import Context
from tripp.movements.store import IdempotentAnswer
from tripp.parties.model import Actor, Role

Render = Callable[[Movement], dict[str, Any]]
_ATTEMPTS = 4


@dataclass(frozen=True)
class LodgeRequest:
    actor: Actor
    declaration: Declaration
    idempotency_key: str | None
    request_hash: str


@dataclass(frozen=True)
class Lodged:
    response: dict[str, Any]
    created: bool


Outcome = Lodged | TrippError


def lodge(ctx: Context, request: LodgeRequest, *, render: Render) -> Lodged:
    """Accept one declaration: validate, commit its liability, allocate the MRN.

    With an idempotency key, a repeat of the same request returns the first
    answer (``created`` False); the same key on another request is refused.
    """
    outcome = lodge_batch(ctx, [request], render=render)[0]
    if isinstance(outcome, TrippError):
        raise outcome
    return outcome


def lodge_batch(ctx: Context, requests: Sequence[LodgeRequest], *, render: Render) -> list[Outcome]:
    """Decide every request; accepted ones are committed together, in one transaction."""
    outcomes: list[Outcome | None] = [_refusal(r) for r in requests]
    pending = [i for i, o in enumerate(outcomes) if o is None]
    for _attempt in range(_ATTEMPTS):
        try:
            with ctx.uow.write() as conn:
                decided = _decide_all(conn, ctx, [requests[i] for i in pending], render)
            break
        except IntegrityError:
            # An MRN drawn twice, or an idempotency key lodged at the same moment by
            # another process: deciding again draws new MRNs and finds stored answers.
            if len(pending) > 1:
                for i in pending:
                    outcomes[i] = _one(ctx, requests[i], render)
                return [o for o in outcomes if o is not None]
    else:
        decided = [Conflict("the declaration could not be stored; retry it")] * len(pending)
    for i, outcome in zip(pending, decided, strict=True):
        outcomes[i] = outcome
    return [o for o in outcomes if o is not None]


def _one(ctx: Context, request: LodgeRequest, render: Render) -> Outcome:
    try:
        return lodge(ctx, request, render=render)
    except TrippError as exc:
        return exc


def _refusal(r: LodgeRequest) -> TrippError | None:
    if r.actor.role not in (Role.CARRIER, Role.ADMIN):
        return Forbidden(f"{r.actor.role} parties do not lodge declarations; carriers do")
    if r.actor.role is Role.CARRIER and r.declaration.holder != r.actor.party:
        return Forbidden(
            f"{r.actor.party} may lodge only its own declarations, not {r.declaration.holder}'s"
        )
    return None


@dataclass
class _Batch:
    """What a batch will write once every request is decided."""

    movements: list[Movement]
    answers: dict[tuple[str, str], IdempotentAnswer]
    new_keys: list[tuple[str, str]]
    lodged_by: list[Actor] = field(default_factory=list)  # beside ``movements``
    hashes: dict[str, str] = field(default_factory=dict)  # MRN -> request hash


def _decide_all(
    conn: Connection, ctx: Context, requests: list[LodgeRequest], render: Render
) -> list[Outcome]:
    if not requests:
        return []
    held = guarantees.lock_guarantees(conn, sorted({r.declaration.guarantee for r in requests}))
    keys = [(r.actor.party, r.idempotency_key) for r in requests if r.idempotency_key]
    batch = _Batch([], store.get_idempotent_many(conn, keys), [])
    now = ctx.clock()
    outcomes = [_decide(ctx, r, held, batch, render, now) for r in requests]
    store.insert_movements(conn, batch.movements, ctx.corridor)
    touched = {m.guarantee for m in batch.movements}
    guarantees.save_committed_many(conn, [held[g] for g in sorted(touched)], now)
    store.put_idempotent_many(conn, [(k, batch.answers[k]) for k in batch.new_keys], now)
    for movement, actor in zip(batch.movements, batch.lodged_by, strict=True):
        audit.note(conn, "movement.lodge", movement.mrn, actor.party, actor.role,
                   {"guarantee": movement.guarantee, "holder": movement.holder,
                    "request_hash": batch.hashes[movement.mrn]}, ctx.clock)  # fmt: skip
    return outcomes


def _decide(
    ctx: Context,
    r: LodgeRequest,
    held: dict[str, Guarantee],
    batch: _Batch,
    render: Render,
    now: Any,
) -> Outcome:
    key = (r.actor.party, r.idempotency_key) if r.idempotency_key else None
    if key is not None and key in batch.answers:
        return _replay(batch.answers[key], key[1], r.request_hash)
    try:
        movement = _accept(ctx, r.declaration, held.get(r.declaration.guarantee), now)
    except TrippError as exc:
        return exc
    batch.movements.append(movement)
    batch.lodged_by.append(r.actor)
    batch.hashes[movement.mrn] = r.request_hash
    response = render(movement)
    if key is not None:
        batch.answers[key] = IdempotentAnswer(r.request_hash, movement.mrn, response)
        batch.new_keys.append(key)
    return Lodged(response, created=True)


def _replay(answer: IdempotentAnswer, key: str, request_hash: str) -> Outcome:
    if answer.request_hash != request_hash:
        return InvalidInput(
            [
                FieldError(
                    "Idempotency-Key",
                    f"key {key!r} was used for a different declaration",
                    "idempotency-key-reused",
                )
            ]
        )
    return Lodged(answer.response, created=False)


def _accept(
    ctx: Context, declaration: Declaration, guarantee: Guarantee | None, now: Any
) -> Movement:
    validate_declaration(
        declaration, ctx.corridor, guarantee_holder=guarantee.holder if guarantee else None
    )
    assert guarantee is not None  # validation refuses an unknown guarantee
    amount = liability(declaration.goods, ctx.corridor, guarantee.currency)
    guarantee.commit(amount)
    departure = ctx.corridor.offices[declaration.office_of_departure]
    return Movement(
        mrn=new_mrn(year=now.year, country=departure.country),
        holder=declaration.holder,
        declaration=declaration,
        liability=amount,
        liability_currency=guarantee.currency,
        accepted_at=now,
        updated_at=now,
    )
