"""``tripp sim drive``: play planned traffic (``tripp.sim.traffic``) against a running server.

Only the public HTTP API is used, each call as the party that would make it in life: the
carrier lodges and reports incidents; customs of an office's country releases, screens,
inspects, records crossings, arrivals and control results; the corridor operator registers
trackers, posts their positions (its gateways do in life) and takes fee payments at the front
office; customs of the carrier's country registers its guarantee. Every write carries an id
(``Idempotency-Key``, event ``id``, payment ``reference``, screening ``id``), so a retried call
has the effect of one.

A 4xx answer is a business rule saying no: it is counted (``DriveStats.errors_by_status``),
logged, and the vehicle carries on where it can (a refused declaration or release ends its
trip). Network errors, 429 and 5xx are retried with exponential backoff; 5xx are counted too.

Errors: ``DriveRefused`` (a ``TrippError``) when the drive cannot start: no token for a role
it needs, the server unreachable, a corridor without a usable itinerary.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tripp.errors import TrippError
from tripp.sim.traffic import (
    CorridorInfo,
    Step,
    StepKind,
    TrafficConfig,
    VehiclePlan,
    plan_traffic,
)

log = logging.getLogger("tripp.sim.drive")
API = "/api/v1"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507})
# Without these the rest of the trip is pointless (no movement, no tracker, nothing to control).
_ESSENTIAL = frozenset({StepKind.LODGE, StepKind.RELEASE, StepKind.ARRIVE})


class DriveRefused(TrippError):
    """The drive cannot start (missing token, unreachable server, unusable corridor)."""

    status = 400
    title = "Drive refused"
    slug = "drive-refused"


@dataclass(frozen=True)
class DriveConfig:
    """A drive against ``url``.

    ``tokens``: party id → bearer token (see ``Parties.from_tokens`` for the roles read from
    the ids); ``duration_s``: wall seconds to drive (None: until stopped); ``run_id``: the
    prefix of every id the drive creates (default: from the start time), so two drives
    against one server never collide; ``transport``: an httpx transport for tests.
    """

    url: str
    tokens: Mapping[str, str]
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    duration_s: float | None = None
    run_id: str | None = None
    guarantee_usd: str = "100000000.00"
    alert_poll_s: float = 3.0
    flush_s: float = 1.0
    timeout_s: float = 15.0
    max_attempts: int = 6
    transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError(f"duration_s={self.duration_s} must be > 0")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts} must be >= 1")


@dataclass
class DriveStats:
    """Counts since the start; ``errors_by_status``: every 4xx/5xx answer seen (retried 5xx
    included); ``alerts_by_kind``: distinct alerts raised since the start, by kind."""

    run_id: str = ""
    elapsed_s: float = 0.0
    vehicles: int = 0
    on_the_road: int = 0
    declarations: int = 0
    releases: int = 0
    fee_payments: int = 0
    positions: int = 0
    screenings: int = 0
    inspections: int = 0
    crossings: int = 0
    incidents: int = 0
    arrivals: int = 0
    control_results: int = 0
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    errors_by_status: dict[int, int] = field(default_factory=dict)
    network_errors: int = 0
    gave_up: int = 0
    recent_refusals: list[str] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_kind.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.errors_by_status.items() if status >= 500)

    def snapshot(self) -> DriveStats:
        return copy.deepcopy(self)


ProgressCallback = Callable[[DriveStats], None]


# --- parties -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parties:
    """Who acts for what, from the party ids of the tokens file.

    ``SYSTEM``: admin; ``<CC>-CUSTOMS``: customs of country CC; ``CORRIDOR-OPERATOR`` (or any
    id with ``OPERATOR``): the operator; ids with ``CARRIER`` (``AZ-CARRIER-0001``): carriers,
    of the country their first two letters name. Others (``WORKING-GROUP``) are ignored.
    """

    admin: str | None
    operator: str | None
    customs: Mapping[str, str]  # country -> party
    carriers: Mapping[str, str | None]  # party -> country

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, str]) -> Parties:
        customs: dict[str, str] = {}
        carriers: dict[str, str | None] = {}
        admin = operator = None
        for party in sorted(tokens):
            prefix = party.split("-", 1)[0]
            country = prefix if len(prefix) == 2 and prefix.isalpha() else None
            if party == "SYSTEM":
                admin = party
            elif party.endswith("-CUSTOMS") and country:
                customs[country] = party
            elif "OPERATOR" in party:
                operator = operator or party
            elif "CARRIER" in party:
                carriers[party] = country
        return cls(admin, operator, customs, carriers)

    def customs_of(self, country: str) -> str | None:
        return self.customs.get(country) or self.admin

    def staff(self) -> str | None:
        """The operator's staff: trackers, positions, payments at the front office."""
        return self.operator or self.admin

    def check(self) -> None:
        missing = []
        if not self.carriers:
            missing.append("a carrier (e.g. AZ-CARRIER-0001)")
        if self.staff() is None:
            missing.append("CORRIDOR-OPERATOR or SYSTEM (positions are posted as the operator)")
        if not self.customs and self.admin is None:
            missing.append("customs (AZ-CUSTOMS, AM-CUSTOMS) or SYSTEM")
        if missing:
            raise DriveRefused("the tokens lack " + "; ".join(missing))


