"""Use cases of a border post: the pre-arrival list, screening, rulesets, trusted traders.

Screening decides through the pure risk engine (``tripp.risk``) with the office country's
current ruleset; each decision is stored with that ruleset's version and the random draw,
so that an auditor can recompute it. The inspection gate on crossings lives in ``gate`` and
is applied by the movement service when a crossing or arrival is recorded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tripp.audit import recorder as audit
from tripp.border import arrivals, store
from tripp.border.gate import inspection_needed
from tripp.border.subject import subject_for
from tripp.codes.country import is_country
from tripp.corridor.model import Corridor, Office, TransportMode
from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from tripp.movements import store as movement_store
from tripp.movements.model import Movement
from tripp.movements.policy import CLOCK_SKEW
from tripp.parties.model import Actor, Role
from tripp.risk.defaults import DEFAULT_COUNTRIES, default_ruleset_dict
from tripp.risk.engine import screen
from tripp.risk.model import Decision, HolderHistory, Lane, Subject
from tripp.risk.ruleset import Ruleset, from_dict
from tripp.tracking import store as tracking_store
from tripp.tracking.geometry import CorridorGeometry

Clock = Callable[[], datetime]
HISTORY_TTL_S = 30.0
VERSION_TTL_S = 5.0
CACHE_SIZE = 50_000


@dataclass(frozen=True)
class Target:
    """What the officer scanned: exactly one of them."""

    mrn: str | None = None
    vehicle_id: str | None = None
    container: str | None = None


@dataclass
class Border:
    uow: UnitOfWork
    corridor: Corridor
    clock: Clock
    geometry: CorridorGeometry
    # Parsed rulesets by (country, version): a version never changes once stored, so a
    # screening reads only the latest version number and parses a ruleset once per worker.
    _rulesets: dict[tuple[str, int], Ruleset] = field(default_factory=dict, repr=False)
    # Holder histories for HISTORY_TTL_S: counting a busy holder's record on every scan would
    # cost more than the scan; the record a decision used is stored with it.
    # Trusted-trader status likewise, per (country, holder); a change made through this
    # worker applies at once, one made through another within HISTORY_TTL_S.
    _histories: dict[str, tuple[float, HolderHistory]] = field(default_factory=dict, repr=False)
    _trust: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict, repr=False)
    # The latest ruleset version per country, re-read every VERSION_TTL_S.
    _versions: dict[str, tuple[float, int | None]] = field(default_factory=dict, repr=False)

    def _history(self, conn: Connection, holders: Sequence[str]) -> dict[str, HolderHistory]:
        def load(missing: list[str]) -> dict[str, HolderHistory]:
            counted = store.histories(conn, missing)
            return {h: counted.get(h, HolderHistory()) for h in missing}

        return _cached(self._histories, holders, load)

    def _trusted(self, conn: Connection, country: str, holders: Sequence[str]) -> set[str]:
        def load(missing: list[tuple[str, str]]) -> dict[tuple[str, str], bool]:
            granted = store.trusted(conn, country, [h for _, h in missing])
            return {key: key[1] in granted for key in missing}

        known = _cached(self._trust, [(country, h) for h in holders], load)
        return {h for (_, h), yes in known.items() if yes}

    def _latest_version(self, conn: Connection, country: str) -> int | None:
        now = time.monotonic()
        found = self._versions.get(country)
        if found is None or now - found[0] >= VERSION_TTL_S:
            found = (now, store.latest_version(conn, country))
            self._versions[country] = found
        return found[1]

    def _current(self, conn: Connection, country: str) -> Ruleset:
        version = self._latest_version(conn, country)
        key = (country, version or 1)
        found = self._rulesets.get(key)
        if found is None:
            found = _current(conn, country)
            self._rulesets[key] = found
        return found

    # --- rulesets ----------------------------------------------------------------------

    def ruleset(self, actor: Actor, country: str, version: int | None = None) -> dict[str, Any]:
        _may_manage(actor, country, "see")
        with self.uow.read() as conn:
            if version is None:
                return self._current(conn, country).to_dict()
            body = store.ruleset_version(conn, country, version)
        if body is None and version == 1 and country in DEFAULT_COUNTRIES:
            return default_ruleset_dict(country)
        if body is None:
            raise NotFound(f"no ruleset version {version} for {country}")
        return body

    def publish_ruleset(self, actor: Actor, country: str, body: object) -> dict[str, Any]:
        """Store ``body`` as ``country``'s next version; the number is the server's."""
        _may_manage(actor, country, "publish")
        if not isinstance(body, dict):
            raise InvalidInput([FieldError("", "a ruleset is a JSON object", "type")])
        for _ in range(3):  # two publishers may race for the same next number
            try:
                with self.uow.write() as conn:
                    version = max(store.latest_version(conn, country) or 1, 1) + 1
                    ruleset = from_dict({**body, "country": country, "version": version})
                    store.insert_ruleset(conn, ruleset.to_dict(), by=actor.party, at=self.clock())
                    audit.note(conn, "ruleset.publish", country, actor.party, actor.role,
                               {"version": version}, self.clock)  # fmt: skip
            except IntegrityError:
                continue
            self._versions.pop(country, None)
            return ruleset.to_dict()
        raise Conflict(f"{country} rulesets were published concurrently; retry")

    def set_trust(self, actor: Actor, country: str, holder: str, trusted: bool) -> bool:
        """Grant or withdraw trusted-trader status; True when it changed anything."""
        _may_manage(actor, country, "grant trusted-trader status for")
        with self.uow.write() as conn:
            if trusted:
                changed = store.grant_trust(conn, country, holder, by=actor.party, at=self.clock())
            else:
                changed = store.revoke_trust(conn, country, holder)
            if changed:
                audit.note(conn, "trust.grant" if trusted else "trust.revoke", holder,
                           actor.party, actor.role, {"country": country}, self.clock)  # fmt: skip
        self._trust.pop((country, holder), None)
        return changed

    # --- pre-arrival -------------------------------------------------------------------

    def expected(
        self, actor: Actor, office_code: str, start: int = 0, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The movements expected at the office, soonest first (see docs/border-posts.md):
        the ``limit`` from ``start`` on (all without a limit), and how many there are.

        Only the ETA decides the order, so only ETAs are computed for the whole list; the
        risk decision, screenings and inspections only for the page asked for. A post with
        thousands of vehicles expected answers a page in the time of that page.
        """
        office = self._office(office_code)
        if not _may_watch(actor, office):
            raise Forbidden(f"{actor.party} does not see the arrivals of {office.code}")
        with self.uow.read() as conn:
            stops = store.expected_stops(conn, office.code)
            etas = self._etas(conn, stops, office)
            order = sorted(etas, key=lambda mrn: (etas[mrn][0].timestamp(), mrn))
            mrns = order[start:] if limit is None else order[start : start + limit]
            page = movement_store.get_movements(conn, mrns)
            items = self._items(conn, page, office, etas, goods=actor.role is not Role.OPERATOR)
        return items, len(order)

    def _items(
        self,
        conn: Connection,
        found: Sequence[Movement],
        office: Office,
        etas: dict[str, tuple[datetime, str]],
        *,
        goods: bool,
    ) -> list[dict[str, Any]]:
        mrns = [m.mrn for m in found]
        ruleset = self._current(conn, office.country)
        decisions = self._decide(conn, found, office, ruleset)
        screened = store.latest_screenings(conn, mrns, office.code)
        lanes = store.screening_lanes(conn, mrns, office.code)
        inspected = store.inspections_at(conn, mrns, office.code)
        items = []
        for m in found:
            d = m.declaration
            latest = screened.get(m.mrn)
            items.append({
                "mrn": m.mrn, "state": m.state.value, "holder": m.holder,
                "mode": d.transport.mode.value, "vehicle_id": d.transport.vehicle_id,
                "containers": list(d.transport.containers), "seals": list(m.seals),
                "tracker_id": m.tracker_id,
                "office_role": arrivals.office_role(d, office.code),
                "next_event": arrivals.next_event(d, self.corridor, office.code).to_json(),
                "released_at": m.released_at, "eta": etas[m.mrn][0], "eta_source": etas[m.mrn][1],
                **_decision_fields(decisions[m.mrn]),
                "screening": None if latest is None
                else screening_view(latest, None, inputs=goods),
                "inspection_required": (needed := _needs(
                    lanes.get(m.mrn, []), inspected.get(m.mrn, []))) is not None,
                "inspection_needed": needed,
                "open_alerts": sorted(decisions[m.mrn][1].alerts),
                "goods": [{"hs_code": g.hs_code, "gross_mass_kg": str(g.gross_mass_kg)}
                          for g in d.goods] if goods else None,
                # What the precomputed lane was decided on: a post node offline screens
                # again from it with its mirrored ruleset.
                "subject": subject_json(decisions[m.mrn][1]) if goods else None,
            })  # fmt: skip
        return items

    def _decide(
        self,
        conn: Connection,
        found: Sequence[Movement],
        office: Office,
        ruleset: Ruleset,
        alerts: dict[str, set[str]] | None = None,
    ) -> dict[str, tuple[Decision, Subject]]:
        """``alerts``: the open alert kinds per movement when the caller has them."""
        holders = sorted({m.holder for m in found})
        history = self._history(conn, holders)
        trusted = self._trusted(conn, office.country, holders)
        if alerts is None:
            alerts = store.open_alerts(conn, [m.mrn for m in found])
        out = {}
        for m in found:
            subject = subject_for(
                m, office=office.code, country=office.country,
                history=history.get(m.holder, HolderHistory()),
                alerts=alerts.get(m.mrn, set()), trusted=m.holder in trusted,
            )  # fmt: skip
            out[m.mrn] = (screen(subject, ruleset), subject)
        return out

    def _etas(
        self, conn: Connection, stops: Sequence[store.ExpectedStop], office: Office
    ) -> dict[str, tuple[datetime, str]]:
        fixes = tracking_store.latest_many(conn, [s.tracker_id for s in stops if s.tracker_id])
        # Where each movement is (its latest fix since release, else its office of
        # departure): one vectorised projection per transport mode for the whole list.
        points: dict[TransportMode, list[tuple[str, float, float]]] = {}
        tracked: dict[str, datetime] = {}
        for s in stops:
            fix = fixes.get(s.tracker_id) if s.tracker_id else None
            if fix is not None and s.released_at is not None and fix.time >= s.released_at:
                where = (fix.lon, fix.lat)
                tracked[s.mrn] = fix.time
            else:
                where = self.corridor.offices[s.departure].location
            points.setdefault(TransportMode(s.mode), []).append((s.mrn, *where))
        way: dict[str, float] = {}
        for mode, rows in points.items():
            at_office = self._chainage(mode, [office.location])[0]
            along = self._chainage(mode, [(lon, lat) for _, lon, lat in rows])
            way.update(
                (mrn, abs(at_office - float(c))) for (mrn, _, _), c in zip(rows, along, strict=True)
            )
        out: dict[str, tuple[datetime, str]] = {}
        for s in stops:
            mode = TransportMode(s.mode)
            if s.mrn in tracked:
                out[s.mrn] = (arrivals.tracked_eta(tracked[s.mrn], way[s.mrn], mode), "tracking")
                continue
            released = s.released_at or s.accepted_at
            out[s.mrn] = (arrivals.scheduled_eta(released, way[s.mrn], mode, s.passed), "schedule")
        return out

    def _chainage(self, mode: Any, lonlats: Sequence[tuple[float, float]]) -> list[float]:
        lons = [p[0] for p in lonlats]
        lats = [p[1] for p in lonlats]
        return [float(c) for c in self.geometry.chainage_m(mode, lons, lats)]

    # --- screening ---------------------------------------------------------------------

    def screen(
        self,
        actor: Actor,
        office_code: str,
        target: Target,
        screening_id: str | None,
        request_hash: str,
        at: datetime | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Screen the movement ``target`` names at the office; (view, created). A repeated
        ``screening_id`` answers the stored decision; None: the server names it. ``at``:
        when it was screened, for a post node syncing what it screened offline."""
        now = self.clock()
        if at is not None and at > now + CLOCK_SKEW:
            raise InvalidInput([FieldError("at", f"{at.isoformat()} is in the future",
                                           "at-not-future")])  # fmt: skip
        office = self._office(office_code)
        if actor.role is not Role.ADMIN and not (
            actor.role is Role.CUSTOMS and actor.country == office.country
        ):
            raise Forbidden(f"only {office.country} customs screen at {office.code}")
        chosen = screening_id is not None
        screening_id = screening_id or f"srv-{uuid.uuid4()}"
        try:
            with self.uow.write() as conn:
                if chosen and store.get_screening(conn, screening_id) is not None:
                    return self._replay(conn, screening_id, request_hash), False
                return self._screen(
                    conn, actor, office, target, screening_id, request_hash, at or now
                )
        except IntegrityError:  # the same id stored concurrently: answer what was stored
            with self.uow.read() as conn:
                return self._replay(conn, screening_id, request_hash), False

    def _screen(
        self,
        conn: Connection,
        actor: Actor,
        office: Office,
        target: Target,
        screening_id: str,
        request_hash: str,
        now: datetime,
    ) -> tuple[dict[str, Any], bool]:
        movement = self._resolve(conn, office, target)
        ruleset = self._current(conn, office.country)
        record = store.office_record(conn, movement.mrn, office.code)
        decision, subject = self._decide(
            conn, [movement], office, ruleset, {movement.mrn: record.alerts}
        )[movement.mrn]
        row = {
            "id": screening_id, "mrn": movement.mrn, "office": office.code, "at": now,
            "lane": decision.lane.value, "score": decision.score,
            "reasons": [_reason(r) for r in decision.reasons],
            "ruleset_country": decision.ruleset_country,
            "ruleset_version": decision.ruleset_version, "draw": decision.draw,
            "subject": subject_json(subject),
            "screened_by": actor.party, "request_hash": request_hash,
        }  # fmt: skip
        store.insert_screening(conn, row)
        audit.note(conn, "screening", movement.mrn, actor.party, actor.role,
                   {"id": screening_id, "office": office.code, "lane": row["lane"],
                    "ruleset_version": decision.ruleset_version, "draw": decision.draw,
                    "request_hash": request_hash}, self.clock)  # fmt: skip
        strictest = max(Lane(x) for x in [*record.lanes, decision.lane.value])
        needed = inspection_needed(strictest, record.inspections)
        return screening_view(SimpleNamespace(**row), needed), True

    def _replay(self, conn: Connection, screening_id: str, request_hash: str) -> dict[str, Any]:
        stored = store.get_screening(conn, screening_id)
        if stored is None:  # the insert failed for another reason, since rolled back
            raise Conflict(f"screening {screening_id} could not be stored; retry it")
        if stored.request_hash != request_hash:
            raise Conflict(f"screening id {screening_id} was already used for another screening")
        return screening_view(stored, _office_needs(conn, stored.mrn, stored.office))

    def _resolve(self, conn: Connection, office: Office, target: Target) -> Movement:
        if target.mrn is not None:
            movement = movement_store.get_movement(conn, target.mrn, for_update=True)
            if movement is None or arrivals.office_role(movement.declaration, office.code) is None:
                raise NotFound(f"no movement {target.mrn} passes {office.code}")
            return movement
        found = []
        expected = [s.mrn for s in store.expected_stops(conn, office.code)]
        for movement in movement_store.get_movements(conn, expected):
            transport = movement.declaration.transport
            if (target.vehicle_id is not None and transport.vehicle_id == target.vehicle_id) or (
                target.container is not None and target.container in transport.containers
            ):
                found.append(movement)
        scanned = target.vehicle_id or target.container
        if not found:
            raise NotFound(f"no movement expected at {office.code} for {scanned}")
        if len(found) > 1:
            # Screening one of them would let the others cross unscreened.
            mrns = ", ".join(m.mrn for m in found)
            raise Conflict(f"{scanned} carries {len(found)} movements ({mrns}): scan each MRN")
        # Locked like a crossing locks it: a red scan and a crossing are never interleaved.
        return _sure_movement(movement_store.get_movement(conn, found[0].mrn, for_update=True))

    def screenings(self, actor: Actor, mrn: str) -> list[dict[str, Any]]:
        from tripp.movements import policy

        if actor.role not in (Role.ADMIN, Role.CUSTOMS, Role.OPERATOR):
            raise Forbidden(f"{actor.role} parties do not see screenings")
        with self.uow.read() as conn:
            movement = movement_store.get_movement(conn, mrn)
            if movement is None or not policy.can_see(actor, movement, self.corridor):
                raise NotFound(f"no movement {mrn}")
            rows = store.list_screenings(conn, mrn)
            needs = {
                office: _office_needs(conn, mrn, office) for office in {r.office for r in rows}
            }
        inputs = actor.role is not Role.OPERATOR
        return [screening_view(r, needs[r.office], inputs=inputs) for r in rows]

    def _office(self, code: str) -> Office:
        office = self.corridor.office(code)
        if office is None:
            raise NotFound(f"no office {code} on {self.corridor.id}")
        return office


def _sure_movement(movement: Movement | None) -> Movement:
    assert movement is not None  # found a moment ago in the same transaction
    return movement


def crossing_block(conn: Connection, mrn: str, office: str) -> str | None:
    """What the movement needs before it may cross ``office``; None when nothing."""
    return _office_needs(conn, mrn, office)


def _office_needs(conn: Connection, mrn: str, office: str) -> str | None:
    record = store.office_record(conn, mrn, office)
    strictest = max((Lane(x) for x in record.lanes), default=None)
    return inspection_needed(strictest, record.inspections)


def _needs(lanes: Sequence[str], inspections: Sequence[tuple[datetime, str]]) -> str | None:
    """The strictest screening at the office decides, and any inspection recorded there
    counts: a movement passes an office once, and a second scan that happens to draw a
    milder lane must not wave through what the first one selected."""
    strictest = max((Lane(lane) for lane in lanes), default=None)
    return inspection_needed(strictest, {kind for _, kind in inspections})


def _current(conn: Connection, country: str) -> Ruleset:
    body = store.current_ruleset(conn, country)
    if body is not None:
        return from_dict(body)
    if country in DEFAULT_COUNTRIES:
        return from_dict(default_ruleset_dict(country))
    # A country without rules of its own screens on the baseline, under its own name.
    return from_dict({**default_ruleset_dict(DEFAULT_COUNTRIES[0]), "country": country})


K = TypeVar("K")
V = TypeVar("V")


def _cached(
    cache: dict[K, tuple[float, V]],
    keys: Sequence[K],
    load: Callable[[list[K]], dict[K, V]],
) -> dict[K, V]:
    """``keys``' values, those older than HISTORY_TTL_S (or never seen) loaded in one call."""
    now = time.monotonic()
    out = {
        k: found[1]
        for k in keys
        if (found := cache.get(k)) is not None and now - found[0] < HISTORY_TTL_S
    }
    missing = [k for k in keys if k not in out]
    if missing:
        loaded = load(missing)
        for k in missing:
            out[k] = loaded[k]
            cache[k] = (now, loaded[k])
        _bound(cache)
    return out


def _bound(cache: dict[Any, Any]) -> None:
    if len(cache) > CACHE_SIZE:  # a rare full refill beats bookkeeping on every scan
        cache.clear()


def _may_manage(actor: Actor, country: str, what: str) -> None:
    if not is_country(country):
        raise InvalidInput(
            [FieldError("country", f"{country!r} is not ISO 3166-1 alpha-2", "country-iso3166")]
        )
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.CUSTOMS and actor.country == country:
        return
    raise Forbidden(f"only {country} customs {what} {country}'s risk rules")


def _may_watch(actor: Actor, office: Office) -> bool:
    if actor.role in (Role.ADMIN, Role.OPERATOR):
        return True
    return actor.role is Role.CUSTOMS and actor.country == office.country


def _reason(r: Any) -> dict[str, Any]:
    return {"rule": r.rule, "kind": r.kind.value, "points": r.points,
            "lane": None if r.lane is None else r.lane.value, "detail": r.detail}  # fmt: skip


def _decision_fields(found: tuple[Decision, Subject]) -> dict[str, Any]:
    decision = found[0]
    return {
        "lane": decision.lane.value,
        "reasons": [_reason(r) for r in decision.reasons],
        "ruleset": {"country": decision.ruleset_country, "version": decision.ruleset_version},
    }


def subject_json(subject: Subject) -> dict[str, Any]:
    """What was screened, as stored with the decision (see ``tables.screenings.subject``)."""
    h = subject.history
    return {
        "mrn": subject.mrn, "country": subject.country, "office": subject.office,
        "holder": subject.holder, "mode": subject.mode.value, "vehicle": subject.vehicle,
        "gross_mass_kg": str(subject.gross_mass_kg), "hs_codes": list(subject.hs_codes),
        "history": {"movements_total": h.movements_total, "discrepancies": h.discrepancies,
                    "incidents": h.incidents, "recoveries": h.recoveries},
        "alerts": sorted(subject.alerts), "trusted_trader": subject.trusted_trader,
    }  # fmt: skip


def screening_view(row: Any, needed: str | None, *, inputs: bool = True) -> dict[str, Any]:
    """``inputs``: with what was screened (customs and admin; not the operator)."""
    view = {
        "id": row.id, "mrn": row.mrn, "office": row.office, "at": row.at,
        "lane": row.lane, "score": row.score, "reasons": list(row.reasons),
        "ruleset": {"country": row.ruleset_country, "version": row.ruleset_version},
        "draw": row.draw, "inspection_required": needed is not None,
        "inspection_needed": needed,
    }  # fmt: skip
    if inputs:
        view["subject"] = dict(row.subject)
    return view
