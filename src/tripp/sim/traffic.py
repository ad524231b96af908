"""Live traffic for ``tripp sim drive``, planned (pure: no I/O, no clock; randomness only from
the seed).

``plan_traffic`` turns the corridor (as ``GET /api/v1/corridor`` describes it) and a
``TrafficConfig`` into an endless, time-ordered stream of ``VehiclePlan`` values: which
vehicle, on which itinerary, when, and every step it takes (lodge, release, fee, screening,
border crossings, positions, arrival, control), each at an offset in **wall-clock seconds**
from the start of the drive. The same seed gives the same stream.

Time is compressed by ``speedup``: an hour of corridor time lasts ``3600 / speedup`` wall
seconds. The server judges tracking alerts in real time, though (a stop must last
``stop_min_s`` wall seconds), so an anomaly lasts at least what the corridor's tracking rules
need to raise it, whatever the speedup. Reported speeds are the vehicle's simulated road
speeds (km/h), never the compressed ground speed.

Distances are metres in an equirectangular projection around the route's mean latitude
(error well under 1 % over the corridor's couple of hundred kilometres).

Errors: bad parameters raise ``ValueError`` naming the parameter and its value; a corridor
document missing what the plan needs raises ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from typing import Any

from tripp.codes.checkchar import check_digit

EARTH_RADIUS_M = 6_371_008.8
LonLat = tuple[float, float]
XY = tuple[float, float]


class StepKind(StrEnum):
    LODGE = "lodge"
    RELEASE = "release"
    PAY_FEE = "pay_fee"
    POSITION = "position"
    SCREEN = "screen"
    CROSS = "cross"
    INCIDENT = "incident"
    ARRIVE = "arrive"
    CONTROL = "control"


class Anomaly(StrEnum):
    DEVIATION = "deviation"  # leaves the route by several buffers: route_deviation
    STOP = "stop"  # stands still away from any control area: unauthorized_stop
    SEAL = "seal"  # the e-seal reports open, the carrier reports it: seal_opened


# --- the corridor as the plan needs it ---------------------------------------------------


@dataclass(frozen=True)
class Office:
    code: str
    country: str
    location: LonLat


@dataclass(frozen=True)
class ItineraryInfo:
    name: str
    mode: str
    office_of_departure: str
    offices_of_transit: tuple[str, ...]
    office_of_destination: str

    @property
    def offices(self) -> tuple[str, ...]:
        return (self.office_of_departure, *self.offices_of_transit, self.office_of_destination)


@dataclass(frozen=True)
class Rules:
    """The corridor's tracking thresholds (seconds, km/h): see ``tripp.tracking.alerts``."""

    deviation_min_fixes: int = 3
    deviation_min_s: float = 60.0
    stop_speed_kmh: float = 3.0
    stop_min_s: float = 300.0
    speed_limit_kmh: Mapping[str, float] = field(
        default_factory=lambda: {"road": 90.0, "rail": 80.0}
    )


@dataclass(frozen=True)
class CorridorInfo:
    offices: Mapping[str, Office]
    routes: Mapping[str, tuple[LonLat, ...]]  # mode -> the route's vertices
    itineraries: tuple[ItineraryInfo, ...]
    buffer_m: float
    rules: Rules = field(default_factory=Rules)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CorridorInfo:
        """The corridor from the body of ``GET /api/v1/corridor``."""
        try:
            offices = {
                o["code"]: Office(o["code"], o["country"], _lonlat(o["location"]))
                for o in doc["offices"]
            }
            routes = {
                f["properties"]["mode"]: tuple(_lonlat(p) for p in f["geometry"]["coordinates"])
                for f in doc["routes"]["features"]
                if f["geometry"]["type"] == "LineString"
            }
            itineraries = tuple(_itinerary(i) for i in doc["itineraries"])
            tracking = doc.get("tracking") or {}
            return cls(offices, routes, itineraries, float(doc["buffer_m"]), _rules(tracking))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"corridor document lacks what the plan needs: {exc!r}") from exc


def _lonlat(value: Any) -> LonLat:
    return (float(value[0]), float(value[1]))


