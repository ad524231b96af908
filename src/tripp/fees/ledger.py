"""A double-entry ledger of transit fees (pure: no I/O, no clock, no ids of its own).

Amounts are whole numbers of the currency's minor unit; a posting is positive for a debit,
negative for a credit, and every transaction sums to zero in each currency, so money is
never created or lost; a balance is only ever the sum of its postings. The accounts
(``carrier:<party>:prepaid``, ``clearing:external:<collector>``,
``fees:receivable:<payer>:<fee>``, ``fees:revenue:<authority>``, ``fees:waived:<authority>``,
``refunds:payable:<payer>:<fee>``) and what each operation posts are in docs/fees.md.
``<fee>`` is the movement's MRN or the vehicle announcement's id: one fee each.

A fee moves through ``FeeStatus`` by one table (``TRANSITIONS``); the builders
(``assess_fee``, ``settle_from_prepaid``, ...) return the transaction an operation writes,
or raise. The ``Ledger`` value checks every invariant again when a transaction is posted
and makes each operation idempotent by its reference.

Errors: ``LedgerInvalid`` (422, names the rule: ``transaction-balanced``, ``fee-amount``,
``payment-amount``, ...), ``PrepaidInsufficient`` (422), ``FeeTransitionRefused``,
``ReferenceReused`` and ``FeeUnpaid`` (409), ``FeeUnknown`` (404).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from tripp.codes.currency import from_minor, is_currency
from tripp.errors import Conflict, FieldError, InvalidInput, NotFound
from tripp.parties.model import PARTY_ID

_FEE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class AccountKind(StrEnum):
    PREPAID = "prepaid"
    CLEARING = "clearing"
    RECEIVABLE = "receivable"
    REVENUE = "revenue"
    WAIVED = "waived"
    REFUNDS = "refunds"


# +1 where a debit raises what the account shows (assets, the waived contra-revenue), -1
# where a credit does (what is owed to someone, revenue): reports show balances this way.
NORMAL_SIGN = {
    AccountKind.PREPAID: -1, AccountKind.CLEARING: 1, AccountKind.RECEIVABLE: 1,
    AccountKind.REVENUE: -1, AccountKind.WAIVED: 1, AccountKind.REFUNDS: -1,
}  # fmt: skip


@dataclass(frozen=True)
class Account:
    """A parsed account name: its kind, the party it belongs to and, for some, the fee."""

    kind: AccountKind
    party: str
    fee: str = ""

    @classmethod
    def parse(cls, name: str) -> Account:
        """ValueError quoting ``name`` unless it is one of the ledger's account names."""
        match name.split(":"):
            case ["carrier", party, "prepaid"]:
                account = cls(AccountKind.PREPAID, party)
            case ["clearing", "external", party]:
                account = cls(AccountKind.CLEARING, party)
            case ["fees", "receivable", party, fee]:
                account = cls(AccountKind.RECEIVABLE, party, fee)
            case ["fees", ("revenue" | "waived") as kind, party]:
                account = cls(AccountKind(kind), party)
            case ["refunds", "payable", party, fee]:
                account = cls(AccountKind.REFUNDS, party, fee)
            case _:
                raise ValueError(f"account={name!r} is not an account of the fee ledger")
        if not PARTY_ID.match(account.party) or (account.fee and not _FEE_REF.match(account.fee)):
            raise ValueError(f"account={name!r} has a malformed party id or fee reference")
        return account


def prepaid(carrier: str) -> str:
    return f"carrier:{carrier}:prepaid"


def clearing(collector: str) -> str:
    return f"clearing:external:{collector}"


def receivable(payer: str, fee: str) -> str:
    return f"fees:receivable:{payer}:{fee}"


def revenue(authority: str) -> str:
    return f"fees:revenue:{authority}"


def waived(authority: str) -> str:
    return f"fees:waived:{authority}"


def refunds(payer: str, fee: str) -> str:
    return f"refunds:payable:{payer}:{fee}"


class LedgerInvalid(InvalidInput):
    """A transaction or an operation's input breaks a ledger rule; ``rule`` names it."""

    def __init__(self, field: str, message: str, rule: str) -> None:
        self.rule = rule
        super().__init__([FieldError(field, message, rule)])


