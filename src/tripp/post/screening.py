"""Screening at the node from the mirrored pre-arrival item (pure).

The node screens with the same engine (``tripp.risk.engine.screen``) and the same ruleset
version the upstream uses, on the inputs the upstream published with the item's
precomputed decision: ``subject``, in the format the upstream stores with each screening
(``tripp.border.service.subject_json``: goods codes and mass, mode, vehicle, the holder's
record, open alerts, trusted-trader status). An item without ``subject`` still carries the
upstream's own precomputed decision for those inputs; the node then adopts that decision
rather than guess the holder's record, since a guess would put honest holders in the
yellow lane (the new-holder rule) while offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tripp.corridor.model import TransportMode
from tripp.post.errors import NotExpectedHere, NotScreenable
from tripp.risk.engine import random_draw, screen
from tripp.risk.model import Decision, HolderHistory, Lane, Reason, RuleKind, Subject
from tripp.risk.ruleset import Ruleset


class Basis(StrEnum):
    """How the node reached a decision."""

    ENGINE = "engine"  # the risk engine on the mirrored inputs and ruleset
    PRE_ARRIVAL = "pre-arrival"  # the upstream's precomputed decision in the mirrored item


@dataclass(frozen=True)
class Target:
    """What the officer scanned: exactly one of them."""

    mrn: str | None = None
    vehicle_id: str | None = None
    container: str | None = None

    @property
    def shown(self) -> str:
        return self.mrn or self.vehicle_id or self.container or "(nothing)"


def resolve(
    office: str, target: Target, known: Mapping[str, Mapping[str, Any]], waiting: Iterable[str]
) -> Mapping[str, Any]:
    """The mirrored item ``target`` names. An MRN may name any movement the node knows
    (``known``); a plate or container only one still waiting at the office (``waiting``,
    MRNs in expected order), since a plate is reused by the next load."""
    if target.mrn is not None:
        item = known.get(target.mrn)
        if item is None:
            raise NotExpectedHere(f"no movement {target.mrn} known at {office} (as of last sync)")
        return item
    for mrn in waiting:
        item = known[mrn]
        if target.vehicle_id is not None and item.get("vehicle_id") == target.vehicle_id:
            return item
        if target.container is not None and target.container in item.get("containers", ()):
            return item
    raise NotExpectedHere(f"no movement expected at {office} for {target.shown}")


def decide(
    item: Mapping[str, Any], ruleset: Ruleset | None, *, office: str, country: str
) -> tuple[Decision, Basis]:
    """The decision for ``item`` at ``office``; raises ``NotScreenable`` when neither the
    engine nor the item's precomputed decision can give one."""
    if ruleset is not None and isinstance(item.get("subject"), Mapping):
        return screen(subject_of(item, office=office, country=country), ruleset), Basis.ENGINE
    if "lane" in item and isinstance(item.get("ruleset"), Mapping):
        return precomputed(item), Basis.PRE_ARRIVAL
    raise NotScreenable(f"the mirror of {item.get('mrn')} has no screening inputs; sync first")


def subject_of(item: Mapping[str, Any], *, office: str, country: str) -> Subject:
    """The engine's view of the movement, from the item's ``subject`` as the upstream wrote
    it; the office and country are this node's, which screens only here."""
    s = item["subject"]
    history = s.get("history") or {}
    return Subject(
        mrn=str(item["mrn"]),
        country=country,
        office=office,
        holder=str(s["holder"]),
        mode=TransportMode(s["mode"]),
        gross_mass_kg=Decimal(str(s["gross_mass_kg"])),
        hs_codes=tuple(str(code) for code in s["hs_codes"]),
        vehicle_class=str(s.get("vehicle") or ""),
        history=HolderHistory(**{k: int(history.get(k, 0)) for k in _HISTORY_FIELDS}),
        alerts=frozenset(str(a) for a in s.get("alerts", ())),
        trusted_trader=bool(s.get("trusted_trader", False)),
    )


_HISTORY_FIELDS = ("movements_total", "discrepancies", "incidents", "recoveries")


def precomputed(item: Mapping[str, Any]) -> Decision:
    """The upstream's decision as published in the item; the score is the sum of the
    reasons' points and the draw is recomputed, both exactly as the engine defines them."""
    reasons = tuple(
        Reason(
            str(r["rule"]),
            RuleKind(r["kind"]),
            int(r["points"]),
            None if r.get("lane") is None else Lane(r["lane"]),
            str(r["detail"]),
        )
        for r in item.get("reasons", ())
    )
    country, version = str(item["ruleset"]["country"]), int(item["ruleset"]["version"])
    return Decision(
        mrn=str(item["mrn"]),
        lane=Lane(item["lane"]),
        score=sum(r.points for r in reasons),
        reasons=reasons,
        ruleset_country=country,
        ruleset_version=version,
        draw=random_draw(str(item["mrn"]), country, version),
    )


def reason_json(r: Reason) -> dict[str, Any]:
    return {
        "rule": r.rule,
        "kind": r.kind.value,
        "points": r.points,
        "lane": None if r.lane is None else r.lane.value,
        "detail": r.detail,
    }
