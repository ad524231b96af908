"""A country's risk ruleset: versioned data, read from a plain dict and written back to one.

The dict (as parsed from YAML or JSON)::

    country: AM                # ISO 3166-1 alpha-2 of the customs that owns the rules
    version: 1                 # whole number >= 1; every decision records it
    description: ...           # optional
    thresholds: {yellow: 10, red: 25}   # score from which a lane applies (yellow < red)
    rules:                     # evaluated in this order; reasons come out in it
      - {id: arms, kind: hs_prefix, prefixes: ["93"], lane: red}
      - ...

Every rule has a unique ``id`` (lower case letters, digits, ``_ . -``), a ``kind`` and an
optional ``description``. A rule that adds ``points`` (a whole number) to the score and/or
forces at least a ``lane`` (yellow or red) says so with those two keys; the kinds:

- ``hs_prefix``: ``prefixes``, HS digit strings of 2-10 digits; any goods item whose code
  starts with one of them makes the rule speak (once per rule, whatever the item count).
- ``mass_limit``: ``limits_kg``, vehicle class -> the highest plausible declared gross mass
  in kg; a subject over its class's limit makes the rule speak (no limit, no check).
- ``holder_history``: ``weights``, points per ``discrepancies``/``incidents``/``recoveries``
  counted in the holder's history, at most ``cap`` points in all (optional); optionally
  ``new_holder_points`` for a holder with fewer than ``min_movements`` movements.
- ``tracking_alert``: ``alerts``, alert kind -> ``{points, lane}``; one reason per open
  alert of a listed kind.
- ``trusted_trader``: negative ``points`` for a trusted trader; never a lane, so it lowers
  the score but cannot undo a lane forced by another rule.
- ``random``: ``red_rate`` and ``yellow_rate``, probabilities in [0, 1] adding up to at most
  1 (see ``tripp.risk.engine.random_draw`` for the reproducible draw). At most one.

``from_dict`` raises ``InvalidInput`` listing every broken field by its path
(``rules[3].prefixes[0]``) and rule; ``to_dict`` writes the canonical dict back, which
``from_dict`` reads into an equal ``Ruleset``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from tripp.codes.country import is_country
from tripp.codes.hs import valid_chapter
from tripp.errors import Conflict, FieldError, InvalidInput
from tripp.risk.model import ALERT_KINDS, Lane, RuleKind

HISTORY_COUNTS = ("discrepancies", "incidents", "recoveries")
DRAW_BITS = 53  # the draw is a whole number of 2**-53, so exact as a float
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PREFIX = re.compile(r"^[0-9]{2,10}$")
_VEHICLE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class RulesetNotApplicable(Conflict):
    """A ruleset was asked to screen at an office of another country than its own."""


class Check(StrEnum):
    """The names of the rules a ruleset dict can break (``FieldError.rule``)."""

    TYPE = "type"
    REQUIRED = "required"
    UNKNOWN_FIELD = "unknown-field"
    COUNTRY = "country-iso3166"
    VERSION = "version"
    THRESHOLD = "threshold"
    THRESHOLDS_ORDER = "thresholds-order"
    RULE_ID = "rule-id"
    RULE_ID_DUPLICATE = "rule-id-duplicate"
    RULE_KIND = "rule-kind"
    EFFECT_REQUIRED = "effect-required"
    POINTS = "points"
    LANE = "lane"
    HS_PREFIX = "hs-prefix"
    HS_PREFIX_DUPLICATE = "hs-prefix-duplicate"
    VEHICLE_CLASS = "vehicle-class"
    MASS_LIMIT = "mass-limit"
    WEIGHT = "weight"
    CAP = "cap"
    NEW_HOLDER = "new-holder"
    ALERT_KIND = "alert-kind"
    RATE = "rate"
    RATES_SUM = "rates-sum"
    RANDOM_SINGLE = "random-single"


# --- the rules ---------------------------------------------------------------------------


def _effect_dict(points: int | None, lane: Lane | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if points is not None:
        out["points"] = points
    if lane is not None:
        out["lane"] = lane.value
    return out


def _head(rule_id: str, kind: RuleKind, description: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule_id, "kind": kind.value}
    if description:
        out["description"] = description
    return out


def _number_out(value: Decimal) -> int | str:
    """A whole Decimal as an int, any other as its exact decimal text."""
    return int(value) if value == value.to_integral_value() else str(value)


@dataclass(frozen=True)
class HsPrefixRule:
    id: str
    prefixes: tuple[str, ...]
    points: int | None = None
    lane: Lane | None = None
    description: str = ""
    # Precompiled: the distinct prefix lengths, so a code is tested by a few slices.
    lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    prefix_set: frozenset[str] = field(init=False, repr=False, compare=False)

    kind: ClassVar[RuleKind] = RuleKind.HS_PREFIX

    def __post_init__(self) -> None:
        object.__setattr__(self, "lengths", tuple(sorted({len(p) for p in self.prefixes})))
        object.__setattr__(self, "prefix_set", frozenset(self.prefixes))

    def to_dict(self) -> dict[str, Any]:
        return _head(self.id, self.kind, self.description) | {
            "prefixes": list(self.prefixes),
            **_effect_dict(self.points, self.lane),
        }


@dataclass(frozen=True)
class MassLimitRule:
    id: str
    limits_kg: Mapping[str, Decimal]
    points: int | None = None
    lane: Lane | None = None
    description: str = ""

    kind: ClassVar[RuleKind] = RuleKind.MASS_LIMIT

    def to_dict(self) -> dict[str, Any]:
        limits = {vehicle: _number_out(kg) for vehicle, kg in self.limits_kg.items()}
        return _head(self.id, self.kind, self.description) | {
            "limits_kg": limits,
            **_effect_dict(self.points, self.lane),
        }


@dataclass(frozen=True)
class HolderHistoryRule:
    id: str
    weights: Mapping[str, int]  # keys among HISTORY_COUNTS
    cap: int | None = None
    min_movements: int | None = None
    new_holder_points: int | None = None
    description: str = ""

    # Precompiled: one weight per count, 0 for a count the rule leaves out.
    per_count: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    kind: ClassVar[RuleKind] = RuleKind.HOLDER_HISTORY

    def __post_init__(self) -> None:
        d, i, r = (self.weights.get(count, 0) for count in HISTORY_COUNTS)
        object.__setattr__(self, "per_count", (d, i, r))

    def to_dict(self) -> dict[str, Any]:
        out = _head(self.id, self.kind, self.description) | {"weights": dict(self.weights)}
        for key in ("cap", "min_movements", "new_holder_points"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class AlertEffect:
    points: int | None = None
    lane: Lane | None = None


@dataclass(frozen=True)
class TrackingAlertRule:
    id: str
    alerts: Mapping[str, AlertEffect]  # alert kind -> effect, in the ruleset's order
    description: str = ""

    kind: ClassVar[RuleKind] = RuleKind.TRACKING_ALERT

    def to_dict(self) -> dict[str, Any]:
        alerts = {k: _effect_dict(e.points, e.lane) for k, e in self.alerts.items()}
        return _head(self.id, self.kind, self.description) | {"alerts": alerts}


@dataclass(frozen=True)
class TrustedTraderRule:
    id: str
    points: int  # negative
    description: str = ""

    kind: ClassVar[RuleKind] = RuleKind.TRUSTED_TRADER

    def to_dict(self) -> dict[str, Any]:
        return _head(self.id, self.kind, self.description) | {"points": self.points}


def rate_threshold(rate: Decimal) -> int:
    """The number of 53-bit draws ``n`` with ``n / 2**53 < rate``: exact, no float rounding."""
    with localcontext() as ctx:
        ctx.prec = len(rate.as_tuple().digits) + 40  # enough for the product to be exact
        scaled = rate * (1 << DRAW_BITS)
    return int(scaled.to_integral_value(rounding="ROUND_CEILING"))


@dataclass(frozen=True)
class RandomRule:
    id: str
    red_rate: Decimal
    yellow_rate: Decimal
    description: str = ""
    # Precompiled: selection compares whole 53-bit draws with these bounds.
    red_below: int = field(init=False, repr=False, compare=False)
    yellow_below: int = field(init=False, repr=False, compare=False)

    kind: ClassVar[RuleKind] = RuleKind.RANDOM

    def __post_init__(self) -> None:
        object.__setattr__(self, "red_below", rate_threshold(self.red_rate))
        object.__setattr__(self, "yellow_below", rate_threshold(self.red_rate + self.yellow_rate))

    def to_dict(self) -> dict[str, Any]:
        return _head(self.id, self.kind, self.description) | {
            "red_rate": str(self.red_rate),
            "yellow_rate": str(self.yellow_rate),
        }


Rule = (
    HsPrefixRule
    | MassLimitRule
    | HolderHistoryRule
    | TrackingAlertRule
    | TrustedTraderRule
    | RandomRule
)


@dataclass(frozen=True)
class Ruleset:
    """One version of one country's rules; build it with ``from_dict``, which validates.

    A subject's score (sum of the reasons' points) from ``yellow_score`` up gives yellow,
    from ``red_score`` up red.
    """

    country: str
    version: int
    yellow_score: int
    red_score: int
    rules: tuple[Rule, ...]
    description: str = ""
    # Precompiled: every prefix length of the hs_prefix rules, so that a subject's codes
    # are cut once per screening and each rule then tests one set against another.
    hs_lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lengths = {n for r in self.rules if isinstance(r, HsPrefixRule) for n in r.lengths}
        object.__setattr__(self, "hs_lengths", tuple(sorted(lengths)))

    @property
    def random_rule(self) -> RandomRule | None:
        return next((r for r in self.rules if isinstance(r, RandomRule)), None)

    @property
    def random_red_rate(self) -> Decimal:
        rule = self.random_rule
        return rule.red_rate if rule else Decimal(0)

    @property
    def random_yellow_rate(self) -> Decimal:
        rule = self.random_rule
        return rule.yellow_rate if rule else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"country": self.country, "version": self.version}
        if self.description:
            out["description"] = self.description
        out["thresholds"] = {"yellow": self.yellow_score, "red": self.red_score}
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out


# --- reading a dict, collecting every error ---------------------------------------------


def from_dict(raw: object) -> Ruleset:
    """The ruleset described by ``raw``; raises ``InvalidInput`` naming every broken field."""
    errors: list[FieldError] = []
    root = _Node(errors, "", raw)
    country = _text(root, "country")
    if country is not None and not is_country(country):
        root.error("country", f"{country!r} is not ISO 3166-1 alpha-2", Check.COUNTRY)
    version = _int(root, "version", Check.VERSION, minimum=1)
    description = _text(root, "description", required=False) or ""
    yellow, red = _thresholds(root)
    rules = _rules(root)
    root.finish("a ruleset")
    if errors:
        raise InvalidInput(errors)
    assert country and version and yellow and red  # no error means every field was read
    return Ruleset(country, version, yellow, red, rules, description)


def _kind_of(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", Decimal: "a number"}
    names |= {str: "a string", list: "a list", dict: "a mapping", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


class _Node:
    """One mapping of the input at ``path``; readers record errors and return None.

    Errors are collected rather than raised so that customs fix a ruleset in one pass.
    """

    def __init__(self, errors: list[FieldError], path: str, raw: object) -> None:
        self.errors = errors
        self.path = path
        self.is_mapping = isinstance(raw, dict)
        self.raw: dict[Any, Any] = raw if isinstance(raw, dict) else {}
        self.read: set[str] = set()
        if not self.is_mapping:
            where = path or "(ruleset)"
            errors.append(FieldError(where, f"must be a mapping, got {_kind_of(raw)}", "type"))

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, check: Check) -> None:
        self.errors.append(FieldError(self.at(key), message, check.value))

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str, *, required: bool = True) -> Any:
        """The raw value (None when absent or null), recording a missing required one."""
        self.read.add(key)
        value = self.raw.get(key)
        if value is None and required and self.is_mapping:
            self.error(key, "is required", Check.REQUIRED)
        return value

    def table(self, key: str) -> _Node | None:
        """A required, non-empty mapping under ``key`` (None when absent)."""
        raw = self.get(key)
        if raw is None:
            return None
        if raw == {}:
            self.error(key, "must not be empty", Check.TYPE)
        return _Node(self.errors, self.at(key), raw)

    def finish(self, what: str) -> None:
        for key in self.raw:
            if key not in self.read:
                self.error(str(key), f"is not a field of {what}", Check.UNKNOWN_FIELD)


def _int(
    node: _Node,
    key: str,
    check: Check,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = True,
) -> int | None:
    value = node.get(key, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        node.error(key, f"must be a whole number, got {_kind_of(value)} {value!r}", check)
        return None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = [f"{op} {b}" for op, b in ((">=", minimum), ("<=", maximum)) if b is not None]
        node.error(key, f"must be {' and '.join(bounds)}, got {value}", check)
        return None
    return value


def _decimal(node: _Node, key: str, check: Check) -> Decimal | None:
    """A required finite number or decimal text; a float is read via its shortest text."""
    value = node.get(key)
    if value is None:
        return None
    number: Decimal | None = None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        node.error(key, f"must be a finite number, got {_kind_of(value)} {value!r}", check)
        return None
    return number


def _text(node: _Node, key: str, *, required: bool = True) -> str | None:
    value = node.get(key, required=required)
    if value is None:
        return None
    if not isinstance(value, str):
        node.error(key, f"must be a string, got {_kind_of(value)}", Check.TYPE)
        return None
    return value


def _effect(node: _Node) -> tuple[int | None, Lane | None]:
    """The ``points`` and ``lane`` of a rule or an alert kind; at least one is required."""
    points = _int(node, "points", Check.POINTS, minimum=1, required=False)
    raw_lane = node.get("lane", required=False)
    lane = None
    if raw_lane in (Lane.YELLOW.value, Lane.RED.value):
        lane = Lane(raw_lane)
    elif raw_lane is not None:
        # Forcing green would be a no-op that reads like an exemption: refuse it.
        node.error("lane", f"must be yellow or red, got {raw_lane!r}", Check.LANE)
    if node.is_mapping and not node.has("points") and not node.has("lane"):
        node.error("points", "is required when lane is not given", Check.EFFECT_REQUIRED)
    return points, lane


def _thresholds(root: _Node) -> tuple[int | None, int | None]:
    table = root.table("thresholds")
    if table is None:
        return None, None
    yellow = _int(table, "yellow", Check.THRESHOLD, minimum=1)
    red = _int(table, "red", Check.THRESHOLD, minimum=1)
    if yellow is not None and red is not None and red <= yellow:
        message = f"must be greater than thresholds.yellow ({yellow}), got {red}"
        table.error("red", message, Check.THRESHOLDS_ORDER)
    table.finish("thresholds (yellow, red)")
    return yellow, red


def _rules(root: _Node) -> tuple[Rule, ...]:
    raw = root.get("rules")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        root.error("rules", f"must be a list, got {_kind_of(raw)}", Check.TYPE)
        return ()
    rules: list[Rule] = []
    ids: dict[str, int] = {}
    random_at: int | None = None
    for i, item in enumerate(raw):
        node = _Node(root.errors, f"rules[{i}]", item)
        _rule_id(node, ids, i)
        rule = _rule(node)
        if isinstance(rule, RandomRule):
            if random_at is not None:
                message = f"a ruleset has at most one random rule; rules[{random_at}] is one"
                node.error("kind", message, Check.RANDOM_SINGLE)
            random_at = i
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _rule_id(node: _Node, ids: dict[str, int], position: int) -> None:
    rule_id = _text(node, "id")
    if rule_id is None:
        return
    if not _ID.match(rule_id):
        message = f"{rule_id!r} must be 1-64 of a-z 0-9 _ . - starting with a letter or digit"
        node.error("id", message, Check.RULE_ID)
    elif rule_id in ids:
        node.error(
            "id", f"{rule_id!r} is already the id of rules[{ids[rule_id]}]", Check.RULE_ID_DUPLICATE
        )
    else:
        ids[rule_id] = position


def _rule(node: _Node) -> Rule | None:
    raw_kind = node.get("kind")
    if raw_kind is None:
        return None
    if raw_kind not in _KINDS:
        known = ", ".join(_KINDS)
        node.error("kind", f"must be one of {known}, got {raw_kind!r}", Check.RULE_KIND)
        return None  # the fields of an unknown kind cannot be checked
    kind = RuleKind(raw_kind)
    rule_id = node.raw.get("id")
    description = _text(node, "description", required=False) or ""
    rule = _READERS[kind](node, rule_id if isinstance(rule_id, str) else "", description)
    node.finish(f"a {kind.value} rule")
    return rule


def _hs_prefix(node: _Node, rule_id: str, description: str) -> Rule:
    prefixes = _prefixes(node)
    points, lane = _effect(node)
    return HsPrefixRule(rule_id, prefixes, points, lane, description)


def _prefixes(node: _Node) -> tuple[str, ...]:
    raw = node.get("prefixes")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        node.error("prefixes", f"must be a non-empty list, got {_kind_of(raw)}", Check.TYPE)
        return ()
    seen: set[str] = set()
    for i, prefix in enumerate(raw):
        at = f"prefixes[{i}]"
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            node.error(at, f"must be a string of 2-10 digits, got {prefix!r}", Check.HS_PREFIX)
        elif not valid_chapter(int(prefix[:2])):
            node.error(at, f"{prefix!r} is in no HS chapter (01-97, not 77)", Check.HS_PREFIX)
        elif prefix in seen:
            node.error(at, f"{prefix!r} is listed twice", Check.HS_PREFIX_DUPLICATE)
        else:
            seen.add(prefix)
    return tuple(str(p) for p in raw)


def _mass_limit(node: _Node, rule_id: str, description: str) -> Rule:
    limits: dict[str, Decimal] = {}
    table = node.table("limits_kg")
    for vehicle in list(table.raw) if table else []:
        assert table is not None
        if not isinstance(vehicle, str) or not _VEHICLE.match(vehicle):
            message = f"{vehicle!r} must be a lower-case vehicle class, e.g. truck"
            table.error(str(vehicle), message, Check.VEHICLE_CLASS)
            table.read.add(vehicle)
            continue
        kg = _decimal(table, vehicle, Check.MASS_LIMIT)
        if kg is not None and kg <= 0:
            table.error(vehicle, f"must be > 0 kg, got {kg}", Check.MASS_LIMIT)
        elif kg is not None:
            limits[vehicle] = kg
    points, lane = _effect(node)
    return MassLimitRule(rule_id, MappingProxyType(limits), points, lane, description)


def _holder_history(node: _Node, rule_id: str, description: str) -> Rule:
    weights: dict[str, int] = {}
    table = node.table("weights")
    if table is not None:
        for count in HISTORY_COUNTS:
            weight = _int(table, count, Check.WEIGHT, minimum=1, required=False)
            if weight is not None:
                weights[count] = weight
        table.finish("weights (" + ", ".join(HISTORY_COUNTS) + ")")
    cap = _int(node, "cap", Check.CAP, minimum=1, required=False)
    below = _int(node, "min_movements", Check.NEW_HOLDER, minimum=1, required=False)
    points = _int(node, "new_holder_points", Check.NEW_HOLDER, minimum=1, required=False)
    for key, pair in (
        ("min_movements", "new_holder_points"),
        ("new_holder_points", "min_movements"),
    ):
        if node.has(pair) and not node.has(key):
            node.error(key, f"is required with {pair}", Check.NEW_HOLDER)
    return HolderHistoryRule(rule_id, MappingProxyType(weights), cap, below, points, description)


def _tracking_alert(node: _Node, rule_id: str, description: str) -> Rule:
    effects: dict[str, AlertEffect] = {}
    table = node.table("alerts")
    for kind in list(table.raw) if table else []:
        assert table is not None
        table.read.add(str(kind))
        if kind not in ALERT_KINDS:
            known = ", ".join(sorted(ALERT_KINDS))
            table.error(str(kind), f"{kind!r} is not an alert kind ({known})", Check.ALERT_KIND)
            continue
        entry = _Node(node.errors, table.at(kind), table.raw[kind])
        points, lane = _effect(entry)
        entry.finish("an alert's effect (points, lane)")
        effects[kind] = AlertEffect(points, lane)
    return TrackingAlertRule(rule_id, MappingProxyType(effects), description)


def _trusted_trader(node: _Node, rule_id: str, description: str) -> Rule:
    # No lane: a trusted trader is screened more lightly, never exempted from a forced lane.
    points = _int(node, "points", Check.POINTS, maximum=-1)
    return TrustedTraderRule(rule_id, -1 if points is None else points, description)


def _random(node: _Node, rule_id: str, description: str) -> Rule:
    rates: dict[str, Decimal | None] = {}
    for key in ("red_rate", "yellow_rate"):
        rate = _decimal(node, key, Check.RATE)
        if rate is not None and not 0 <= rate <= 1:
            node.error(key, f"must be between 0 and 1, got {rate}", Check.RATE)
            rate = None
        rates[key] = rate
    red, yellow = rates["red_rate"], rates["yellow_rate"]
    if red is not None and yellow is not None and red + yellow > 1:
        node.error("yellow_rate", f"red_rate + yellow_rate = {red + yellow} > 1", Check.RATES_SUM)
    zero = Decimal(0)  # stands in for a broken rate; from_dict then raises anyway
    red, yellow = (zero if rate is None else rate for rate in (red, yellow))
    return RandomRule(rule_id, red, yellow, description)


_KINDS = tuple(k.value for k in RuleKind)
_READERS: Mapping[RuleKind, Callable[[_Node, str, str], Rule]] = {
    RuleKind.HS_PREFIX: _hs_prefix,
    RuleKind.MASS_LIMIT: _mass_limit,
    RuleKind.HOLDER_HISTORY: _holder_history,
    RuleKind.TRACKING_ALERT: _tracking_alert,
    RuleKind.TRUSTED_TRADER: _trusted_trader,
    RuleKind.RANDOM: _random,
}