class PrepaidInsufficient(LedgerInvalid):
    """The prepaid account holds less than the fee; nothing is settled."""

    def __init__(self, carrier: str, needed: int, available: int, currency: str) -> None:
        need, have = from_minor(needed, currency), from_minor(available, currency)
        message = f"carrier {carrier} has {have} {currency} prepaid, the fee needs {need}"
        super().__init__("prepaid", message, "prepaid-insufficient")


@dataclass(frozen=True)
class Posting:
    account: str
    amount: int  # minor units: positive debit, negative credit
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount == 0:
            raise ValueError(f"amount={self.amount!r} must be a non-zero whole number")
        if not is_currency(self.currency):
            raise ValueError(f"currency={self.currency!r} is not ISO 4217")
        Account.parse(self.account)


class TxKind(StrEnum):
    ASSESS = "assess"  # Dr receivable, Cr revenue
    WRITE_OFF = "write_off"  # Dr waived, Cr receivable: an exemption or a waiver
    TOP_UP = "top_up"  # Dr clearing, Cr prepaid
    SETTLE_PREPAID = "settle_prepaid"  # Dr prepaid, Cr receivable
    SETTLE_EXTERNAL = "settle_external"  # Dr clearing, Cr receivable
    CANCEL = "cancel"  # Dr revenue, Cr receivable (unpaid) or refunds payable (paid)
    REFUND = "refund"  # Dr refunds payable, Cr the account the payment came from


_TOP_UP_SHAPE = [AccountKind.CLEARING, AccountKind.PREPAID]
# A payment reference pays once, whether it topped up an account or settled a fee.
_NAMESPACE = {TxKind.TOP_UP: "external", TxKind.SETTLE_EXTERNAL: "external"}


@dataclass(frozen=True)
class Transaction:
    """One balanced set of postings. ``reference`` makes it idempotent: one transaction per
    (kind, reference), payments sharing one namespace; ``fee`` is the fee it concerns ("" for
    top-ups); ``memo`` says why (exemption, cancellation reason)."""

    id: str
    kind: TxKind
    postings: tuple[Posting, ...]
    at: datetime
    reference: str
    fee: str = ""
    memo: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"at={self.at.isoformat()} must carry a timezone")
        if not self.reference:
            raise ValueError("reference must not be empty: it makes the operation idempotent")
        if len(self.postings) < 2:
            raise LedgerInvalid("postings", "a transaction needs two postings", "double-entry")
        for currency, total in self.totals().items():
            if total:
                message = f"transaction {self.id} does not balance: {currency} sums to {total}"
                raise LedgerInvalid("postings", message, "transaction-balanced")

    @property
    def key(self) -> tuple[str, str]:
        return _NAMESPACE.get(self.kind, self.kind.value), self.reference

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.postings:
            out[p.currency] = out.get(p.currency, 0) + p.amount
        return out

    def on(self, account: str) -> int:
        """The net amount this transaction posts to ``account``."""
        return sum(p.amount for p in self.postings if p.account == account)

    def same_effect(self, other: Transaction) -> bool:
        """A retry: same operation, same postings; its id, instant and memo may differ."""
        return (self.kind, self.reference, self.fee, self.postings) == (
            other.kind, other.reference, other.fee, other.postings,
        )  # fmt: skip


class FeeStatus(StrEnum):
    DUE = "due"
    SETTLED = "settled"
    WAIVED = "waived"
    CANCELLED = "cancelled"
    REFUND_DUE = "refund_due"
    REFUNDED = "refunded"


# The whole fee lifecycle: (status, or None before assessment; kind) -> next status.
TRANSITIONS: Mapping[tuple[FeeStatus | None, TxKind], FeeStatus] = {
    (None, TxKind.ASSESS): FeeStatus.DUE,
    (FeeStatus.DUE, TxKind.WRITE_OFF): FeeStatus.WAIVED,
    (FeeStatus.DUE, TxKind.SETTLE_PREPAID): FeeStatus.SETTLED,
    (FeeStatus.DUE, TxKind.SETTLE_EXTERNAL): FeeStatus.SETTLED,
    (FeeStatus.DUE, TxKind.CANCEL): FeeStatus.CANCELLED,
    (FeeStatus.SETTLED, TxKind.CANCEL): FeeStatus.REFUND_DUE,
    (FeeStatus.REFUND_DUE, TxKind.REFUND): FeeStatus.REFUNDED,
}
CLEARS_CROSSING = frozenset({FeeStatus.SETTLED, FeeStatus.WAIVED})


