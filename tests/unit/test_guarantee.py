from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import T0
from tripp.guarantees.model import Guarantee, GuaranteeInsufficient


def guarantee(reference: str = "1000.00") -> Guarantee:
    return Guarantee(
        "26AZ000000000001",
        "AZ-CARRIER-0001",
        Decimal(reference),
        Decimal(0),
        "USD",
        "AZ-CUSTOMS",
        T0,
    )


def test_commit_and_release() -> None:
    g = guarantee()
    g.commit(Decimal("600.00"))
    assert g.available == Decimal("400.00")
    with pytest.raises(GuaranteeInsufficient) as caught:
        g.commit(Decimal("400.01"))
    assert caught.value.errors[0].field == "guarantee"
    assert g.committed == Decimal("600.00")  # a refused commitment changes nothing
    g.release(Decimal("600.00"))
    assert g.available == Decimal("1000.00")


def test_release_more_than_committed_is_a_bug() -> None:
    g = guarantee()
    g.commit(Decimal(5))
    with pytest.raises(ValueError, match="only 5"):
        g.release(Decimal(6))


amounts = st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(st.booleans(), amounts), max_size=60))
def test_never_over_committed(operations: list[tuple[bool, Decimal]]) -> None:
    g = guarantee()
    open_liabilities: list[Decimal] = []
    for commit, amount in operations:
        if commit:
            try:
                g.commit(amount)
                open_liabilities.append(amount)
            except GuaranteeInsufficient:
                assert amount > g.available
        elif open_liabilities:
            g.release(open_liabilities.pop(0))
        assert Decimal(0) <= g.committed <= g.reference_amount
        assert g.committed == sum(open_liabilities, Decimal(0))
        assert g.available + g.committed == g.reference_amount