def _itinerary(raw: Mapping[str, Any]) -> ItineraryInfo:
    return ItineraryInfo(
        str(raw["name"]),
        str(raw["mode"]),
        str(raw["office_of_departure"]),
        tuple(str(o) for o in raw["offices_of_transit"]),
        str(raw["office_of_destination"]),
    )


def _rules(raw: Mapping[str, Any]) -> Rules:
    default = Rules()
    return Rules(
        deviation_min_fixes=int(raw.get("deviation_min_fixes", default.deviation_min_fixes)),
        deviation_min_s=float(raw.get("deviation_min_s", default.deviation_min_s)),
        stop_speed_kmh=float(raw.get("stop_speed_kmh", default.stop_speed_kmh)),
        stop_min_s=float(raw.get("stop_min_s", default.stop_min_s)),
        speed_limit_kmh={
            str(k): float(v)
            for k, v in (raw.get("speed_limit_kmh") or default.speed_limit_kmh).items()
        },
    )


# --- route geometry ----------------------------------------------------------------------


class RouteLine:
    """A route polyline in local metres: positions by distance along it, projections onto it."""

    def __init__(self, vertices: Sequence[LonLat]) -> None:
        if len(vertices) < 2:
            raise ValueError(f"a route needs >= 2 vertices, got {len(vertices)}")
        self.lat0 = math.radians(sum(v[1] for v in vertices) / len(vertices))
        self.lon0 = vertices[0][0]
        self.xy = [self.to_xy(v) for v in vertices]
        self.cumulative = [0.0]
        for a, b in pairwise(self.xy):
            self.cumulative.append(self.cumulative[-1] + math.dist(a, b))

    @property
    def length_m(self) -> float:
        return self.cumulative[-1]

    def to_xy(self, p: LonLat) -> XY:
        x = math.radians(p[0] - self.lon0) * math.cos(self.lat0) * EARTH_RADIUS_M
        return (x, math.radians(p[1]) * EARTH_RADIUS_M)

    def to_lonlat(self, p: XY) -> LonLat:
        lon = self.lon0 + math.degrees(p[0] / (EARTH_RADIUS_M * math.cos(self.lat0)))
        return (lon, math.degrees(p[1] / EARTH_RADIUS_M))

    def at(self, distance_m: float) -> tuple[XY, XY]:
        """The point ``distance_m`` along the route (clamped to its ends) and the unit tangent."""
        d = min(max(distance_m, 0.0), self.length_m)
        i = max(j for j in range(len(self.cumulative) - 1) if self.cumulative[j] <= d)
        (ax, ay), (bx, by) = self.xy[i], self.xy[i + 1]
        seg = self.cumulative[i + 1] - self.cumulative[i]
        t = 0.0 if seg == 0 else (d - self.cumulative[i]) / seg
        tangent = (0.0, 0.0) if seg == 0 else ((bx - ax) / seg, (by - ay) / seg)
        return (ax + t * (bx - ax), ay + t * (by - ay)), tangent

    def project(self, p: XY) -> tuple[float, float]:
        """(distance along the route of the nearest point, metres from it)."""
        best = (0.0, math.inf)
        for i, (a, b) in enumerate(pairwise(self.xy)):
            seg = self.cumulative[i + 1] - self.cumulative[i]
            t = 0.0
            if seg > 0:
                t = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / seg**2
                t = min(max(t, 0.0), 1.0)
            q = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            off = math.dist(p, q)
            if off < best[1]:
                best = (self.cumulative[i] + t * seg, off)
        return best

    def distance_m(self, p: LonLat) -> float:
        """Metres from ``p`` to the nearest point of the route."""
        return self.project(self.to_xy(p))[1]


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFix:
    """A position the vehicle's tracker reports: WGS 84 degrees, km/h, degrees from north."""

    lat: float
    lon: float
    speed_kmh: float
    course: float
    seal: str = "closed"


@dataclass(frozen=True)
class Step:
    """One thing a vehicle does, ``at_s`` wall seconds after the drive started.

    ``detail``: the crossing's direction (entry, exit), the incident's kind, the control's
    outcome (satisfactory, discrepancies).
    """

    at_s: float
    kind: StepKind
    office: str | None = None
    fix: PlannedFix | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Goods:
    hs_code: str
    description: str
    gross_mass_kg: int
    packages: int
    value_usd: int


