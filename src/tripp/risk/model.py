"""Value objects of risk screening: lanes, what is screened, and what was decided (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tripp.corridor.model import TransportMode


class Lane(StrEnum):
    """The control a border post applies, ordered by severity so that ``max()`` picks the
    strictest: green (release), yellow (documentary check), red (physical or X-ray check)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return LANE_RANK[self]

    # A StrEnum would otherwise compare as text, where "red" < "yellow".
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Lane):
            return NotImplemented
        return LANE_RANK[self] < LANE_RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Lane):
            return NotImplemented
        return LANE_RANK[self] <= LANE_RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Lane):
            return NotImplemented
        return LANE_RANK[self] > LANE_RANK[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Lane):
            return NotImplemented
        return LANE_RANK[self] >= LANE_RANK[other]


LANE_RANK = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}
LANES_BY_RANK = (Lane.GREEN, Lane.YELLOW, Lane.RED)  # rank -> lane, the inverse of LANE_RANK


class RuleKind(StrEnum):
    """The ``kind`` discriminator of a rule in a ruleset."""

    HS_PREFIX = "hs_prefix"
    MASS_LIMIT = "mass_limit"
    HOLDER_HISTORY = "holder_history"
    TRACKING_ALERT = "tracking_alert"
    TRUSTED_TRADER = "trusted_trader"
    RANDOM = "random"


# The alert kinds of ``tripp.tracking.alerts.AlertKind``, repeated here so that the risk
# core does not import the tracking package; a unit test keeps the two in step.
ALERT_KINDS = frozenset(
    {"route_deviation", "unauthorized_stop", "seal_opened", "speeding", "overdue", "tracker_silent"}
)

# The vehicle class assumed when a declaration does not name one: the mode's usual carrier.
DEFAULT_VEHICLE = {TransportMode.ROAD: "truck", TransportMode.RAIL: "wagon"}


@dataclass(frozen=True)
class HolderHistory:
    """The holder's record on the corridor, as counts of past movements and their outcomes."""

    movements_total: int = 0
    discrepancies: int = 0  # control results with discrepancies
    incidents: int = 0  # incidents recorded during transit
    recoveries: int = 0  # movements that ended in recovery of duties from the guarantee

    def __post_init__(self) -> None:
        for name in ("movements_total", "discrepancies", "incidents", "recoveries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be a whole number >= 0")


@dataclass(frozen=True)
class Subject:
    """What a border post screens: one movement as seen at one office.

    ``country`` is the ISO alpha-2 country of the screening office, whose ruleset applies.
    ``vehicle_class`` is e.g. ``truck``, ``van``, ``wagon``; empty when unknown, in which
    case ``vehicle`` is the mode's usual one. ``gross_mass_kg`` is the declared total gross mass in kilograms.
    ``hs_codes`` are the goods items' HS codes in declaration order; ``alerts`` the kinds of
    the tracking alerts open on the movement (``ALERT_KINDS``).
    """

    mrn: str
    country: str
    office: str
    holder: str
    mode: TransportMode
    gross_mass_kg: Decimal | float
    hs_codes: tuple[str, ...]
    vehicle_class: str = ""
    history: HolderHistory = field(default_factory=HolderHistory)
    alerts: frozenset[str] = frozenset()
    trusted_trader: bool = False

    def __post_init__(self) -> None:
        if not self.mrn:
            raise ValueError("mrn must not be empty")
        mode = TransportMode(self.mode)  # raises ValueError quoting a mode that is neither
        object.__setattr__(self, "mode", mode)
        if not self.gross_mass_kg >= 0:  # also refuses NaN
            raise ValueError(f"gross_mass_kg={self.gross_mass_kg} must be >= 0")

    @property
    def vehicle(self) -> str:
        """The vehicle class, or the mode's usual one when the declaration names none."""
        return self.vehicle_class or DEFAULT_VEHICLE[self.mode]


@dataclass(frozen=True)
class Reason:
    """Why a rule spoke: ``lane`` is the lane it forces (None when it only adds points)."""

    rule: str
    kind: RuleKind
    points: int
    lane: Lane | None
    detail: str


@dataclass(frozen=True)
class Decision:
    """The outcome of screening one subject, with all that is needed to recompute it.

    ``draw`` is the deterministic uniform number in [0, 1) of random selection
    (``tripp.risk.engine.random_draw``), recorded even when the ruleset has no random rule.
    """

    mrn: str
    lane: Lane
    score: int
    reasons: tuple[Reason, ...]
    ruleset_country: str
    ruleset_version: int
    draw: float
