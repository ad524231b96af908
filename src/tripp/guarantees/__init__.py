"""Guarantees: the reference amount that covers the liabilities of open movements."""