@dataclass(frozen=True)
class VehiclePlan:
    """A vehicle's whole trip; ``steps`` are in time order (ties keep their logical order)."""

    index: int
    itinerary: ItineraryInfo
    holder: str
    vehicle_id: str
    nationality: str
    containers: tuple[str, ...]
    goods: tuple[Goods, ...]
    seals: tuple[str, ...]
    anomaly: Anomaly | None
    steps: tuple[Step, ...]

    @property
    def start_s(self) -> float:
        return self.steps[0].at_s


@dataclass(frozen=True)
class TrafficConfig:
    """What traffic to plan.

    ``vehicles_per_day``: average departures per simulated day; ``hourly``: 24 relative
    weights of departures by hour of day (normalised to a mean of 1); ``start_hour``: the
    simulated hour of day at the start; ``speedup``: simulated seconds per wall second;
    ``fix_interval_s``: wall seconds between a tracker's reports; ``rail_share``: the share
    of departures by rail; ``deviation_rate``, ``stop_rate``, ``seal_rate``: shares of
    vehicles with each anomaly (at most one each); ``discrepancy_rate``: share of controls
    at destination with discrepancies; ``early_alert``: the first vehicle breaks its seal
    just after release, so a fresh demo shows an alert within a minute.
    """

    seed: int = 1
    vehicles_per_day: float = 200.0
    hourly: tuple[float, ...] = (1.0,) * 24
    start_hour: float = 8.0
    speedup: float = 120.0
    fix_interval_s: float = 2.0
    rail_share: float = 0.1
    deviation_rate: float = 0.03
    stop_rate: float = 0.02
    seal_rate: float = 0.02
    discrepancy_rate: float = 0.02
    early_alert: bool = True

    def __post_init__(self) -> None:
        positive = {"vehicles_per_day": self.vehicles_per_day, "speedup": self.speedup,
                    "fix_interval_s": self.fix_interval_s}  # fmt: skip
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name}={value} must be > 0")
        if len(self.hourly) != 24 or min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ValueError(f"hourly={list(self.hourly)} must be 24 weights >= 0, not all 0")
        if not 0 <= self.start_hour < 24:
            raise ValueError(f"start_hour={self.start_hour} must be within [0, 24)")
        shares = {"rail_share": self.rail_share, "deviation_rate": self.deviation_rate,
                  "stop_rate": self.stop_rate, "seal_rate": self.seal_rate,
                  "discrepancy_rate": self.discrepancy_rate}  # fmt: skip
        for name, value in shares.items():
            if not 0 <= value <= 1:
                raise ValueError(f"{name}={value} must be within [0, 1]")
        if self.deviation_rate + self.stop_rate + self.seal_rate > 1:
            raise ValueError("deviation_rate + stop_rate + seal_rate must be <= 1")


def plan_traffic(
    corridor: CorridorInfo,
    config: TrafficConfig,
    holders: Mapping[str, str | None],
    itineraries: Sequence[str] | None = None,
) -> Iterator[VehiclePlan]:
    """Vehicles in order of departure, without end.

    ``holders``: carrier party id → its country (or None); a carrier departs only from
    offices of its own country when it has one. ``itineraries``: names allowed (default:
    every itinerary of a mode with a route). Raises ValueError if no carrier can use any.
    """
    planner = _Planner(corridor, config)
    choices = planner.choices(holders, itineraries)
    arrivals = random.Random(config.seed)
    t_sim = 0.0
    for index in range(10**12):
        t_sim = _next_departure(arrivals, t_sim, config)
        if index == 0:
            t_sim = 0.0  # the day starts with a vehicle at the office
        rng = random.Random(f"{config.seed}:{index}")
        yield planner.vehicle(index, t_sim / config.speedup, choices, rng)


def _next_departure(rng: random.Random, t_sim: float, config: TrafficConfig) -> float:
    """Non-homogeneous Poisson departures by thinning; rates per simulated second."""
    mean = sum(config.hourly) / 24
    peak = max(config.hourly) / mean * config.vehicles_per_day / 86_400
    while True:
        t_sim += rng.expovariate(peak)
        hour = int((config.start_hour + t_sim / 3600) % 24)
        rate = config.hourly[hour] / mean * config.vehicles_per_day / 86_400
        if rng.random() * peak <= rate:
            return t_sim


