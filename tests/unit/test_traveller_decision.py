"""Pass (e-gate) or refer: every reason, its severity and order, and the officer's decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tripp.errors import InvalidInput
from tripp.travellers.decision import (
    FinalOutcome,
    Outcome,
    Policy,
    ReasonCode,
    Severity,
    decide,
    record_final,
    screen_and_decide,
)
from tripp.travellers.manifest import Traveller
from tripp.travellers.mrz import MrzDocument, MrzFormat, Sex, format_mrz, parse
from tripp.travellers.names import Watchlist, WatchlistEntry

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
TRAVELLER = Traveller(
    document_type="P",
    document_number="C01234567",
    issuing_state="AZE",
    nationality="AZE",
    surname="Məmmədov",
    given_names="Elçin",
    birth_date=date(1980, 5, 17),
    sex=Sex.MALE,
    expiry=date(2031, 2, 3),
)
WATCHLIST = Watchlist(
    [
        WatchlistEntry("W1", "Mamedov", "Elchin", date(1980, 5, 17), "AZE", "list-a", "notice"),
        WatchlistEntry("W2", "Grigoryan", "Aram", None, "ARM"),
    ]
)


def with_mrz(t: Traveller, **changes: object) -> Traveller:
    """``t`` with the zone of its own data, read back; ``changes`` alter the zone's data."""
    doc = MrzDocument(MrzFormat.TD3, "P", "AZE", "MAMMADOV", "ELCHIN", t.document_number,
                      t.nationality, t.birth_date, t.sex, t.expiry)  # fmt: skip
    return replace(t, mrz=parse(format_mrz(replace(doc, **changes)), today=TODAY))  # type: ignore[arg-type]


def codes(t: Traveller, **kw: object) -> list[tuple[ReasonCode, Severity]]:
    decision = decide(t, today=TODAY, **kw)  # type: ignore[arg-type]
    return [(r.code, r.severity) for r in decision.reasons]


def test_a_clean_traveller_passes_without_reasons() -> None:
    decision = decide(with_mrz(TRAVELLER), today=TODAY)
    assert decision.outcome is Outcome.PASS
    assert decision.reasons == () and decision.matches == ()
    assert decision.severity is Severity.INFO


def test_an_expired_document_is_referred() -> None:
    expired = replace(TRAVELLER, expiry=date(2026, 2, 28))
    decision = decide(expired, today=TODAY)
    assert decision.outcome is Outcome.REFER
    assert codes(expired) == [(ReasonCode.DOCUMENT_EXPIRED, Severity.HIGH)]
    assert "2026-02-28" in decision.reasons[0].text and decision.reasons[0].fields == ("expiry",)
    assert decide(replace(TRAVELLER, expiry=TODAY), today=TODAY).outcome is Outcome.PASS


def test_a_document_expiring_soon_passes_with_a_note() -> None:
    soon = replace(TRAVELLER, expiry=date(2026, 3, 20))
    decision = decide(soon, today=TODAY)
    assert decision.outcome is Outcome.PASS
    assert codes(soon) == [(ReasonCode.DOCUMENT_EXPIRES_SOON, Severity.INFO)]
    assert codes(soon, policy=Policy(expiry_warning_days=7)) == []


def test_missing_data_is_referred() -> None:
    missing = replace(TRAVELLER, birth_date=None, expiry=None)
    decision = decide(missing, today=TODAY)
    assert decision.outcome is Outcome.REFER
    [reason] = decision.reasons
    assert (reason.code, reason.severity) == (ReasonCode.MISSING_DATA, Severity.LOW)
    assert reason.fields == ("birth_date", "expiry")


def test_a_failed_check_digit_is_referred() -> None:
    good = with_mrz(TRAVELLER)
    assert good.mrz is not None
    zone = list(format_mrz(good.mrz))
    zone[1] = zone[1][:19] + str((int(zone[1][19]) + 1) % 10) + zone[1][20:]
    bad = replace(TRAVELLER, mrz=parse(zone, today=TODAY))
    decision = decide(bad, today=TODAY)
    assert decision.outcome is Outcome.REFER
    assert codes(bad) == [(ReasonCode.MRZ_CHECK_DIGIT, Severity.HIGH)]
    assert decision.reasons[0].fields == ("line2.birth_date_check", "line2.composite_check")


def test_mrz_and_declared_data_must_agree() -> None:
    other = with_mrz(TRAVELLER, document_number="C99999999", birth_date=date(1980, 5, 18))
    decision = decide(other, today=TODAY)
    assert codes(other) == [(ReasonCode.MRZ_MISMATCH, Severity.HIGH)]
    assert decision.reasons[0].fields == ("document_number", "birth_date")
    renamed = with_mrz(TRAVELLER, surname="PETROSYAN")
    assert decide(renamed, today=TODAY).reasons[0].fields == ("surname",)
    # The declared name in Azerbaijani letters and the zone's transliteration agree.
    assert decide(with_mrz(TRAVELLER), today=TODAY).reasons == ()


