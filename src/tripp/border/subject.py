"""A movement as the risk engine sees it at one office (pure)."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from tripp.movements.model import Movement
from tripp.risk.model import HolderHistory, Subject


def subject_for(
    movement: Movement,
    *,
    office: str,
    country: str,
    history: HolderHistory,
    alerts: Collection[str],
    trusted: bool,
) -> Subject:
    d = movement.declaration
    return Subject(
        mrn=movement.mrn,
        country=country,
        office=office,
        holder=movement.holder,
        mode=d.transport.mode,
        gross_mass_kg=sum((g.gross_mass_kg for g in d.goods), start=Decimal(0)),
        hs_codes=tuple(g.hs_code for g in d.goods),
        history=history,
        alerts=frozenset(alerts),
        trusted_trader=trusted,
    )
