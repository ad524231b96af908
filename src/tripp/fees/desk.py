"""The front office's use cases on transit fees: assess, settle, top up, refund, report.

A movement's fee is assessed under the schedule in force when it was announced (accepted),
the first time anyone needs it (looking at it, paying it, crossing, cancelling), so the
amount is the same whenever that happens and lodging pays nothing for it. Every operation
is one unit of work: the fee row is locked, the pure ledger (``tripp.fees.ledger``) builds
the transaction, and its postings and the balances they move are written together; a
repeated reference answers the first transaction. Who may do what: the operator's staff
collect (external payments, top-ups), a carrier pays its own fees from its prepaid account,
the fee authority publishes schedules, customs see fees and decide crossings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from tripp.codes.currency import from_minor, is_currency, to_minor
from tripp.corridor.model import Corridor, TransportMode
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from tripp.fees import store
from tripp.fees.assessment import VehicleFacts, assess
from tripp.fees.ledger import (
    Fee,
    FeeStatus,
    ReferenceReused,
    Transaction,
    TxKind,
    allowed_kinds,
    assess_fee,
    cancel,
    check_crossing,
    prepaid,
    receipt,
    refund,
    retry_of,
    settle_external,
    settle_from_prepaid,
    top_up,
)
from tripp.fees.reconciliation import DailyReport, reports_for_day
from tripp.fees.schedule import ScheduleNotInForce, ScheduleSet, check_change, from_dict
from tripp.movements import policy
from tripp.movements import store as movement_store
from tripp.movements.model import EventType, Movement, MovementEvent, MovementState
from tripp.parties.model import Actor, Role

if TYPE_CHECKING:
    from tripp.movements.service import Context

Clock = Callable[[], datetime]
_ATTEMPTS = 3
# Where the front office's cash and card takings are booked.
FRONT_OFFICE = "CORRIDOR-OPERATOR"


@dataclass
class FeeDesk:
    uow: UnitOfWork
    corridor: Corridor
    clock: Clock

    # --- reading ---------------------------------------------------------------------

    def fee(self, actor: Actor, mrn: str) -> dict[str, Any]:
        """The movement's fee (assessed now if it had not been yet) and its receipt."""
        _not_observer(actor)
        view: dict[str, Any] = self._write(lambda conn: self._fee_view(conn, actor, mrn))
        return view

    def _fee_view(self, conn: Connection, actor: Actor, mrn: str) -> dict[str, Any]:
        movement = self._visible(conn, actor, mrn)
        found = ensure_fee(conn, self.corridor, movement, self.clock())
        if found is None:
            raise NotFound(f"no transit fee applies to {mrn}")
        return fee_view(conn, *found)

    def account(self, actor: Actor, carrier: str, currency: str) -> dict[str, Any]:
        _not_observer(actor)
        if not _sees_party(actor, carrier):
            raise NotFound(f"no account of {carrier}")
        _check_currency(currency)
        with self.uow.read() as conn:
            held = -store.balance(conn, prepaid(carrier), currency)
        return {"carrier": carrier, "currency": currency,
                "available": str(from_minor(held, currency))}  # fmt: skip

    def reconciliation(self, actor: Actor, day: date, party: str | None) -> list[DailyReport]:
        """Each party's report of ``day`` (the schedules' local day); a carrier gets its own."""
        if actor.role is Role.CARRIER:
            party = actor.party
        elif actor.role not in (Role.ADMIN, Role.OPERATOR, Role.CUSTOMS):
            raise Forbidden(f"{actor.role} parties do not see fee reports")
        with self.uow.read() as conn:
            schedules = current_schedules(conn, self.corridor)
            zone = schedules.timezone if schedules else "UTC"
            end = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(zone))
            history = store.transactions_until(conn, end.astimezone(UTC))
        reports = reports_for_day(history, day=day, timezone=zone)
        return [r for r in reports if party is None or r.party == party]

    def schedules(self, actor: Actor) -> dict[str, Any]:
        _not_observer(actor)
        with self.uow.read() as conn:
            found = current_schedules(conn, self.corridor)
        if found is None:
            raise NotFound(f"{self.corridor.id} charges no transit fee")
        return found.to_dict()

    # --- writing ---------------------------------------------------------------------

    def pay(
        self,
        actor: Actor,
        mrn: str,
        *,
        method: str,
        reference: str,
        amount: Decimal | None = None,
        currency: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Settle a movement's fee; see ``_pay``."""

        def locate(conn: Connection, now: datetime) -> tuple[Fee, Any] | None:
            movement = self._visible(conn, actor, mrn)
            return ensure_fee(conn, self.corridor, movement, now, lock=True)

        return self._pay(actor, mrn, locate, method=method, reference=reference,
                         amount=amount, currency=currency)  # fmt: skip

    def vehicle_fee(self, actor: Actor, announcement_id: str) -> dict[str, Any]:
        """The fee of an announced vehicle (a bus, a car), assessed at its announcement."""
        _not_observer(actor)

        def work(conn: Connection) -> dict[str, Any]:
            ref = vehicle_fee_ref(self._announcement(conn, actor, announcement_id))
            found = store.get_fee(conn, ref)
            if found is None:
                raise NotFound(f"no transit fee applies to vehicle {announcement_id}")
            return fee_view(conn, *found)

        view: dict[str, Any] = self._write(work)
        return view

    def pay_vehicle(
        self,
        actor: Actor,
        announcement_id: str,
        *,
        method: str,
        reference: str,
        amount: Decimal | None = None,
        currency: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        def locate(conn: Connection, now: datetime) -> tuple[Fee, Any] | None:
            ref = vehicle_fee_ref(self._announcement(conn, actor, announcement_id))
            return store.get_fee(conn, ref, lock=True)

        return self._pay(actor, announcement_id, locate, method=method, reference=reference,
                         amount=amount, currency=currency)  # fmt: skip

    def _announcement(self, conn: Connection, actor: Actor, announcement_id: str) -> Any:
        from tripp.db.tables import vehicle_announcements

        row = conn.execute(
            select(vehicle_announcements).where(vehicle_announcements.c.id == announcement_id)
        ).first()
        office = None if row is None else self.corridor.office(row.office)
        visible = row is not None and (
            actor.role in (Role.ADMIN, Role.OPERATOR)
            or (actor.role is Role.CARRIER and row.carrier == actor.party)
            or (actor.role is Role.CUSTOMS and office is not None
                and office.country == actor.country)
        )  # fmt: skip
        if not visible:
            raise NotFound(f"no vehicle announcement {announcement_id}")
        return row

    def _pay(
        self,
        actor: Actor,
        subject: str,
        locate: Callable[[Connection, datetime], tuple[Fee, Any] | None],
        *,
        method: str,
        reference: str,
        amount: Decimal | None,
        currency: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Settle the fee from the payer's prepaid account (the carrier itself, or staff) or
        with a payment the front office took under ``reference`` (staff only)."""
        if method == "external" and actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden("payments at the front office are recorded by the operator's staff")
        if method == "prepaid" and actor.role not in (Role.ADMIN, Role.OPERATOR, Role.CARRIER):
            raise Forbidden(f"{actor.role} parties do not settle fees")
        if currency is not None:
            _check_currency(currency)
        now = self.clock()

        def work(conn: Connection) -> tuple[dict[str, Any], bool]:
            found = locate(conn, now)
            if found is None:
                raise NotFound(f"no transit fee applies to {subject}")
            fee = found[0]
            kind = TxKind.SETTLE_PREPAID if method == "prepaid" else TxKind.SETTLE_EXTERNAL
            # A prepaid settlement's reference is the client's key for this fee only; an
            # external one is the bank's or the till's, unique across the corridor.
            ref = f"{fee.ref}/{reference}" if kind is TxKind.SETTLE_PREPAID else reference

            def build(state: Fee) -> Transaction:
                if kind is TxKind.SETTLE_PREPAID:
                    held = -store.balance(conn, prepaid(state.payer), state.currency, lock=True)
                    return settle_from_prepaid(state, available=held, reference=ref, at=now)
                return settle_external(
                    state, amount=_minor(amount, currency, state.currency),
                    currency=currency or state.currency, reference=ref,
                    collector=FRONT_OFFICE, at=now,
                )  # fmt: skip

            try:
                _, created = _post(conn, fee, kind, ref, build, by=actor.party, at=now)
            except ReferenceReused as exc:
                # Not the ledger's message: it names the fee the reference paid, maybe
                # another party's.
                raise Conflict(f"payment reference {reference!r} is already used") from exc
            view = fee_view(conn, *_sure(store.get_fee(conn, fee.ref)))
            return view, created

        paid: tuple[dict[str, Any], bool] = self._write(work)
        return paid

    def top_up(
        self, actor: Actor, carrier: str, amount: Decimal, currency: str, reference: str
    ) -> tuple[dict[str, Any], bool]:
        """Money a carrier paid in under ``reference``, credited to its prepaid account."""
        if actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden("top-ups are recorded by the operator's staff")
        _check_currency(currency)
        now = self.clock()

        def work(conn: Connection) -> tuple[dict[str, Any], bool]:
            units = _minor(amount, currency, currency)
            tx = top_up(carrier=carrier, amount=units, currency=currency,
                        reference=reference, collector=FRONT_OFFICE, at=now)  # fmt: skip
            try:
                done = retry_of(store.find_tx(conn, TxKind.TOP_UP, reference), TxKind.TOP_UP, "")
            except ReferenceReused as exc:
                raise Conflict(f"payment reference {reference!r} is already used") from exc
            if done is not None and not done.same_effect(tx):
                raise Conflict(f"payment reference {reference!r} already credited another "
                               "carrier or amount")  # fmt: skip
            created = done is None
            if done is None:
                store.insert_tx(conn, tx, by=actor.party, at=now)
            held = -store.balance(conn, prepaid(carrier), currency)
            return {"carrier": carrier, "currency": currency, "reference": reference,
                    "available": str(from_minor(held, currency))}, created  # fmt: skip

        topped: tuple[dict[str, Any], bool] = self._write(work)
        return topped

    def publish(self, actor: Actor, body: object) -> dict[str, Any]:
        """Replace the schedules; only each version's authority may change it, and a version
        that has been in force may only be ended (``schedule.check_change``)."""
        if actor.role is not Role.CUSTOMS and actor.role is not Role.ADMIN:
            raise Forbidden("fee schedules are published by the fee authority")
        accepted = self.corridor.currencies.accepted
        new = from_dict(body, path="", currencies=accepted)
        if actor.role is not Role.ADMIN and actor.party not in {s.authority for s in new.schedules}:
            raise Forbidden(f"{actor.party} sets none of these schedules")
        foreign = sorted({s.id for s in new.schedules if s.authority == actor.party
                          and s.country != actor.country})  # fmt: skip
        if actor.role is not Role.ADMIN and foreign:
            raise Forbidden(f"{actor.party} sets fees of {actor.country} only: {foreign}")

        def work(conn: Connection) -> dict[str, Any]:
            old = current_schedules(conn, self.corridor) or ScheduleSet(())
            known = {s.authority for s in old.schedules}
            newcomers = sorted({s.authority for s in new.schedules} - known)
            if newcomers and actor.role is not Role.ADMIN:
                # Who sets fees is the corridor's data (its file), not a customs' claim.
                raise Forbidden(f"{', '.join(newcomers)} set no fees on {self.corridor.id}")
            today = new.day_of(self.clock())
            check_change(old, new, by=actor.party, today=today)
            latest = store.latest_schedules_version(conn)
            version = 1 if latest is None else latest[0] + 1
            store.insert_schedules(conn, version, new.to_dict(), by=actor.party,
                                   at=self.clock())  # fmt: skip
            return {"version": version, **new.to_dict()}

        published: dict[str, Any] = self._write(work)
        return published

    # --- helpers ---------------------------------------------------------------------

    def _visible(self, conn: Connection, actor: Actor, mrn: str) -> Movement:
        movement = movement_store.get_movement(conn, mrn)
        if movement is None or not policy.can_see(actor, movement, self.corridor):
            raise NotFound(f"no movement {mrn}")
        return movement

    def _write(self, work: Callable[[Connection], Any]) -> Any:
        """``work`` in one unit of work, again when a concurrent twin stored the same fee or
        reference first (the next attempt finds and answers it)."""
        for _ in range(_ATTEMPTS):
            try:
                with self.uow.write() as conn:
                    return work(conn)
            except IntegrityError:
                continue
        raise Conflict("the fee changed under a concurrent request; retry it")


# --- used by the movement service, inside its unit of work -------------------------------


# Published schedule sets parsed, by database and version: a version never changes once
# stored, and every crossing into the authority's country reads the current one.
_PARSED: dict[tuple[str, int, datetime], ScheduleSet] = {}


def current_schedules(conn: Connection, corridor: Corridor) -> ScheduleSet | None:
    """The schedules the authority last published, else those of the corridor file."""
    latest = store.latest_schedules_version(conn)
    if latest is None:
        return corridor.fees
    version, published_at = latest
    key = (conn.engine.url.render_as_string(hide_password=True), version, published_at)
    parsed = _PARSED.get(key)
    if parsed is None:
        body = store.schedules_version(conn, version)
        parsed = from_dict(body, path="", currencies=corridor.currencies.accepted)
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed


def vehicle_facts(movement: Movement) -> VehicleFacts:
    """What a declaration tells of the vehicle: its class from the mode (declarations name
    no axles, so the schedule's included axles apply), the goods' mass and chapters, and
    one TEU per container (ISO 6346 numbers do not give the size; a 40' box is 2 TEU, so
    this errs on the carrier's side until declarations carry the size code)."""
    d = movement.declaration
    mass = sum((g.gross_mass_kg for g in d.goods), start=Decimal(0))
    vehicle_class = "truck" if d.transport.mode is TransportMode.ROAD else "wagon"
    return VehicleFacts(
        vehicle_class=vehicle_class, holder=movement.holder, gross_mass_kg=mass,
        containers=len(d.transport.containers), teu=Decimal(len(d.transport.containers)),
        hs_chapters=frozenset(g.hs_code[:2] for g in d.goods),
    )  # fmt: skip


def ensure_fee(
    conn: Connection,
    corridor: Corridor,
    movement: Movement,
    now: datetime,
    *,
    lock: bool = False,
    schedules: ScheduleSet | None = None,
) -> tuple[Fee, Any] | None:
    """The movement's fee, assessed (and stored) first if it had not been; None when no
    schedule charges it. ``schedules``: the current ones, when the caller has them."""
    found = store.get_fee(conn, movement.mrn, lock=lock)
    if found is not None:
        return found
    schedules = schedules or current_schedules(conn, corridor)
    if schedules is None or movement.state is MovementState.CANCELLED:
        return None  # no fee is charged, or none was ever due for a cancelled movement
    country = _fee_country(schedules, corridor, movement)
    if country is None:
        return None
    try:
        assessment = assess(
            schedules, vehicle_facts(movement), movement.accepted_at, country=country
        )
    except ScheduleNotInForce:
        # Nothing in force in that country when it was announced: nothing is due. Several
        # authorities there would be a data error, and must not pass as "nothing due".
        if any(s.country == country and s.in_force_on(schedules.day_of(movement.accepted_at))
               for s in schedules.schedules):  # fmt: skip
            raise
        return None
    return _store_assessment(conn, movement.mrn, movement.holder, assessment, now, lock=lock)


def _store_assessment(
    conn: Connection, ref: str, payer: str, assessment: Any, now: datetime, *, lock: bool
) -> tuple[Fee, Any] | None:
    if assessment.gross_minor == 0:
        return None
    exemption = assessment.exemption.reason if assessment.exemption else ""
    txs = assess_fee(fee=ref, payer=payer, authority=assessment.authority,
                     currency=assessment.currency, amount=assessment.gross_minor,
                     at=assessment.at, exemption=exemption)  # fmt: skip
    fee = Fee.open(txs[0])
    for tx in txs:
        if tx is not txs[0]:
            fee = fee.apply(tx)
        store.insert_tx(conn, tx, by="SYSTEM", at=now)
    store.insert_fee(conn, fee, schedule=assessment.schedule, assessment=assessment.to_dict(),
                     at=now)  # fmt: skip
    stored: tuple[Fee, Any] = _sure(store.get_fee(conn, ref, lock=lock))
    return stored


# Announced vehicle classes as the schedules name them.
_VEHICLE_CLASSES = {"minibus": "van"}


def vehicle_fee_ref(announcement: Any) -> str:
    """A vehicle announcement's fee reference: ``V/`` and a digest of its id (client ids
    may hold characters, and a length, that fee references do not)."""
    return "V/" + hashlib.sha256(str(announcement.id).encode()).hexdigest()[:24]


def assess_vehicle(
    conn: Connection, corridor: Corridor, announcement: Any, passengers: int, now: datetime
) -> tuple[Fee, Any] | None:
    """Assess an announced vehicle's fee under the schedule in force now in the country of
    the office it is announced at; None when that country charges none."""
    schedules = current_schedules(conn, corridor)
    office = corridor.office(announcement.office)
    if schedules is None or office is None:
        return None
    if office.country not in {s.country for s in schedules.schedules}:
        return None
    facts = VehicleFacts(
        vehicle_class=_VEHICLE_CLASSES.get(announcement.vehicle_class,
                                           announcement.vehicle_class),
        holder=announcement.carrier, passengers=passengers,
    )  # fmt: skip
    try:
        assessment = assess(schedules, facts, now, country=office.country)
    except ScheduleNotInForce:
        return None
    return _store_assessment(conn, vehicle_fee_ref(announcement), announcement.carrier,
                             assessment, now, lock=False)  # fmt: skip


def vehicle_gate(conn: Connection, announcement: Any) -> None:
    """Travellers of an announced vehicle are admitted only once its fee is settled or
    waived (``FeeUnpaid`` otherwise)."""
    found = store.get_fee(conn, vehicle_fee_ref(announcement))
    if found is not None:
        check_crossing(found[0])


def _fee_country(schedules: ScheduleSet, corridor: Corridor, movement: Movement) -> str | None:
    """The country whose fee the movement owes: the one on its itinerary with schedules.
    One fee per movement: an itinerary through two fee-charging countries is refused."""
    d = movement.declaration
    path = (d.office_of_departure, *d.offices_of_transit, d.office_of_destination)
    countries = {corridor.offices[o].country for o in path if o in corridor.offices}
    charged = sorted(countries & {s.country for s in schedules.schedules})
    if len(charged) > 1:
        raise Conflict(f"{movement.mrn} crosses {', '.join(charged)}, which each charge a "
                       "transit fee: one fee per movement is supported")  # fmt: skip
    return charged[0] if charged else None


def fee_gate(conn: Connection, ctx: Context, movement: Movement, event: MovementEvent) -> None:
    """A crossing (or arrival) at an office in the fee authority's country needs the fee
    settled or waived; ``FeeUnpaid`` names the fee, the amount and what to do."""
    if event.type not in (EventType.BORDER_CROSSING, EventType.ARRIVAL) or event.office is None:
        return
    office = ctx.corridor.office(event.office)
    schedules = current_schedules(conn, ctx.corridor)
    if office is None or schedules is None:
        return
    if office.country not in {s.country for s in schedules.schedules}:
        return  # no fee is charged to enter this office's country
    found = ensure_fee(conn, ctx.corridor, movement, ctx.clock(), schedules=schedules)
    if found is not None:
        check_crossing(found[0])


def fee_cancel(conn: Connection, ctx: Context, movement: Movement, event: MovementEvent) -> None:
    """A cancelled movement's fee is cancelled, and what was paid refunded at once to the
    account it came from (an unassessed fee was never due: nothing to do)."""
    found = store.get_fee(conn, movement.mrn, lock=True)
    if found is None:
        return
    fee, now = found[0], ctx.clock()
    reference = f"{movement.mrn}/{event.id}"
    if TxKind.CANCEL not in allowed_kinds(fee.status):
        return  # waived or already closed: nothing is owed either way
    reason = str(event.payload.get("reason", "movement cancelled"))
    fee, _ = _post(conn, fee, TxKind.CANCEL, reference,
                   lambda f: cancel(f, reason=reason, reference=reference, at=now),
                   by=event.recorded_by, at=now, keep=True)  # fmt: skip
    if fee.status is FeeStatus.REFUND_DUE:
        _post(conn, fee, TxKind.REFUND, reference,
              lambda f: refund(f, reference=reference, at=now), by=event.recorded_by, at=now)  # fmt: skip


def _post(
    conn: Connection,
    fee: Fee,
    kind: TxKind,
    reference: str,
    build: Callable[[Fee], Transaction],
    *,
    by: str,
    at: datetime,
    keep: bool = False,
) -> Any:
    """Record operation ``kind`` on ``fee`` (locked by the caller) unless ``reference``
    already did: (transaction, created), or with ``keep`` (the fee after it, created)."""
    done = retry_of(store.find_tx(conn, kind, reference), kind, fee.ref)
    if done is not None:
        return (fee, False) if keep else (done, False)
    tx = build(fee)
    after = fee.apply(tx)
    store.insert_tx(conn, tx, by=by, at=at)
    store.save_fee(conn, after, at)
    return (after, True) if keep else (tx, True)


def fee_view(conn: Connection, fee: Fee, row: Any) -> dict[str, Any]:
    txs = store.fee_transactions(conn, fee.ref)
    settled = [t for t in txs if t.kind in (TxKind.SETTLE_PREPAID, TxKind.SETTLE_EXTERNAL)]
    paid = receipt(settled[-1], fee) if settled else None
    return {
        "mrn": fee.ref, "payer": fee.payer, "authority": fee.authority,
        "amount": str(from_minor(fee.amount, fee.currency)), "currency": fee.currency,
        "status": fee.status.value, "schedule": row.schedule_id,
        "assessment": dict(row.assessment),
        "allowed": [k.value for k in allowed_kinds(fee.status)],
        "receipt": None if paid is None else {
            "number": paid.number, "amount": str(paid.amount), "currency": paid.currency,
            "method": paid.method, "payment_reference": paid.payment_reference,
            "at": paid.at, "authority": paid.authority, "payer": paid.payer,
        },
        "transactions": [{"id": t.id, "kind": t.kind.value, "at": t.at, "reference": t.reference}
                         for t in txs],
    }  # fmt: skip


def _minor(amount: Decimal | None, currency: str | None, fee_currency: str) -> int:
    if amount is None:
        raise InvalidInput([FieldError("amount", "a payment states its amount", "required")])
    try:
        return to_minor(amount, currency or fee_currency)
    except ValueError as exc:
        raise InvalidInput(
            [
                FieldError(
                    "amount",
                    f"{amount} has more decimals than {currency} allows",
                    "amount-minor-units",
                )
            ]
        ) from exc


def _check_currency(code: str) -> None:
    if not is_currency(code):
        raise InvalidInput(
            [FieldError("currency", f"{code!r} is not ISO 4217", "currency-iso4217")]
        )


def _not_observer(actor: Actor) -> None:
    if actor.role is Role.OBSERVER:
        raise Forbidden("observers see aggregate figures only (/stats)")


def _sees_party(actor: Actor, party: str) -> bool:
    return actor.role in (Role.ADMIN, Role.OPERATOR) or actor.party == party


def _sure(value: Any) -> Any:
    assert value is not None  # stored a moment ago in the same transaction
    return value
