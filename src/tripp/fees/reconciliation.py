"""The daily reconciliation report of one party, as CSV rows and as a JSON-able dict.

For each account of the party (``Account.party``: the carrier of a prepaid account, the
payer of a receivable or a refund owed, the authority of revenue and waivers, the collector
of a clearing account) and currency: the opening balance, the day's movements by
transaction kind, the closing balance, and the check closing = opening + movements. The
opening and closing balances come from outside the day's transactions (the store's balances
or the previous report), so the check catches a lost or doubled posting.

Amounts are shown in each account's natural sign (``ledger.NORMAL_SIGN``): a carrier's
prepaid funds, an authority's revenue and a collector's takings are positive.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tripp.codes.currency import from_minor
from tripp.fees.ledger import NORMAL_SIGN, Account, Transaction, TxKind
from tripp.fees.schedule import DEFAULT_TIMEZONE

Balances = Mapping[tuple[str, str], int]  # (account, currency) -> minor units, debit positive
COLUMNS = (
    "party", "day", "account", "currency", "opening",
    *(kind.value for kind in TxKind),
    "closing", "difference", "balanced",
)  # fmt: skip


@dataclass(frozen=True)
class ReportLine:
    """One account in one currency over the day, minor units in the natural sign."""

    account: str
    currency: str
    opening: int
    movements: Mapping[TxKind, int] = field(default_factory=dict)
    closing: int = 0

    @property
    def net(self) -> int:
        return sum(self.movements.values())

    @property
    def difference(self) -> int:
        """What the closing balance has that the opening and the movements do not explain."""
        return self.closing - self.opening - self.net

    @property
    def balanced(self) -> bool:
        return self.difference == 0


@dataclass(frozen=True)
class DailyReport:
    party: str
    day: date
    timezone: str
    lines: tuple[ReportLine, ...]
    transactions: int  # how many of the day's transactions touch the party's accounts

    @property
    def ok(self) -> bool:
        return all(line.balanced for line in self.lines)


def local_day(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def daily_report(
    transactions: Iterable[Transaction],
    *,
    party: str,
    day: date,
    opening: Balances,
    closing: Balances | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> DailyReport:
    """The report of ``party`` for ``day`` (a calendar day in ``timezone``).

    ``transactions`` are the day's (ValueError for one of another day); ``opening`` and
    ``closing`` the balances (debit positive, like ``Ledger.balance``) at the start and the
    end of the day, of any accounts: those of other parties are ignored. Without
    ``closing``, the closing balances are computed, and the report then only checks itself.
    """
    moved: dict[tuple[str, str], dict[TxKind, int]] = {}
    count = 0
    for tx in transactions:
        if local_day(tx.at, timezone) != day:
            raise ValueError(f"transaction {tx.id} at {tx.at.isoformat()} is not of {day}")
        ours = [p for p in tx.postings if Account.parse(p.account).party == party]
        count += bool(ours)
        for p in ours:
            by_kind = moved.setdefault((p.account, p.currency), {})
            by_kind[tx.kind] = by_kind.get(tx.kind, 0) + p.amount
    keys = {k for k in opening if _owner(k) == party} | set(moved)
    if closing is not None:
        keys |= {k for k in closing if _owner(k) == party}
    lines = [_line(key, opening, moved.get(key, {}), closing) for key in sorted(keys)]
    return DailyReport(party, day, timezone, tuple(lines), count)


def _owner(key: tuple[str, str]) -> str:
    return Account.parse(key[0]).party


def _line(
    key: tuple[str, str], opening: Balances, moved: Mapping[TxKind, int], closing: Balances | None
) -> ReportLine:
    sign = NORMAL_SIGN[Account.parse(key[0]).kind]
    start = opening.get(key, 0)
    end = start + sum(moved.values()) if closing is None else closing.get(key, 0)
    movements = {kind: sign * amount for kind, amount in moved.items()}
    return ReportLine(key[0], key[1], sign * start, movements, sign * end)


def reports_for_day(
    history: Iterable[Transaction], *, day: date, timezone: str = DEFAULT_TIMEZONE
) -> tuple[DailyReport, ...]:
    """Every party's report for ``day`` from the whole ``history`` up to at least that day:
    opening balances from the transactions before it, closing ones summed separately from
    all transactions up to its end. One report per party with an account, by party id."""
    before: dict[tuple[str, str], int] = {}
    until: dict[tuple[str, str], int] = {}
    of_day: list[Transaction] = []
    for tx in history:
        when = local_day(tx.at, timezone)
        if when > day:
            continue
        if when == day:
            of_day.append(tx)
        for p in tx.postings:
            key = (p.account, p.currency)
            until[key] = until.get(key, 0) + p.amount
            if when < day:
                before[key] = before.get(key, 0) + p.amount
    parties = sorted({_owner(key) for key in until})
    return tuple(
        daily_report(of_day, party=x, day=day, opening=before, closing=until, timezone=timezone)
        for x in parties
    )


def _money(units: int, currency: str) -> str:
    return f"{from_minor(units, currency):f}"


def to_rows(report: DailyReport) -> list[list[str]]:
    """The CSV rows of ``report``, header first (``COLUMNS``); amounts as decimal text."""
    rows = [list(COLUMNS)]
    for line in report.lines:
        cur = line.currency
        head = [report.party, report.day.isoformat(), line.account, cur]
        amounts = [line.opening, *(line.movements.get(k, 0) for k in TxKind), line.closing]
        amounts.append(line.difference)
        rows.append([*head, *(_money(x, cur) for x in amounts), str(line.balanced).lower()])
    return rows


def to_csv(report: DailyReport) -> str:
    """``report`` as CSV text (RFC 4180: comma-separated, CRLF line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows(to_rows(report))
    return out.getvalue()


def to_json(report: DailyReport) -> dict[str, Any]:
    """``report`` as a dict of JSON types; amounts as decimal strings, never floats."""
    accounts = []
    for line in report.lines:
        cur = line.currency
        accounts.append(
            {
                "account": line.account,
                "kind": Account.parse(line.account).kind.value,
                "currency": cur,
                "opening": _money(line.opening, cur),
                "movements": {k.value: _money(v, cur) for k, v in line.movements.items()},
                "net": _money(line.net, cur),
                "closing": _money(line.closing, cur),
                "difference": _money(line.difference, cur),
                "balanced": line.balanced,
            }
        )
    return {
        "party": report.party,
        "day": report.day.isoformat(),
        "timezone": report.timezone,
        "ok": report.ok,
        "transactions": report.transactions,
        "accounts": accounts,
    }
