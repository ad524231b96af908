"""Traveller passage at the corridor's posts (pure: no I/O, no clock, no randomness of its own).

- ``mrz``: machine-readable zones of travel documents (ICAO Doc 9303, TD3 and TD1): check
  digits, parsing into an ``MrzDocument``, expiry flags against a given day.
- ``manifest``: the ``Traveller`` record, read from an advance passenger manifest (CSV), from
  text fields (the API) or from an MRZ.
- ``names``: names across scripts and romanisations (Azerbaijani, Armenian, Russian), and the
  ``Watchlist`` that screens a traveller in well under a millisecond against 100,000 entries.
- ``variants``: a generated, labelled set of name variants and the precision and recall of
  screening on it (``evaluation_report``).
- ``decision``: pass (e-gate) or refer, with reasons; the officer's final decision.

Errors: an unreadable zone raises ``MrzError``, an unreadable manifest ``ManifestError``,
both ``tripp.errors.InvalidInput`` naming each field and rule; fields of one traveller that
break a rule raise ``InvalidInput``, and so does an officer's decision missing what it needs.
"""

from __future__ import annotations

from tripp.travellers.decision import (
    FinalDecision,
    FinalOutcome,
    Outcome,
    Policy,
    Reason,
    ReasonCode,
    Severity,
    TravellerDecision,
    decide,
    record_final,
    screen_and_decide,
)
from tripp.travellers.manifest import (
    Manifest,
    ManifestError,
    ManifestLimits,
    ManifestRow,
    Traveller,
    parse_manifest,
    traveller_from_fields,
    traveller_from_mrz,
)
from tripp.travellers.mrz import MrzDocument, MrzError, Sex, check_digit, format_mrz, parse
from tripp.travellers.names import Match, Watchlist, WatchlistEntry, fold, similarity

__all__ = [
    "FinalDecision",
    "FinalOutcome",
    "Manifest",
    "ManifestError",
    "ManifestLimits",
    "ManifestRow",
    "Match",
    "MrzDocument",
    "MrzError",
    "Outcome",
    "Policy",
    "Reason",
    "ReasonCode",
    "Severity",
    "Sex",
    "Traveller",
    "TravellerDecision",
    "Watchlist",
    "WatchlistEntry",
    "check_digit",
    "decide",
    "fold",
    "format_mrz",
    "parse",
    "parse_manifest",
    "record_final",
    "screen_and_decide",
    "similarity",
    "traveller_from_fields",
    "traveller_from_mrz",
]
