"""Screening one subject against one ruleset (pure and deterministic).

The lane is the strictest of: the lane the score reaches (``Ruleset.yellow_score``,
``red_score``), the lanes rules force, and random selection. Reasons come out in the
ruleset's rule order, and within a rule in the order of its own lists, never in the order
of a set, so the same subject and ruleset version always give an equal ``Decision``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from tripp.risk.model import LANE_RANK, LANES_BY_RANK, Decision, Lane, Reason, Subject
from tripp.risk.ruleset import (
    DRAW_BITS,
    HolderHistoryRule,
    HsPrefixRule,
    MassLimitRule,
    RandomRule,
    Rule,
    Ruleset,
    RulesetNotApplicable,
    TrackingAlertRule,
    TrustedTraderRule,
)

_SCALE = float(1 << DRAW_BITS)
_SHIFT = 64 - DRAW_BITS
NO_REASONS: tuple[Reason, ...] = ()


def draw_bits(mrn: str, country: str, version: int) -> int:
    """The random draw as a whole number in [0, 2**53); see ``random_draw``."""
    digest = hashlib.sha256(f"{mrn}|{country}|{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> _SHIFT


def random_draw(mrn: str, country: str, version: int) -> float:
    """The uniform number in [0, 1) that decides random selection, recomputable by anyone.

    Recipe: take the SHA-256 digest of the UTF-8 text ``f"{mrn}|{country}|{version}"``
    (e.g. ``"26AZ00000000000017|AM|1"``: the MRN, the ruleset's country, its version);
    read its first 8 bytes as a big-endian unsigned integer; keep its top 53 bits (shift
    right by 11); divide by 2**53. The result is exact as a float. With the random rule's
    rates, the subject is selected red when ``draw < red_rate`` and yellow when
    ``red_rate <= draw < red_rate + yellow_rate``, compared exactly (as decimals).

    In Python: ``(int.from_bytes(sha256(text.encode()).digest()[:8], "big") >> 11) / 2**53``.
    A new ruleset version draws anew, so a movement is not selected forever by one draw.
    """
    return draw_bits(mrn, country, version) / _SCALE


def screen(subject: Subject, ruleset: Ruleset) -> Decision:
    """Apply ``ruleset`` to ``subject``.

    Raises ``RulesetNotApplicable`` when the subject is screened at an office of another
    country than the ruleset's: each customs applies its own rules only.
    """
    if subject.country != ruleset.country:
        raise RulesetNotApplicable(
            f"the {ruleset.country} ruleset v{ruleset.version} cannot screen {subject.mrn} "
            f"at {subject.office} in {subject.country}"
        )
    n = draw_bits(subject.mrn, ruleset.country, ruleset.version)
    # Every prefix of every goods code at the lengths the ruleset uses, cut once for all
    # hs_prefix rules: each then needs one set intersection test.
    cuts = {code[:size] for code in subject.hs_codes for size in ruleset.hs_lengths}
    reasons: list[Reason] = []
    for rule in ruleset.rules:
        reasons += _EVALUATORS[type(rule)](rule, subject, n, cuts)
    score = 0
    rank = 0
    for reason in reasons:
        score += reason.points
        if reason.lane is not None and LANE_RANK[reason.lane] > rank:
            rank = LANE_RANK[reason.lane]
    if score >= ruleset.red_score:
        rank = 2
    elif score >= ruleset.yellow_score and rank < 1:
        rank = 1
    return Decision(
        subject.mrn,
        LANES_BY_RANK[rank],
        score,
        tuple(reasons),
        ruleset.country,
        ruleset.version,
        n / _SCALE,
    )


def _hs_prefix(rule: HsPrefixRule, subject: Subject, n: int, cuts: set[str]) -> tuple[Reason, ...]:
    if rule.prefix_set.isdisjoint(cuts):
        return NO_REASONS
    hits = []
    for code in subject.hs_codes:
        for length in rule.lengths:
            if code[:length] in rule.prefix_set:
                hits.append(f"{code} (prefix {code[:length]})")
                break
    # Once per rule, not per item: five items of arms are not five times the risk of one.
    detail = "goods " + ", ".join(hits) + _about(rule.description)
    return (Reason(rule.id, rule.kind, rule.points or 0, rule.lane, detail),)


def _mass_limit(
    rule: MassLimitRule, subject: Subject, n: int, cuts: set[str]
) -> tuple[Reason, ...]:
    vehicle = subject.vehicle
    limit = rule.limits_kg.get(vehicle)
    if limit is None or not subject.gross_mass_kg > limit:
        return NO_REASONS
    detail = (
        f"declared gross mass {subject.gross_mass_kg} kg is over the {limit} kg "
        f"plausible for a {vehicle}"
    )
    return (Reason(rule.id, rule.kind, rule.points or 0, rule.lane, detail),)


def _holder_history(
    rule: HolderHistoryRule, subject: Subject, n: int, cuts: set[str]
) -> tuple[Reason, ...]:
    history = subject.history
    reasons = []
    d, i, r = rule.per_count
    points = d * history.discrepancies + i * history.incidents + r * history.recoveries
    if rule.cap is not None and points > rule.cap:
        points = rule.cap
    if points > 0:
        listed = ", ".join(f"{getattr(history, c)} {c}" for c in rule.weights)
        detail = f"holder {subject.holder} has {listed} in {history.movements_total} movements"
        reasons.append(Reason(rule.id, rule.kind, points, None, detail))
    if rule.min_movements is not None and history.movements_total < rule.min_movements:
        detail = (
            f"holder {subject.holder} has {history.movements_total} movements on record, "
            f"fewer than {rule.min_movements}"
        )
        reasons.append(Reason(rule.id, rule.kind, rule.new_holder_points or 0, None, detail))
    return tuple(reasons)


def _tracking_alert(
    rule: TrackingAlertRule, subject: Subject, n: int, cuts: set[str]
) -> tuple[Reason, ...]:
    open_alerts = subject.alerts
    if not open_alerts:
        return NO_REASONS
    # The rule's order, not the frozenset's: set order varies with the hash seed.
    return tuple(
        Reason(rule.id, rule.kind, e.points or 0, e.lane, f"tracking alert {kind} is open")
        for kind, e in rule.alerts.items()
        if kind in open_alerts
    )


def _trusted_trader(
    rule: TrustedTraderRule, subject: Subject, n: int, cuts: set[str]
) -> tuple[Reason, ...]:
    if not subject.trusted_trader:
        return NO_REASONS
    detail = f"holder {subject.holder} is a trusted trader"
    return (Reason(rule.id, rule.kind, rule.points, None, detail),)


def _random(rule: RandomRule, subject: Subject, n: int, cuts: set[str]) -> tuple[Reason, ...]:
    if n >= rule.yellow_below:
        return NO_REASONS
    if n < rule.red_below:
        lane, bound = Lane.RED, f"< red_rate {rule.red_rate}"
    else:
        lane, bound = Lane.YELLOW, f"< red_rate + yellow_rate {rule.red_rate + rule.yellow_rate}"
    detail = f"random selection: draw {n / _SCALE!r} {bound}"
    return (Reason(rule.id, rule.kind, 0, lane, detail),)


def _about(description: str) -> str:
    return f": {description}" if description else ""


# Each evaluator takes the rule, the subject, the 53-bit draw and the cut goods codes, and
# returns its reasons.
_EVALUATORS: Mapping[type[Rule], Callable[[Any, Subject, int, set[str]], tuple[Reason, ...]]] = {
    HsPrefixRule: _hs_prefix,
    MassLimitRule: _mass_limit,
    HolderHistoryRule: _holder_history,
    TrackingAlertRule: _tracking_alert,
    TrustedTraderRule: _trusted_trader,
    RandomRule: _random,
}