def test_an_unreadable_mrz_is_referred() -> None:
    unread = replace(TRAVELLER, mrz_problem="mrz: expected 2 lines of 44")
    assert codes(unread) == [(ReasonCode.MRZ_UNREADABLE, Severity.HIGH)]


def test_children_under_the_egate_age_are_referred() -> None:
    child = replace(TRAVELLER, birth_date=date(2014, 3, 2))  # eleven until tomorrow
    assert codes(child) == [(ReasonCode.UNDER_EGATE_AGE, Severity.LOW)]
    assert codes(replace(child, birth_date=date(2014, 3, 1))) == []
    assert codes(child, policy=Policy(min_egate_age_years=0)) == []


def test_a_watchlist_hit_is_referred_with_the_entry() -> None:
    decision = screen_and_decide(TRAVELLER, WATCHLIST, today=TODAY)
    assert decision.outcome is Outcome.REFER
    [reason] = decision.reasons
    assert (reason.code, reason.severity) == (ReasonCode.WATCHLIST_MATCH, Severity.HIGH)
    assert "W1 (1.00)" in reason.text and "birth date agrees" in reason.text
    assert "birth_date" in reason.fields
    assert [m.entry.entry_id for m in decision.matches] == ["W1"]


def test_a_possible_match_is_referred_with_low_severity() -> None:
    # Elshan is not Elchin, though the surname and the birth date agree.
    stranger = replace(TRAVELLER, given_names="Elşən")
    decision = screen_and_decide(stranger, WATCHLIST, today=TODAY)
    assert [(r.code, r.severity) for r in decision.reasons] == [
        (ReasonCode.WATCHLIST_POSSIBLE, Severity.LOW)
    ]
    assert decision.outcome is Outcome.REFER
    other = replace(TRAVELLER, surname="Petrosyan", given_names="Tigran")
    assert screen_and_decide(other, WATCHLIST, today=TODAY).outcome is Outcome.PASS


def test_reasons_come_in_a_fixed_order_and_decisions_repeat() -> None:
    everything = replace(
        with_mrz(TRAVELLER, document_number="C99999999"),
        birth_date=None,
        expiry=date(2020, 1, 1),
    )
    namesakes = Watchlist(
        [WatchlistEntry("N2", "Mamedov", "Elchin"), WatchlistEntry("N1", "MAMEDOV", "ELCHIN")]
    )
    matches = namesakes.screen("Mamedov", "Elchin")
    assert [m.score for m in matches] == [matches[0].score] * 2  # a tie
    first = decide(everything, today=TODAY, matches=matches)
    assert [m.entry.entry_id for m in first.matches] == ["N1", "N2"]
    assert "N1" in first.reasons[-1].text.split(",")[0]
    assert [r.code for r in first.reasons] == [
        ReasonCode.MISSING_DATA,
        ReasonCode.DOCUMENT_EXPIRED,
        ReasonCode.MRZ_MISMATCH,
        ReasonCode.WATCHLIST_MATCH,
    ]
    assert first.severity is Severity.HIGH
    assert decide(everything, today=TODAY, matches=list(reversed(matches))) == first


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="expiry_warning_days=-1"):
        Policy(expiry_warning_days=-1)
    with pytest.raises(ValueError, match="possible <= match"):
        Policy(match_threshold=0.7, possible_threshold=0.8)
    with pytest.raises(ValueError, match="min_egate_age_years=30"):
        Policy(min_egate_age_years=30)


# --- the officer's final decision --------------------------------------------------------


def test_admitting_a_clean_traveller_needs_no_note() -> None:
    automated = decide(TRAVELLER, today=TODAY)
    final = record_final(automated, outcome="admitted", officer=" AM-0042 ", decided_at=NOW)
    assert final.outcome is FinalOutcome.ADMITTED and final.officer == "AM-0042"
    assert final.automated is automated


def test_overriding_a_high_severity_referral_needs_a_note() -> None:
    automated = screen_and_decide(TRAVELLER, WATCHLIST, today=TODAY)
    with pytest.raises(InvalidInput) as caught:
        record_final(automated, outcome=FinalOutcome.ADMITTED, officer="AM-0042", decided_at=NOW)
    assert [(e.field, e.rule) for e in caught.value.errors] == [("note", "note-required")]
    final = record_final(
        automated,
        outcome=FinalOutcome.ADMITTED,
        officer="AM-0042",
        note="namesake: listed person is 20 cm taller, photo differs",
        decided_at=NOW,
    )
    assert final.note.startswith("namesake")


def test_refusing_needs_a_note_and_bad_input_is_named() -> None:
    automated = decide(TRAVELLER, today=TODAY)
    with pytest.raises(InvalidInput) as caught:
        record_final(automated, outcome="refused", officer="", decided_at=datetime(2026, 3, 1))
    assert [e.rule for e in caught.value.errors] == ["required", "timezone", "note-required"]
    with pytest.raises(InvalidInput) as caught:
        record_final(automated, outcome="waved", officer="AM-1", decided_at=NOW)
    assert [e.field for e in caught.value.errors] == ["outcome"]
    with pytest.raises(InvalidInput, match="over 2000"):
        record_final(automated, outcome="refused", officer="AM-1", note="x" * 2001, decided_at=NOW)
