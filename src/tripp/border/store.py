"""Rulesets, trusted traders, screenings and what screening needs, in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from tripp.db.tables import (
    alerts,
    events,
    movement_offices,
    movements,
    risk_rulesets,
    screenings,
    trusted_traders,
)
from tripp.movements.model import UNDER_WAY, MovementState
from tripp.risk.model import HolderHistory

# --- rulesets ---------------------------------------------------------------------------


def current_ruleset(conn: Connection, country: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(risk_rulesets.c.body)
        .where(risk_rulesets.c.country == country)
        .order_by(risk_rulesets.c.version.desc())
        .limit(1)
    ).first()
    return dict(row.body) if row else None


def ruleset_version(conn: Connection, country: str, version: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(risk_rulesets.c.body).where(
            risk_rulesets.c.country == country, risk_rulesets.c.version == version
        )
    ).first()
    return dict(row.body) if row else None


def latest_version(conn: Connection, country: str) -> int | None:
    value = conn.execute(
        select(func.max(risk_rulesets.c.version)).where(risk_rulesets.c.country == country)
    ).scalar()
    return int(value) if value is not None else None


def insert_ruleset(conn: Connection, body: dict[str, Any], *, by: str, at: datetime) -> None:
    conn.execute(
        insert(risk_rulesets),
        [{"country": body["country"], "version": body["version"], "body": body,
          "created_by": by, "created_at": at}],
    )  # fmt: skip


# --- trusted traders ---------------------------------------------------------------------


def trusted(conn: Connection, country: str, holders: Sequence[str]) -> set[str]:
    rows = conn.execute(
        select(trusted_traders.c.holder).where(
            trusted_traders.c.country == country, trusted_traders.c.holder.in_(list(holders))
        )
    )
    return {r.holder for r in rows}


def grant_trust(conn: Connection, country: str, holder: str, *, by: str, at: datetime) -> bool:
    """True when granted now; a concurrent or repeated grant changes nothing."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    result = conn.execute(
        dialect.insert(trusted_traders)
        .values(country=country, holder=holder, granted_by=by, granted_at=at)
        .on_conflict_do_nothing(index_elements=["country", "holder"])
    )
    return result.rowcount > 0


def revoke_trust(conn: Connection, country: str, holder: str) -> bool:
    result = conn.execute(
        delete(trusted_traders).where(
            trusted_traders.c.country == country, trusted_traders.c.holder == holder
        )
    )
    return result.rowcount > 0


# --- what screening needs -------------------------------------------------------------------


def histories(conn: Connection, holders: Sequence[str]) -> dict[str, HolderHistory]:
    """Per holder: movements lodged, control discrepancies, incidents (incident events and
    inspections followed up as incidents) and movements in recovery."""
    wanted = sorted(set(holders))
    if not wanted:
        return {}
    outcome = events.c.payload["outcome"].as_string()
    follow_up = events.c.payload["follow_up"].as_string()
    counted = (
        select(
            movements.c.holder,
            func.count().label("total"),
            func.count()
            .filter(movements.c.state == MovementState.RECOVERY.value)
            .label("recoveries"),
        )
        .where(movements.c.holder.in_(wanted))
        .group_by(movements.c.holder)
    )
    out = {r.holder: [r.total, 0, 0, r.recoveries] for r in conn.execute(counted)}
    flagged = (
        select(
            movements.c.holder,
            func.count()
            .filter(and_(events.c.type == "control_result", outcome == "discrepancies"))
            .label("discrepancies"),
            func.count()
            .filter(
                or_(
                    events.c.type == "incident",
                    and_(events.c.type == "inspection", follow_up == "incident"),
                )
            )
            .label("incidents"),
        )
        .select_from(events.join(movements, movements.c.mrn == events.c.mrn))
        .where(
            movements.c.holder.in_(wanted),
            events.c.type.in_(["control_result", "incident", "inspection"]),
        )
        .group_by(movements.c.holder)
    )
    for r in conn.execute(flagged):
        out.setdefault(r.holder, [0, 0, 0, 0])[1:3] = [r.discrepancies, r.incidents]
    return {
        h: HolderHistory(movements_total=t, discrepancies=d, incidents=i, recoveries=rc)
        for h, (t, d, i, rc) in out.items()
    }