def allowed_kinds(status: FeeStatus | None) -> tuple[TxKind, ...]:
    return tuple(kind for (state, kind) in TRANSITIONS if state is status)


class FeeTransitionRefused(Conflict):
    """The operation is not allowed in the fee's status (e.g. a second settlement)."""

    slug = "fee-transition"
    rule = "fee-transition"

    def __init__(self, fee: str, status: FeeStatus | None, kind: TxKind) -> None:
        self.state = status
        self.allowed = allowed_kinds(status)
        now = status.value if status else "not assessed"
        allowed = ", ".join(self.allowed) or "none"
        super().__init__(f"fee {fee} is {now}: {kind.value} is not allowed; allowed: {allowed}")


class ReferenceReused(Conflict):
    """The reference already names another operation; a retry must repeat it exactly."""

    slug = "reference-reused"
    rule = "reference-unique"


class FeeUnknown(NotFound):
    rule = "fee-known"


class FeeUnpaid(Conflict):
    """The crossing is refused: its fee is neither settled nor waived."""

    title = "Transit fee not settled"
    slug = "fee-unpaid"
    rule = "fee-settled"

    def __init__(self, fee: Fee) -> None:
        self.fee = fee
        due = f"{from_minor(fee.amount, fee.currency)} {fee.currency}"
        if fee.status is FeeStatus.DUE:
            detail = (
                f"the transit fee {fee.ref} of {due} set by {fee.authority} is not settled: "
                "settle it from the prepaid account or at the front office, then retry"
            )
        else:
            detail = f"the transit fee {fee.ref} was cancelled ({fee.status.value}); assess anew"
        super().__init__(detail)


def _pair(debit: str, credit: str, amount: int, currency: str) -> tuple[Posting, Posting]:
    """The two postings of moving ``amount`` from ``credit`` to ``debit``, debit first."""
    return Posting(debit, amount, currency), Posting(credit, -amount, currency)


@dataclass(frozen=True)
class Fee:
    """One fee's state, folded from its transactions. ``amount`` is the gross assessed, in
    minor units; ``paid_from`` the account a settlement came from, where a refund goes."""

    ref: str
    payer: str
    authority: str
    currency: str
    amount: int
    status: FeeStatus = FeeStatus.DUE
    paid_from: str = ""
    reason: str = ""

    @classmethod
    def open(cls, tx: Transaction) -> Fee:
        """The fee an assessment transaction creates."""
        accounts = [Account.parse(p.account) for p in tx.postings]
        kinds = [a.kind for a in accounts]
        first = tx.postings[0]
        shape = [AccountKind.RECEIVABLE, AccountKind.REVENUE]
        if kinds != shape or accounts[0].fee != tx.fee or first.amount < 0:
            message = f"{tx.id} must debit the fee's receivable and credit revenue"
            raise LedgerInvalid("postings", message, "assess-shape")
        return cls(tx.fee, accounts[0].party, accounts[1].party, first.currency, first.amount)

    def postings(self, kind: TxKind, *, collector: str = "") -> tuple[Posting, Posting]:
        """What operation ``kind`` posts on this fee: always the whole amount, so a fee is
        settled, cancelled or refunded once and never for more than was assessed or paid."""
        due, owed = receivable(self.payer, self.ref), refunds(self.payer, self.ref)
        debit, credit = {
            TxKind.WRITE_OFF: (waived(self.authority), due),
            TxKind.SETTLE_PREPAID: (prepaid(self.payer), due),
            TxKind.SETTLE_EXTERNAL: (clearing(collector), due),
            TxKind.CANCEL: (revenue(self.authority), owed if self.paid_from else due),
            TxKind.REFUND: (owed, self.paid_from),
        }[kind]
        return _pair(debit, credit, self.amount, self.currency)

    def apply(self, tx: Transaction) -> Fee:
        """The state after ``tx``; raises if the lifecycle or the postings do not allow it."""
        new = TRANSITIONS.get((self.status, tx.kind))
        if new is None:
            raise FeeTransitionRefused(self.ref, self.status, tx.kind)
        external = tx.kind is TxKind.SETTLE_EXTERNAL
        collector = Account.parse(tx.postings[0].account).party if external else ""
        if tx.postings != self.postings(tx.kind, collector=collector):
            expected = ", ".join(
                f"{p.account} {p.amount}" for p in self.postings(tx.kind, collector=collector)
            )
            message = f"{tx.id} must post {expected} ({self.currency} minor units)"
            raise LedgerInvalid("postings", message, "fee-amount")
        paid_from = tx.postings[0].account if new is FeeStatus.SETTLED else self.paid_from
        return replace(self, status=new, paid_from=paid_from, reason=tx.memo or self.reason)


