"""The optional ``tracking`` section of a corridor file: thresholds of the tracking alerts.

Every field is optional; a missing field (or a missing section) keeps the default of
``TrackingRules``. Durations are seconds, speeds km/h. ``speed_limit_kmh`` lists limits by
mode; a mode it leaves out keeps its default limit.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from tripp.corridor.fields import Node, kind_of, to_decimal
from tripp.corridor.model import TrackingRules, TransportMode

_DEFAULTS = TrackingRules()
# Debounce and hysteresis durations: 0 is allowed (then the fix count alone decides).
_DEBOUNCE_S = ("deviation_min_s", "clear_min_s", "stop_min_s", "speeding_min_s")
_MODES = ", ".join(m.value for m in TransportMode)


def read_tracking_rules(root: Node) -> TrackingRules | None:
    """The ``tracking`` section, or the defaults when it is absent.

    Returns None only after recording at least one error in the sink.
    """
    raw = root.get("tracking", required=False)
    if raw is None:
        return _DEFAULTS
    node = Node(root.sink, root.at("tracking"), raw)
    errors_before = len(node.sink.errors)
    values: dict[str, Any] = {
        "deviation_min_fixes": _min_fixes(node, "deviation_min_fixes"),
        **{key: _seconds(node, key, allow_zero=True) for key in _DEBOUNCE_S},
        "silent_after_s": _seconds(node, "silent_after_s", allow_zero=False),
        "clear_ratio": _clear_ratio(node, "clear_ratio"),
        "stop_speed_kmh": _speed_kmh(node, "stop_speed_kmh"),
        "speed_limit_kmh": _speed_limits_kmh(node, "speed_limit_kmh"),
        "estimated": node.flag("estimated"),
    }
    node.text("notes", required=False)
    node.finish()
    if len(node.sink.errors) > errors_before:
        return None
    return replace(_DEFAULTS, **{k: v for k, v in values.items() if v is not None})


def _number(node: Node, key: str) -> Decimal | None:
    """An optional finite number; None when absent or broken (recorded)."""
    value = node.get(key, required=False)
    if value is None:
        return None
    number = to_decimal(value)
    if number is None:
        node.error(key, f"must be a finite number, got {kind_of(value)} {value!r}", "type")
    return number


def _min_fixes(node: Node, key: str) -> int | None:
    number = _number(node, key)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 1:
        node.error(key, f"must be a whole number of fixes >= 1, got {number}", "tracking-fixes")
        return None
    return int(number)


def _seconds(node: Node, key: str, *, allow_zero: bool) -> float | None:
    number = _number(node, key)
    if number is None:
        return None
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        node.error(key, f"must be {bound} seconds, got {number}", "tracking-duration")
        return None
    return float(number)


def _clear_ratio(node: Node, key: str) -> float | None:
    number = _number(node, key)
    if number is None:
        return None
    if not 0 < number <= 1:
        message = f"must be > 0 and <= 1 (a fraction of buffer_m), got {number}"
        node.error(key, message, "tracking-clear-ratio")
        return None
    return float(number)


def _speed_kmh(node: Node, key: str) -> float | None:
    number = _number(node, key)
    if number is None:
        return None
    if number <= 0:
        node.error(key, f"must be > 0 km/h, got {number}", "tracking-speed")
        return None
    return float(number)


def _speed_limits_kmh(node: Node, key: str) -> dict[TransportMode, float] | None:
    """Limits by mode, merged over the defaults; None when absent or broken (recorded)."""
    raw = node.get(key, required=False)
    if raw is None:
        return None
    limits_node = Node(node.sink, node.at(key), raw)
    limits = dict(_DEFAULTS.speed_limit_kmh)
    valid = limits_node.is_mapping
    for mode, _ in limits_node.entries():
        if mode not in {m.value for m in TransportMode}:
            limits_node.error(mode, f"{mode!r} is not one of: {_MODES}", "mode")
            valid = False
            continue
        limit = _speed_kmh(limits_node, mode)
        valid = valid and limit is not None
        if limit is not None:
            limits[TransportMode(mode)] = limit
    return limits if valid else None