# --- the HTTP edge -------------------------------------------------------------------------


class _Api:
    """Calls as a party; retries transient failures; counts and logs refusals."""

    def __init__(self, client: httpx.AsyncClient, config: DriveConfig, stats: DriveStats) -> None:
        self.client = client
        self.config = config
        self.stats = stats

    async def call(
        self,
        method: str,
        path: str,
        party: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        fine: tuple[int, ...] = (),
    ) -> httpx.Response | None:
        """The 2xx answer (or one of ``fine``), else None once counted and logged."""
        auth = {"Authorization": f"Bearer {self.config.tokens[party]}", **(headers or {})}
        for attempt in range(self.config.max_attempts):
            if attempt:
                await asyncio.sleep(min(5.0, 0.25 * 2 ** (attempt - 1)))
            try:
                r = await self.client.request(
                    method, API + path, json=json, headers=auth, params=params
                )
            except httpx.TransportError as exc:
                self.stats.network_errors += 1
                log.warning("%s %s: %s (attempt %d)", method, path, exc, attempt + 1)
                continue
            if r.is_success or r.status_code in fine:
                return r
            self._count(r.status_code)
            if r.status_code not in _RETRY_STATUSES:
                self._refused(method, path, party, r)
                return None
        self.stats.gave_up += 1
        log.error("%s %s: gave up after %d attempts", method, path, self.config.max_attempts)
        return None

    def _count(self, status: int) -> None:
        self.stats.errors_by_status[status] = self.stats.errors_by_status.get(status, 0) + 1

    def _refused(self, method: str, path: str, party: str, r: httpx.Response) -> None:
        try:
            problem = r.json()
            detail = problem.get("detail") or problem.get("title") or r.text
        except ValueError:
            detail = r.text
        line = f"{r.status_code} {method} {path} as {party}: {str(detail)[:200]}"
        log.info("refused: %s", line)
        self.stats.recent_refusals = [*self.stats.recent_refusals[-9:], line]


# --- one vehicle ---------------------------------------------------------------------------