def check_crossing(fee: Fee) -> None:
    """Raises ``FeeUnpaid`` unless the fee is settled or waived (exempt)."""
    if fee.status not in CLEARS_CROSSING:
        raise FeeUnpaid(fee)


# --- operations: each returns the transaction it writes, or raises -------------------------


def tx_id(kind: TxKind, reference: str) -> str:
    """A deterministic id, so that a retried operation yields the very same transaction."""
    return f"{kind.value}:{reference}"


def _require(fee: Fee, kind: TxKind) -> None:
    if (fee.status, kind) not in TRANSITIONS:
        raise FeeTransitionRefused(fee.ref, fee.status, kind)


def _positive(amount: int) -> None:
    if type(amount) is not int or amount <= 0:
        raise LedgerInvalid("amount", f"must be > 0 minor units, got {amount!r}", "amount-positive")


def _tx(
    kind: TxKind, reference: str, at: datetime, fee: str, memo: str, *moves: Posting
) -> Transaction:
    return Transaction(tx_id(kind, reference), kind, moves, at, reference, fee, memo)


def assess_fee(
    *, fee: str, payer: str, authority: str, currency: str, amount: int, at: datetime,
    exemption: str = "",
) -> tuple[Transaction, ...]:  # fmt: skip
    """The assessment of ``amount`` (the gross, minor units) on fee ``fee``, and its
    write-off when ``exemption`` (the exemption's reason) applies. Reference: ``fee``."""
    _positive(amount)
    if not _FEE_REF.match(fee):
        raise LedgerInvalid("fee", f"{fee!r} must be 1-64 of A-Z a-z 0-9 . _ / -", "fee-ref")
    moves = _pair(receivable(payer, fee), revenue(authority), amount, currency)
    assess = _tx(TxKind.ASSESS, fee, at, fee, "", *moves)
    if not exemption:
        return (assess,)
    return assess, write_off(Fee.open(assess), reason=exemption, reference=fee, at=at)


def write_off(fee: Fee, *, reason: str, reference: str, at: datetime) -> Transaction:
    """Waive a due fee (an exemption, or the authority's decision): Dr waived, Cr receivable."""
    _require(fee, TxKind.WRITE_OFF)
    if not reason:
        raise LedgerInvalid("reason", "a write-off needs its reason", "write-off-reason")
    return _tx(TxKind.WRITE_OFF, reference, at, fee.ref, reason, *fee.postings(TxKind.WRITE_OFF))


def top_up(
    *, carrier: str, amount: int, currency: str, reference: str, collector: str, at: datetime
) -> Transaction:
    """Money received under the external payment ``reference`` credited to ``carrier``."""
    _positive(amount)
    moves = _pair(clearing(collector), prepaid(carrier), amount, currency)
    return _tx(TxKind.TOP_UP, reference, at, "", "", *moves)


def settle_from_prepaid(fee: Fee, *, available: int, reference: str, at: datetime) -> Transaction:
    """Settle a due fee from the payer's prepaid account, which holds ``available`` minor
    units of the fee's currency; ``PrepaidInsufficient`` rather than an overdraft."""
    _require(fee, TxKind.SETTLE_PREPAID)
    if available < fee.amount:
        raise PrepaidInsufficient(fee.payer, fee.amount, available, fee.currency)
    moves = fee.postings(TxKind.SETTLE_PREPAID)
    return _tx(TxKind.SETTLE_PREPAID, reference, at, fee.ref, "", *moves)


