"""The fee ledger: postings of each operation, its invariants, idempotency, receipts, and a
stateful property test of random interleavings against an independent model."""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tripp.errors import Conflict, NotFound, TrippError
from tripp.fees.assessment import VehicleFacts, assess
from tripp.fees.defaults import default_schedules
from tripp.fees.ledger import (
    NORMAL_SIGN,
    Account,
    AccountKind,
    Fee,
    FeeStatus,
    FeeTransitionRefused,
    FeeUnknown,
    FeeUnpaid,
    Ledger,
    LedgerInvalid,
    Posting,
    PrepaidInsufficient,
    ReferenceReused,
    Transaction,
    TxKind,
    assess_fee,
    cancel,
    check_crossing,
    receipt,
    receipt_number,
    refund,
    settle_external,
    settle_from_prepaid,
    top_up,
    write_off,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CARRIER = "AZ-CARRIER-0001"
AUTHORITY = "AM-CUSTOMS"
COLLECTOR = "CORRIDOR-OPERATOR"
MRN = "26AZ00000000000001"


def assessed(amount: int = 2_000_000, *, ref: str = MRN, exemption: str = "") -> Ledger:
    txs = assess_fee(
        fee=ref, payer=CARRIER, authority=AUTHORITY, currency="AMD", amount=amount, at=T0,
        exemption=exemption,
    )  # fmt: skip
    return Ledger().post(*txs)


def funded(amount: int, ledger: Ledger | None = None, *, reference: str = "BANK-1") -> Ledger:
    tx = top_up(
        carrier=CARRIER, amount=amount, currency="AMD", reference=reference,
        collector=COLLECTOR, at=T0,
    )  # fmt: skip
    return (ledger or Ledger()).post(tx)


def pay_external(ledger: Ledger, reference: str = "CARD-1") -> tuple[Ledger, Transaction]:
    def build(fee: Fee) -> Transaction:
        return settle_external(
            fee, amount=fee.amount, currency=fee.currency, reference=reference,
            collector=COLLECTOR, at=T0,
        )  # fmt: skip

    return ledger.run(TxKind.SETTLE_EXTERNAL, MRN, reference, build)


def moves(tx: Transaction) -> list[tuple[str, int]]:
    return [(p.account, p.amount) for p in tx.postings]


RECV = f"fees:receivable:{CARRIER}:{MRN}"
REVENUE = f"fees:revenue:{AUTHORITY}"
PREPAID = f"carrier:{CARRIER}:prepaid"
CLEARING = f"clearing:external:{COLLECTOR}"
REFUNDS = f"refunds:payable:{CARRIER}:{MRN}"


# --- each operation's postings -------------------------------------------------------------


def test_assessment_debits_the_receivable_and_credits_the_authority() -> None:
    ledger = assessed()
    (tx,) = ledger.transactions
    assert moves(tx) == [(RECV, 2_000_000), (REVENUE, -2_000_000)]
    assert ledger.fee(MRN) == Fee(MRN, CARRIER, AUTHORITY, "AMD", 2_000_000)


def test_an_exemption_is_assessed_then_written_off_with_its_reason() -> None:
    ledger = assessed(exemption="humanitarian relief consignment")
    _, waiver = ledger.transactions
    assert moves(waiver) == [(f"fees:waived:{AUTHORITY}", 2_000_000), (RECV, -2_000_000)]
    assert waiver.memo == "humanitarian relief consignment"
    fee = ledger.fee(MRN)
    assert (fee.status, fee.reason) == (FeeStatus.WAIVED, "humanitarian relief consignment")
    check_crossing(fee)  # an exempt vehicle crosses


def test_prepaid_settlement_and_refund_back_to_the_prepaid_account() -> None:
    ledger = funded(5_000_000, assessed())
    ledger, settle = ledger.settle_from_prepaid(MRN, reference="REQ-1", at=T0)
    assert moves(settle) == [(PREPAID, 2_000_000), (RECV, -2_000_000)]
    assert ledger.prepaid_available(CARRIER, "AMD") == 3_000_000
    ledger, cancelled = ledger.run(
        TxKind.CANCEL, MRN, "CANCEL-1", lambda f: cancel(f, reason="withdrawn", reference="CANCEL-1", at=T0)
    )  # fmt: skip
    assert moves(cancelled) == [(REVENUE, 2_000_000), (REFUNDS, -2_000_000)]
    ledger, back = ledger.run(
        TxKind.REFUND, MRN, "RF-1", lambda f: refund(f, reference="RF-1", at=T0)
    )
    assert moves(back) == [(REFUNDS, 2_000_000), (PREPAID, -2_000_000)]
    assert ledger.prepaid_available(CARRIER, "AMD") == 5_000_000
    assert ledger.fee(MRN).status is FeeStatus.REFUNDED
    assert ledger.balance(REVENUE, "AMD") == 0


def test_external_settlement_is_refunded_through_the_collector_that_took_it() -> None:
    ledger, paid = pay_external(assessed())
    assert moves(paid) == [(CLEARING, 2_000_000), (RECV, -2_000_000)]
    ledger = ledger.post(cancel(ledger.fee(MRN), reason="withdrawn", reference="C", at=T0))
    ledger = ledger.post(refund(ledger.fee(MRN), reference="R", at=T0))
    assert ledger.balance(CLEARING, "AMD") == 0
    assert ledger.transactions[-1].postings[-1].account == CLEARING


def test_cancelling_an_unpaid_fee_reverses_it_and_leaves_nothing_to_refund() -> None:
    ledger = assessed()
    ledger = ledger.post(cancel(ledger.fee(MRN), reason="withdrawn", reference="C", at=T0))
    assert {k: v for k, v in ledger.balances().items() if v} == {}
    with pytest.raises(FeeTransitionRefused) as caught:
        refund(ledger.fee(MRN), reference="R", at=T0)
    assert caught.value.state is FeeStatus.CANCELLED
    assert caught.value.allowed == ()


def test_the_authority_can_waive_a_due_fee_with_a_reason() -> None:
    ledger = assessed()
    with pytest.raises(LedgerInvalid, match="reason"):
        write_off(ledger.fee(MRN), reason="", reference="W", at=T0)
    ledger = ledger.post(write_off(ledger.fee(MRN), reason="road closed", reference="W", at=T0))
    assert ledger.fee(MRN).status is FeeStatus.WAIVED


# --- invariants ----------------------------------------------------------------------------


def test_an_unbalanced_transaction_is_refused_naming_the_rule() -> None:
    postings = (Posting(RECV, 100, "AMD"), Posting(REVENUE, -99, "AMD"))
    with pytest.raises(LedgerInvalid) as caught:
        Transaction("x", TxKind.ASSESS, postings, T0, MRN, MRN)
    assert caught.value.rule == "transaction-balanced"
    assert caught.value.errors[0].rule == "transaction-balanced"
    # Balanced in total but not per currency is unbalanced too.
    mixed = (Posting(RECV, 100, "AMD"), Posting(REVENUE, -100, "USD"))
    with pytest.raises(LedgerInvalid, match="AMD sums to 100"):
        Transaction("y", TxKind.ASSESS, mixed, T0, MRN, MRN)


@pytest.mark.parametrize(
    ("account", "amount", "currency"),
    [(RECV, 1.5, "AMD"), (RECV, 0, "AMD"), (RECV, True, "AMD"), ("cash:box", 1, "AMD"),
     (RECV, 1, "XXX"), ("carrier:lower-case:prepaid", 1, "AMD")],
)  # fmt: skip
def test_postings_take_whole_minor_units_on_known_accounts(
    account: str, amount: object, currency: str
) -> None:
    with pytest.raises(ValueError):
        Posting(account, amount, currency)  # type: ignore[arg-type]


def test_a_settlement_that_would_overdraw_is_refused_and_changes_nothing() -> None:
    ledger = funded(1_999_999, assessed())
    with pytest.raises(PrepaidInsufficient) as caught:
        ledger.settle_from_prepaid(MRN, reference="REQ-1", at=T0)
    assert caught.value.errors[0].rule == "prepaid-insufficient"
    assert "19999.99 AMD prepaid, the fee needs 20000.00" in caught.value.detail
    assert ledger.fee(MRN).status is FeeStatus.DUE
    # A settlement built on a stale balance is refused when posted, too.
    stale = settle_from_prepaid(ledger.fee(MRN), available=10**9, reference="REQ-2", at=T0)
    with pytest.raises(PrepaidInsufficient):
        ledger.post(stale)


def test_a_fee_is_not_settled_twice() -> None:
    ledger = funded(5_000_000, assessed())
    ledger, _ = ledger.settle_from_prepaid(MRN, reference="REQ-1", at=T0)
    with pytest.raises(FeeTransitionRefused) as caught:
        ledger.settle_from_prepaid(MRN, reference="REQ-2", at=T0)
    assert "is settled: settle_prepaid is not allowed; allowed: cancel" in caught.value.detail
    with pytest.raises(FeeTransitionRefused):
        pay_external(ledger, "CARD-9")


def test_an_external_payment_must_be_exactly_the_fee() -> None:
    fee = assessed().fee(MRN)
    for amount, currency in ((1_999_999, "AMD"), (2_000_000, "USD")):
        with pytest.raises(LedgerInvalid) as caught:
            settle_external(
                fee, amount=amount, currency=currency, reference="P", collector=COLLECTOR, at=T0
            )
        assert caught.value.rule == "payment-amount"


def test_a_tampered_settlement_is_refused_by_the_fee() -> None:
    ledger = funded(5_000_000, assessed())
    short = Transaction(
        "settle_prepaid:X", TxKind.SETTLE_PREPAID,
        (Posting(PREPAID, 1, "AMD"), Posting(RECV, -1, "AMD")), T0, "X", MRN,
    )  # fmt: skip
    with pytest.raises(LedgerInvalid) as caught:
        ledger.post(short)
    assert caught.value.rule == "fee-amount"


def test_a_top_up_must_move_money_from_clearing_to_prepaid() -> None:
    odd = Transaction(
        "top_up:X", TxKind.TOP_UP, (Posting(CLEARING, 5, "AMD"), Posting(REVENUE, -5, "AMD")),
        T0, "X",
    )  # fmt: skip
    with pytest.raises(LedgerInvalid) as caught:
        Ledger().post(odd)
    assert caught.value.rule == "top-up-shape"


def test_unknown_fees_and_second_assessments() -> None:
    with pytest.raises(FeeUnknown) as caught:
        Ledger().fee(MRN)
    assert isinstance(caught.value, NotFound)
    other = assess_fee(
        fee=MRN, payer=CARRIER, authority=AUTHORITY, currency="AMD", amount=1, at=T0
    )  # a different amount under the same fee: not a retry
    with pytest.raises(ReferenceReused):
        assessed().post(*other)
    with pytest.raises(LedgerInvalid, match="must be 1-64"):
        assess_fee(fee="a:b", payer=CARRIER, authority=AUTHORITY, currency="AMD", amount=1, at=T0)
    with pytest.raises(LedgerInvalid):
        assessed(0)


# --- idempotency ---------------------------------------------------------------------------


def test_retrying_an_operation_returns_the_same_transaction_and_changes_nothing() -> None:
    ledger = funded(5_000_000, assessed())
    once, first = ledger.settle_from_prepaid(MRN, reference="REQ-1", at=T0)
    later = T0 + timedelta(minutes=5)
    twice, again = once.settle_from_prepaid(MRN, reference="REQ-1", at=later)
    assert again is first and twice is once
    # Re-posting recorded transactions (e.g. a replay from the store) is a no-op as well.
    assert once.post(*once.transactions).balances() == once.balances()
    assert assessed().post(*assessed().transactions).transactions == assessed().transactions


def test_a_reference_names_one_operation() -> None:
    ledger = funded(5_000_000, assessed())
    with pytest.raises(ReferenceReused):
        funded(1, ledger, reference="BANK-1")  # same bank reference, another amount
    with pytest.raises(ReferenceReused):
        pay_external(ledger, "BANK-1")  # a top-up's payment reference cannot pay a fee
    ledger, _ = pay_external(ledger, "CARD-1")
    with pytest.raises(ReferenceReused):
        ledger.run(TxKind.SETTLE_EXTERNAL, "OTHER-MRN", "CARD-1", lambda f: pytest.fail())


# --- the crossing gate and receipts ----------------------------------------------------------


def test_an_unpaid_fee_refuses_the_crossing_and_paying_it_lets_it_through() -> None:
    facts = VehicleFacts("truck", CARRIER, axles=5, gross_mass_kg=Decimal(38000))
    assessment = assess(default_schedules(), facts, T0)
    txs = assess_fee(
        fee=MRN, payer=CARRIER, authority=assessment.authority, currency=assessment.currency,
        amount=assessment.gross_minor, at=T0,
    )  # fmt: skip
    ledger = Ledger().post(*txs)
    with pytest.raises(FeeUnpaid) as caught:
        check_crossing(ledger.fee(MRN))
    problem = caught.value
    assert isinstance(problem, Conflict) and problem.status == 409
    assert (problem.slug, problem.title) == ("fee-unpaid", "Transit fee not settled")
    assert "transit fee 26AZ00000000000001 of 40400.00 AMD set by AM-CUSTOMS" in problem.detail
    assert "is not settled" in problem.detail
    ledger, _ = pay_external(ledger)
    check_crossing(ledger.fee(MRN))
    ledger = ledger.post(cancel(ledger.fee(MRN), reason="withdrawn", reference="C", at=T0))
    with pytest.raises(FeeUnpaid, match="cancelled"):
        check_crossing(ledger.fee(MRN))


def test_a_receipt_comes_from_a_settlement_with_a_stable_number() -> None:
    ledger, paid = pay_external(assessed())
    r = receipt(paid, ledger.fee(MRN))
    assert (r.payer, r.amount, r.currency, r.fee) == (CARRIER, Decimal("20000.00"), "AMD", MRN)
    assert (r.authority, r.method, r.payment_reference) == (AUTHORITY, "external", "CARD-1")
    assert re.fullmatch(r"TF-20261123-[A-Z2-7]{10}", r.number)
    assert receipt_number(paid) == r.number  # reprinted, the same number
    _, retried = pay_external(ledger)
    assert receipt(retried, ledger.fee(MRN)).number == r.number
    with pytest.raises(ValueError, match="not a settlement"):
        receipt(ledger.transactions[0], ledger.fee(MRN))


def test_account_names_parse_to_their_owner() -> None:
    assert Account.parse(RECV) == Account(AccountKind.RECEIVABLE, CARRIER, MRN)
    assert Account.parse(REVENUE).party == AUTHORITY
    assert Account.parse(CLEARING).kind is AccountKind.CLEARING
    assert set(NORMAL_SIGN) == set(AccountKind)


# --- the stateful property test -------------------------------------------------------------

CARRIERS = ("AZ-CARRIER-0001", "AM-CARRIER-0001")
CURRENCIES = ("AMD", "USD")
COLLECTORS = ("CORRIDOR-OPERATOR", "AM-BANK-1")


@dataclass
class ModelFee:
    payer: str
    currency: str
    amount: int
    status: str = "due"
    paid_from: str = ""


ALLOWED = {
    ("due", TxKind.WRITE_OFF), ("due", TxKind.SETTLE_PREPAID), ("due", TxKind.SETTLE_EXTERNAL),
    ("due", TxKind.CANCEL), ("settled", TxKind.CANCEL), ("refund_due", TxKind.REFUND),
}  # fmt: skip


@dataclass
class Model:
    """The ledger's rules restated independently, in plain dicts and literal account names."""

    fees: dict[str, ModelFee] = field(default_factory=dict)
    prepaid: Counter[tuple[str, str]] = field(default_factory=Counter)
    seen: dict[tuple[str, str], Transaction] = field(default_factory=dict)

    def expected(self, tx: Transaction) -> list[tuple[str, int, str]] | None:
        """The postings the operation must have now, or None if it is not allowed now."""
        if tx.kind is TxKind.TOP_UP:
            return [(p.account, p.amount, p.currency) for p in tx.postings]
        if tx.kind is TxKind.ASSESS:
            return (
                None
                if tx.fee in self.fees
                else [(p.account, p.amount, p.currency) for p in tx.postings]
            )
        fee = self.fees[tx.fee]
        a, cur, recv = fee.amount, fee.currency, f"fees:receivable:{fee.payer}:{tx.fee}"
        owed = f"refunds:payable:{fee.payer}:{tx.fee}"
        first = tx.postings[0].account
        table: dict[tuple[str, TxKind], tuple[str, str]] = {
            ("due", TxKind.WRITE_OFF): (f"fees:waived:{AUTHORITY}", recv),
            ("due", TxKind.SETTLE_PREPAID): (f"carrier:{fee.payer}:prepaid", recv),
            ("due", TxKind.CANCEL): (f"fees:revenue:{AUTHORITY}", recv),
            ("settled", TxKind.CANCEL): (f"fees:revenue:{AUTHORITY}", owed),
            ("refund_due", TxKind.REFUND): (owed, fee.paid_from),
        }
        if fee.status == "due" and first.startswith("clearing:external:"):
            table[("due", TxKind.SETTLE_EXTERNAL)] = (first, recv)
        pair = table.get((fee.status, tx.kind))
        if pair is None:
            return None
        if tx.kind is TxKind.SETTLE_PREPAID and self.prepaid[(fee.payer, cur)] < a:
            return None
        return [(pair[0], a, cur), (pair[1], -a, cur)]

    def allows(self, kind: TxKind, ref: str) -> bool:
        fee = self.fees[ref]
        if (fee.status, kind) not in ALLOWED:
            return False
        return (
            kind is not TxKind.SETTLE_PREPAID
            or self.prepaid[(fee.payer, fee.currency)] >= fee.amount
        )

    def verdict(self, tx: Transaction) -> str:
        done = self.seen.get(tx.key)
        if done is not None:
            same = (done.kind, done.fee, done.postings) == (tx.kind, tx.fee, tx.postings)
            return "noop" if same else "refuse"
        actual = [(p.account, p.amount, p.currency) for p in tx.postings]
        return "apply" if self.expected(tx) == actual else "refuse"

    def apply(self, tx: Transaction) -> None:
        self.seen[tx.key] = tx
        next_status = {
            TxKind.WRITE_OFF: "waived", TxKind.SETTLE_PREPAID: "settled",
            TxKind.SETTLE_EXTERNAL: "settled", TxKind.REFUND: "refunded",
        }  # fmt: skip
        for p in tx.postings:
            if p.account.startswith("carrier:"):
                self.prepaid[(p.account.split(":")[1], p.currency)] -= p.amount
        if tx.kind is TxKind.ASSESS:
            payer = tx.postings[0].account.split(":")[2]
            self.fees[tx.fee] = ModelFee(payer, tx.postings[0].currency, tx.postings[0].amount)
        elif tx.kind is TxKind.CANCEL:
            fee = self.fees[tx.fee]
            fee.status = "refund_due" if fee.status == "settled" else "cancelled"
        elif tx.kind is not TxKind.TOP_UP:
            fee = self.fees[tx.fee]
            fee.status = next_status[tx.kind]
            if fee.status == "settled":
                fee.paid_from = tx.postings[0].account


class LedgerMachine(RuleBasedStateMachine):
    """Random interleavings of every operation, retries, and races between two clients that
    both built a transaction from the same stale snapshot (what concurrent requests do)."""

    fees = Bundle("fees")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.model = Model()
        self.clock = T0
        self.counter = 0

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def post(self, *txs: Transaction) -> None:
        """Post all or none, checking the outcome against the model's verdict."""
        trial = copy.deepcopy(self.model)
        verdicts = []
        for tx in txs:
            verdicts.append(trial.verdict(tx))
            if verdicts[-1] == "apply":
                trial.apply(tx)
        event(f"post {'+'.join(tx.kind for tx in txs)}: {'+'.join(verdicts)}")
        try:
            new = self.ledger.post(*txs)
        except TrippError:
            assert "refuse" in verdicts, (verdicts, txs)
            return
        assert "refuse" not in verdicts, (verdicts, txs)
        self.ledger, self.model = new, trial

    @rule(
        target=fees, payer=st.sampled_from(CARRIERS), currency=st.sampled_from(CURRENCIES),
        amount=st.integers(1, 10**5), exempt=st.sampled_from([False, False, False, True]),
    )  # fmt: skip
    def assess(self, payer: str, currency: str, amount: int, exempt: bool) -> str:
        self.counter += 1
        ref = f"MRN-{self.counter}"
        reason = "diplomatic" if exempt else ""
        self.post(*assess_fee(
            fee=ref, payer=payer, authority=AUTHORITY, currency=currency, amount=amount,
            at=self.tick(), exemption=reason,
        ))  # fmt: skip
        return ref

    @rule(
        carrier=st.sampled_from(CARRIERS), currency=st.sampled_from(CURRENCIES),
        amount=st.integers(10**4, 10**6), ref=st.integers(0, 7), collector=st.sampled_from(COLLECTORS),
    )  # fmt: skip
    def top_up(self, carrier: str, currency: str, amount: int, ref: int, collector: str) -> None:
        self.post(top_up(
            carrier=carrier, amount=amount, currency=currency, reference=f"PAY-{ref}",
            collector=collector, at=self.tick(),
        ))  # fmt: skip

    @rule(fee=fees, attempt=st.integers(0, 1))
    def settle_prepaid(self, fee: str, attempt: int) -> None:
        reference, at = f"{fee}/S{attempt}", self.tick()
        self.run(
            TxKind.SETTLE_PREPAID, fee, reference,
            lambda: self.ledger.settle_from_prepaid(fee, reference=reference, at=at),
        )  # fmt: skip

    @rule(fee=fees, ref=st.integers(0, 7), collector=st.sampled_from(COLLECTORS))
    def settle_external(self, fee: str, ref: int, collector: str) -> None:
        reference, at = f"PAY-{ref}", self.tick()

        def build(f: Fee) -> Transaction:
            return settle_external(
                f, amount=f.amount, currency=f.currency, reference=reference,
                collector=collector, at=at,
            )  # fmt: skip

        self.run_built(TxKind.SETTLE_EXTERNAL, fee, reference, build)

    @rule(fee=fees, attempt=st.integers(0, 1))
    def cancel(self, fee: str, attempt: int) -> None:
        reference, at = f"{fee}/C{attempt}", self.tick()
        self.run_built(
            TxKind.CANCEL, fee, reference,
            lambda f: cancel(f, reason="movement cancelled", reference=reference, at=at),
        )  # fmt: skip

    @rule(fee=fees, attempt=st.integers(0, 1))
    def refund(self, fee: str, attempt: int) -> None:
        reference, at = f"{fee}/R{attempt}", self.tick()
        self.run_built(
            TxKind.REFUND, fee, reference, lambda f: refund(f, reference=reference, at=at)
        )

    def run_built(
        self, kind: TxKind, fee: str, reference: str, build: Callable[[Fee], Transaction]
    ) -> None:
        self.run(kind, fee, reference, lambda: self.ledger.run(kind, fee, reference, build))

    def run(
        self, kind: TxKind, fee: str, reference: str, call: Callable[[], tuple[Ledger, Transaction]]
    ) -> None:
        """An idempotent operation: a retry (same kind, fee, reference) changes nothing; a
        refusal must be a reference used for something else or a state the model forbids."""
        found, before = self.ledger.find(kind, reference), self.ledger
        try:
            after, tx = call()
        except TrippError as exc:
            event(f"run {kind}: refused {type(exc).__name__}")
            if found is None:
                assert not self.model.allows(kind, fee), (kind, fee, self.model.fees[fee])
            else:
                assert (found.kind, found.fee) != (kind, fee)
            return
        event(f"run {kind}: {'retry' if found else 'applied'}")
        if found is not None:
            assert (found.kind, found.fee) == (kind, fee)
            assert after is before and tx is found
            return
        assert self.model.verdict(tx) == "apply", tx
        self.model.apply(tx)
        self.ledger = after

    @rule(data=st.data())
    def replay_a_recorded_transaction(self, data: st.DataObject) -> None:
        if self.ledger.transactions:
            tx = data.draw(st.sampled_from(self.ledger.transactions))
            self.post(tx)

    @rule(
        fee=fees,
        first=st.sampled_from(TxKind),
        second=st.sampled_from(TxKind),
        together=st.booleans(),
    )
    def race(self, fee: str, first: TxKind, second: TxKind, together: bool) -> None:
        """Two clients build from one snapshot; the ledger must refuse what became illegal."""
        snapshot, at = self.ledger, self.tick()
        built = (_build_stale(snapshot, kind, fee, at) for kind in (first, second))
        txs = [tx for tx in built if tx is not None]
        if together:
            self.post(*txs)
        else:
            for tx in txs:
                self.post(tx)

    @invariant()
    def every_transaction_balances(self) -> None:
        for tx in self.ledger.transactions:
            assert all(total == 0 for total in tx.totals().values())

    @invariant()
    def balances_are_the_sums_of_their_postings_and_add_up_to_zero(self) -> None:
        sums: Counter[tuple[str, str]] = Counter()
        for tx in self.ledger.transactions:
            for p in tx.postings:
                sums[(p.account, p.currency)] += p.amount
        assert {k: v for k, v in sums.items() if v} == {
            k: v for k, v in self.ledger.balances().items() if v
        }
        for currency in CURRENCIES:
            assert sum(v for (_, cur), v in sums.items() if cur == currency) == 0

    @invariant()
    def no_money_is_created_or_lost(self) -> None:
        """What the collectors hold is what is owed to carriers, in paid fees, or owed back."""
        for currency in CURRENCIES:
            by_kind: Counter[AccountKind] = Counter()
            for (account, cur), amount in self.ledger.balances().items():
                if cur == currency:
                    kind = Account.parse(account).kind
                    by_kind[kind] += NORMAL_SIGN[kind] * amount
            fees = [f for f in self.ledger.fees().values() if f.currency == currency]
            paid = sum(f.amount for f in fees if f.status is FeeStatus.SETTLED)
            owed_back = sum(f.amount for f in fees if f.status is FeeStatus.REFUND_DUE)
            assert by_kind[AccountKind.CLEARING] == by_kind[AccountKind.PREPAID] + paid + owed_back
            assert by_kind[AccountKind.REFUNDS] == owed_back

    @invariant()
    def prepaid_accounts_never_go_negative_and_match_the_model(self) -> None:
        for carrier in CARRIERS:
            for currency in CURRENCIES:
                available = self.ledger.prepaid_available(carrier, currency)
                assert available >= 0
                assert available == self.model.prepaid[(carrier, currency)]

    @invariant()
    def nothing_is_refunded_twice_or_more_than_paid(self) -> None:
        paid: Counter[str] = Counter()
        refunded: Counter[str] = Counter()
        refunds_count: Counter[str] = Counter()
        for tx in self.ledger.transactions:
            if tx.kind in (TxKind.SETTLE_PREPAID, TxKind.SETTLE_EXTERNAL):
                paid[tx.fee] += tx.postings[0].amount
            if tx.kind is TxKind.REFUND:
                refunded[tx.fee] += tx.postings[0].amount
                refunds_count[tx.fee] += 1
        for ref, fee in self.ledger.fees().items():
            assert refunds_count[ref] <= 1 and refunded[ref] <= paid[ref] <= fee.amount
            assert fee.status.value == self.model.fees[ref].status


def _build_stale(snapshot: Ledger, kind: TxKind, fee: str, at: datetime) -> Transaction | None:
    """The transaction of ``kind`` as a client holding ``snapshot`` would build it."""
    try:
        state = snapshot.fee(fee)
        reference = f"{fee}/race-{kind.value}-{at.isoformat()}"
        builders: dict[TxKind, Callable[[], Transaction]] = {
            TxKind.WRITE_OFF: lambda: write_off(state, reason="waived", reference=reference, at=at),
            TxKind.SETTLE_PREPAID: lambda: settle_from_prepaid(
                state, available=snapshot.prepaid_available(state.payer, state.currency),
                reference=reference, at=at,
            ),
            TxKind.SETTLE_EXTERNAL: lambda: settle_external(
                state, amount=state.amount, currency=state.currency, reference=reference,
                collector=COLLECTOR, at=at,
            ),
            TxKind.CANCEL: lambda: cancel(state, reason="race", reference=reference, at=at),
            TxKind.REFUND: lambda: refund(state, reference=reference, at=at),
        }  # fmt: skip
        build = builders.get(kind)
        return None if build is None else build()
    except TrippError:
        return None


LedgerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase


def test_an_assessment_must_debit_the_receivable() -> None:
    backwards = Transaction(
        "assess:X", TxKind.ASSESS, (Posting(RECV, -5, "AMD"), Posting(REVENUE, 5, "AMD")), T0,
        MRN, MRN,
    )  # fmt: skip
    with pytest.raises(LedgerInvalid) as caught:
        Ledger().post(backwards)
    assert caught.value.rule == "assess-shape"
