"""Use cases of traveller passage: announce a vehicle with its travellers' advance data (JSON
or a CSV manifest), screen each (document, MRZ, watchlist) into pass or refer, let a border
official record the final decision, and purge identities after the retention period.

Front office and back office: the operator's staff and carriers submit data and see counts
and statuses only; customs of the office's country see identities, reasons and matches and
alone record decisions (docs/travellers.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.codes.currency import from_minor
from tripp.corridor.model import Corridor
from tripp.db.tables import travellers, vehicle_announcements, watchlist_entries
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from tripp.fees import store as fee_store
from tripp.fees.desk import assess_vehicle, vehicle_fee_ref, vehicle_gate
from tripp.parties.model import Actor, Role
from tripp.travellers.decision import (
    FinalOutcome,
    Outcome,
    Reason,
    ReasonCode,
    Severity,
    TravellerDecision,
    record_final,
    screen_and_decide,
)
from tripp.travellers.manifest import Traveller, parse_manifest
from tripp.travellers.names import Watchlist, WatchlistEntry

Clock = Callable[[], datetime]
_SUBMITTERS = (Role.ADMIN, Role.OPERATOR, Role.CARRIER)


@dataclass
class Passage:
    uow: UnitOfWork
    corridor: Corridor
    clock: Clock
    fees_enforced: bool = True  # TRIPP_FEES_ENFORCED: travellers admitted once the fee is paid
    # The watchlist index, rebuilt when the stored list changes (its size and newest row).
    _watchlist: tuple[tuple[int, int], Watchlist] | None = field(default=None, repr=False)

    def announce(
        self,
        actor: Actor,
        *,
        announcement_id: str,
        vehicle_id: str,
        vehicle_class: str,
        office: str,
        carrier: str | None,
        expected_at: datetime | None,
        people: Sequence[Traveller],
        request_hash: str,
    ) -> tuple[dict[str, Any], bool]:
        """Store the vehicle and screen its travellers; a repeated id answers as before."""
        if actor.role not in _SUBMITTERS:
            raise Forbidden(f"{actor.role} parties do not announce travellers")
        place = self.corridor.office(office)
        if place is None:
            raise InvalidInput([FieldError("office", f"{office!r} is not an office of "
                                           f"{self.corridor.id}", "office-unknown")])  # fmt: skip
        owner = actor.party if actor.role is Role.CARRIER else (carrier or actor.party)
        now = self.clock()
        try:
            with self.uow.write() as conn:
                found = _announcement(conn, announcement_id)
                if found is not None:
                    if not self._may_see(actor, found):
                        raise NotFound(f"no vehicle announcement {announcement_id}")
                    if found.request_hash != request_hash:
                        raise Conflict(f"vehicle announcement {announcement_id} was made with "
                                       "other data; choose a new id")  # fmt: skip
                    return self._view(conn, actor, found), False
                conn.execute(insert(vehicle_announcements), [{
                    "id": announcement_id, "vehicle_id": vehicle_id,
                    "vehicle_class": vehicle_class, "office": office, "carrier": owner,
                    "expected_at": expected_at, "created_by": actor.party, "created_at": now,
                    "request_hash": request_hash,
                }])  # fmt: skip
                self._screen_all(conn, announcement_id, people, now)
                stored = _announcement(conn, announcement_id)
                # Announced: its transit fee is assessed now, under the schedule in force.
                assess_vehicle(conn, self.corridor, stored, len(people), now)
                # Counts only: the log is never purged, so it must hold no identity data.
                audit.note(conn, "vehicle.announce", announcement_id, actor.party, actor.role,
                           {"office": office, "travellers": len(people),
                            "request_hash": request_hash}, self.clock)  # fmt: skip
                return self._view(conn, actor, stored), True
        except IntegrityError as exc:
            raise Conflict(f"vehicle announcement {announcement_id} was stored meanwhile; "
                           "retry to read it") from exc  # fmt: skip

    def manifest(self, data: bytes, *, today: date) -> list[Traveller]:
        """The travellers of a CSV manifest; any broken row refuses the whole file (422),
        each error naming ``rows[i].column`` and its rule."""
        parsed = parse_manifest(data, today=today)
        if parsed.errors:
            raise InvalidInput(list(parsed.errors), "the manifest has errors; nothing was stored")
        return [r.traveller for r in parsed.rows]

    def vehicle(self, actor: Actor, announcement_id: str) -> dict[str, Any]:
        with self.uow.read() as conn:
            found = _announcement(conn, announcement_id)
            if found is None or not self._may_see(actor, found):
                raise NotFound(f"no vehicle announcement {announcement_id}")
            return self._view(conn, actor, found)

    def decide(self, actor: Actor, traveller_id: int, outcome: str, note: str) -> dict[str, Any]:
        """The officer's final decision; only customs of the office's country record it."""
        now = self.clock()
        with self.uow.write() as conn:
            row = conn.execute(
                select(travellers).where(travellers.c.id == traveller_id).with_for_update()
            ).first()
            found = None if row is None else _announcement(conn, row.announcement_id)
            if row is None or found is None or not self._may_see(actor, found):
                raise NotFound(f"no traveller {traveller_id}")
            office = self.corridor.offices[found.office]
            if actor.role is not Role.CUSTOMS or actor.country != office.country:
                raise Forbidden(f"only {office.country} border officials decide at {office.code}")
            if row.final_outcome is not None:
                raise Conflict(f"traveller {traveller_id} was {row.final_outcome} already")
            if outcome == "admitted" and self.fees_enforced:
                vehicle_gate(conn, found)
            final = record_final(_stored_decision(row), outcome=outcome, officer=actor.party,
                                 note=note, decided_at=now)  # fmt: skip
            conn.execute(
                update(travellers).where(travellers.c.id == traveller_id).values(
                    final_outcome=final.outcome.value, officer=final.officer,
                    note=final.note or None, decided_at=final.decided_at)
            )  # fmt: skip
            audit.note(conn, "traveller.decide", found.id, actor.party, actor.role,
                       {"traveller": traveller_id, "outcome": final.outcome.value,
                        "office": found.office}, self.clock)  # fmt: skip
            return self._view(conn, actor, found)

    def purge(self, now: datetime, retention_days: int) -> int:
        """Empty the identity data of travellers announced more than ``retention_days`` ago:
        the person, the officer's note and the reason texts (they may quote names), and the
        watchlist matches of those admitted (dismissed as not them). What stays for the
        record: outcomes, reason codes, who decided when, the entries a refusal hit."""
        cutoff = now - timedelta(days=retention_days)
        purged = 0
        with self.uow.write() as conn:
            rows = conn.execute(
                select(travellers.c.id, travellers.c.reasons, travellers.c.final_outcome)
                .where(travellers.c.created_at < cutoff, travellers.c.purged_at.is_(None))
                .with_for_update()
            ).all()
            for r in rows:
                codes = [{"code": x["code"], "severity": x["severity"]} for x in r.reasons]
                values: dict[str, Any] = {"identity": None, "note": None, "reasons": codes,
                                          "purged_at": now}  # fmt: skip
                if r.final_outcome != "refused":
                    values["matches"] = []
                conn.execute(update(travellers).where(travellers.c.id == r.id).values(**values))
                purged += 1
            if purged:
                audit.note(conn, "travellers.purge", "travellers", "SYSTEM", "admin",
                           {"count": purged, "before": cutoff.isoformat()}, self.clock)  # fmt: skip
        return purged

    def load_watchlist(self, entries: Sequence[WatchlistEntry]) -> int:
        now = self.clock()
        with self.uow.write() as conn:
            known = set(conn.execute(select(watchlist_entries.c.entry_id)).scalars())
            fresh = [e for e in entries if e.entry_id not in known]
            if fresh:
                conn.execute(insert(watchlist_entries), [{
                    "entry_id": e.entry_id, "surname": e.surname, "given_names": e.given_names,
                    "birth_date": e.birth_date, "nationality": e.nationality,
                    "list_id": e.list_id, "reason": e.reason, "added_at": now,
                } for e in fresh])  # fmt: skip
                audit.note(conn, "watchlist.load", "watchlist", "SYSTEM", "admin",
                           {"added": len(fresh)}, self.clock)  # fmt: skip
        return len(fresh)

    # --- helpers ----------------------------------------------------------------------

    def _screen_all(
        self, conn: Connection, announcement_id: str, people: Sequence[Traveller], now: datetime
    ) -> None:
        watchlist = self._current_watchlist(conn)
        today = now.date()
        rows = []
        for i, person in enumerate(people):
            decision = screen_and_decide(person, watchlist, today=today)
            rows.append({
                "announcement_id": announcement_id, "row_no": i, "identity": _identity(person),
                "outcome": decision.outcome.value, "severity": decision.severity.value,
                "reasons": [{"code": r.code.value, "severity": r.severity.value, "text": r.text,
                             "fields": list(r.fields)} for r in decision.reasons],
                "matches": [{"entry_id": m.entry.entry_id, "list_id": m.entry.list_id,
                             "score": round(m.score, 4), "why": list(m.why)}
                            for m in decision.matches],
                "created_at": now,
            })  # fmt: skip
        if rows:
            conn.execute(insert(travellers), rows)

    def _current_watchlist(self, conn: Connection) -> Watchlist:
        count, newest = conn.execute(select(func.count(), func.max(watchlist_entries.c.seq))).one()
        signature = (int(count), int(newest or 0))
        cached = self._watchlist
        if cached is not None and cached[0] == signature:
            return cached[1]
        entries = [
            WatchlistEntry(
                r.entry_id,
                r.surname,
                r.given_names,
                r.birth_date,
                r.nationality,
                r.list_id,
                r.reason,
            )
            for r in conn.execute(select(watchlist_entries))
        ]
        built = Watchlist(entries)
        self._watchlist = (signature, built)
        return built

    def _may_see(self, actor: Actor, found: Any) -> bool:
        if actor.role in (Role.ADMIN, Role.OPERATOR):
            return True
        if actor.role is Role.CARRIER:
            return bool(found.carrier == actor.party)
        office = self.corridor.office(found.office)
        return (
            actor.role is Role.CUSTOMS and office is not None and (office.country == actor.country)
        )

    def _view(self, conn: Connection, actor: Actor, found: Any) -> dict[str, Any]:
        """Identities, reasons and matches for customs and admin; for the operator's staff
        and carriers, counts and statuses only (data minimisation)."""
        rows = conn.execute(
            select(travellers)
            .where(travellers.c.announcement_id == found.id)
            .order_by(travellers.c.row_no)
        ).all()
        full = actor.role in (Role.ADMIN, Role.CUSTOMS)
        counts = {"travellers": len(rows),
                  "pass": sum(r.outcome == "pass" for r in rows),
                  "refer": sum(r.outcome == "refer" for r in rows),
                  "decided": sum(r.final_outcome is not None for r in rows)}  # fmt: skip
        items = []
        for r in rows:
            item: dict[str, Any] = {"id": r.id, "row": r.row_no, "outcome": r.outcome,
                                    "final_outcome": r.final_outcome}  # fmt: skip
            if full:
                item |= {"identity": r.identity, "purged": r.purged_at is not None,
                         "severity": r.severity, "reasons": r.reasons, "matches": r.matches,
                         "officer": r.officer, "note": r.note, "decided_at": r.decided_at}  # fmt: skip
            items.append(item)
        fee = fee_store.get_fee(conn, vehicle_fee_ref(found))
        fee_summary = None if fee is None else {
            "status": fee[0].status.value, "currency": fee[0].currency,
            "amount": str(from_minor(fee[0].amount, fee[0].currency)),
        }  # fmt: skip
        return {"id": found.id, "vehicle_id": found.vehicle_id, "fee": fee_summary,
                "vehicle_class": found.vehicle_class, "office": found.office,
                "carrier": found.carrier, "expected_at": found.expected_at,
                "created_at": found.created_at, "counts": counts, "travellers": items}  # fmt: skip


def _announcement(conn: Connection, announcement_id: str) -> Any:
    return conn.execute(
        select(vehicle_announcements).where(vehicle_announcements.c.id == announcement_id)
    ).first()


def _identity(t: Traveller) -> dict[str, Any]:
    return {
        "document_type": t.document_type, "document_number": t.document_number,
        "issuing_state": t.issuing_state, "nationality": t.nationality,
        "surname": t.surname, "given_names": t.given_names,
        "birth_date": t.birth_date.isoformat() if t.birth_date else None,
        "sex": t.sex.value, "expiry": t.expiry.isoformat() if t.expiry else None,
        "mrz_problem": t.mrz_problem or None,
    }  # fmt: skip


def _stored_decision(row: Any) -> TravellerDecision:
    """The automated decision as stored: its outcome and reasons (codes and severities stay
    after the purge, which is all ``record_final`` weighs)."""
    reasons = tuple(
        Reason(
            ReasonCode(r["code"]),
            Severity(r["severity"]),
            r.get("text", ""),
            tuple(r.get("fields", ())),
        )
        for r in row.reasons
    )
    return TravellerDecision(Outcome(row.outcome), reasons, ())


__all__ = ["FinalOutcome", "Passage"]