def settle_external(
    fee: Fee, *, amount: int, currency: str, reference: str, collector: str, at: datetime
) -> Transaction:
    """Settle a due fee with a payment taken by ``collector`` under ``reference``; the
    payment must be exactly the fee (a partial payment leaves the crossing blocked)."""
    _require(fee, TxKind.SETTLE_EXTERNAL)
    if (amount, currency) != (fee.amount, fee.currency):
        paid, due = from_minor(amount, currency), from_minor(fee.amount, fee.currency)
        message = f"paid {paid} {currency}, the fee is {due} {fee.currency}"
        raise LedgerInvalid("amount", message, "payment-amount")
    moves = fee.postings(TxKind.SETTLE_EXTERNAL, collector=collector)
    return _tx(TxKind.SETTLE_EXTERNAL, reference, at, fee.ref, "", *moves)


def cancel(fee: Fee, *, reason: str, reference: str, at: datetime) -> Transaction:
    """Cancel the fee of a cancelled movement: an unpaid fee is reversed; a paid one's
    amount becomes owed back to the payer (``refunds:payable``) until ``refund``."""
    _require(fee, TxKind.CANCEL)
    return _tx(TxKind.CANCEL, reference, at, fee.ref, reason, *fee.postings(TxKind.CANCEL))


def refund(fee: Fee, *, reference: str, at: datetime) -> Transaction:
    """Pay back a cancelled paid fee, exactly what was paid, to the account it came from."""
    _require(fee, TxKind.REFUND)
    return _tx(TxKind.REFUND, reference, at, fee.ref, "", *fee.postings(TxKind.REFUND))


def retry_of(done: Transaction | None, kind: TxKind, fee: str) -> Transaction | None:
    """``done`` (the transaction already recorded under an operation's reference) when it is
    the same operation on the same fee, i.e. a retry; ``ReferenceReused`` when the reference
    names another operation or fee; None when nothing is recorded."""
    if done is not None and (done.kind, done.fee) != (kind, fee):
        message = f"reference {done.reference!r} is already {done.id} (fee {done.fee or '-'})"
        raise ReferenceReused(message)
    return done


# --- receipts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """Proof of payment of one fee; ``fee`` is the movement's MRN or the vehicle's id."""

    number: str
    payer: str
    amount: Decimal
    currency: str
    fee: str
    at: datetime
    authority: str
    method: str  # "prepaid" or "external"
    payment_reference: str
    transaction: str


def receipt_number(tx: Transaction) -> str:
    """``TF-<UTC date>-<10 base32 of SHA-256(transaction id)>``: the same settlement always
    gets the same number (reprints, retries), with no counter to share between front
    offices; 50 bits make a collision unlikely for far beyond the corridor's volume."""
    digest = base64.b32encode(hashlib.sha256(tx.id.encode()).digest()).decode()
    return f"TF-{tx.at.astimezone(UTC):%Y%m%d}-{digest[:10]}"


def receipt(tx: Transaction, fee: Fee) -> Receipt:
    """The receipt of a settlement transaction of ``fee``; ValueError for any other."""
    methods = {TxKind.SETTLE_PREPAID: "prepaid", TxKind.SETTLE_EXTERNAL: "external"}
    if tx.kind not in methods or tx.fee != fee.ref:
        raise ValueError(f"transaction {tx.id} is not a settlement of fee {fee.ref}")
    return Receipt(
        number=receipt_number(tx),
        payer=fee.payer,
        amount=from_minor(-tx.on(receivable(fee.payer, fee.ref)), fee.currency),
        currency=fee.currency,
        fee=fee.ref,
        at=tx.at,
        authority=fee.authority,
        method=methods[tx.kind],
        payment_reference=tx.reference,
        transaction=tx.id,
    )


# --- the ledger value ----------------------------------------------------------------------


