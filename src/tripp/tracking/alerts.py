"""Tracking alerts of one movement: pure rules over its fixes, with a state the caller stores.

``evaluate`` folds a batch of fixes (with their ``Assessment`` from ``tracking.geometry``)
into a ``MonitorState`` and returns the alerts raised and cleared; ``check_time`` does the
time-driven kinds when no fix arrives; ``acknowledge`` is a human closing an alert. No I/O:
the caller loads the state (``MonitorState.from_json``), calls these, saves ``to_json()`` and
records the ``AlertChange`` values in the same transaction.

| kind | raised | cleared |
|---|---|---|
| ``route_deviation`` | ``deviation_min_fixes`` consecutive fixes outside ``buffer_m`` spanning ``deviation_min_s`` (both) | ``deviation_min_fixes`` consecutive fixes within ``buffer_m * clear_ratio`` spanning ``clear_min_s`` |
| ``unauthorized_stop`` | speed < ``stop_speed_kmh`` outside every stop zone, consecutive fixes spanning ``stop_min_s`` | moving, or inside a stop zone, for ``clear_min_s`` |
| ``speeding`` | speed > ``speed_limit_kmh[mode]`` over fixes spanning ``speeding_min_s`` | at or below the limit for ``clear_min_s`` |
| ``seal_opened`` | the first fix reporting the seal open or tampered | only by ``acknowledge``: customs keeps it until a human has looked, even if the seal reports closed again |
| ``overdue`` | the time passes ``time_limit`` (``at`` = the time limit) | the time limit is extended beyond the time checked, or ``acknowledge`` |
| ``tracker_silent`` | no fix for more than ``silent_after_s`` since the last fix, or since the movement was first seen armed (``at`` = that time + ``silent_after_s``) | the next fix |

``evaluate`` also runs the time checks at each fix's time, so a gap between two fixes raises
and clears ``tracker_silent`` even if ``check_time`` never ran in between: replaying the same
fixes gives the same alerts.

Contract:

- Fixes come **in time order** per movement, across calls: ``evaluate`` raises
  ``FixOutOfOrder`` for a fix older than the last one it evaluated. The caller replays a
  late fix by evaluating the stored fixes again from an earlier state (or a fresh one).
- A fix with the device and time of one already evaluated is a duplicate and ignored.
- Only **armed** movements (released, not yet arrived) raise anything. While unarmed, fixes
  only move the clock, debounce runs are dropped, and open alerts are left as they are for
  the caller to close (``acknowledge``) with the movement.
- At most **one open alert per kind**. A fix the rule cannot judge (no speed, no seal state)
  neither extends nor breaks a debounce run; any other fix that does not meet the condition
  starts it again. Durations span from the first to the last fix of a run, so a tracker that
  reports rarely while parked still completes a stop.
- ``at`` of a change is the time of the fix that completed its debounce; ``evidence`` holds the
  fixes of that run (the first and the latest ``MAX_EVIDENCE - 1``).
- ``acknowledge`` closes any open alert; its kind then stays quiet until the condition ends
  (seal reported closed, vehicle back inside, moving, under the limit, a fix, a later limit),
  so a condition that persists is not raised again at the next fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from math import isfinite, isnan
from typing import Any

from tripp.corridor.model import TrackingRules, TransportMode
from tripp.tracking.geometry import Assessment
from tripp.tracking.model import Fix, SealState

LonLat = tuple[float, float]

STATE_VERSION = 1
MAX_EVIDENCE = 20  # fixes kept per alert: a parked tracker at 1 Hz would otherwise keep 300


class AlertKind(StrEnum):
    ROUTE_DEVIATION = "route_deviation"
    UNAUTHORIZED_STOP = "unauthorized_stop"
    SEAL_OPENED = "seal_opened"
    SPEEDING = "speeding"
    OVERDUE = "overdue"
    TRACKER_SILENT = "tracker_silent"


class Change(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class FixOutOfOrder(ValueError):
    """A fix older than the last one evaluated: the caller must replay instead."""


@dataclass(frozen=True)
class Evidence:
    """A fix as kept with an alert: WGS 84 degrees, speed km/h, metres off the route.

    ``distance_m`` is None where the assessment did not compute it (see ``Assessment``).
    """

    device_id: str
    time: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    distance_m: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "time": _iso(self.time),
            "lat": self.lat,
            "lon": self.lon,
            "speed_kmh": self.speed_kmh,
            "distance_m": self.distance_m,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            device_id=str(data["device_id"]),
            time=_parse_time(data["time"]),
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            speed_kmh=_optional_float(data.get("speed_kmh")),
            distance_m=_optional_float(data.get("distance_m")),
        )


@dataclass(frozen=True)
class AlertChange:
    """An alert raised or cleared. ``location`` is (lon, lat) of the deciding fix, if any."""

    mrn: str
    kind: AlertKind
    change: Change
    at: datetime
    location: LonLat | None
    device_id: str | None
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "mrn": self.mrn,
            "kind": self.kind.value,
            "change": self.change.value,
            "at": _iso(self.at),
            "location": None if self.location is None else list(self.location),
            "device_id": self.device_id,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class AlertContext:
    """What the rules need to know about the movement; ``time_limit`` is aware UTC or None."""

    mrn: str
    mode: TransportMode
    time_limit: datetime | None
    armed: bool
    rules: TrackingRules = field(default_factory=TrackingRules)

    def __post_init__(self) -> None:
        if self.time_limit is not None and self.time_limit.tzinfo is None:
            raise ValueError(f"time_limit={self.time_limit!r} must be timezone-aware (UTC)")


@dataclass(frozen=True)
class OpenAlert:
    raised_at: datetime
    location: LonLat | None


@dataclass(frozen=True)
class Run:
    """Consecutive fixes meeting a kind's raise condition (its clear condition while open)."""

    since: datetime
    count: int
    evidence: tuple[Evidence, ...]

    def extended(self, evidence: Evidence) -> Run:
        kept = (*self.evidence, evidence)
        if len(kept) > MAX_EVIDENCE:  # keep where it started and the latest
            kept = kept[:1] + kept[-(MAX_EVIDENCE - 1) :]
        return Run(self.since, self.count + 1, kept)

    def span_s(self, now: datetime) -> float:
        return (now - self.since).total_seconds()


