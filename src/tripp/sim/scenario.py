"""A capacity scenario as data: who arrives when, what each border post does to them, with
how many servers hour by hour, and how long and how often to simulate (pure, no I/O).

The YAML (``docs/simulation.md``)::

    scenario: tripp-road-2027
    horizon_days: 7              # simulated days after the warm-up
    warmup_hours: 24             # discarded: the post starts empty
    replications: 10
    seed: 2027
    classes:                     # arrivals per vehicle class
      truck:
        daily: 600               # vehicles per day on an average weekday
        growth_per_year: 0.10    # compounding, applied by scenario year (``year``)
        weekday: [1, 1, 1, 1, 1, 0.8, 0.6]     # Monday first, relative
        hourly: [0.2, 0.2, ...]                # 24 relative weights, hour 0 first
    posts:
      - id: AM000101
        holding_capacity: 300    # vehicles that may wait; more are turned away
        stages:
          - id: booth
            classes: [truck, bus]           # default: every class
            share: 1.0                      # of those classes, the share sent here
            service: {dist: lognormal, mean_min: 6, sd_min: 3}
            servers: {default: 4, hours: {"8-18": 6}}   # or a plain number

Every error names its path (``posts[0].stages[1].service.mean_min``) and rule, all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tripp.corridor.fields import Node, Sink
from tripp.errors import FieldError, InvalidInput

DISTRIBUTIONS = {
    "exponential": ("mean_min",),
    "lognormal": ("mean_min", "sd_min"),
    "deterministic": ("value_min",),
    "empirical": ("samples_min",),
}
MAX_SERVERS = 1000
MAX_HORIZON_DAYS = 366
MAX_REPLICATIONS = 1000


@dataclass(frozen=True)
class Service:
    """A service-time distribution in minutes; ``params`` as named in ``DISTRIBUTIONS``."""

    dist: str
    params: Mapping[str, Any]

    @property
    def mean_min(self) -> float:
        if self.dist in ("exponential", "lognormal"):
            return float(self.params["mean_min"])
        if self.dist == "deterministic":
            return float(self.params["value_min"])
        samples = self.params["samples_min"]
        return float(sum(samples) / len(samples))


@dataclass(frozen=True)
class Stage:
    id: str
    service: Service
    servers_by_hour: tuple[int, ...]  # 24 values, hour 0 first
    classes: tuple[str, ...]
    share: float  # of the classes it serves, the share routed here


@dataclass(frozen=True)
class Post:
    id: str
    stages: tuple[Stage, ...]
    holding_capacity: int | None


@dataclass(frozen=True)
class ArrivalClass:
    name: str
    daily: float
    growth_per_year: float
    weekday: tuple[float, ...]  # 7 relative weights, Monday first
    hourly: tuple[float, ...]  # 24 relative weights

    def rate_per_hour(self, day: int, hour: int, year: int = 0) -> float:
        """Arrivals per hour on simulated ``day`` (0 = Monday) at ``hour``: the daily
        volume, grown, shaped by the weekday and hour profiles (each normalised to mean 1)."""
        week = self.weekday[day % 7] / (sum(self.weekday) / 7)
        hours = self.hourly[hour] / (sum(self.hourly) / 24)
        grown = self.daily * (1 + self.growth_per_year) ** year
        return grown / 24 * week * hours


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    horizon_days: int
    warmup_hours: int
    replications: int
    seed: int
    year: int
    classes: Mapping[str, ArrivalClass]
    posts: tuple[Post, ...]


def from_dict(raw: object, *, file: str = "") -> Scenario:
    """The scenario ``raw`` describes; ``InvalidInput`` naming every broken field."""
    errors: list[FieldError] = []
    root = Node(Sink(file, errors), "", raw)
    name = root.text("scenario")
    description = root.text("description", required=False) or ""
    horizon = _whole(root, "horizon_days", 1, MAX_HORIZON_DAYS)
    warmup = _whole(root, "warmup_hours", 0, 24 * 30, default=0)
    replications = _whole(root, "replications", 1, MAX_REPLICATIONS)
    seed = _whole(root, "seed", 0, 2**63 - 1)
    year = _whole(root, "year", 0, 100, default=0)
    classes = _classes(root)
    posts = _posts(root, set(classes))
    root.finish()
    if errors:
        raise InvalidInput(errors, "the scenario has errors")
    assert name and horizon and replications and seed is not None  # no error: all read
    return Scenario(name, description, horizon, warmup or 0, replications, seed, year or 0,
                    classes, posts)  # fmt: skip


# --- readers --------------------------------------------------------------------------


def _whole(node: Node, key: str, low: int, high: int, *, default: int | None = None) -> int | None:
    value = node.get(key, required=default is None)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        node.error(key, f"must be a whole number within {low}..{high}, got {value!r}", "range")
        return None
    return value


def _fraction(node: Node, key: str, *, default: float) -> float:
    value = node.get(key, required=False)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        node.error(key, f"must be a number within 0..1, got {value!r}", "range")
        return default
    return float(value)


def _weights(node: Node, key: str, count: int) -> tuple[float, ...]:
    value = node.get(key, required=False)
    if value is None:
        return (1.0,) * count
    numbers = _numbers(value)
    if numbers is None or len(numbers) != count or not sum(numbers):
        node.error(key, f"must be {count} numbers >= 0, not all zero", "weights")
        return (1.0,) * count
    return numbers


def _numbers(value: object) -> tuple[float, ...] | None:
    """``value`` as numbers >= 0 when it is a list of them, else None."""
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value):
        return None
    return tuple(float(v) for v in value)


def _classes(root: Node) -> dict[str, ArrivalClass]:
    section = root.child("classes")
    if section is None or not section.is_mapping:
        return {}
    out = {}
    for name, raw in section.entries():
        node = Node(section.sink, section.at(name), raw)
        daily = node.number("daily")
        if daily is not None and not Decimal(0) <= daily <= Decimal(10**6):
            node.error("daily", f"must be within 0..1,000,000 vehicles a day, got {daily}", "range")
        growth = node.get("growth_per_year", required=False)
        if growth is not None and (isinstance(growth, bool) or not isinstance(growth, int | float)
                                   or not -0.5 <= growth <= 2):  # fmt: skip
            node.error("growth_per_year", f"must be within -0.5..2, got {growth!r}", "range")
            growth = 0
        weekday, hourly = _weights(node, "weekday", 7), _weights(node, "hourly", 24)
        node.finish()
        out[name] = ArrivalClass(name, float(daily or 0), float(growth or 0), weekday, hourly)
    if not out:
        root.error("classes", "at least one arrival class is needed", "required")
    return out


def _posts(root: Node, classes: set[str]) -> tuple[Post, ...]:
    items = root.items("posts") or []
    posts = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        node = Node(root.sink, root.at(f"posts[{i}]"), raw)
        post_id = node.text("id") or ""
        if post_id in seen:
            node.error("id", f"post {post_id!r} is listed twice", "unique")
        seen.add(post_id)
        capacity = _whole(node, "holding_capacity", 0, 10**6, default=-1)
        stages = _stages(node, classes)
        node.finish()
        posts.append(Post(post_id, stages, None if capacity in (-1, None) else capacity))
    if not items:
        root.error("posts", "at least one post is needed", "required")
    return tuple(posts)


def _stages(post: Node, classes: set[str]) -> tuple[Stage, ...]:
    items = post.items("stages") or []
    stages = []
    for i, raw in enumerate(items):
        node = Node(post.sink, post.at(f"stages[{i}]"), raw)
        stage_id = node.text("id") or ""
        service = _service(node)
        servers = _servers(node)
        served = node.items("classes", required=False)
        if served is None:
            chosen = tuple(sorted(classes))
        else:
            unknown = [c for c in served if c not in classes]
            if unknown:
                node.error("classes", f"{unknown} are not arrival classes", "class-ref")
            chosen = tuple(str(c) for c in served if c in classes)
        share = _fraction(node, "share", default=1.0)
        node.finish()
        if service is not None:
            stages.append(Stage(stage_id, service, servers, chosen, share))
    if not items:
        post.error("stages", "a post needs at least one stage", "required")
    return tuple(stages)


def _service(stage: Node) -> Service | None:
    node = stage.child("service")
    if node is None or not node.is_mapping:
        return None
    dist = node.text("dist")
    if dist is not None and dist not in DISTRIBUTIONS:
        node.error("dist", f"{dist!r} is not one of {sorted(DISTRIBUTIONS)}", "enum")
        dist = None
    params: dict[str, Any] = {}
    for key in DISTRIBUTIONS.get(dist or "", ()):
        value = node.get(key)
        if key == "samples_min":
            samples = _numbers(value)
            if value is not None and not samples:
                node.error(key, "must be a non-empty list of minutes >= 0", "samples")
            params[key] = samples or (1.0,)
        else:
            number = None if value is None else _positive(node, key, value)
            params[key] = number if number is not None else 1.0
    node.finish()
    return None if dist is None else Service(dist, params)


def _positive(node: Node, key: str, value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 10**5:
        node.error(key, f"must be a number of minutes > 0, got {value!r}", "range")
        return None
    return float(value)


def _servers(stage: Node) -> tuple[int, ...]:
    value = stage.get("servers")
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_SERVERS:
            stage.error("servers", f"must be within 1..{MAX_SERVERS}, got {value}", "range")
            return (1,) * 24
        return (value,) * 24
    if not isinstance(value, dict):
        if value is not None:
            stage.error("servers", "must be a number or {default, hours}", "type")
        return (1,) * 24
    node = Node(stage.sink, stage.at("servers"), value)
    default = _whole(node, "default", 0, MAX_SERVERS) or 0
    by_hour = [default] * 24
    hours = node.get("hours", required=False)
    if hours is not None and not isinstance(hours, dict):
        node.error("hours", 'must map "H-H" ranges to server counts', "type")
    for span, count in (hours or {}).items() if isinstance(hours, dict) else []:
        bounds = _span(str(span))
        ok = isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= MAX_SERVERS
        if bounds is None or not ok:
            node.error(f"hours.{span}", 'must be "H-H" (0-24, end after start) to 0..1000',
                       "hours")  # fmt: skip
            continue
        for h in range(*bounds):
            by_hour[h] = int(count) if isinstance(count, int) else 0
    node.finish()
    if not any(by_hour):
        stage.error("servers", "no server in any hour: nobody would ever be served", "staffed")
    return tuple(by_hour)


def _span(text: str) -> tuple[int, int] | None:
    start, sep, end = text.partition("-")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit():
        return None
    a, b = int(start), int(end)
    return (a, b) if 0 <= a < b <= 24 else None