class Ledger:
    """Every transaction and what follows from them: balances, fee states, references.

    A value: ``post`` and the operations return a new ``Ledger`` and leave this one as it
    was, also when they raise. Posting checks every invariant: the transaction balances, its
    id and reference are new (an exact retry is a no-op), the fee lifecycle allows it with
    the fee's exact amount, and no prepaid account goes below zero.
    """

    __slots__ = ("_balances", "_by_key", "_fees", "_ids", "transactions")

    def __init__(self, transactions: Iterable[Transaction] = ()) -> None:
        self.transactions: tuple[Transaction, ...] = ()
        self._balances: dict[tuple[str, str], int] = {}
        self._fees: dict[str, Fee] = {}
        self._by_key: dict[tuple[str, str], Transaction] = {}
        self._ids: set[str] = set()
        for tx in transactions:
            if not self._is_retry(tx):
                self._apply(tx)

    def balance(self, account: str, currency: str) -> int:
        """The sum of the postings to ``account`` in ``currency`` (debit positive)."""
        return self._balances.get((account, currency), 0)

    def balances(self) -> Mapping[tuple[str, str], int]:
        return dict(self._balances)

    def fee(self, ref: str) -> Fee:
        found = self._fees.get(ref)
        if found is None:
            raise FeeUnknown(f"no fee {ref} has been assessed")
        return found

    def fees(self) -> Mapping[str, Fee]:
        return dict(self._fees)

    def prepaid_available(self, carrier: str, currency: str) -> int:
        """What ``carrier`` has prepaid in ``currency``, minor units (>= 0)."""
        return -self.balance(prepaid(carrier), currency)

    def find(self, kind: TxKind, reference: str) -> Transaction | None:
        return self._by_key.get((_NAMESPACE.get(kind, kind.value), reference))

    def post(self, *txs: Transaction) -> Ledger:
        """The ledger with ``txs`` added, all or none; exact retries change nothing."""
        new = self._copy()
        for tx in txs:
            if not new._is_retry(tx):
                new._apply(tx)
        return new

    def run(
        self, kind: TxKind, fee: str, reference: str, build: Callable[[Fee], Transaction]
    ) -> tuple[Ledger, Transaction]:
        """Operation ``kind`` on ``fee`` under ``reference``: a retry returns this ledger and
        the earlier transaction; otherwise ``build(the fee's state)`` is posted."""
        done = retry_of(self.find(kind, reference), kind, fee)
        if done is not None:
            return self, done
        tx = build(self.fee(fee))
        return self.post(tx), tx

    def settle_from_prepaid(
        self, fee: str, *, reference: str, at: datetime
    ) -> tuple[Ledger, Transaction]:
        """``run`` of ``settle_from_prepaid`` with the payer's prepaid funds of this ledger."""

        def build(state: Fee) -> Transaction:
            available = self.prepaid_available(state.payer, state.currency)
            return settle_from_prepaid(state, available=available, reference=reference, at=at)

        return self.run(TxKind.SETTLE_PREPAID, fee, reference, build)

    # Internals: ``_apply`` only ever runs on a fresh copy, so a refusal changes nothing.

    def _is_retry(self, tx: Transaction) -> bool:
        done = self._by_key.get(tx.key)
        if done is None:
            return False
        if not done.same_effect(tx):
            raise ReferenceReused(
                f"reference {tx.reference!r} is already {done.id}, with other postings"
            )
        return True

    def _copy(self) -> Ledger:
        new = Ledger()
        new.transactions = self.transactions
        new._balances, new._fees = dict(self._balances), dict(self._fees)
        new._by_key, new._ids = dict(self._by_key), set(self._ids)
        return new

    def _apply(self, tx: Transaction) -> None:
        if tx.id in self._ids:
            raise ReferenceReused(f"transaction id {tx.id} is already recorded")
        if tx.kind is TxKind.ASSESS:
            if tx.fee in self._fees:
                raise FeeTransitionRefused(tx.fee, self._fees[tx.fee].status, tx.kind)
            self._fees[tx.fee] = Fee.open(tx)
        elif tx.kind is not TxKind.TOP_UP:
            self._fees[tx.fee] = self.fee(tx.fee).apply(tx)
        elif tx.fee or [Account.parse(p.account).kind for p in tx.postings] != _TOP_UP_SHAPE:
            raise LedgerInvalid("postings", f"{tx.id} must debit a clearing account and credit a "
                                "prepaid account, for no fee", "top-up-shape")  # fmt: skip
        for p in tx.postings:
            key = (p.account, p.currency)
            self._balances[key] = self._balances.get(key, 0) + p.amount
            account = Account.parse(p.account)
            if account.kind is AccountKind.PREPAID and self._balances[key] > 0:
                before = self._balances[key] - p.amount  # the carrier had -before
                raise PrepaidInsufficient(account.party, p.amount, -before, p.currency)
        self.transactions = (*self.transactions, tx)
        self._by_key[tx.key] = tx
        self._ids.add(tx.id)
