"""Transit fees (pure: no I/O, no clock, no database): schedules, assessment, the ledger.

The fee authority (for TRIPP, Armenia: ``AM-CUSTOMS`` in the bundled schedule) publishes
versioned ``FeeSchedule``s (``schedule.from_dict``, read from the ``fees:`` section of the
corridor data); ``assessment.assess`` computes a vehicle's fee line by line under the one in
force; the double-entry ``ledger`` records assessment, settlement (from a prepaid account or
against an external payment), write-off, cancellation and refund, each idempotent by its
reference, and gives ``Receipt``s; ``reconciliation`` reports each party's day.
``ledger.check_crossing`` is the gate: a crossing with an unsettled fee raises ``FeeUnpaid``.

Errors, all ``tripp.errors.TrippError``: ``InvalidInput`` for a broken schedule dict
(every broken field with its path and rule); ``ScheduleNotInForce`` (409) when no schedule
applies; ``Forbidden`` (403) and ``ScheduleChangeRefused`` (409) from
``schedule.check_change`` when a party other than a version's authority, or anyone once the
version has been in force, would rewrite it; ``NoTariffLine`` (422) for a vehicle class the
schedule lacks; ``LedgerInvalid`` and ``PrepaidInsufficient`` (422) naming the broken ledger
rule; ``FeeTransitionRefused`` (409, with the fee's ``state`` and the ``allowed``
operations), ``ReferenceReused`` (409), ``FeeUnpaid`` (409) and ``FeeUnknown`` (404).
"""

from __future__ import annotations

from tripp.fees.assessment import Assessment, FeeLine, NoTariffLine, VehicleFacts, assess
from tripp.fees.defaults import default_schedule_dict, default_schedules
from tripp.fees.ledger import (
    Fee,
    FeeStatus,
    FeeTransitionRefused,
    FeeUnknown,
    FeeUnpaid,
    Ledger,
    LedgerInvalid,
    Posting,
    PrepaidInsufficient,
    Receipt,
    ReferenceReused,
    Transaction,
    TxKind,
    check_crossing,
    receipt,
)
from tripp.fees.reconciliation import DailyReport, daily_report, reports_for_day, to_csv, to_json
from tripp.fees.schedule import (
    FeeSchedule,
    ScheduleChangeRefused,
    ScheduleNotInForce,
    ScheduleSet,
    check_change,
    from_dict,
)

__all__ = [
    "Assessment",
    "DailyReport",
    "Fee",
    "FeeLine",
    "FeeSchedule",
    "FeeStatus",
    "FeeTransitionRefused",
    "FeeUnknown",
    "FeeUnpaid",
    "Ledger",
    "LedgerInvalid",
    "NoTariffLine",
    "Posting",
    "PrepaidInsufficient",
    "Receipt",
    "ReferenceReused",
    "ScheduleChangeRefused",
    "ScheduleNotInForce",
    "ScheduleSet",
    "Transaction",
    "TxKind",
    "VehicleFacts",
    "assess",
    "check_change",
    "check_crossing",
    "daily_report",
    "default_schedule_dict",
    "default_schedules",
    "from_dict",
    "receipt",
    "reports_for_day",
    "to_csv",
    "to_json",
]
