"""What the node answers: screenings, recorded events and conflicts, in the upstream's
shapes where the upstream has one, plus ``sync`` (where the row is) and ``basis``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tripp.border.gate import inspection_needed
from tripp.movements.model import MovementState, allowed_events
from tripp.post.model import Status
from tripp.post.screening import Basis, reason_json
from tripp.post.store import OutboxRow
from tripp.risk.model import Decision

_HEAD = frozenset({"id", "type", "office", "at"})


def payload_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event type's own fields: all but id, type, office and at."""
    return {k: v for k, v in event.items() if k not in _HEAD}


def screening_answer(
    decision: Decision, basis: Basis, *, screening_id: str, office: str, at: str
) -> dict[str, Any]:
    """As the upstream's ``ScreeningOut``; ``inspection_required`` as just screened."""
    needed = inspection_needed(decision.lane, ())
    return {
        "id": screening_id,
        "mrn": decision.mrn,
        "office": office,
        "at": at,
        "lane": decision.lane.value,
        "score": decision.score,
        "reasons": [reason_json(r) for r in decision.reasons],
        "ruleset": {"country": decision.ruleset_country, "version": decision.ruleset_version},
        "draw": decision.draw,
        "inspection_required": needed is not None,
        "inspection_needed": needed,
        "basis": basis.value,
    }


def event_answer(
    mrn: str,
    event: Mapping[str, Any],
    before: MovementState,
    after: MovementState,
    *,
    office: str,
    at: str,
) -> dict[str, Any]:
    """As the upstream's answer to a recorded event (``recorded_view``)."""
    return {
        "mrn": mrn,
        "state": after.value,
        "previous_state": before.value,
        "allowed_events": [t.value for t in allowed_events(after)],
        "event": {
            **{k: event[k] for k in ("id", "type", "office", "at")},
            "recorded_at": at,
            "recorded_by": f"post:{office}",
            "state_before": before.value,
            "state_after": after.value,
            "payload": payload_of(event),
        },
    }


def sync_view(row: OutboxRow | None) -> dict[str, Any]:
    if row is None:
        return {"status": Status.PENDING.value}
    return {"status": row.status.value, "conflict": row.conflict, "at": row.synced_at}


def screening_shown(row: OutboxRow) -> Any:
    """The upstream's decision once it screened, else the node's own."""
    taken = row.upstream_status is not None and 200 <= row.upstream_status < 300
    return row.upstream_answer if taken else row.answer


def conflict_view(row: OutboxRow) -> dict[str, Any]:
    """A conflict as the officer sees it: what was recorded here and what the upstream said."""
    return {
        "seq": row.seq,
        "kind": row.kind.value,
        "mrn": row.mrn,
        "id": row.ref_id,
        "type": row.event_type or "screening",
        "created_at": row.created_at,
        "conflict": row.conflict,
        "acknowledged_at": row.acknowledged_at,
        "upstream_status": row.upstream_status,
        "upstream_answer": row.upstream_answer,
        "answered_at": row.synced_at,
        "body": row.body,
        "answer": row.answer,
    }
