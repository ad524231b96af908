"""Fees, ledger transactions, postings and balances in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tripp.audit import recorder as audit
from tripp.db.tables import (
    fee_schedule_sets,
    fees,
    ledger_balances,
    ledger_postings,
    ledger_transactions,
)
from tripp.fees.ledger import Fee, FeeStatus, Posting, Transaction, TxKind


def latest_schedules_version(conn: Connection) -> tuple[int, datetime] | None:
    """The latest published version and when it was published (together they name it, also
    across databases reset and refilled, as tests do)."""
    row = conn.execute(
        select(fee_schedule_sets.c.version, fee_schedule_sets.c.published_at)
        .order_by(fee_schedule_sets.c.version.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row.version), row.published_at)


def schedules_version(conn: Connection, version: int) -> dict[str, Any]:
    body = conn.execute(
        select(fee_schedule_sets.c.body).where(fee_schedule_sets.c.version == version)
    ).scalar_one()
    return dict(body)


def insert_schedules(
    conn: Connection, version: int, body: dict[str, Any], *, by: str, at: datetime
) -> None:
    conn.execute(
        insert(fee_schedule_sets),
        [{"version": version, "body": body, "published_by": by, "published_at": at}],
    )


def get_fee(conn: Connection, ref: str, *, lock: bool = False) -> tuple[Fee, Any] | None:
    query = select(fees).where(fees.c.ref == ref)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    fee = Fee(row.ref, row.payer, row.authority, row.currency, int(row.amount_minor),
              FeeStatus(row.status), row.paid_from, row.reason)  # fmt: skip
    return fee, row


def insert_fee(
    conn: Connection, fee: Fee, *, schedule: str, assessment: dict[str, Any], at: datetime
) -> None:
    conn.execute(
        insert(fees),
        [{"ref": fee.ref, "payer": fee.payer, "authority": fee.authority,
          "currency": fee.currency, "amount_minor": fee.amount, "status": fee.status.value,
          "paid_from": fee.paid_from, "reason": fee.reason, "schedule_id": schedule,
          "assessment": assessment, "assessed_at": at, "updated_at": at}],
    )  # fmt: skip


def save_fee(conn: Connection, fee: Fee, at: datetime) -> None:
    conn.execute(
        update(fees)
        .where(fees.c.ref == fee.ref)
        .values(status=fee.status.value, paid_from=fee.paid_from, reason=fee.reason, updated_at=at)
    )


def find_tx(conn: Connection, kind: TxKind, reference: str) -> Transaction | None:
    namespace = _namespace(kind)
    row = conn.execute(
        select(ledger_transactions).where(
            ledger_transactions.c.namespace == namespace,
            ledger_transactions.c.reference == reference,
        )
    ).first()
    return None if row is None else _transactions(conn, [row])[0]


def fee_transactions(conn: Connection, ref: str) -> list[Transaction]:
    rows = conn.execute(
        select(ledger_transactions)
        .where(ledger_transactions.c.fee == ref)
        .order_by(ledger_transactions.c.recorded_at, ledger_transactions.c.id)
    ).all()
    return _transactions(conn, rows)


def transactions_until(conn: Connection, end: datetime) -> list[Transaction]:
    rows = conn.execute(
        select(ledger_transactions)
        .where(ledger_transactions.c.at < end)
        .order_by(ledger_transactions.c.at, ledger_transactions.c.id)
    ).all()
    return _transactions(conn, rows)


def _transactions(conn: Connection, rows: Iterable[Any]) -> list[Transaction]:
    rows = list(rows)
    if not rows:
        return []
    postings: dict[str, list[Posting]] = {}
    for p in conn.execute(
        select(ledger_postings)
        .where(ledger_postings.c.tx_id.in_([r.id for r in rows]))
        .order_by(ledger_postings.c.seq)
    ):
        postings.setdefault(p.tx_id, []).append(Posting(p.account, int(p.amount_minor), p.currency))
    return [
        Transaction(
            r.id, TxKind(r.kind), tuple(postings.get(r.id, ())), r.at, r.reference, r.fee, r.memo
        )
        for r in rows
    ]


def insert_tx(conn: Connection, tx: Transaction, *, by: str, at: datetime) -> None:
    """The transaction, its postings and the balances they move, in the caller's unit of
    work; the balances' CHECK refuses an overdrawn prepaid account whatever the race."""
    conn.execute(
        insert(ledger_transactions),
        [{"id": tx.id, "kind": tx.kind.value, "namespace": _namespace(tx.kind),
          "reference": tx.reference, "fee": tx.fee, "memo": tx.memo, "at": tx.at,
          "recorded_by": by, "recorded_at": at}],
    )  # fmt: skip
    # The recorder knows the party only: its role is in the entry of the command that led
    # here (the crossing, the payment request).
    audit.note(conn, f"fee.{tx.kind.value}", tx.fee or tx.reference, by, "ledger",
               {"tx": tx.id, "reference": tx.reference, "memo": tx.memo,
                "postings": [[p.account, p.currency, p.amount] for p in tx.postings]},
               lambda: at)  # fmt: skip
    conn.execute(
        insert(ledger_postings),
        [{"tx_id": tx.id, "account": p.account, "currency": p.currency,
          "amount_minor": p.amount} for p in tx.postings],
    )  # fmt: skip
    moved: dict[tuple[str, str], int] = {}
    for p in tx.postings:
        moved[(p.account, p.currency)] = moved.get((p.account, p.currency), 0) + p.amount
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for (account, currency), amount in sorted(moved.items()):  # one lock order for all
        statement = dialect.insert(ledger_balances).values(
            account=account, currency=currency, balance_minor=amount
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["account", "currency"],
                set_={"balance_minor": ledger_balances.c.balance_minor + amount},
            )
        )


def balance(conn: Connection, account: str, currency: str, *, lock: bool = False) -> int:
    query = select(ledger_balances.c.balance_minor).where(
        ledger_balances.c.account == account, ledger_balances.c.currency == currency
    )
    if lock:
        query = query.with_for_update()
    value = conn.execute(query).scalar()
    return int(value) if value is not None else 0


def balances(conn: Connection) -> dict[tuple[str, str], int]:
    return {
        (r.account, r.currency): int(r.balance_minor) for r in conn.execute(select(ledger_balances))
    }


def posting_sums(conn: Connection) -> dict[tuple[str, str], int]:
    """Per account and currency, the sum of its postings: what ``balances`` must equal."""
    rows = conn.execute(
        select(
            ledger_postings.c.account,
            ledger_postings.c.currency,
            func.sum(ledger_postings.c.amount_minor),
        ).group_by(ledger_postings.c.account, ledger_postings.c.currency)
    )
    return {(a, c): int(s) for a, c, s in rows}


def _namespace(kind: TxKind) -> str:
    # The same namespaces as ``Transaction.key``: a payment reference pays once.
    return "external" if kind in (TxKind.TOP_UP, TxKind.SETTLE_EXTERNAL) else kind.value
