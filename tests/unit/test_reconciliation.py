"""Daily reconciliation reports: per party, opening + movements = closing, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.fees.ledger import (
    NORMAL_SIGN,
    Account,
    Fee,
    Ledger,
    Transaction,
    TxKind,
    assess_fee,
    cancel,
    refund,
    settle_external,
    top_up,
)
from tripp.fees.reconciliation import (
    COLUMNS,
    daily_report,
    reports_for_day,
    to_csv,
    to_json,
    to_rows,
)

CARRIER = "AZ-CARRIER-0001"
AUTHORITY = "AM-CUSTOMS"
COLLECTOR = "CORRIDOR-OPERATOR"
DAY = date(2026, 11, 23)
# 08:00 in Yerevan (UTC+4) on DAY; the day runs from 20:00 UTC the day before.
MORNING = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
YESTERDAY = MORNING - timedelta(days=1)


def history() -> Ledger:
    """Yesterday: a 50,000 AMD top-up. Today: two fees, one settled from prepaid, one paid
    at the front office then cancelled and refunded, and a fee exempted."""
    ledger = Ledger().post(
        top_up(carrier=CARRIER, amount=5_000_000, currency="AMD", reference="BANK-1",
               collector=COLLECTOR, at=YESTERDAY)
    )  # fmt: skip
    for i, exemption in enumerate(("", "", "diplomatic"), start=1):
        ledger = ledger.post(
            *assess_fee(fee=f"MRN-{i}", payer=CARRIER, authority=AUTHORITY, currency="AMD",
                        amount=2_000_000, at=MORNING, exemption=exemption)
        )  # fmt: skip
    ledger, _ = ledger.settle_from_prepaid("MRN-1", reference="S-1", at=MORNING)

    def pay(fee: Fee) -> Transaction:
        return settle_external(fee, amount=fee.amount, currency="AMD", reference="CARD-7",
                               collector=COLLECTOR, at=MORNING)  # fmt: skip

    ledger, _ = ledger.run(TxKind.SETTLE_EXTERNAL, "MRN-2", "CARD-7", pay)
    ledger = ledger.post(cancel(ledger.fee("MRN-2"), reason="withdrawn", reference="C", at=MORNING))
    return ledger.post(refund(ledger.fee("MRN-2"), reference="R", at=MORNING))


def test_the_day_of_each_party() -> None:
    reports = {r.party: r for r in reports_for_day(history().transactions, day=DAY)}
    assert set(reports) == {CARRIER, AUTHORITY, COLLECTOR}
    assert all(r.ok for r in reports.values())
    carrier = {(line.account, line.currency): line for line in reports[CARRIER].lines}
    prepaid = carrier[(f"carrier:{CARRIER}:prepaid", "AMD")]
    assert (prepaid.opening, prepaid.closing) == (5_000_000, 3_000_000)
    assert prepaid.movements == {TxKind.SETTLE_PREPAID: -2_000_000}
    authority = {line.account: line for line in reports[AUTHORITY].lines}
    revenue = authority[f"fees:revenue:{AUTHORITY}"]
    assert revenue.movements == {TxKind.ASSESS: 6_000_000, TxKind.CANCEL: -2_000_000}
    assert authority[f"fees:waived:{AUTHORITY}"].closing == 2_000_000
    (clearing,) = reports[COLLECTOR].lines
    assert (clearing.opening, clearing.net, clearing.closing) == (5_000_000, 0, 5_000_000)
    assert reports[COLLECTOR].transactions == 2  # the card payment and its refund


def test_a_missing_posting_shows_as_a_difference() -> None:
    ledger = history()
    today = [tx for tx in ledger.transactions if tx.at == MORNING]
    opening = Ledger(tx for tx in ledger.transactions if tx.at < MORNING).balances()
    closing = ledger.balances()
    report = daily_report(today[:-1], party=CARRIER, day=DAY, opening=opening, closing=closing)
    assert not report.ok
    lines = {line.account: line for line in report.lines if not line.balanced}
    assert lines[f"refunds:payable:{CARRIER}:MRN-2"].difference == -2_000_000
    assert to_json(report)["ok"] is False


def test_transactions_of_another_day_are_refused() -> None:
    with pytest.raises(ValueError, match="is not of 2026-11-23"):
        daily_report(history().transactions, party=CARRIER, day=DAY, opening={})


def test_csv_and_json_carry_decimal_amounts() -> None:
    (report,) = (r for r in reports_for_day(history().transactions, day=DAY) if r.party == CARRIER)
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows == to_rows(report)
    assert tuple(rows[0]) == COLUMNS
    by_account = {row[2]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    prepaid = by_account[f"carrier:{CARRIER}:prepaid"]
    assert (prepaid["opening"], prepaid["settle_prepaid"], prepaid["closing"]) == (
        "50000.00", "-20000.00", "30000.00",
    )  # fmt: skip
    assert (prepaid["day"], prepaid["balanced"], prepaid["difference"]) == (
        "2026-11-23", "true", "0.00",
    )  # fmt: skip
    body = to_json(report)
    json.dumps(body)  # JSON types only
    assert body["party"] == CARRIER and body["ok"] is True and body["timezone"] == "Asia/Yerevan"
    account = next(a for a in body["accounts"] if a["kind"] == "prepaid")
    assert account["movements"] == {"settle_prepaid": "-20000.00"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 10**6), st.booleans()), max_size=25))
def test_each_day_closes_where_the_next_opens(ops: list[tuple[int, int, bool]]) -> None:
    """Top-ups and assessments spread over four days: every report balances, each day's
    closing is the next day's opening, and all parties' closings are the ledger's balances."""
    ledger = Ledger()
    for i, (day, amount, is_fee) in enumerate(ops):
        at = MORNING + timedelta(days=day)
        if is_fee:
            ledger = ledger.post(*assess_fee(fee=f"F-{i}", payer=CARRIER, authority=AUTHORITY,
                                             currency="USD", amount=amount, at=at))  # fmt: skip
        else:
            ledger = ledger.post(top_up(carrier=CARRIER, amount=amount, currency="USD",
                                        reference=f"P-{i}", collector=COLLECTOR, at=at))  # fmt: skip
    closing: dict[tuple[str, str, str], int] = {}
    for offset in range(4):
        for report in reports_for_day(ledger.transactions, day=DAY + timedelta(days=offset)):
            assert report.ok
            for line in report.lines:
                key = (report.party, line.account, line.currency)
                assert line.opening == closing.get(key, 0)
                closing[key] = line.closing
    natural = {(a, c): v for (_, a, c), v in closing.items() if v}
    raw = {k: v for k, v in ledger.balances().items() if v}
    assert natural == {k: NORMAL_SIGN[Account.parse(k[0]).kind] * v for k, v in raw.items()}