@dataclass(frozen=True)
class MonitorState:
    """Everything the rules remember about one movement between calls; see ``to_json``.

    ``last_fix``: the latest fix evaluated; ``last_fix_devices``: devices with a fix at its
    time (for duplicates); ``watching_since``: when the movement was first seen armed;
    ``acknowledged``: kinds a human closed while their condition still held, which stay
    quiet until it ends (the seal reports closed, the vehicle is back, a fix arrives...).
    """

    last_fix: Evidence | None = None
    last_fix_devices: frozenset[str] = frozenset()
    watching_since: datetime | None = None
    open_alerts: Mapping[AlertKind, OpenAlert] = field(default_factory=dict)
    runs: Mapping[AlertKind, Run] = field(default_factory=dict)
    acknowledged: frozenset[AlertKind] = frozenset()

    @property
    def last_fix_at(self) -> datetime | None:
        return None if self.last_fix is None else self.last_fix.time

    def is_open(self, kind: AlertKind) -> bool:
        return kind in self.open_alerts

    def differs_beyond_last_fix(self, other: MonitorState) -> bool:
        """Whether anything but the last fix differs: what a caller that keeps the last fix
        elsewhere (see ``with_last_fix``) must store again."""
        return (
            self.watching_since != other.watching_since
            or self.open_alerts != other.open_alerts
            or self.runs != other.runs
            or self.acknowledged != other.acknowledged
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; times RFC 3339 UTC with ``Z``; locations ``[lon, lat]``."""
        return {
            "version": STATE_VERSION,
            "last_fix": None if self.last_fix is None else self.last_fix.to_json(),
            "last_fix_devices": sorted(self.last_fix_devices),
            "watching_since": None if self.watching_since is None else _iso(self.watching_since),
            "open": {k.value: _open_json(a) for k, a in self.open_alerts.items()},
            "runs": {k.value: _run_json(r) for k, r in self.runs.items()},
            "acknowledged": sorted(k.value for k in self.acknowledged),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MonitorState:
        """The state ``to_json`` wrote. Raises ValueError naming what is wrong."""
        try:
            if data["version"] != STATE_VERSION:
                raise ValueError(f"version={data['version']!r}, expected {STATE_VERSION}")
            return cls(
                last_fix=None if data["last_fix"] is None else Evidence.from_json(data["last_fix"]),
                last_fix_devices=frozenset(str(d) for d in data["last_fix_devices"]),
                watching_since=_optional_time(data["watching_since"]),
                open_alerts={AlertKind(k): _open_alert(v) for k, v in data["open"].items()},
                runs={AlertKind(k): _run(v) for k, v in data["runs"].items()},
                acknowledged=frozenset(AlertKind(k) for k in data["acknowledged"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a monitor state: {exc!r}") from exc


def with_last_fix(state: MonitorState, fix: Fix | None) -> MonitorState:
    """``state`` with ``fix`` as its last fix where ``fix`` is newer than the one it holds.

    For a caller that keeps the newest evaluated fix with the fixes themselves and stores a
    state only when more than its last fix changed. The kept fix has no distance from the
    route (the assessment is not stored), so evidence taken from it shows none.
    """
    if fix is None or (state.last_fix is not None and state.last_fix.time >= fix.time):
        return state
    return _with_last(state, Evidence(fix.device_id, fix.time, fix.lat, fix.lon, _speed_kmh(fix)))


def _with_last(state: MonitorState, last: Evidence) -> MonitorState:
    # Not ``dataclasses.replace``: this runs for nearly every fix, and replace costs 2x.
    return MonitorState(
        last, frozenset((last.device_id,)), state.watching_since, state.open_alerts,
        state.runs, state.acknowledged,
    )  # fmt: skip


# --- the public operations -------------------------------------------------------------


def evaluate(
    state: MonitorState,
    context: AlertContext,
    fixes: Sequence[Fix],
    assessment: Assessment,
    offset: int = 0,
) -> tuple[MonitorState, list[AlertChange]]:
    """Fold ``fixes`` (time order; ``assessment`` row ``offset + i`` is fix i) into
    ``state``.

    ``offset`` lets one assessment of a whole batch serve each movement in it: slicing
    it per movement cost more than evaluating a movement's fix.

    Raises ``FixOutOfOrder`` for a fix older than the last evaluated, ValueError when the
    assessment has no row for a fix.
    """
    if offset < 0 or len(assessment) - offset < len(fixes):
        raise ValueError(
            f"assessment has {len(assessment)} rows for {len(fixes)} fixes from row {offset}"
        )
    state, done = _quiet_prefix(state, context, fixes, assessment, offset)
    if done == len(fixes):
        return state, []
    return _by_rules(state, context, fixes, assessment, done, offset)


def _by_rules(
    state: MonitorState,
    context: AlertContext,
    fixes: Sequence[Fix],
    assessment: Assessment,
    start: int = 0,
    offset: int = 0,
) -> tuple[MonitorState, list[AlertChange]]:
    """Every rule on each fix from ``start`` on: what ``evaluate`` does past the quiet ones."""
    monitor = _Monitor(state, context)
    for i in range(start, len(fixes)):
        monitor.fix(fixes[i], _where(assessment, offset + i))
    return monitor.result()


def quiet_count(
    state: MonitorState,
    context: AlertContext,
    fixes: Sequence[Fix],
    assessment: Assessment,
    offset: int = 0,
    *,
    last_at: datetime | None = None,
) -> int:
    """How many leading ``fixes`` change nothing but the last fix (``evaluate``'s terms).

    Nearly every fix of a corridor is one: an armed vehicle with nothing open, pending or
    acknowledged, on the road, moving under the limit, seal closed, on time. Such a fix only
    becomes the last fix; the rules need not run for it (they were the larger part of the
    ingest's CPU). The first fix that could start, raise or clear anything ends the prefix
    and the rules take over from there, so the outcome is the same either way (a property
    test holds the two paths equal).

    ``last_at``: the time of a last fix kept outside ``state`` (``with_last_fix``), counted
    where it is newer than the state's own. A caller that finds every fix quiet has nothing
    to store, so it need not build the state, or its last fix, at all.
    """
    watching = state.watching_since
    last_time = state.last_fix_at
    if last_at is not None and (last_time is None or last_at > last_time):
        last_time = last_at
    if (
        not context.armed or last_time is None or watching is None
        or state.open_alerts or state.runs or state.acknowledged
    ):  # fmt: skip
        return 0
    rules = context.rules
    limit = rules.speed_limit_kmh.get(context.mode)
    time_limit = context.time_limit
    silent_s = timedelta(seconds=rules.silent_after_s)
    # The rules raise tracker_silent past the later of these two plus silent_after_s.
    silent_at = max(watching, last_time) + silent_s
    inside, in_stop_zone = assessment.inside, assessment.in_stop_zone
    done = 0
    for i, fix in enumerate(fixes, offset):
        at = fix.time
        if at <= last_time or at > silent_at or (time_limit is not None and at > time_limit):
            break
        if not inside[i]:  # outside the buffer: a deviation run would start
            break
        speed = _speed_kmh(fix)
        if speed is not None and (
            (speed < rules.stop_speed_kmh and not in_stop_zone[i])
            or (limit is not None and speed > limit)
        ):
            break
        if fix.seal is not None and fix.seal is not SealState.CLOSED:
            break
        last_time = at
        silent_at = at + silent_s
        done += 1
    return done


def _quiet_prefix(
    state: MonitorState,
    context: AlertContext,
    fixes: Sequence[Fix],
    assessment: Assessment,
    offset: int = 0,
) -> tuple[MonitorState, int]:
    """Fold the leading quiet fixes (``quiet_count``): the last of them becomes the last
    fix; how many they are."""
    done = quiet_count(state, context, fixes, assessment, offset)
    if done == 0:
        return state, 0
    fix = fixes[done - 1]
    distance = float(assessment.distance_m[offset + done - 1])
    last = Evidence(
        fix.device_id, fix.time, fix.lat, fix.lon, _speed_kmh(fix),
        None if isnan(distance) else distance,
    )  # fmt: skip
    return _with_last(state, last), done


def check_time(
    state: MonitorState, context: AlertContext, now: datetime
) -> tuple[MonitorState, list[AlertChange]]:
    """Raise or clear ``overdue`` and ``tracker_silent`` as of ``now`` (aware UTC)."""
    monitor = _Monitor(state, context)
    monitor.tick(now)
    return monitor.result()


def acknowledge(
    state: MonitorState, context: AlertContext, kind: AlertKind, at: datetime
) -> tuple[MonitorState, list[AlertChange]]:
    """A human closes the open alert of ``kind`` at ``at``; nothing changes if none is open.

    The kind then stays quiet until its condition ends, so that a seal still reporting open,
    or a movement still overdue, is not raised again at the next fix or tick.
    """
    monitor = _Monitor(state, context)
    if kind in monitor.open:
        monitor.clear(kind, at, None, ())
        monitor.acknowledged.add(kind)
    return monitor.result()


# --- the rules ----------------------------------------------------------------------------


class _Signal(Enum):
    BAD = "bad"  # meets the raise condition
    GOOD = "good"  # meets the clear condition
    NEUTRAL = "neutral"  # meets neither (the hysteresis band): breaks any run
    UNKNOWN = "unknown"  # cannot be judged: ignored


@dataclass(frozen=True)
class _Where:
    """One fix's row of the assessment."""

    inside: bool
    inside_clear: bool
    distance_m: float | None
    in_stop_zone: bool


@dataclass(frozen=True)
class _Debounce:
    min_fixes: int
    min_s: float

    def met(self, run: Run, now: datetime) -> bool:
        return run.count >= self.min_fixes and run.span_s(now) >= self.min_s


@dataclass(frozen=True)
class _FixRule:
    kind: AlertKind
    signal: Callable[[Fix, _Where, AlertContext], _Signal]
    raise_after: Callable[[TrackingRules], _Debounce]
    clear_after: Callable[[TrackingRules], _Debounce | None]  # None: fixes never clear it


def _deviation(fix: Fix, where: _Where, context: AlertContext) -> _Signal:
    if where.inside_clear:
        return _Signal.GOOD
    return _Signal.NEUTRAL if where.inside else _Signal.BAD


def _stop(fix: Fix, where: _Where, context: AlertContext) -> _Signal:
    speed_kmh = _speed_kmh(fix)
    if speed_kmh is None:
        return _Signal.UNKNOWN
    moving = speed_kmh >= context.rules.stop_speed_kmh
    return _Signal.GOOD if moving or where.in_stop_zone else _Signal.BAD


def _speeding(fix: Fix, where: _Where, context: AlertContext) -> _Signal:
    limit = context.rules.speed_limit_kmh.get(context.mode)
    speed_kmh = _speed_kmh(fix)
    if speed_kmh is None or limit is None:
        return _Signal.UNKNOWN
    return _Signal.BAD if speed_kmh > limit else _Signal.GOOD


def _seal(fix: Fix, where: _Where, context: AlertContext) -> _Signal:
    if fix.seal is None:
        return _Signal.UNKNOWN
    return _Signal.NEUTRAL if fix.seal is SealState.CLOSED else _Signal.BAD


_FIX_RULES = (
    _FixRule(
        AlertKind.ROUTE_DEVIATION,
        _deviation,
        lambda r: _Debounce(r.deviation_min_fixes, r.deviation_min_s),
        lambda r: _Debounce(r.deviation_min_fixes, r.clear_min_s),
    ),
    _FixRule(
        AlertKind.UNAUTHORIZED_STOP,
        _stop,
        lambda r: _Debounce(1, r.stop_min_s),
        lambda r: _Debounce(1, r.clear_min_s),
    ),
    _FixRule(
        AlertKind.SPEEDING,
        _speeding,
        lambda r: _Debounce(1, r.speeding_min_s),
        lambda r: _Debounce(1, r.clear_min_s),
    ),
    # A seal reports a discrete event, not a noisy measure: no debounce.
    _FixRule(AlertKind.SEAL_OPENED, _seal, lambda r: _Debounce(1, 0.0), lambda r: None),
)


class _Monitor:
    """A mutable working copy of one state for one call; ``result`` freezes it again."""

    def __init__(self, state: MonitorState, context: AlertContext) -> None:
        self.context = context
        self.last_fix = state.last_fix
        self.last_fix_devices = set(state.last_fix_devices)
        self.watching_since = state.watching_since
        self.open = dict(state.open_alerts)
        self.runs = dict(state.runs)
        self.acknowledged = set(state.acknowledged)
        self.changes: list[AlertChange] = []

    def result(self) -> tuple[MonitorState, list[AlertChange]]:
        state = MonitorState(
            last_fix=self.last_fix,
            last_fix_devices=frozenset(self.last_fix_devices),
            watching_since=self.watching_since,
            open_alerts=self.open,
            runs=self.runs,
            acknowledged=frozenset(self.acknowledged),
        )
        return state, self.changes

    def fix(self, fix: Fix, where: _Where) -> None:
        if self._is_duplicate(fix):
            return
        evidence = _evidence(fix, where)
        if not self.context.armed:
            self._remember(fix, evidence)
            self._disarm()
            return
        self._start_watching(fix.time)
        self._check_clock(fix.time)
        self._remember(fix, evidence)
        self.acknowledged.discard(AlertKind.TRACKER_SILENT)
        if AlertKind.TRACKER_SILENT in self.open:
            self.clear(AlertKind.TRACKER_SILENT, fix.time, fix, (evidence,))
        for rule in _FIX_RULES:
            self._apply(rule, fix, where, evidence)

    def tick(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"now={now!r} must be timezone-aware (UTC)")
        if not self.context.armed:
            self._disarm()
            return
        self._start_watching(now)
        self._check_clock(now)

    def raise_alert(
        self, kind: AlertKind, at: datetime, fix: Fix | None, evidence: tuple[Evidence, ...]
    ) -> None:
        # A time-driven alert has no deciding fix: it is placed at the last known position.
        location = self._last_location() if fix is None else (fix.lon, fix.lat)
        self.open[kind] = OpenAlert(at, location)
        self._record(kind, Change.RAISED, at, fix, location, evidence)

    def clear(
        self, kind: AlertKind, at: datetime, fix: Fix | None, evidence: tuple[Evidence, ...]
    ) -> None:
        del self.open[kind]
        self.runs.pop(kind, None)
        location = None if fix is None else (fix.lon, fix.lat)
        self._record(kind, Change.CLEARED, at, fix, location, evidence)

    def _record(
        self,
        kind: AlertKind,
        change: Change,
        at: datetime,
        fix: Fix | None,
        location: LonLat | None,
        evidence: tuple[Evidence, ...],
    ) -> None:
        device_id = None if fix is None else fix.device_id
        change_ = AlertChange(self.context.mrn, kind, change, at, location, device_id, evidence)
        self.changes.append(change_)

    def _last_location(self) -> LonLat | None:
        return None if self.last_fix is None else (self.last_fix.lon, self.last_fix.lat)

    def _last_fix_at(self) -> datetime | None:
        return None if self.last_fix is None else self.last_fix.time

    def _is_duplicate(self, fix: Fix) -> bool:
        last_at = self._last_fix_at()
        if last_at is not None and fix.time < last_at:
            raise FixOutOfOrder(
                f"fix of {fix.device_id} at {_iso(fix.time)} is older than the last evaluated "
                f"({_iso(last_at)}) for {self.context.mrn}: replay instead"
            )
        return fix.time == last_at and fix.device_id in self.last_fix_devices

    def _remember(self, fix: Fix, evidence: Evidence) -> None:
        if self.last_fix is None or fix.time > self.last_fix.time:
            self.last_fix_devices = set()
        self.last_fix = evidence
        self.last_fix_devices.add(fix.device_id)

    def _disarm(self) -> None:
        self.watching_since = None
        self.runs.clear()

    def _start_watching(self, now: datetime) -> None:
        if self.watching_since is None:
            self.watching_since = now

    def _check_clock(self, now: datetime) -> None:
        self._check_overdue(now)
        self._check_silent(now)

    def _check_overdue(self, now: datetime) -> None:
        limit = self.context.time_limit
        if limit is None or now <= limit:  # no limit, or it was extended
            self.acknowledged.discard(AlertKind.OVERDUE)
            if AlertKind.OVERDUE in self.open:
                self.clear(AlertKind.OVERDUE, now, None, ())
        elif not self._is_quiet(AlertKind.OVERDUE):
            self.raise_alert(AlertKind.OVERDUE, limit, None, ())

    def _check_silent(self, now: datetime) -> None:
        heard = [t for t in (self.watching_since, self._last_fix_at()) if t is not None]
        if not heard or self._is_quiet(AlertKind.TRACKER_SILENT):
            return
        silent_since = max(heard) + timedelta(seconds=self.context.rules.silent_after_s)
        if now > silent_since:
            last = () if self.last_fix is None else (self.last_fix,)
            self.raise_alert(AlertKind.TRACKER_SILENT, silent_since, None, last)

    def _is_quiet(self, kind: AlertKind) -> bool:
        """Open already, or acknowledged while its condition still holds."""
        return kind in self.open or kind in self.acknowledged

    def _apply(self, rule: _FixRule, fix: Fix, where: _Where, evidence: Evidence) -> None:
        signal = rule.signal(fix, where, self.context)
        is_open = rule.kind in self.open
        if signal is _Signal.UNKNOWN:
            return
        if rule.kind in self.acknowledged:
            if signal is _Signal.BAD:
                return  # a human has seen it: quiet until the condition ends
            self.acknowledged.discard(rule.kind)
        wanted = _Signal.GOOD if is_open else _Signal.BAD
        # Most fixes meet no condition: decided before any debounce is built for them.
        debounce = (
            None
            if signal is not wanted
            else (rule.clear_after if is_open else rule.raise_after)(self.context.rules)
        )
        if debounce is None:
            self.runs.pop(rule.kind, None)
            return
        previous = self.runs.get(rule.kind)
        run = Run(fix.time, 1, (evidence,)) if previous is None else previous.extended(evidence)
        if not debounce.met(run, fix.time):
            self.runs[rule.kind] = run
        elif is_open:
            self.clear(rule.kind, fix.time, fix, run.evidence)
        else:
            self.runs.pop(rule.kind, None)
            self.raise_alert(rule.kind, fix.time, fix, run.evidence)


# --- helpers ------------------------------------------------------------------------------


def _where(assessment: Assessment, i: int) -> _Where:
    distance = float(assessment.distance_m[i])
    return _Where(
        inside=bool(assessment.inside[i]),
        inside_clear=bool(assessment.inside_clear[i]),
        distance_m=None if isnan(distance) else distance,
        in_stop_zone=bool(assessment.in_stop_zone[i]),
    )


def _evidence(fix: Fix, where: _Where) -> Evidence:
    return Evidence(fix.device_id, fix.time, fix.lat, fix.lon, _speed_kmh(fix), where.distance_m)


def _speed_kmh(fix: Fix) -> float | None:
    """The fix's speed, or None when unknown; a NaN or infinite speed is unknown too (and
    would not be valid JSON in the stored evidence)."""
    speed = fix.speed_kmh
    return speed if speed is not None and isfinite(speed) else None


def _iso(t: datetime) -> str:
    text = t.isoformat()  # UTC, as nearly every time here is, ends in +00:00
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: object) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _optional_time(value: object) -> datetime | None:
    return None if value is None else _parse_time(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _lonlat(value: Any) -> LonLat | None:
    if value is None:
        return None
    lon, lat = value
    return (float(lon), float(lat))


def _open_json(alert: OpenAlert) -> dict[str, Any]:
    location = None if alert.location is None else list(alert.location)
    return {"raised_at": _iso(alert.raised_at), "location": location}


def _open_alert(data: Mapping[str, Any]) -> OpenAlert:
    return OpenAlert(_parse_time(data["raised_at"]), _lonlat(data["location"]))


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "since": _iso(run.since),
        "count": run.count,
        "evidence": [e.to_json() for e in run.evidence],
    }


def _run(data: Mapping[str, Any]) -> Run:
    evidence = tuple(Evidence.from_json(e) for e in data["evidence"])
    return Run(_parse_time(data["since"]), int(data["count"]), evidence)
