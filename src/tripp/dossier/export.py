"""Gather a movement's record from the store into a dossier and sign it."""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from tripp.audit import store as audit_store
from tripp.audit.chain import Entry
from tripp.border import store as border_store
from tripp.border.service import screening_view
from tripp.db.tables import alerts
from tripp.db.uow import UnitOfWork
from tripp.errors import NotFound
from tripp.movements import store as movement_store
from tripp.movements.views import movement_view
from tripp.signing import store as key_store
from tripp.signing.documents import canonical, iso
from tripp.signing.keys import KeyPair
from tripp.tracking import store as tracking_store
from tripp.tracking.model import Fix
from tripp.tracking.views import alert_view

FORMAT = "tripp-dossier/1"


def export(uow: UnitOfWork, mrn: str, signer: KeyPair, now: datetime) -> dict[str, Any]:
    """The dossier of ``mrn``, signed by ``signer`` (the exporting party)."""
    with uow.read() as conn:
        movement = movement_store.get_movement(conn, mrn)
        if movement is None:
            raise NotFound(f"no movement {mrn}")
        events = movement_store.list_events(conn, mrn)
        raised = conn.execute(select(alerts).where(alerts.c.mrn == mrn)
                              .order_by(alerts.c.raised_at, alerts.c.id)).all()  # fmt: skip
        screened = border_store.list_screenings(conn, mrn)
        fixes = tracking_store.movement_fixes(conn, mrn)
        entries = list(audit_store.entries(conn, subject=mrn))
        head = audit_store.head(conn)
        keys = key_store.public_keys(conn)
    body: dict[str, Any] = {
        "format": FORMAT,
        "mrn": mrn,
        "exported_at": iso(now),
        "movement": movement_view(movement, commercial=True),
        "events": [
            {
                **s.document(),
                "seq": s.seq,
                "recorded_at": iso(s.recorded_at),
                "signature": s.signature,
                "key_id": s.key_id,
            }
            for s in events
        ],
        "alerts": [alert_view(r) for r in raised],
        "screenings": [screening_view(r, None) for r in screened],
        "track": track_summary(fixes),
        "audit": {
            "entries": [entry_json(e) for e in entries],
            "head": {"seq": head.seq, "hash": head.hash},
        },
        "keys": keys,
    }
    # Through JSON once, so what is signed is exactly what a reader of the file parses.
    body = orjson.loads(orjson.dumps(body, default=str))
    body["signature"] = {"party": signer.party, "key_id": signer.key_id,
                         "value": signer.sign(canonical(body))}  # fmt: skip
    return body


def entry_json(e: Entry) -> dict[str, Any]:
    return {"seq": e.seq, "at": iso(e.at), "action": e.action, "subject": e.subject,
            "party": e.party, "role": e.role, "detail": dict(e.detail),
            "prev_hash": e.prev_hash, "hash": e.hash}  # fmt: skip


def track_summary(fixes: list[Fix]) -> dict[str, Any]:
    """Enough to judge the journey without the full history: counts, ends, box, length."""
    if not fixes:
        return {"fixes": 0}
    lons = [f.lon for f in fixes]
    lats = [f.lat for f in fixes]
    length = sum(_km(a, b) for a, b in itertools.pairwise(fixes))
    return {
        "fixes": len(fixes),
        "first": {"at": iso(fixes[0].time), "lon": fixes[0].lon, "lat": fixes[0].lat},
        "last": {"at": iso(fixes[-1].time), "lon": fixes[-1].lon, "lat": fixes[-1].lat},
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "length_km": round(length, 3),
    }


def _km(a: Fix, b: Fix) -> float:
    """Great-circle distance (haversine, mean Earth radius): a summary, not a survey."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
