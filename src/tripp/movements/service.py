"""Use cases on movements: record events, read, and the overdue job (lodging: ``lodging``).

Each function is one unit of work. Domain rules live in ``model``,
``declaration``, ``policy`` and ``liability``; this module loads, decides
through them, and stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.border.service import crossing_block
from tripp.corridor.model import Corridor
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from tripp.fees.desk import fee_cancel, fee_gate
from tripp.guarantees import store as guarantees
from tripp.movements import policy, store
from tripp.movements.model import (
    FINAL_STATES,
    RELEASES_GUARANTEE,
    UNDER_WAY,
    EventType,
    IllegalTransition,
    Movement,
    MovementEvent,
)
from tripp.movements.store import MovementFilter, StoredEvent
from tripp.parties.model import SYSTEM_ACTOR, Actor, Role
from tripp.signing.documents import canonical
from tripp.signing.keyring import Keyring
from tripp.tracking import store as devices

Clock = Callable[[], datetime]

_READERS = (Role.ADMIN, Role.CUSTOMS, Role.CARRIER, Role.OPERATOR)
_RECORDERS = (Role.ADMIN, Role.CUSTOMS, Role.CARRIER)
_ATTEMPTS = 4
OVERDUE_EVENT_ID = "system~overdue"


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    corridor: Corridor
    clock: Clock
    fees_enforced: bool = True  # TRIPP_FEES_ENFORCED
    keyring: Keyring | None = None  # signs events recorded by parties that have a key


def get(ctx: Context, actor: Actor, mrn: str) -> Movement:
    _require(actor, _READERS, "see movements")
    with ctx.uow.read() as conn:
        movement = _visible(conn, ctx, actor, mrn)
    audit.read(ctx.uow, "movement", mrn, movement.holder, actor.party, actor.role, ctx.clock)
    return movement


def _visible(
    conn: Connection, ctx: Context, actor: Actor, mrn: str, *, lock: bool = False
) -> Movement:
    movement = store.get_movement(conn, mrn, for_update=lock)
    if movement is None or not policy.can_see(actor, movement, ctx.corridor):
        raise NotFound(f"no movement {mrn}")
    return movement


def _require(actor: Actor, roles: tuple[Role, ...], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"{actor.role} parties may not {what}")


def search(ctx: Context, actor: Actor, f: MovementFilter) -> tuple[list[Movement], int | None]:
    _require(actor, _READERS, "see movements")
    if actor.role is Role.CARRIER:
        if f.holder not in (None, actor.party):
            return [], None
        f = replace(f, holder=actor.party)
    elif actor.role is Role.CUSTOMS:
        f = replace(f, country=actor.country)
    with ctx.uow.read() as conn:
        return store.list_movements(conn, f)


def timeline(ctx: Context, actor: Actor, mrn: str) -> list[StoredEvent]:
    _require(actor, _READERS, "see movements")
    with ctx.uow.read() as conn:
        holder = _visible(conn, ctx, actor, mrn).holder
        found = store.list_events(conn, mrn)
    audit.read(ctx.uow, "events", mrn, holder, actor.party, actor.role, ctx.clock)
    return found


@dataclass(frozen=True)
class Recorded:
    stored: StoredEvent
    created: bool


def record(
    ctx: Context, actor: Actor, mrn: str, event: MovementEvent, request_hash: str
) -> Recorded:
    """Record ``event`` on movement ``mrn``; a repeat of the same event id is answered as before."""
    _require(actor, _RECORDERS, "record movement events")
    for _attempt in range(_ATTEMPTS):
        try:
            with ctx.uow.write() as conn:
                return _record(conn, ctx, actor, mrn, event, request_hash)
        except IntegrityError:
            continue  # the same event id stored concurrently: the next attempt replays it
    raise Conflict(f"event {event.id} could not be stored after several attempts; retry it")


def _record(
    conn: Connection, ctx: Context, actor: Actor, mrn: str, event: MovementEvent, request_hash: str
) -> Recorded:
    movement = _visible(conn, ctx, actor, mrn, lock=True)
    existing = store.get_event(conn, mrn, event.id)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise Conflict(f"event id {event.id} was already used for a different event")
        return Recorded(existing, created=False)
    errors = [*policy.payload_errors(event), *policy.timing_errors(event, movement, ctx.clock())]
    if errors:
        raise InvalidInput(errors)
    policy.authorise_event(actor, event, movement, ctx.corridor)
    _check_inspected(conn, mrn, event)
    if ctx.fees_enforced:
        fee_gate(conn, ctx, movement, event)
    if event.type is EventType.CANCEL:
        fee_cancel(conn, ctx, movement, event)
    event = _with_defaults(event, ctx.corridor)
    before = movement.apply(event)
    _arm_or_disarm(conn, movement, event)
    # Recording time, not business time: ?since= must find a late-synced event.
    movement.updated_at = ctx.clock()
    if movement.state in RELEASES_GUARANTEE and before not in RELEASES_GUARANTEE:
        _release_liability(conn, movement, event.at)
    store.save_state(conn, movement)
    stored = StoredEvent(
        event=event,
        seq=0,
        recorded_at=ctx.clock(),
        state_before=before,
        state_after=movement.state,
        request_hash=request_hash,
        mrn=mrn,
    )
    stored = _signed(ctx, actor, stored)
    store.insert_event(conn, stored)
    audit.note(conn, f"movement.{event.type.value}", mrn, actor.party, actor.role,
               {"event_id": event.id, "office": event.office, "before": before.value,
                "after": movement.state.value, "request_hash": request_hash}, ctx.clock)  # fmt: skip
    return Recorded(stored, created=True)


def _signed(ctx: Context, actor: Actor, stored: StoredEvent) -> StoredEvent:
    """The event with its recorder's signature, when the recorder is an authority with a key
    (customs, the operator, the system's own enquiries); carriers' words are their own."""
    if ctx.keyring is None or actor.role is Role.CARRIER:
        return stored
    pair = ctx.keyring.get(actor.party)
    if pair is None:
        return stored
    signature = pair.sign(canonical(stored.document()))
    return replace(stored, signature=signature, key_id=pair.key_id)


def _check_inspected(conn: Connection, mrn: str, event: MovementEvent) -> None:
    """A movement screened yellow or red at an office crosses there only once inspected."""
    if event.type not in (EventType.BORDER_CROSSING, EventType.ARRIVAL) or event.office is None:
        return
    needed = crossing_block(conn, mrn, event.office)
    if needed is not None:
        raise Conflict(
            f"{mrn} was screened at {event.office} and needs {needed} recorded there "
            f"before its {event.type.value}"
        )


def _arm_or_disarm(conn: Connection, movement: Movement, event: MovementEvent) -> None:
    """A tracker is armed at release and disarmed at arrival or when the movement closes."""
    if event.type is EventType.RELEASE and movement.tracker_id is not None:
        if not devices.arm(conn, movement.tracker_id, movement.mrn, event.at):
            raise InvalidInput(
                [
                    FieldError(
                        "tracker_id",
                        f"device {movement.tracker_id} is not registered or is armed for "
                        "another movement",
                        "tracker-unavailable",
                    )
                ]
            )
    elif event.type is EventType.ARRIVAL or movement.state in FINAL_STATES:
        devices.disarm(conn, movement.mrn)


def _with_defaults(event: MovementEvent, corridor: Corridor) -> MovementEvent:
    if event.type is EventType.RELEASE and event.payload.get("time_limit") is None:
        limit = event.at + timedelta(hours=corridor.time_limit_hours)
        return replace(event, payload={**event.payload, "time_limit": limit})
    return event


def _release_liability(conn: Connection, movement: Movement, at: datetime) -> None:
    guarantee = guarantees.get_guarantee(conn, movement.guarantee, for_update=True)
    if guarantee is None:  # the foreign key makes this impossible short of manual edits
        raise RuntimeError(
            f"movement {movement.mrn} refers to missing guarantee {movement.guarantee}"
        )
    guarantee.release(movement.liability)
    guarantees.save_committed(conn, guarantee, at)


def overdue_enquiries(ctx: Context) -> list[str]:
    """Put every movement past its time limit under enquiry; returns their MRNs.

    The event id is fixed per movement, so two servers running the job at once,
    or a crash half-way, never record the enquiry twice; clients cannot send it
    ('~' is outside their id alphabet), so no one can pre-empt it.
    """
    now = ctx.clock()
    with ctx.uow.read() as conn:
        due = store.overdue_mrns(conn, now, sorted(UNDER_WAY))
    opened = []
    for mrn in due:
        event = MovementEvent(
            id=OVERDUE_EVENT_ID,
            type=EventType.ENQUIRY,
            office=None,
            at=now,
            recorded_by=SYSTEM_ACTOR.party,
            payload={"reason": "time limit expired before arrival"},
        )
        try:
            result = record(ctx, SYSTEM_ACTOR, mrn, event, request_hash=OVERDUE_EVENT_ID)
        except IllegalTransition:
            continue  # arrived or closed meanwhile: no longer overdue
        if result.created:
            opened.append(mrn)
    return opened