def open_alerts(conn: Connection, mrns: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    if not mrns:
        return out
    rows = conn.execute(
        select(alerts.c.mrn, alerts.c.kind).where(
            alerts.c.mrn.in_(list(mrns)), alerts.c.cleared_at.is_(None)
        )
    )
    for r in rows:
        out.setdefault(r.mrn, set()).add(r.kind)
    return out


@dataclass(frozen=True)
class ExpectedStop:
    """What the ETA of a movement at an office needs, read without its declaration."""

    mrn: str
    mode: str
    released_at: datetime | None
    accepted_at: datetime
    tracker_id: str | None
    departure: str  # the office of departure
    passed: int  # offices of transit before this one


def expected_stops(conn: Connection, office: str) -> list[ExpectedStop]:
    """Movements under way that name ``office`` as transit or destination and have not yet
    been recorded there (a crossing at a transit office, an arrival at the destination),
    in acceptance order, with what their ETAs need (see ``ExpectedStop``)."""
    here = movement_offices.alias("here")
    departure = movement_offices.alias("departure")
    done_here = exists().where(
        events.c.mrn == movements.c.mrn,
        events.c.office == office,
        events.c.type.in_(["border_crossing", "arrival"]),
    )
    query = (
        select(
            movements.c.mrn,
            movements.c.declaration["transport"]["mode"].as_string().label("mode"),
            movements.c.released_at,
            movements.c.accepted_at,
            movements.c.tracker_id,
            departure.c.office_code.label("departure"),
            here.c.position,
        )
        .join(here, here.c.mrn == movements.c.mrn)
        .join(departure, (departure.c.mrn == movements.c.mrn) & (departure.c.position == 0))
        .where(
            here.c.office_code == office,
            here.c.role.in_(["transit", "destination"]),
            movements.c.state.in_([s.value for s in UNDER_WAY]),
            ~done_here,
        )
        .order_by(movements.c.seq)
    )
    out: dict[str, ExpectedStop] = {}
    for r in conn.execute(query):
        if r.mrn not in out:  # position 0 is departure: the offices before are position - 1
            out[r.mrn] = ExpectedStop(r.mrn, r.mode, r.released_at, r.accepted_at,
                                      r.tracker_id, r.departure, r.position - 1)  # fmt: skip
    return list(out.values())


# --- screenings --------------------------------------------------------------------------


def insert_screening(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(screenings), [row])


def get_screening(conn: Connection, screening_id: str) -> Any:
    return conn.execute(select(screenings).where(screenings.c.id == screening_id)).first()


def latest_screenings(conn: Connection, mrns: Sequence[str], office: str) -> dict[str, Any]:
    """The latest screening of each of ``mrns`` at ``office``."""
    if not mrns:
        return {}
    rows = conn.execute(
        select(screenings)
        .where(screenings.c.mrn.in_(list(mrns)), screenings.c.office == office)
        .order_by(screenings.c.at, screenings.c.id)
    )
    return {r.mrn: r for r in rows}


def screening_lanes(conn: Connection, mrns: Sequence[str], office: str) -> dict[str, list[str]]:
    """Per movement, the lanes of every screening at ``office``."""
    if not mrns:
        return {}
    rows = conn.execute(
        select(screenings.c.mrn, screenings.c.lane).where(
            screenings.c.mrn.in_(list(mrns)), screenings.c.office == office
        )
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.mrn, []).append(r.lane)
    return out


@dataclass(frozen=True)
class OfficeRecord:
    """One movement at one office: its screenings' lanes, the kinds of inspection recorded
    there, and the kinds of its open tracking alerts."""

    lanes: list[str]
    inspections: set[str]
    alerts: set[str]


def office_record(conn: Connection, mrn: str, office: str) -> OfficeRecord:
    """``OfficeRecord`` of ``mrn`` at ``office``, in one round trip."""
    tagged = union_all(
        select(literal("lane").label("tag"), screenings.c.lane.label("value")).where(
            screenings.c.mrn == mrn, screenings.c.office == office
        ),
        select(literal("inspection"), events.c.payload["kind"].as_string()).where(
            events.c.mrn == mrn, events.c.office == office, events.c.type == "inspection"
        ),
        select(literal("alert"), alerts.c.kind).where(
            alerts.c.mrn == mrn, alerts.c.cleared_at.is_(None)
        ),
    )
    out = OfficeRecord([], set(), set())
    for tag, value in conn.execute(tagged):
        if value is None:
            continue
        if tag == "lane":
            out.lanes.append(value)
        else:
            (out.inspections if tag == "inspection" else out.alerts).add(value)
    return out


def list_screenings(conn: Connection, mrn: str) -> list[Any]:
    return list(
        conn.execute(select(screenings).where(screenings.c.mrn == mrn).order_by(screenings.c.at))
    )


def inspections_at(
    conn: Connection, mrns: Sequence[str], office: str
) -> dict[str, list[tuple[datetime, str]]]:
    """Per movement, the inspections recorded at ``office``: (recorded at, kind)."""
    if not mrns:
        return {}
    query = select(events.c.mrn, events.c.recorded_at, events.c.payload).where(
        events.c.mrn.in_(list(mrns)), events.c.office == office, events.c.type == "inspection"
    )
    out: dict[str, list[tuple[datetime, str]]] = {}
    for r in conn.execute(query):
        out.setdefault(r.mrn, []).append((r.recorded_at, str(r.payload.get("kind"))))
    return out
