"""The decision per traveller: pass (e-gate) or refer to an officer, with reasons (pure).

``decide`` checks, in this fixed order: missing data, expiry, the machine-readable zone
(unreadable, check digits, agreement with the declared data), the e-gate's minimum age, and
watchlist matches. Every finding is a ``Reason`` with a stable ``code``; a reason of
severity ``info`` is recorded but lets the traveller pass, any other refers them. The
same traveller, day, matches and policy always give an equal decision: nothing here reads
a clock or draws a random number.

The officer's final word is ``record_final``: admitting a traveller referred for a
high-severity reason, or refusing anyone, needs a note saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tripp.errors import FieldError, InvalidInput
from tripp.travellers.manifest import Traveller
from tripp.travellers.mrz import MrzDocument, expiry_flags
from tripp.travellers.names import MATCH_THRESHOLD, POSSIBLE_THRESHOLD, Match, Watchlist, similarity

MRZ_NAME_AGREEMENT = 0.9  # declared and MRZ names differ by script and transliteration only
MAX_NOTE_CHARS = 2000


class Outcome(StrEnum):
    PASS = "pass"  # the e-gate may let the traveller through
    REFER = "refer"  # an officer sees the traveller


class Severity(StrEnum):
    INFO = "info"  # recorded, does not refer
    LOW = "low"
    HIGH = "high"


class ReasonCode(StrEnum):
    MISSING_DATA = "missing-data"
    DOCUMENT_EXPIRED = "document-expired"
    DOCUMENT_EXPIRES_SOON = "document-expires-soon"
    MRZ_UNREADABLE = "mrz-unreadable"
    MRZ_CHECK_DIGIT = "mrz-check-digit"
    MRZ_MISMATCH = "mrz-mismatch"
    UNDER_EGATE_AGE = "under-egate-age"
    WATCHLIST_MATCH = "watchlist-match"
    WATCHLIST_POSSIBLE = "watchlist-possible"


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    severity: Severity
    text: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """The post's settings: ``expiry_warning_days`` before expiry a reason is noted;
    ``min_egate_age_years`` below which a traveller is referred; watchlist thresholds."""

    expiry_warning_days: int = 30
    min_egate_age_years: int = 12
    match_threshold: float = MATCH_THRESHOLD
    possible_threshold: float = POSSIBLE_THRESHOLD

    def __post_init__(self) -> None:
        if self.expiry_warning_days < 0:
            raise ValueError(f"expiry_warning_days={self.expiry_warning_days} must be >= 0")
        if not 0 <= self.min_egate_age_years <= 25:
            raise ValueError(f"min_egate_age_years={self.min_egate_age_years} must be 0..25")
        if not 0 < self.possible_threshold <= self.match_threshold <= 1:
            raise ValueError(
                f"thresholds possible={self.possible_threshold}, match={self.match_threshold}"
                " must satisfy 0 < possible <= match <= 1"
            )


@dataclass(frozen=True)
class TravellerDecision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    matches: tuple[Match, ...]  # the watchlist matches weighed, best first

    @property
    def severity(self) -> Severity:
        """The highest severity among the reasons (``info`` when there are none)."""
        ranks = [_RANK[r.severity] for r in self.reasons]
        return _SEVERITIES[max(ranks, default=0)]


_SEVERITIES = (Severity.INFO, Severity.LOW, Severity.HIGH)
_RANK = {s: i for i, s in enumerate(_SEVERITIES)}


def decide(
    traveller: Traveller,
    *,
    today: date,
    matches: Sequence[Match] = (),
    policy: Policy | None = None,
) -> TravellerDecision:
    """Pass or refer ``traveller`` on ``today`` given the watchlist ``matches`` found for
    them (``Watchlist.screen``); see the module docstring for the order of checks."""
    policy = policy or Policy()
    ordered = sorted(matches, key=lambda m: (-m.score, m.entry.entry_id))  # ties: by entry id
    reasons = [
        *_missing(traveller),
        *_expiry(traveller, today, policy),
        *_mrz(traveller),
        *_age(traveller, today, policy),
        *_watchlist(ordered, policy),
    ]
    refer = any(r.severity is not Severity.INFO for r in reasons)
    return TravellerDecision(
        Outcome.REFER if refer else Outcome.PASS, tuple(reasons), tuple(ordered)
    )


def screen_and_decide(
    traveller: Traveller, watchlist: Watchlist, *, today: date, policy: Policy | None = None
) -> TravellerDecision:
    """``decide`` with the matches of ``traveller`` on ``watchlist``."""
    policy = policy or Policy()
    matches = watchlist.screen(
        traveller.surname,
        traveller.given_names,
        traveller.birth_date,
        traveller.nationality,
        min_score=policy.possible_threshold,
    )
    return decide(traveller, today=today, matches=matches, policy=policy)


def _missing(t: Traveller) -> list[Reason]:
    absent = [name for name in ("birth_date", "expiry") if getattr(t, name) is None]
    if not absent:
        return []
    text = "not declared: " + ", ".join(absent)
    return [Reason(ReasonCode.MISSING_DATA, Severity.LOW, text, tuple(absent))]


def _expiry(t: Traveller, today: date, policy: Policy) -> list[Reason]:
    if t.expiry is None:
        return []  # reported as missing data
    codes = {"expired": (ReasonCode.DOCUMENT_EXPIRED, Severity.HIGH),
             "expires-soon": (ReasonCode.DOCUMENT_EXPIRES_SOON, Severity.INFO)}  # fmt: skip
    flags = expiry_flags(t.expiry, today=today, soon_days=policy.expiry_warning_days)
    return [Reason(*codes[f.code], f"the document {f.message}", ("expiry",)) for f in flags]


def _mrz(t: Traveller) -> list[Reason]:
    if t.mrz_problem:
        return [Reason(ReasonCode.MRZ_UNREADABLE, Severity.HIGH, t.mrz_problem, ("mrz",))]
    if t.mrz is None:
        return []
    reasons = []
    failed = tuple(c.field for c in t.mrz.failed_checks)
    if failed:
        text = "check digits fail: " + ", ".join(failed)
        reasons.append(Reason(ReasonCode.MRZ_CHECK_DIGIT, Severity.HIGH, text, failed))
    differ = _disagreements(t, t.mrz)
    if differ:
        text = "the MRZ and the declared data differ: " + ", ".join(differ)
        reasons.append(Reason(ReasonCode.MRZ_MISMATCH, Severity.HIGH, text, differ))
    return reasons


def _disagreements(t: Traveller, z: MrzDocument) -> tuple[str, ...]:
    """Declared fields the zone contradicts. Names may differ in script and transliteration
    (and the zone may cut them short), so they are compared by similarity."""
    pairs = {
        "document_type": (t.document_type[:1], z.document_code[:1]),
        "document_number": (t.document_number, z.document_number),
        "issuing_state": (t.issuing_state, z.issuing_state),
        "nationality": (t.nationality, z.nationality),
        "birth_date": (t.birth_date, z.birth_date),
        "sex": (t.sex, z.sex),
        "expiry": (t.expiry, z.expiry),
    }
    differ = [name for name, (declared, read) in pairs.items() if declared != read]
    for name, declared, read in (
        ("surname", t.surname, z.surname),
        ("given_names", t.given_names, z.given_names),
    ):
        if (declared or read) and similarity(declared, read) < MRZ_NAME_AGREEMENT:
            differ.append(name)
    return tuple(differ)


def _age(t: Traveller, today: date, policy: Policy) -> list[Reason]:
    if t.birth_date is None:
        return []
    age = (
        today.year
        - t.birth_date.year
        - ((today.month, today.day) < (t.birth_date.month, t.birth_date.day))
    )
    if age >= policy.min_egate_age_years:
        return []
    text = f"aged {age}, under the e-gate minimum of {policy.min_egate_age_years}"
    return [Reason(ReasonCode.UNDER_EGATE_AGE, Severity.LOW, text, ("birth_date",))]


def _watchlist(matches: Sequence[Match], policy: Policy) -> list[Reason]:
    hits = [m for m in matches if m.score >= policy.match_threshold]
    possible = [m for m in matches if policy.possible_threshold <= m.score < policy.match_threshold]
    reasons = []
    for code, severity, found in (
        (ReasonCode.WATCHLIST_MATCH, Severity.HIGH, hits),
        (ReasonCode.WATCHLIST_POSSIBLE, Severity.LOW, possible),
    ):
        if found:
            best = found[0]  # matches come best first
            listed = ", ".join(f"{m.entry.entry_id} ({m.score:.2f})" for m in found)
            text = f"watchlist entries {listed}; best: " + "; ".join(best.why)
            reasons.append(Reason(code, severity, text, best.matched))
    return reasons


# --- the officer's final decision --------------------------------------------------------


class FinalOutcome(StrEnum):
    ADMITTED = "admitted"
    REFUSED = "refused"


@dataclass(frozen=True)
class FinalDecision:
    """What the officer decided, beside the automated decision it answers."""

    automated: TravellerDecision
    outcome: FinalOutcome
    officer: str
    note: str
    decided_at: datetime


def record_final(
    automated: TravellerDecision,
    *,
    outcome: FinalOutcome | str,
    officer: str,
    note: str = "",
    decided_at: datetime,
) -> FinalDecision:
    """The officer's decision. Raises ``InvalidInput`` when ``officer`` is empty,
    ``decided_at`` has no time zone, ``outcome`` is unknown, or a note is missing where it
    is needed: refusing, or admitting over a high-severity reason."""
    errors = []
    note = note.strip()
    if outcome not in set(FinalOutcome):
        errors.append(FieldError("outcome", f"{outcome!r} must be admitted or refused", "enum"))
    if not officer.strip():
        errors.append(FieldError("officer", "is required", "required"))
    if decided_at.tzinfo is None or decided_at.utcoffset() is None:
        errors.append(FieldError("decided_at", "must carry a time zone", "timezone"))
    if len(note) > MAX_NOTE_CHARS:
        errors.append(FieldError("note", f"is over {MAX_NOTE_CHARS} characters", "max-length"))
    overriding = outcome == FinalOutcome.ADMITTED and automated.severity is Severity.HIGH
    if not note and (outcome == FinalOutcome.REFUSED or overriding):
        why = (
            "refusing"
            if outcome == FinalOutcome.REFUSED
            else "admitting over a high-severity reason"
        )
        errors.append(FieldError("note", f"is required when {why}", "note-required"))
    if errors:
        raise InvalidInput(errors)
    return FinalDecision(automated, FinalOutcome(outcome), officer.strip(), note, decided_at)
