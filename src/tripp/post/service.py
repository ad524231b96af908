"""What an officer does at a node: see what is coming, screen, inspect, record the crossing.

Every use case runs in one store transaction and commits before it answers, so what the
officer was told is recorded is on disk, whatever happens to the node or the network next.
The rules the upstream would apply are checked here first (the transition table, the next
event expected at the office, the inspection gate), so that a refusal comes at the desk,
while the truck is there, rather than at the next sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tripp.api.paging import decode_cursor, encode_cursor
from tripp.errors import Conflict, FieldError, InvalidInput, NotFound
from tripp.movements.policy import CLOCK_SKEW
from tripp.post.errors import NotExpectedHere, NotScreenable
from tripp.post.mirror import Mirrored, dumps
from tripp.post.model import (
    NODE_EVENT_TYPES,
    PASSAGE_TYPES,
    Kind,
    Status,
    check_passage,
    inspection_block,
    iso,
    local_state,
    next_state,
    parse_time,
    utc_now,
)
from tripp.post.screening import Target, decide, resolve
from tripp.post.store import NodeStore, OutboxRow, Tx
from tripp.post.views import (
    conflict_view,
    event_answer,
    payload_of,
    screening_answer,
    screening_shown,
    sync_view,
)
from tripp.risk.ruleset import from_dict


def _nothing() -> None:
    return None


@dataclass
class PostService:
    store: NodeStore
    office: str
    clock: Callable[[], datetime] = utc_now
    recorded: Callable[[], None] = field(default=_nothing)  # nudges the sync loop

    # --- the expected list ---------------------------------------------------------------

    def expected(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """The mirrored list less what passed here, each item with this node's screening
        and inspection state; ``as_of`` is when the mirror was pulled."""
        start = decode_cursor(cursor)
        with self.store.read() as tx:
            waiting = _waiting(tx)
            items = [self._overlay(tx, m.item) for m in waiting[start : start + limit]]
        more = start + limit < len(waiting)
        return {
            "office": self.office,
            "items": items,
            "next_cursor": encode_cursor(start + limit) if more else None,
            "as_of": max((m.pulled_at for m in waiting), default=None),
        }

    def _overlay(self, tx: Tx, item: dict[str, Any]) -> dict[str, Any]:
        records = tx.records(item["mrn"])
        if not records:
            return item
        out = dict(item)
        screened = [r for r in records if r.kind is Kind.SCREENING and r.live]
        if screened:
            latest = tx.find(Kind.SCREENING, screened[-1].ref_id, item["mrn"])
            out["screening"] = None if latest is None else screening_shown(latest)
        needed = inspection_block(item, records)
        out["inspection_required"] = needed is not None
        out["inspection_needed"] = needed
        return out

    # --- screening -----------------------------------------------------------------------

    def screen(self, target: Target, screening_id: str | None) -> tuple[dict[str, Any], bool]:
        """Screen what the officer scanned; (answer, created). A repeated ``screening_id``
        answers the stored decision, as upstream."""
        request = {k: v for k, v in target.__dict__.items() if v is not None}
        with self.store.write() as tx:
            if screening_id is not None and (stored := tx.screening(screening_id)) is not None:
                return self._replay_screening(tx, screening_id, request, stored), False
            answer = self._screen(tx, target, screening_id or new_id(self.office), request)
        self.recorded()
        return answer, True

    def _screen(
        self, tx: Tx, target: Target, screening_id: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        item = resolve(self.office, target, tx.known_items(), [m.item["mrn"] for m in _waiting(tx)])
        country = tx.get_meta("country")
        if country is None:
            raise NotScreenable(f"the node of {self.office} has not synced yet: no ruleset")
        body = tx.ruleset(country)
        ruleset = None if body is None else from_dict(body)
        decision, basis = decide(item, ruleset, office=self.office, country=country)
        now = iso(self.clock())
        answer = screening_answer(
            decision, basis, screening_id=screening_id, office=self.office, at=now
        )
        tx.add_screening(
            {
                "id": screening_id,
                "mrn": decision.mrn,
                "lane": decision.lane.value,
                "basis": basis.value,
                "ruleset_country": decision.ruleset_country,
                "ruleset_version": decision.ruleset_version,
                "draw": decision.draw,
                "at": now,
                "request": dumps(request),
                "answer": dumps(answer),
            }
        )
        tx.append(
            kind=Kind.SCREENING,
            ref_id=screening_id,
            mrn=decision.mrn,
            # ``at``: upstream dates the screening when it happened, not when it synced.
            body={"id": screening_id, "mrn": decision.mrn, "at": now},
            answer=answer,
            at=now,
        )
        return {**answer, "sync": {"status": Status.PENDING.value}}

    def _replay_screening(
        self,
        tx: Tx,
        screening_id: str,
        request: dict[str, Any],
        stored: tuple[dict[str, Any], dict[str, Any]],
    ) -> dict[str, Any]:
        if stored[0] != request:
            raise Conflict(f"screening id {screening_id} was already used for another screening")
        answer = stored[1]
        row = tx.find(Kind.SCREENING, screening_id, answer["mrn"])
        mirrored = tx.item(answer["mrn"])
        if mirrored is not None:
            needed = inspection_block(mirrored.item, tx.records(answer["mrn"]))
            answer = {
                **answer,
                "inspection_required": needed is not None,
                "inspection_needed": needed,
            }
        return {**answer, "sync": sync_view(row)}

    # --- events --------------------------------------------------------------------------

    def record(self, mrn: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record an event validated by the upstream's own schema; (answer, created)."""
        event = self._at_this_office(body)
        with self.store.write() as tx:
            existing = tx.find(Kind.EVENT, event["id"], mrn)
            if existing is not None:
                if existing.body != event:
                    raise Conflict(f"event id {event['id']} was already used for a different event")
                return {**existing.answer, "sync": sync_view(existing)}, False
            answer = self._record(tx, mrn, event)
        self.recorded()
        return answer, True

    def _at_this_office(self, body: Mapping[str, Any]) -> dict[str, Any]:
        event = dict(body)
        errors = []
        if event["type"] not in NODE_EVENT_TYPES:
            allowed = ", ".join(sorted(NODE_EVENT_TYPES))
            errors.append(
                FieldError("type", f"a border-post node records {allowed}", "node-event-type")
            )
        event.setdefault("office", self.office)
        if event["office"] != self.office:
            errors.append(
                FieldError("office", f"this node records at {self.office} only", "node-office")
            )
        if parse_time(event["at"]) > self.clock() + CLOCK_SKEW:
            errors.append(FieldError("at", f"{event['at']} is in the future", "at-not-future"))
        if errors:
            raise InvalidInput(errors)
        return event

    def _record(self, tx: Tx, mrn: str, event: dict[str, Any]) -> dict[str, Any]:
        mirrored = tx.item(mrn)
        if mirrored is None:
            raise NotExpectedHere(f"no movement {mrn} known at {self.office} (as of last sync)")
        item, kind = mirrored.item, event["type"]
        _check_order(item, event)
        records = tx.records(mrn)
        payload = payload_of(event)
        before = local_state(mrn, item, _unreflected(tx.rows_of(mrn), mirrored))
        after = next_state(mrn, before, kind, payload)
        if kind in PASSAGE_TYPES:
            check_passage(mrn, self.office, item, event, records)
        now = iso(self.clock())
        answer = event_answer(mrn, event, before, after, office=self.office, at=now)
        tx.append(
            kind=Kind.EVENT,
            ref_id=event["id"],
            mrn=mrn,
            body=event,
            answer=answer,
            at=now,
            event_type=kind,
            inspection_kind=payload.get("kind") if kind == "inspection" else None,
        )
        return {**answer, "sync": {"status": Status.PENDING.value}}

    # --- the officer's view of the node --------------------------------------------------

    def conflicts(self, *, include_acknowledged: bool) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            return [
                conflict_view(r) for r in tx.conflicts(include_acknowledged=include_acknowledged)
            ]

    def acknowledge(self, seq: int) -> dict[str, Any]:
        """The officer has seen the conflict; it stays in the store and in ``?all=true``."""
        with self.store.write() as tx:
            row = tx.acknowledge(seq, iso(self.clock()))
        if row is None:
            raise NotFound(f"no conflict {seq} at this node")
        return conflict_view(row)

    def status(self, *, upstream: str, reachable: bool | None) -> dict[str, Any]:
        """The node at a glance: the upstream link, the last round, rows per status."""
        with self.store.read() as tx:
            counts, last = tx.counts(), tx.last_round()
            out = {
                "office": self.office,
                "office_name": tx.get_meta("office_name"),
                "country": tx.get_meta("country"),
                "upstream": {"url": upstream, "reachable": reachable,
                             "last_contact": tx.last_contact()},
                "rounds": tx.rounds(),
                "last_round": None if last is None else last.__dict__,
                "rulesets": tx.ruleset_versions(),
            }  # fmt: skip
        for s in Status:
            out[s.value] = {"events": counts[f"event_{s}"], "screenings": counts[f"screening_{s}"]}
        return {**out, "conflicts_open": counts["conflicts_open"], "expected": counts["expected"]}


def new_id(office: str) -> str:
    """A screening id no other node or terminal will choose (1-64 of A-Za-z0-9._:-)."""
    return f"{office}-{uuid.uuid4().hex}"


def _waiting(tx: Tx) -> list[Mirrored]:
    """Listed items whose passage was not recorded here yet: what the officer still awaits."""
    passed = tx.passed_mrns()
    return [m for m in tx.listed() if m.item["mrn"] not in passed]


def _unreflected(rows: list[OutboxRow], mirrored: Mirrored) -> list[tuple[str, dict[str, Any]]]:
    """Events recorded here that the mirrored state does not include yet: pending, or
    accepted upstream after the item was pulled."""
    return [
        (r.event_type or "", r.body)
        for r in rows
        if r.kind is Kind.EVENT
        and (
            r.status is Status.PENDING
            or (r.status is Status.SYNCED and (r.synced_at or "") > mirrored.pulled_at)
        )
    ]


def _check_order(item: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    released = item.get("released_at")
    if released and parse_time(event["at"]) < parse_time(released):
        raise InvalidInput(
            [
                FieldError(
                    "at",
                    f"{event['at']} is before the movement's release at {released}",
                    "at-in-order",
                )
            ]
        )
