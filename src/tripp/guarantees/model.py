"""The guarantee account (pure): committed at acceptance, released at cancel or
write-off, kept in recovery, never committed above its reference amount."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tripp.errors import FieldError, InvalidInput


class GuaranteeInsufficient(InvalidInput):
    """The liability exceeds what the guarantee has available; nothing is committed."""

    def __init__(self, grn: str, needed: Decimal, available: Decimal, currency: str) -> None:
        super().__init__(
            [
                FieldError(
                    "guarantee",
                    f"guarantee {grn} has {available} {currency} available, "
                    f"the liability needs {needed} {currency}",
                    "guarantee-insufficient",
                )
            ]
        )


@dataclass
class Guarantee:
    grn: str
    holder: str
    reference_amount: Decimal
    committed: Decimal
    currency: str
    issued_by: str
    created_at: datetime

    def __post_init__(self) -> None:
        if self.reference_amount <= 0:
            raise ValueError(f"reference_amount={self.reference_amount} must be > 0")
        if not Decimal(0) <= self.committed <= self.reference_amount:
            raise ValueError(
                f"committed={self.committed} must be within 0..{self.reference_amount}"
            )

    @property
    def available(self) -> Decimal:
        return self.reference_amount - self.committed

    def commit(self, amount: Decimal) -> None:
        """Reserve ``amount``; GuaranteeInsufficient if it would over-commit."""
        if amount < 0:
            raise ValueError(f"amount={amount} must be >= 0")
        if amount > self.available:
            raise GuaranteeInsufficient(self.grn, amount, self.available, self.currency)
        self.committed += amount

    def release(self, amount: Decimal) -> None:
        """Give ``amount`` back; ValueError if more than is committed (a bug upstream)."""
        if not Decimal(0) <= amount <= self.committed:
            raise ValueError(f"cannot release {amount}: only {self.committed} is committed")
        self.committed -= amount