_GOODS = (
    Goods("870323", "passenger cars", 12_000, 4, 40_000),
    Goods("100199", "wheat in bulk bags", 24_000, 24, 7_200),
    Goods("252329", "portland cement", 22_000, 440, 2_600),
    Goods("310210", "urea fertiliser", 20_000, 400, 6_800),
    Goods("721420", "steel reinforcing bars", 25_000, 20, 17_500),
    Goods("151211", "sunflower oil", 18_000, 1_200, 21_000),
    Goods("080810", "fresh apples", 16_000, 1_600, 11_000),
    Goods("392690", "plastic articles", 6_000, 300, 15_000),
    Goods("940360", "wooden furniture", 7_000, 120, 26_000),
)
_OWNERS = ("CSQ", "MSK", "TGH", "CMA", "HLX")
_SPEED_KMH = {"road": (45.0, 70.0), "rail": (35.0, 55.0)}


@dataclass(frozen=True)
class _Choice:
    holder: str
    itinerary: ItineraryInfo


class _Planner:
    def __init__(self, corridor: CorridorInfo, config: TrafficConfig) -> None:
        self.corridor = corridor
        self.config = config
        self.lines = {mode: RouteLine(v) for mode, v in corridor.routes.items()}

    def choices(
        self, holders: Mapping[str, str | None], names: Sequence[str] | None
    ) -> dict[str, list[_Choice]]:
        by_mode: dict[str, list[_Choice]] = {}
        for it in self.corridor.itineraries:
            if it.mode not in self.lines or (names is not None and it.name not in names):
                continue
            if any(o not in self.corridor.offices for o in it.offices):
                continue
            country = self.corridor.offices[it.office_of_departure].country
            for holder, home in sorted(holders.items()):
                if home is None or home == country:
                    by_mode.setdefault(it.mode, []).append(_Choice(holder, it))
        if not by_mode:
            raise ValueError(f"no itinerary is open to the carriers {sorted(holders)}")
        return by_mode

    def vehicle(
        self, index: int, start_s: float, choices: dict[str, list[_Choice]], rng: random.Random
    ) -> VehiclePlan:
        mode = "rail" if "rail" in choices and rng.random() < self.config.rail_share else "road"
        choice = rng.choice(choices.get(mode) or next(iter(choices.values())))
        anomaly = self._anomaly(index, rng)
        origin = self.corridor.offices[choice.itinerary.office_of_departure]
        goods = tuple(rng.sample(_GOODS, rng.choice((1, 1, 2))))
        trip = _Trip(self, choice.itinerary, rng, anomaly, early=index == 0 and anomaly is not None)
        steps = trip.steps(start_s)
        return VehiclePlan(
            index=index,
            itinerary=choice.itinerary,
            holder=choice.holder,
            vehicle_id=_plate(origin.country, choice.itinerary.mode, rng),
            nationality=origin.country,
            containers=(_container(rng),),
            goods=goods,
            seals=tuple(f"{origin.country}-S-{index:06d}-{k}" for k in (1, 2)),
            anomaly=anomaly,
            steps=steps,
        )

    def _anomaly(self, index: int, rng: random.Random) -> Anomaly | None:
        c = self.config
        if index == 0 and c.early_alert:
            return Anomaly.SEAL
        draw = rng.random()
        for kind, rate in ((Anomaly.DEVIATION, c.deviation_rate), (Anomaly.STOP, c.stop_rate),
                           (Anomaly.SEAL, c.seal_rate)):  # fmt: skip
            if draw < rate:
                return kind
            draw -= rate
        return None


def _plate(country: str, mode: str, rng: random.Random) -> str:
    if mode == "rail":
        return f"{rng.randrange(10**7, 10**8)}-WAGON"
    return f"{rng.randrange(10, 99)}-{country}-{rng.randrange(100, 999)}"


def _container(rng: random.Random) -> str:
    while True:
        body = f"{rng.choice(_OWNERS)}U{rng.randrange(10**6):06d}"
        digit = check_digit(body)
        if digit < 10:  # 10 is written 0, which some systems refuse: avoid it
            return f"{body}{digit}"


