"""The ``tariff`` of a corridor file: a default duty rate and rates by HS chapter or heading."""

from __future__ import annotations

import re
from decimal import Decimal

from tripp.codes.hs import valid_chapter
from tripp.corridor.fields import Node
from tripp.corridor.model import Tariff, TariffRate

_HS_PREFIX = re.compile(r"[0-9]{2}(?:[0-9]{2})?")


def read_tariff(root: Node) -> Tariff | None:
    node = root.child("tariff")
    if node is None:
        return None
    default = _rate(node, "default_rate_pct")
    estimated = node.flag("estimated")
    node.text("notes", required=False)
    seen: dict[str, int] = {}
    rates: list[TariffRate | None] = []
    for i, raw in enumerate(node.items("rates", required=False) or []):
        rate = _tariff_rate(Node(node.sink, node.at("rates") + f"[{i}]", raw))
        if rate is not None and rate.hs_prefix in seen:
            message = f"{rate.hs_prefix!r} is already listed at rates[{seen[rate.hs_prefix]}]"
            node.error(f"rates[{i}].hs_prefix", message, "hs-prefix-unique")
            rate = None
        elif rate is not None:
            seen[rate.hs_prefix] = i
        rates.append(rate)
    node.finish()
    if default is None or None in rates:
        return None
    return Tariff(default, tuple(r for r in rates if r is not None), estimated)


def _rate(node: Node, key: str) -> Decimal | None:
    rate = node.number(key)
    if rate is not None and rate < 0:
        node.error(key, f"must be >= 0 percent, got {rate}", "tariff-rate")
        return None
    return rate


def _tariff_rate(node: Node) -> TariffRate | None:
    prefix = _hs_prefix(node)
    rate = _rate(node, "rate_pct")
    note = node.text("note", required=False) or ""
    node.finish()
    if prefix is None or rate is None:
        return None
    return TariffRate(prefix, rate, note)


def _hs_prefix(node: Node) -> str | None:
    """An HS chapter (2 digits) or heading (4 digits); an unquoted 2402 is taken as '2402'."""
    value = node.get("hs_prefix")
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(text, str)
        or not _HS_PREFIX.fullmatch(text)
        or not valid_chapter(int(text[:2]))
        or text[2:] == "00"
    ):
        message = (
            f"{value!r} must be an HS chapter (2 digits, 01-97, not 77) "
            "or heading (4 digits), quoted, e.g. '24' or '2402'"
        )
        node.error("hs_prefix", message, "hs-prefix")
        return None
    return text