@dataclass
class _Movement:
    plan: VehiclePlan
    tracker_id: str
    mrn: str | None = None
    floor: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_fix: tuple[float, float] | None = None  # lon, lat

    def stamp(self) -> datetime:
        """Now, but after anything already recorded for this movement (times stay ordered
        and never precede the acceptance, whatever the clocks' skew), to the millisecond."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self.floor = max(now, self.floor + timedelta(milliseconds=1))
        return self.floor


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class _Driver:
    def __init__(self, config: DriveConfig, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        self.config = config
        self.stop = stop
        self.parties = Parties.from_tokens(config.tokens)
        self.parties.check()
        started = datetime.now(UTC)
        self.run_id = config.run_id or "SIM" + started.strftime("%y%m%d%H%M%S")
        self.stats = DriveStats(run_id=self.run_id)
        self.api = _Api(client, config, self.stats)
        self.started_at = started
        self.t0 = time.monotonic()
        self.guarantees: dict[str, str] = {}
        self.buffer: list[dict[str, Any]] = []
        self.flush_lock = asyncio.Lock()
        self.alert_ids: dict[int, str] = {}
        self.corridor: CorridorInfo | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def id(self, plan: VehiclePlan, what: str) -> str:
        return f"{self.run_id}-{plan.index:06d}-{what}"

    # --- setup ---------------------------------------------------------------------------

    async def setup(self) -> CorridorInfo:
        reader = self.parties.staff() or next(iter(self.parties.carriers))
        r = await self.api.call("GET", "/corridor", reader)
        if r is None:
            raise DriveRefused(f"GET {self.config.url}{API}/corridor failed: see the log")
        corridor = CorridorInfo.from_json(r.json())
        for holder, country in sorted(self.parties.carriers.items()):
            registrar = self.parties.customs_of(country or "") or next(
                iter(self.parties.customs.values()), None
            )
            if registrar is None:
                continue
            body = {"holder": holder, "reference_amount": self.config.guarantee_usd,
                    "currency": "USD"}  # fmt: skip
            g = await self.api.call("POST", "/guarantees", registrar, json=body)
            if g is not None:
                self.guarantees[holder] = str(g.json()["grn"])
        if not self.guarantees:
            raise DriveRefused("no guarantee could be registered for any carrier")
        return corridor

    def usable_itineraries(self, corridor: CorridorInfo) -> list[str]:
        """Those whose every office has customs (or admin) among the tokens."""
        return [
            it.name
            for it in corridor.itineraries
            if all(
                o in corridor.offices and self.parties.customs_of(corridor.offices[o].country)
                for o in it.offices
            )
        ]

    # --- the main loop -------------------------------------------------------------------

    async def run(self, on_progress: ProgressCallback | None) -> DriveStats:
        corridor = self.corridor = await self.setup()
        holders = {h: self.parties.carriers[h] for h in self.guarantees}
        try:
            plans = plan_traffic(corridor, self.config.traffic, holders,
                                 self.usable_itineraries(corridor))  # fmt: skip
            upcoming = next(plans)
        except ValueError as exc:
            raise DriveRefused(str(exc)) from exc
        tasks: set[asyncio.Task[None]] = set()
        background = [asyncio.create_task(self.flusher()), asyncio.create_task(self.watcher())]
        last_progress = 0.0
        try:
            while not self.finished():
                while upcoming.start_s <= self.elapsed():
                    task = asyncio.create_task(self.vehicle(upcoming))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    upcoming = next(plans)
                wait = min(upcoming.start_s - self.elapsed(), 0.5)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=max(wait, 0.01))
                if on_progress and self.elapsed() - last_progress >= 1.0:
                    last_progress = self.elapsed()
                    on_progress(self.progress())
        finally:
            await self.wind_down(tasks, background)
        if on_progress:
            on_progress(self.progress())
        return self.progress()

    def finished(self) -> bool:
        limit = self.config.duration_s
        return self.stop.is_set() or (limit is not None and self.elapsed() >= limit)

    def progress(self) -> DriveStats:
        self.stats.elapsed_s = round(self.elapsed(), 1)
        return self.stats.snapshot()

    async def wind_down(
        self, tasks: set[asyncio.Task[None]], background: list[asyncio.Task[None]]
    ) -> None:
        for task in [*tasks, *background]:
            task.cancel()
        await asyncio.gather(*tasks, *background, return_exceptions=True)
        await self.flush()
        await self.poll_alerts()
        self.stats.on_the_road = 0

    async def sleep_until(self, at_s: float) -> bool:
        """Wait for the drive's clock to reach ``at_s``; False if the drive ends first."""
        delay = at_s - self.elapsed()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
        return not self.finished()

    # --- vehicles ------------------------------------------------------------------------

    async def vehicle(self, plan: VehiclePlan) -> None:
        mv = _Movement(plan, tracker_id=self.id(plan, "TRK"))
        self.stats.vehicles += 1
        self.stats.on_the_road += 1
        try:
            for step in plan.steps:
                if not await self.sleep_until(step.at_s):
                    return
                if not await self.do(step, mv) and step.kind in _ESSENTIAL:
                    return  # what follows needs it
        except Exception:  # one vehicle's bug must not end the drive
            log.exception("vehicle %s failed", plan.index)
        finally:
            self.stats.on_the_road -= 1

    async def do(self, step: Step, mv: _Movement) -> bool:
        if step.kind is StepKind.POSITION:
            self.position(step, mv)
            return True
        if step.kind is not StepKind.LODGE and mv.mrn is None:
            return False
        handler = {
            StepKind.LODGE: self.lodge,
            StepKind.RELEASE: self.release,
            StepKind.PAY_FEE: self.pay_fee,
            StepKind.SCREEN: self.screen,
            StepKind.CROSS: self.cross,
            StepKind.INCIDENT: self.incident,
            StepKind.ARRIVE: self.arrive,
            StepKind.CONTROL: self.control,
        }[step.kind]
        return await handler(step, mv)

    async def lodge(self, step: Step, mv: _Movement) -> bool:
        staff = self.parties.staff()
        assert staff is not None  # Parties.check
        device = {"id": mv.tracker_id, "kind": "eseal", "model": "tripp-sim"}
        if await self.api.call("POST", "/devices", staff, json=device, fine=(409,)) is None:
            return False
        key = {"Idempotency-Key": self.id(mv.plan, "lodge")}
        r = await self.api.call("POST", "/movements", mv.plan.holder,
                                json=self.declaration(mv.plan), headers=key)  # fmt: skip
        if r is None:
            return False
        body = r.json()
        mv.mrn = str(body["mrn"])
        mv.floor = _parse(body.get("accepted_at")) or mv.floor
        self.stats.declarations += 1
        return True

    def declaration(self, plan: VehiclePlan) -> dict[str, Any]:
        it = plan.itinerary
        return {
            "holder": plan.holder,
            "guarantee": self.guarantees[plan.holder],
            "office_of_departure": it.office_of_departure,
            "offices_of_transit": list(it.offices_of_transit),
            "office_of_destination": it.office_of_destination,
            "transport": {"mode": it.mode, "vehicle_id": plan.vehicle_id,
                          "nationality": plan.nationality, "containers": list(plan.containers)},
            "goods": [
                {"hs_code": g.hs_code, "description": g.description,
                 "gross_mass_kg": str(g.gross_mass_kg), "packages": g.packages,
                 "value": f"{g.value_usd}.00", "currency": "USD"}
                for g in plan.goods
            ],
            "consignor": {"name": "Baku Freight LLC", "country": plan.nationality},
            "consignee": {"name": "Nakhchivan Trade LLC", "country": "AZ"},
        }  # fmt: skip

    async def event(
        self, mv: _Movement, party: str | None, step: Step, type_: str, **payload: Any
    ) -> dict[str, Any] | None:
        if party is None:
            return None
        body = {"id": self.id(mv.plan, f"{type_}-{step.at_s:.3f}"), "type": type_,
                "at": _iso(mv.stamp()), **payload}  # fmt: skip
        if step.office is not None:
            body["office"] = step.office
        r = await self.api.call("POST", f"/movements/{mv.mrn}/events", party, json=body)
        return None if r is None else dict(r.json())

    def customs_at(self, office: str | None) -> str | None:
        assert self.corridor is not None and office is not None
        return self.parties.customs_of(self.corridor.offices[office].country)

    async def release(self, step: Step, mv: _Movement) -> bool:
        done = await self.event(mv, self.customs_at(step.office), step, "release",
                                seals=list(mv.plan.seals), tracker_id=mv.tracker_id)  # fmt: skip
        self.stats.releases += done is not None
        return done is not None

    async def pay_fee(self, step: Step, mv: _Movement) -> bool:
        """The operator's front office takes the transit fee (the crossing gate wants it)."""
        staff = self.parties.staff()
        assert staff is not None
        fee = await self.api.call("GET", f"/movements/{mv.mrn}/fee", staff)
        if fee is None or fee.json().get("status") != "due":
            return fee is not None
        due = fee.json()
        body = {"method": "external", "reference": self.id(mv.plan, "fee"),
                "amount": due["amount"], "currency": due["currency"]}  # fmt: skip
        r = await self.api.call("POST", f"/movements/{mv.mrn}/fee/payments", staff, json=body)
        self.stats.fee_payments += r is not None
        return r is not None

    def position(self, step: Step, mv: _Movement) -> None:
        fix = step.fix
        assert fix is not None
        mv.last_fix = (fix.lon, fix.lat)
        self.buffer.append({"device_id": mv.tracker_id, "time": _iso(mv.stamp()),
                            "lat": fix.lat, "lon": fix.lon, "speed_kmh": fix.speed_kmh,
                            "course": fix.course, "seal": fix.seal})  # fmt: skip

    async def screen(self, step: Step, mv: _Movement) -> bool:
        party = self.customs_at(step.office)
        body = {"id": self.id(mv.plan, f"screen-{step.office}"), "mrn": mv.mrn}
        r = None if party is None else await self.api.call(
            "POST", f"/offices/{step.office}/screenings", party, json=body)  # fmt: skip
        if r is None:
            return False
        self.stats.screenings += 1
        decision = r.json()
        if decision.get("inspection_required"):
            kind = "xray" if decision.get("lane") == "red" else "documentary"
            done = await self.event(mv, party, step, "inspection", kind=kind,
                                    outcome="no_findings", duration_min=12)  # fmt: skip
            self.stats.inspections += done is not None
        return True

    async def cross(self, step: Step, mv: _Movement) -> bool:
        done = await self.event(mv, self.customs_at(step.office), step, "border_crossing",
                                direction=step.detail)  # fmt: skip
        self.stats.crossings += done is not None
        return done is not None

    async def incident(self, step: Step, mv: _Movement) -> bool:
        extra: dict[str, Any] = {"location": list(mv.last_fix)} if mv.last_fix else {}
        done = await self.event(mv, mv.plan.holder, step, "incident", kind=step.detail,
                                notes="e-seal reported open on the road", **extra)  # fmt: skip
        self.stats.incidents += done is not None
        return done is not None

    async def arrive(self, step: Step, mv: _Movement) -> bool:
        await self.flush()  # the fixes before arrival belong to the trip: post them while armed
        done = await self.event(mv, self.customs_at(step.office), step, "arrival")
        self.stats.arrivals += done is not None
        return done is not None

    async def control(self, step: Step, mv: _Movement) -> bool:
        extra = {"remarks": "packages short of the declared count"} if (
            step.detail == "discrepancies") else {}  # fmt: skip
        done = await self.event(mv, self.customs_at(step.office), step, "control_result",
                                outcome=step.detail, **extra)  # fmt: skip
        self.stats.control_results += done is not None
        return done is not None

    # --- positions and alerts ------------------------------------------------------------

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_s)
            await self.flush()

    async def flush(self) -> None:
        async with self.flush_lock:
            batch, self.buffer = self.buffer, []
            staff = self.parties.staff()
            assert staff is not None
            for i in range(0, len(batch), 5000):
                r = await self.api.call("POST", "/positions", staff, json=batch[i : i + 5000])
                if r is not None:
                    self.stats.positions += int(r.json().get("accepted", 0))

    async def watcher(self) -> None:
        while True:
            await asyncio.sleep(self.config.alert_poll_s)
            await self.poll_alerts()

    async def poll_alerts(self) -> None:
        reader = self.parties.staff()
        assert reader is not None
        params: dict[str, Any] = {"since": _iso(self.started_at), "limit": 500}
        while True:
            r = await self.api.call("GET", "/alerts", reader, params=params)
            if r is None:
                return
            page = r.json()
            for a in page["items"]:
                if (_parse(a["at"]) or self.started_at) >= self.started_at:
                    self.alert_ids[int(a["id"])] = str(a["kind"])
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]
        self.stats.alerts_by_kind = dict(Counter(self.alert_ids.values()))


# --- entry points ------------------------------------------------------------------------


async def drive(
    config: DriveConfig,
    stop: asyncio.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> DriveStats:
    """Drive until ``stop`` is set or ``config.duration_s`` has passed; the final stats.

    Raises ``DriveRefused`` when the drive cannot start.
    """
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=config.url.rstrip("/"), timeout=config.timeout_s,
                                 limits=limits, transport=config.transport) as client:  # fmt: skip
        return await _Driver(config, client, stop or asyncio.Event()).run(on_progress)


def run_drive(
    config: DriveConfig,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> DriveStats:
    """``drive`` in its own event loop, for a plain thread (``tripp demo`` runs it beside the
    server): setting ``stop`` ends it cleanly within about a second. ``on_progress`` gets a
    copy of the stats about once a second, in the calling thread."""

    async def main() -> DriveStats:
        done = asyncio.Event()

        async def relay() -> None:
            while stop is not None and not stop.is_set():
                await asyncio.sleep(0.2)
            if stop is not None:
                done.set()

        relay_task = asyncio.create_task(relay())
        try:
            return await drive(config, done, on_progress)
        finally:
            relay_task.cancel()

    return asyncio.run(main())