class _Trip:
    """Builds one vehicle's steps leg by leg, keeping a wall clock ``t`` (seconds)."""

    def __init__(
        self,
        planner: _Planner,
        itinerary: ItineraryInfo,
        rng: random.Random,
        anomaly: Anomaly | None,
        early: bool,
    ) -> None:
        self.p = planner
        self.c = planner.config
        self.it = itinerary
        self.rng = rng
        self.anomaly = anomaly
        self.early = early
        self.line = planner.lines[itinerary.mode]
        self.speed_kmh = rng.uniform(*_SPEED_KMH.get(itinerary.mode, (40.0, 60.0)))
        self.out: list[Step] = []
        self.t = 0.0

    def wall(self, sim_minutes: float) -> float:
        return sim_minutes * 60 / self.c.speedup

    def steps(self, start_s: float) -> tuple[Step, ...]:
        self.t = start_s
        offices = [self.p.corridor.offices[o] for o in self.it.offices]
        along = [self.line.project(self.line.to_xy(o.location))[0] for o in offices]
        departure, destination = offices[0], offices[-1]
        self.emit(StepKind.LODGE, departure.code)
        self.t += self.wall(5 if self.early else self.rng.uniform(10, 40))
        self.emit(StepKind.RELEASE, departure.code)
        self.emit(StepKind.PAY_FEE)
        legs = list(pairwise(along))
        longest = max(range(len(legs)), key=lambda i: abs(legs[i][1] - legs[i][0]))
        anomalous_leg = 0 if self.early else longest
        for i, (d_from, d_to) in enumerate(legs):
            self.drive(d_from, d_to, self.anomaly if i == anomalous_leg else None)
            office = offices[i + 1]
            if office is destination:
                break
            self.transit(office, previous_country=offices[i].country)
        self.dwell(destination, self.wall(self.rng.uniform(5, 15)))
        self.emit(StepKind.ARRIVE, destination.code)
        self.t += self.wall(self.rng.uniform(10, 30))
        outcome = "discrepancies" if self.rng.random() < self.c.discrepancy_rate else "satisfactory"
        self.emit(StepKind.CONTROL, destination.code, detail=outcome)
        return tuple(self.out)

    def emit(
        self, kind: StepKind, office: str | None = None, fix: PlannedFix | None = None,
        detail: str | None = None,
    ) -> None:  # fmt: skip
        self.out.append(Step(round(self.t, 3), kind, office, fix, detail))

    def transit(self, office: Office, previous_country: str) -> None:
        entering = previous_country != office.country
        if entering:
            self.emit(StepKind.SCREEN, office.code)
        self.dwell(office, self.wall(self.rng.uniform(15, 60)))
        self.emit(StepKind.CROSS, office.code, detail="entry" if entering else "exit")

    def dwell(self, office: Office, wall_s: float) -> None:
        """Standing in the office's control area (a stop zone), reporting at its location, or
        at the nearest point of the route when the office lies beyond the route's buffer."""
        where = office.location
        if self.line.distance_m(where) > 0.8 * self.p.corridor.buffer_m:
            where = self.line.to_lonlat(
                self.line.at(self.line.project(self.line.to_xy(where))[0])[0]
            )
        end = self.t + wall_s
        while self.t < end:
            self.fix(where, 0.0, 0.0)
            self.t += self.c.fix_interval_s
        self.t = max(self.t - self.c.fix_interval_s, end)

    def drive(self, d_from: float, d_to: float, anomaly: Anomaly | None) -> None:
        length = abs(d_to - d_from)
        sign = 1.0 if d_to >= d_from else -1.0
        wall_s = self.wall(length / 1000 / self.speed_kmh * 60)
        n = max(2, math.ceil(wall_s / self.c.fix_interval_s))
        at_fix = (
            -1 if anomaly is None else 0 if self.early else self.away_from_offices(d_from, d_to, n)
        )
        for k in range(1, n + 1):
            d = d_from + sign * length * k / n
            if k - 1 == at_fix and anomaly is not None:
                self.anomalous(anomaly, d, sign)
            self.t += wall_s / n
            self.on_route(d, sign, self.speed_kmh)

    def away_from_offices(self, d_from: float, d_to: float, n: int) -> int:
        """The fix, near the middle of the leg, farthest from any office's control area."""
        offices = [self.line.to_xy(o.location) for o in self.p.corridor.offices.values()]

        def clearance(k: int) -> float:
            xy, _ = self.line.at(d_from + (d_to - d_from) * (k + 1) / n)
            return min(math.dist(xy, o) for o in offices)

        middle = range(max(0, n // 4), max(1, 3 * n // 4))
        return max(middle, key=lambda k: (clearance(k) >= 3000, -abs(k - n // 2)))

    def on_route(self, d: float, sign: float, speed_kmh: float, seal: str = "closed") -> None:
        xy, tangent = self.line.at(d)
        self.fix(self.line.to_lonlat(xy), speed_kmh, _course(tangent, sign), seal)

    def fix(self, p: LonLat, speed_kmh: float, course: float, seal: str = "closed") -> None:
        planned = PlannedFix(round(p[1], 6), round(p[0], 6), round(speed_kmh, 1), course, seal)
        self.emit(StepKind.POSITION, fix=planned)

    def anomalous(self, anomaly: Anomaly, d: float, sign: float) -> None:
        if anomaly is Anomaly.SEAL:
            self.seal_event(d, sign)
        elif anomaly is Anomaly.STOP:
            self.stop(d)
        else:
            self.deviation(d, sign)

    def seal_event(self, d: float, sign: float) -> None:
        for _ in range(3):
            self.t += self.c.fix_interval_s
            self.on_route(d, sign, 0.0, seal="open")
        self.emit(StepKind.INCIDENT, detail="seal_broken")

    def stop(self, d: float) -> None:
        """Standing on the road away from any control area, long enough to be judged."""
        rules = self.p.corridor.rules
        wall_s = max(self.wall(self.rng.uniform(30, 90)), rules.stop_min_s * 1.2 + 20)
        xy, _ = self.line.at(d)
        end = self.t + wall_s
        while self.t < end:
            self.t += self.c.fix_interval_s
            self.fix(self.line.to_lonlat(xy), 0.0, 0.0)

    def deviation(self, d: float, sign: float) -> None:
        """A detour off the route for long enough (and enough fixes) to be judged."""
        rules = self.p.corridor.rules
        needed = (
            rules.deviation_min_s * 1.3 + (rules.deviation_min_fixes + 2) * self.c.fix_interval_s
        )
        wall_s = max(self.wall(self.rng.uniform(20, 40)), needed)
        point = self.off_route(d)
        end = self.t + wall_s
        while self.t < end:
            self.t += self.c.fix_interval_s
            self.fix(point, min(30.0, self.speed_kmh), 0.0)

    def off_route(self, d: float) -> LonLat:
        """A point several buffers off the route beside ``d``, at least 2 buffers from it all."""
        xy, (tx, ty) = self.line.at(d)
        buffer_m = self.p.corridor.buffer_m
        for factor in (4, 6, 10, 16):
            for side in (1.0, -1.0):
                off = factor * buffer_m * side
                p = self.line.to_lonlat((xy[0] - ty * off, xy[1] + tx * off))
                if self.line.distance_m(p) >= 2 * buffer_m:
                    return p
        raise ValueError(f"no point off the {self.it.mode} route near {d:.0f} m")


def _course(tangent: XY, sign: float) -> float:
    """Degrees clockwise from north of travel along ``tangent`` (``sign`` -1: against it)."""
    dx, dy = tangent[0] * sign, tangent[1] * sign
    if dx == 0 and dy == 0:
        return 0.0
    return round(math.degrees(math.atan2(dx, dy)) % 360, 1)


def hourly_profile(classes: Mapping[str, Mapping[str, Any]]) -> tuple[float, ...]:
    """Departures by hour from a scenario's ``classes`` (each ``daily`` and ``hourly``):
    the classes' hourly weights, normalised per class and weighted by its daily volume."""
    total = [0.0] * 24
    for name, c in classes.items():
        weights = [float(w) for w in c.get("hourly", [1.0] * 24)]
        if len(weights) != 24 or sum(weights) <= 0:
            raise ValueError(f"classes.{name}.hourly must be 24 weights, not all 0")
        scale = float(c.get("daily", 1.0)) / sum(weights)
        total = [t + w * scale for t, w in zip(total, weights, strict=True)]
    if sum(total) <= 0:
        raise ValueError("classes give no departures")
    return tuple(total)
