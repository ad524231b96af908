"""Tracking benchmarks: corridor evaluation, Teltonika decoding, ingest into PostgreSQL over
HTTP and MQTT, and the resident memory of a tracking worker. ``python -m bench.tracking``
runs them alone; ``bench/__main__.py`` calls ``run``.

Every figure stands beside a baseline measured in the same run on the same machine:

- evaluation: ``CorridorGeometry.assess`` on 1 million points around the TRIPP road route,
  against PostGIS ``ST_DWithin`` on the same points (``bench/postgis.py``);
- ingest: positions/s stored through ``POST /api/v1/positions`` (``tripp serve``, 2 workers)
  and through MQTT (QoS 1 via the local Mosquitto into an in-process ``MqttSubscriber``
  feeding ``Tracking.ingest``), and ``Tracking.ingest`` called directly, against raw psycopg
  ``executemany`` and ``COPY`` of the same rows into a plain table. The fleet is
  ``--track-ingest-devices`` devices armed through the service layer (declaration lodged,
  device registered, movement released with it as ``tracker_id``), each reporting along the
  road route, one fix per device per batch (a fleet reports every few seconds at best);
- Teltonika: frames and records decoded per second (no baseline; the figure is absolute);
- time rules: one ``Tracking.check_time`` round over the armed movements;
- memory: VmRSS of a fresh process that wired tracking and ingested one fix for each of
  ``--track-devices`` armed devices (the monitor states exist).

Results also go to ``bench/results/tracking.json``.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import shapely
from pyproj import Transformer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import postgis, server
from bench.declarations import declaration_json
from bench.server import free_port

FloatArray = npt.NDArray[np.float64]
PG_ADMIN = os.environ.get(
    "TRIPP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MQTT_URL = os.environ.get("TRIPP_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
TRACK_DB = "tripp_bench_track"
HOLDER = "BENCH-TRACK-CARRIER"
OPERATOR = "BENCH-TRACK-OPERATOR"
RESULTS = Path(__file__).parent / "results" / "tracking.json"

# Targets of the issue.
TARGET_EVAL = 2_000_000.0  # points/s
TARGET_INGEST = 20_000.0  # positions/s
TARGET_RSS_MIB = 500.0
TRACCAR_MSGS = 8_000.0  # messages/s Traccar's maintainer quotes for a tuned server

# Option names carry a ``track_`` prefix so that ``bench/__main__.py`` can add them beside its
# own (--workers, --clients...) with ``add_arguments``.
DEFAULTS: dict[str, Any] = {
    "track_points": 1_000_000,  # points for the evaluation
    "track_devices": 10_000,  # armed devices for the memory figure
    "track_ingest_devices": 4_000,  # armed devices the HTTP and MQTT loads report for
    "track_seconds": 15.0,  # sustained load per ingest measurement
    "track_clients": 4,  # HTTP client threads
    "track_batch": 1_000,  # fixes per POST /positions
    "track_workers": 2,  # server processes
    "track_raw_rows": 100_000,  # rows for the raw insert baselines
    "track_parts": "evaluation,teltonika,ingest",
}


def option(args: argparse.Namespace | None, name: str) -> Any:
    value = getattr(args, name, None) if args is not None else None
    return DEFAULTS[name] if value is None else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark, all ``--track-*`` and optional (see ``DEFAULTS``)."""
    helps = {
        "track_points": "points for the evaluation",
        "track_devices": "armed devices for the memory figure",
        "track_ingest_devices": "armed devices reporting under load",
        "track_seconds": "seconds of sustained load per ingest measurement",
        "track_clients": "HTTP client threads",
        "track_batch": "fixes per POST /positions",
        "track_workers": "tripp serve worker processes, and MQTT worker processes in a shared group",
        "track_raw_rows": "rows for the raw insert baselines",
        "track_parts": "comma-separated: evaluation, teltonika, ingest",
    }
    for name, default in DEFAULTS.items():
        kind = type(default)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            help=f"{helps[name]} (default {default:,})"
            if kind is not str
            else f"{helps[name]} (default {default})",
        )


# --- results ---------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    measurement: str
    value: float
    unit: str
    count: int | None = None
    seconds: float | None = None
    baseline: str | None = None
    ratio: float | None = None  # value / baseline value
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "measurement": self.measurement,
            "value": round(self.value, 1),
            "unit": self.unit,
            "count": self.count,
            "seconds": None if self.seconds is None else round(self.seconds, 4),
            "baseline": self.baseline,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "target": self.target,
            "met": self.met,
            "note": self.note,
        }


def rate_row(
    section: str, measurement: str, count: int, seconds: float, unit: str, **kw: Any
) -> Row:
    return Row(section, measurement, count / seconds, unit, count, seconds, **kw)


# --- 1. evaluation ---------------------------------------------------------------------


def corridor_points(geometry: Any, n: int, seed: int = 7) -> tuple[FloatArray, FloatArray]:
    """``n`` WGS 84 points around the road route: about 80 % well inside the buffer,
    12 % around its edge (the band where ``assess`` computes exact distances), 8 % far."""
    from tripp.corridor.model import TransportMode

    rng = np.random.default_rng(seed)
    line = geometry.route_m(TransportMode.ROAD)
    along = rng.uniform(0, line.length, n)
    base = shapely.get_coordinates(shapely.line_interpolate_point(line, along))
    b = geometry.buffer_m
    pick = rng.random(n)
    offset = np.where(
        pick < 0.80,
        rng.uniform(0, 0.7 * b, n),
        np.where(pick < 0.92, rng.uniform(0.7 * b, 1.6 * b, n), rng.uniform(1.6 * b, 40 * b, n)),
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    x = base[:, 0] + offset * np.cos(angle)
    y = base[:, 1] + offset * np.sin(angle)
    to_wgs = Transformer.from_crs(f"EPSG:{geometry.epsg}", "EPSG:4326", always_xy=True)
    lons, lats = to_wgs.transform(x, y)
    return np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)


def evaluation(args: argparse.Namespace | None, progress: Progress) -> list[Row]:
    from tripp.corridor.loader import bundled_corridor_path, load_corridor
    from tripp.corridor.model import TransportMode
    from tripp.tracking.geometry import CorridorGeometry

    n = option(args, "track_points")
    task = progress.add_task("tracking: corridor evaluation", total=4)
    corridor = load_corridor(bundled_corridor_path())
    geometry = CorridorGeometry.from_corridor(corridor)
    lons, lats = corridor_points(geometry, n)
    road = TransportMode.ROAD
    geometry.assess(road, lons[:1000], lats[:1000])  # warm-up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = geometry.assess(road, lons, lats)
        best = min(best, time.perf_counter() - start)
    progress.advance(task)
    chunk = 500  # an MQTT subscriber batch
    start = time.perf_counter()
    for i in range(0, n, chunk):
        geometry.assess(road, lons[i : i + chunk], lats[i : i + chunk])
    chunked = time.perf_counter() - start
    progress.advance(task)
    to_metres = Transformer.from_crs("EPSG:4326", f"EPSG:{geometry.epsg}", always_xy=True)
    start = time.perf_counter()
    to_metres.transform(lons, lats)
    projection_s = time.perf_counter() - start
    inside = int(result.inside.sum())
    near = int(np.isfinite(result.distance_m).sum())
    mix = (
        f"{inside / n:.0%} inside {corridor.buffer_m:.0f} m; exact distance for "
        f"{near / n:.1%} near the edge; includes projecting WGS 84 to UTM "
        f"EPSG:{geometry.epsg} ({projection_s / best:.0%} of the time)"
    )
    whole = rate_row(
        "evaluation",
        f"assess, {n:,} points in one call",
        n,
        best,
        "points/s",
        target=f">= {TARGET_EVAL:,.0f}/s",
        met=n / best >= TARGET_EVAL,
        note=mix,
    )
    rows = [
        whole,
        rate_row(
            "evaluation",
            f"assess, batches of {chunk}",
            n,
            chunked,
            "points/s",
            target=f">= {TARGET_EVAL:,.0f}/s",
            met=n / chunked >= TARGET_EVAL,
            note="the batch size of an MQTT ingest call",
        ),
    ]
    line_wgs = shapely.LineString(corridor.routes[road].coordinates)
    gis = postgis.run(
        PG_ADMIN, line_wgs.wkt, geometry.epsg, corridor.buffer_m, lons, lats, repeats=2
    )
    progress.advance(task)
    if isinstance(gis, str):
        whole.note += f"; PostGIS ratio skipped: {gis}"
    else:
        whole.baseline = "PostGIS ST_DWithin"
        whole.ratio = whole.value / gis.rate
        rows[1].baseline = "PostGIS ST_DWithin"
        rows[1].ratio = rows[1].value / gis.rate
        whole.note += (
            f"; {whole.value / gis.rate_projecting:.2f}x PostGIS with ST_Transform per point"
        )
        rows.append(
            rate_row(
                "evaluation",
                "PostGIS ST_DWithin, 1 backend",
                gis.points,
                gis.seconds,
                "points/s",
                note=(
                    f"PostGIS {gis.version}, points stored in UTM (projection not timed); "
                    f"{gis.within:,} within {corridor.buffer_m:.0f} m, assess says {inside:,}"
                ),
            )
        )
        rows.append(
            rate_row(
                "evaluation",
                "PostGIS ST_Transform + ST_DWithin",
                gis.points,
                gis.seconds_projecting,
                "points/s",
                note="the same work as assess: each WGS 84 point projected in the query",
            )
        )
    progress.advance(task)
    return rows


# --- 2. Teltonika ----------------------------------------------------------------------


def teltonika(progress: Progress, seconds: float = 2.0) -> list[Row]:
    from tripp.tracking.model import Device, DeviceKind
    from tripp.tracking.teltonika import (
        CODEC_8,
        AvlPacket,
        AvlRecord,
        decode_packet,
        encode_packet,
        record_to_fix,
    )

    task = progress.add_task("tracking: Teltonika decoding", total=2)
    t0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    records = [
        AvlRecord(
            timestamp=t0 + timedelta(seconds=10 * i),
            priority=0,
            lon_e7=int((49.8671 + 0.001 * i) * 1e7),
            lat_e7=int(40.4093 * 1e7),
            altitude_m=28,
            angle_deg=270,
            satellites=11,
            speed_kmh=64,
            event_io=0,
            io={239: 1, 240: 1, 21: 4, 66: 24079, 67: 4100, 16: 1_234_567},
        )
        for i in range(10)
    ]
    frame = encode_packet(AvlPacket(CODEC_8, records))
    device = Device("bench-teltonika", DeviceKind.TRACKER, imei="356307042441013")

    def timed(work: Callable[[], object]) -> tuple[int, float]:
        frames, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(500):
                work()
            frames += 500
        return frames, elapsed

    frames, elapsed = timed(lambda: decode_packet(frame))
    progress.advance(task)
    both, both_s = timed(lambda: [record_to_fix(device, r) for r in decode_packet(frame).records])
    progress.advance(task)
    note = f"codec 8, {len(frame)} bytes, 10 records, 6 IO each, CRC checked"
    return [
        rate_row("teltonika", "decode_packet", frames, elapsed, "frames/s", note=note),
        rate_row("teltonika", "decode_packet", frames * 10, elapsed, "records/s"),
        rate_row("teltonika", "decode_packet + record_to_fix", both * 10, both_s, "records/s"),
    ]


# --- 3. ingest: the fleet ----------------------------------------------------------------


@dataclass
class Fleet:
    """Armed devices in the scratch database and how to make their fixes."""

    url: str
    prefix: str
    armed: list[str]
    t0: datetime  # fix k of a device is at t0 + k seconds
    token: str
    grn: str
    lons: FloatArray  # points along the road route, WGS 84
    lats: FloatArray
    next_step: int = 1  # the first step not yet used by any load
    mrns: list[str] = field(default_factory=list)

    def where(self, device: int, step: int) -> tuple[float, float]:
        i = (device * 37 + step) % len(self.lons)
        return float(self.lons[i]), float(self.lats[i])


def device_id(prefix: str, i: int) -> str:
    return f"{prefix}-{i:05d}"


def scratch_database(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def route_samples(w: Any, n: int = 4096) -> tuple[FloatArray, FloatArray]:
    from tripp.corridor.model import TransportMode

    geometry = w.tracking.monitor.geometry
    line = geometry.route_m(TransportMode.ROAD)
    xy = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.linspace(0, line.length, n))
    )
    to_wgs = Transformer.from_crs(f"EPSG:{geometry.epsg}", "EPSG:4326", always_xy=True)
    lons, lats = to_wgs.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lons), np.asarray(lats)


def setup_fleet(w: Any, url: str, progress: Progress) -> Fleet:
    """Parties, a guarantee, an operator token; no devices yet (``arm`` adds them)."""
    from tripp.bootstrap import utc_now
    from tripp.guarantees import service as guarantees
    from tripp.parties import service as parties
    from tripp.parties.model import Actor, Party, Role

    uow = w.context.uow
    now = utc_now()
    parties.add_party(uow, Party(HOLDER, Role.CARRIER, "AZ", "bench"), now)
    parties.add_party(uow, Party(OPERATOR, Role.OPERATOR, "AZ", "bench"), now)
    token, _ = parties.create_token(
        uow, party_id=OPERATOR, role=Role.OPERATOR, label="bench", now=now
    )
    guarantee = guarantees.register(
        uow,
        w.corridor,
        Actor("AZ-CUSTOMS", Role.CUSTOMS, "AZ"),
        holder=HOLDER,
        reference_amount=Decimal(10**12),
        currency="USD",
        now=now,
    )
    lons, lats = route_samples(w)
    prefix = f"bt{secrets.token_hex(3)}"
    # Fixes start a minute from now, after the load fleet's releases.
    t0 = (now + timedelta(minutes=1)).replace(microsecond=0)  # wire times are whole seconds
    return Fleet(url, prefix, [], t0, token, guarantee.grn, lons, lats)


def road_itinerary(w: Any) -> Any:
    from tripp.corridor.model import TransportMode

    return next(
        it
        for it in w.corridor.itineraries
        if it.mode is TransportMode.ROAD
        and it.offices_of_transit
        and w.corridor.offices[it.office_of_departure].country == "AZ"
    )


_worker_wiring: Any = None


def _register_and_release(url: str, pairs: list[tuple[str, str]]) -> int:
    """In a pool process: register each device and release its movement with it."""
    from tripp.bootstrap import utc_now, wire
    from tripp.config import Settings
    from tripp.movements import service as movements
    from tripp.movements.model import EventType, MovementEvent
    from tripp.parties.model import Actor, Role
    from tripp.tracking.model import Device, DeviceKind

    global _worker_wiring
    if _worker_wiring is None:
        _worker_wiring = wire(Settings(database_url=url, db_pool_size=2))
    w = _worker_wiring
    office = road_itinerary(w).office_of_departure
    operator = Actor(OPERATOR, Role.OPERATOR, "AZ")
    customs = Actor("AZ-CUSTOMS", Role.CUSTOMS, "AZ")
    for mrn, d in pairs:
        w.tracking.register(operator, Device(d, DeviceKind.TRACKER))
        event = MovementEvent(
            id="release",
            type=EventType.RELEASE,
            office=office,
            at=utc_now(),
            recorded_by=customs.party,
            payload={"seals": [], "tracker_id": d},
        )
        movements.record(w.context, customs, mrn, event, "bench")
    return len(pairs)


def arm(w: Any, fleet: Fleet, upto: int, progress: Progress) -> float:
    """Bring the fleet to ``upto`` armed devices through the service layer: lodge the
    declarations (``lodge_batch``), then, in two processes, register each device
    (``Tracking.register``) and release its movement with it as ``tracker_id``
    (``movements.service.record``)."""
    from concurrent.futures import ProcessPoolExecutor

    from tripp.movements.lodging import Lodged, LodgeRequest, lodge_batch
    from tripp.movements.schemas import DeclarationIn
    from tripp.movements.views import movement_view
    from tripp.parties.model import Actor, Role

    start = time.perf_counter()
    first = len(fleet.armed)
    n = upto - first
    if n <= 0:
        return 0.0
    task = progress.add_task(f"tracking: arming {n:,} devices", total=2 * n)
    ctx = w.context
    body = declaration_json(road_itinerary(w), fleet.grn)
    body["holder"] = HOLDER
    declaration = DeclarationIn.model_validate(body).to_domain()
    carrier = Actor(HOLDER, Role.CARRIER, "AZ")
    render = partial(movement_view, commercial=True)
    mrns: list[str] = []
    for i in range(0, n, 250):
        size = min(250, n - i)
        outcomes = lodge_batch(
            ctx, [LodgeRequest(carrier, declaration, None, "") for _ in range(size)], render=render
        )
        for o in outcomes:
            if not isinstance(o, Lodged):
                raise RuntimeError(f"bench declaration refused: {o}")
            mrns.append(str(o.response["mrn"]))
        progress.advance(task, size)
    ids = [device_id(fleet.prefix, first + i) for i in range(n)]
    pairs = list(zip(mrns, ids, strict=True))
    chunk = 200
    mp = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=mp) as pool:
        jobs = [
            pool.submit(_register_and_release, fleet.url, pairs[i : i + chunk])
            for i in range(0, n, chunk)
        ]
        for job in jobs:
            progress.advance(task, job.result())
    fleet.armed += ids
    fleet.mrns += mrns
    return time.perf_counter() - start


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- 3a. HTTP ----------------------------------------------------------------------------


JOBS_INTERVAL_S = 3600  # the server's periodic jobs: once at start-up, then not in the run


def serve(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """``tripp serve``, started before the fleet is armed, with its periodic jobs
    (check_time, one transaction per armed movement) put off so that they do not run
    inside the measured window; ``time_rules`` measures them apart."""
    return server.serve(
        url, port, workers, log, env={"TRIPP_OVERDUE_INTERVAL_S": str(JOBS_INTERVAL_S)}
    )


def wait_quiet(url: str, limit_s: float = 90.0) -> float:
    """Wait until no other backend of the database runs a statement (the server's first
    round of periodic jobs, one transaction per armed movement, is over); returns seconds."""
    start = time.perf_counter()
    name = make_url(url).database
    with psycopg.connect(postgis.libpq_url(url, str(name)), autocommit=True) as conn:
        quiet = 0
        while quiet < 8 and time.perf_counter() - start < limit_s:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid() AND state <> 'idle'",
                (name,),
            ).fetchone()
            quiet = quiet + 1 if row and row[0] == 0 else 0
            time.sleep(0.1)
    return time.perf_counter() - start


def http_body(fleet: Fleet, items: Sequence[tuple[int, int]]) -> bytes:
    """A POST /positions body: one fix per (device index, step)."""
    parts = []
    for d, step in items:
        lon, lat = fleet.where(d, step)
        at = iso(fleet.t0 + timedelta(seconds=step))
        parts.append(
            f'{{"device_id":"{fleet.armed[d]}","time":"{at}","lat":{lat:.7f},'
            f'"lon":{lon:.7f},"speed_kmh":62.0,"course":91.0}}'
        )
    return ("[" + ",".join(parts) + "]").encode()


def http_ingest(
    fleet: Fleet, args: argparse.Namespace | None, progress: Progress, port: int
) -> Row:
    """Client threads posting batches to the server on ``port`` for ``--seconds``."""
    clients = option(args, "track_clients")
    batch = option(args, "track_batch")
    workers = option(args, "track_workers")
    seconds = option(args, "track_seconds")
    n = len(fleet.armed)
    # Each client owns a disjoint slice of the fleet (no lock contention between clients);
    # a batch is ``batch`` fixes, the next devices of the slice in turn, one fix each.
    slices = [list(range(c, n, clients)) for c in range(clients)]
    task = progress.add_task(f"tracking: HTTP ingest ({clients} clients, {workers} workers)")
    quiet_s = wait_quiet(fleet.url)
    accepted = [0] * clients
    sent = [0] * clients  # fixes each client has posted (its position in its cycle)
    failures: list[str] = []
    stop_at = [0.0]
    counting = threading.Event()

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {
            "Authorization": f"Bearer {fleet.token}",
            "Content-Type": "application/json",
        }
        mine = slices[c]
        while not failures and (stop_at[0] == 0.0 or time.perf_counter() < stop_at[0]):
            # Fix j of the client: its device j mod slice, step j div slice.
            items = [
                (mine[j % len(mine)], fleet.next_step + j // len(mine))
                for j in range(sent[c], sent[c] + batch)
            ]
            sent[c] += batch
            conn.request("POST", "/api/v1/positions", body=http_body(fleet, items), headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 202:
                failures.append(f"{response.status}: {data[:300]!r}")
                break
            if counting.is_set():
                accepted[c] += int(json.loads(data)["accepted"])
                progress.advance(task, batch)
        conn.close()

    if min(len(s) for s in slices) < batch:
        raise ValueError(
            f"--ingest-devices {n} / --clients {clients} < --track-batch {batch}: "
            "a batch would repeat a device and time"
        )
    warmup = 2.0
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    counting.set()
    start = time.perf_counter()
    stop_at[0] = start + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"POST /positions failed: {failures[0]}")
    fleet.next_step += max(sent[c] // len(slices[c]) for c in range(clients)) + 1
    total = sum(accepted)
    row = rate_row(
        "ingest",
        f"HTTP POST /positions, {workers} workers",
        total,
        elapsed,
        "positions/s",
        target=f">= {TARGET_INGEST:,.0f}/s",
        met=total / elapsed >= TARGET_INGEST,
        note=(
            f"{clients} clients x batches of {batch}, 1 fix per device, {n:,} armed devices; "
            f"server idle after {quiet_s:.1f} s; periodic jobs not in the window"
        ),
    )
    return row


# --- 3b. MQTT ----------------------------------------------------------------------------


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n // 128, n % 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_string(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


class RawPublisher:
    """A QoS-1 MQTT 3.1.1 publisher on a bare socket, for load only.

    The load generator shares the machine's two cores with the server under test: paho
    spends about 115 µs of CPU per QoS-1 publish, which alone would hold the load under
    9,000 messages/s. Packets are encoded here in a few microseconds and written in bulk;
    PUBACKs are read (and counted) on a thread. Devices are elsewhere in production.
    """

    def __init__(self, host: str, port: int, client_id: str) -> None:
        import socket

        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _mqtt_string("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big")
        body += _mqtt_string(client_id)
        self.sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
        if self._read(4)[:2] != b"\x20\x02":
            raise RuntimeError("MQTT broker refused the bench publisher")
        self.acked = 0
        self.next_id = 0
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("MQTT broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                whole = len(buffer) // 4 * 4  # PUBACK: 40 02 id id
                self.acked += whole // 4
                buffer = buffer[whole:]
        except OSError:
            return

    def packet(self, topic: bytes, payload: bytes) -> bytes:
        self.next_id = self.next_id % 65535 + 1
        size = len(topic) + 2 + len(payload)
        return b"".join(
            (b"\x32", _remaining_length(size), topic, self.next_id.to_bytes(2, "big"), payload)
        )

    def send(self, data: bytes) -> None:
        """Packets already joined, written in one go."""
        self.sock.sendall(data)

    def close(self) -> None:
        import socket

        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# How far the publisher may run ahead of what the subscriber has stored. Mosquitto drops
# QoS-1 messages for a session holding more than its Receive Maximum (in flight) plus
# ``max_queued_messages`` (1000); stored-but-not-yet-acknowledged messages still count, up
# to a batch (500), and the publisher checks the window once per 100 packets. With 1500 a
# subscriber fast enough to keep up lost messages at the start of a run.
MQTT_WINDOW = 1000  # per subscribing session: each worker of a shared group has its own queue


# Messages the publisher encodes before the clock starts: more than a run can consume (the
# publisher stops at its deadline, and makes more if a run ever outpaces this).
MQTT_PREPARED_PER_S = 40_000
MQTT_CHUNK = 100  # packets per socket write


def _mqtt_chunks(
    client: RawPublisher,
    topics: list[bytes],
    t0: datetime,
    first_step: int,
    lons: list[float],
    lats: list[float],
    count: int,
) -> tuple[list[tuple[bytes, int]], int]:
    """At least ``count`` messages as written to the socket, in chunks of up to
    ``MQTT_CHUNK`` packets (with how many each holds), one fix per device per step from
    ``first_step`` on; returns the chunks and the step after the last."""
    n = len(topics)
    chunks: list[tuple[bytes, int]] = []
    made, step = 0, first_step
    while made < count:
        at = iso(t0 + timedelta(seconds=step))
        for d0 in range(0, n, MQTT_CHUNK):
            packets = []
            for d in range(d0, min(n, d0 + MQTT_CHUNK)):
                i = (d * 37 + step) % len(lons)
                payload = (
                    f'{{"time":"{at}","lat":{lats[i]:.7f},"lon":{lons[i]:.7f},'
                    f'"speed_kmh":62.0,"course":91.0}}'
                )
                packets.append(client.packet(topics[d], payload.encode()))
            chunks.append((b"".join(packets), len(packets)))
            made += len(packets)
        step += 1
    return chunks, step


def _publisher(
    url: str,
    prefix: str,
    armed: list[str],
    t0_iso: str,
    first_step: int,
    lons: list[float],
    lats: list[float],
    seconds: float,
    window: int,
    counts: list[Any],
    published: Any,
    waited: Any,
    ready: Any,
    go: Any,
) -> None:
    """A QoS-1 publisher in its own process; stays at most ``window`` messages ahead of
    what the subscribers have stored, the sum of ``counts`` (Mosquitto drops QoS-1
    messages beyond a session's queue of 1000).

    The messages are encoded before the clock starts, so that what the load costs while it
    runs is little more than the socket writes: the generator shares the two cores with
    what it measures, and devices are elsewhere in production.
    """
    from tripp.tracking.mqtt import TOPIC_ROOT, BrokerAddress

    address = BrokerAddress.parse(url)
    client = RawPublisher(address.host, address.port, f"{prefix}-publisher")
    t0 = datetime.fromisoformat(t0_iso)
    topics = [_mqtt_string(f"{TOPIC_ROOT}/{d}") for d in armed]
    planned = int(MQTT_PREPARED_PER_S * seconds)
    chunks, step = _mqtt_chunks(client, topics, t0, first_step, lons, lats, planned)
    ready.set()
    go.wait()
    sent = 0
    wait_s = 0.0
    start = time.perf_counter()
    deadline = start + seconds
    k = 0
    while time.perf_counter() < deadline:
        if k == len(chunks):  # a faster run than planned: more, on the clock
            more, step = _mqtt_chunks(client, topics, t0, step, lons, lats, len(topics))
            chunks += more
        if sent - sum(c.value for c in counts) >= window:
            w0 = time.perf_counter()
            while sent - sum(c.value for c in counts) >= window:
                time.sleep(0.0005)
            wait_s += time.perf_counter() - w0
        data, packets = chunks[k]
        client.send(data)
        sent += packets
        k += 1
        published.value = sent
    published.value = sent
    waited.value = wait_s
    # Let the last PUBACKs arrive before leaving.
    for _ in range(500):
        if client.acked >= sent:
            break
        time.sleep(0.01)
    client.close()


class CountingSink:
    """``Tracking.ingest`` that counts the fixes of this run's devices once it returned
    (stored, durable); the shared broker may carry other people's messages too. With
    ``shared`` (a ``multiprocessing.Value``) the count is also published there, so that no
    thread has to wake up to copy it."""

    def __init__(self, tracking: Any, shared: Any = None) -> None:
        self.tracking = tracking
        self.stored = 0
        self.shared = shared

    def ingest(self, fixes: Sequence[Any]) -> Any:
        result = self.tracking.ingest(fixes)
        # Only this run's devices are registered in the scratch database: whatever else
        # the broker carries is counted as unknown, not here.
        self.stored += result.accepted + result.duplicates
        if self.shared is not None:
            self.shared.value = self.stored
        return result


def in_process(w: Any, fleet: Fleet, progress: Progress, batches: int = 8) -> list[Row]:
    """``Tracking.ingest`` called directly with 1,000 fixes: of 1,000 movements (one fix
    each, the shape of the HTTP and MQTT loads) and of 100 movements (ten fixes each), the
    batches walking through the fleet; then the same 1,000 movements batch after batch, so
    that this process holds every movement's state (the server wrote the others)."""
    from tripp.tracking.model import Fix

    task = progress.add_task("tracking: Tracking.ingest in process", total=3 * batches)
    n = len(fleet.armed)
    rows = []
    for per, same in ((1, False), (10, False), (1, True)):
        movements = 1000 // per
        work = []
        for b in range(batches + 1):  # the first is a warm-up
            fixes = []
            for i in range(movements):
                d = i % n if same else (b * movements + i) % n
                for j in range(per):
                    step = fleet.next_step + b * per + j
                    lon, lat = fleet.where(d, step)
                    at = fleet.t0 + timedelta(seconds=step)
                    fixes.append(Fix(fleet.armed[d], at, lat, lon, 62.0, 91.0))
            work.append(fixes)
        fleet.next_step += (batches + 1) * per + 1
        w.tracking.ingest(work[0])
        stored, start = 0, time.perf_counter()
        for fixes in work[1:]:
            stored += w.tracking.ingest(fixes).accepted
            progress.advance(task)
        rows.append(
            rate_row(
                "ingest",
                f"Tracking.ingest, 1,000 = {movements:,} movements x {per}"
                + (", states cached" if same else ""),
                stored,
                time.perf_counter() - start,
                "positions/s",
                note="in process, one call at a time: no HTTP, no MQTT"
                if per == 1 and not same
                else "",
            )
        )
    return rows


def _mqtt_worker(
    db_url: str, prefix: str, group: str, index: int, stored: Any, ready: Any, stop: Any
) -> None:
    """A tracking worker in its own process, as ``tripp track`` runs one: a subscriber in
    the shared group ``group`` storing through its own wiring; ``stored`` counts this run's
    fixes it has stored (and so acknowledged)."""
    from tripp.bootstrap import wire
    from tripp.config import Settings
    from tripp.tracking.mqtt import MqttSubscriber

    w = wire(Settings(database_url=db_url))
    gc.collect()  # as ``tripp track`` does once started
    gc.freeze()
    sink = CountingSink(w.tracking, stored)
    subscriber = MqttSubscriber(
        MQTT_URL, sink, client_id=f"{prefix}-worker-{index}", shared_group=group,
        session_expiry_s=30,
    )  # fmt: skip
    subscriber.start()
    try:
        if not subscriber.wait_ready(10):
            return
        ready.set()
        stop.wait()
    finally:
        subscriber.stop()
        w.engine.dispose()


class _Subscribers:
    """Where the fixes go: one subscriber in this process (``workers`` 0), or that many
    worker processes sharing one subscription, as several ``tripp track`` would."""

    def __init__(self, w: Any, fleet: Fleet, workers: int, mp: Any) -> None:
        from tripp.tracking.mqtt import MqttSubscriber

        self.local: Any = None
        self.procs: list[Any] = []
        # Per subscriber, the fixes of this run it has stored (and so acknowledged), kept
        # up to date by its sink: the publisher reads them without a go-between.
        self.counts: list[Any] = []
        self.stop = mp.Event()
        if workers == 0:
            self.counts.append(mp.Value("q", 0, lock=False))
            sink = CountingSink(w.tracking, self.counts[0])
            self.local = MqttSubscriber(
                MQTT_URL, sink, client_id=f"{fleet.prefix}-subscriber",
                session_expiry_s=30,  # the broker forgets this session soon after the run
            )  # fmt: skip
            self.local.start()
            if not self.local.wait_ready(10):
                raise RuntimeError(f"MQTT subscriber not ready at {MQTT_URL}")
            return
        readies = []
        for i in range(workers):
            count, ready = mp.Value("q", 0, lock=False), mp.Event()
            proc = mp.Process(target=_mqtt_worker, args=(fleet.url, fleet.prefix,
                              f"{fleet.prefix}g", i, count, ready, self.stop))  # fmt: skip
            proc.start()
            self.procs.append(proc)
            self.counts.append(count)
            readies.append(ready)
        if not all(r.wait(60) for r in readies):
            self.close()
            raise RuntimeError(f"MQTT worker processes not ready at {MQTT_URL}")

    def stored(self) -> int:
        return sum(c.value for c in self.counts)

    def close(self) -> None:
        if self.local is not None:
            self.local.stop()
        self.stop.set()
        for proc in self.procs:
            proc.join(20)


def mqtt_ingest(
    w: Any, fleet: Fleet, args: argparse.Namespace | None, progress: Progress, workers: int = 0
) -> Row:
    seconds = option(args, "track_seconds")
    where = "in process" if workers == 0 else f"{workers} worker processes, shared group"
    task = progress.add_task(f"tracking: MQTT ingest ({where})")
    mp = multiprocessing.get_context("spawn")
    subscribers = _Subscribers(w, fleet, workers, mp)
    try:
        published = mp.Value("q", 0, lock=False)
        waited = mp.Value("d", 0.0, lock=False)
        ready, go = mp.Event(), mp.Event()
        first_step = fleet.next_step
        proc = mp.Process(
            target=_publisher,
            args=(
                MQTT_URL, fleet.prefix, fleet.armed, fleet.t0.isoformat(), first_step,
                fleet.lons.tolist(), fleet.lats.tolist(), seconds, MQTT_WINDOW * max(1, workers),
                subscribers.counts, published, waited, ready, go,
            ),
        )  # fmt: skip
        proc.start()
        if not ready.wait(30):
            raise RuntimeError("MQTT publisher did not start")
        start = time.perf_counter()
        go.set()
        complete = False
        last, last_at = 0, start
        while True:
            # What the subscribers have stored is what they have acknowledged (the publisher
            # reads the same counts to bound what the broker holds for them).
            stored = subscribers.stored()
            now = time.perf_counter()
            if stored != last:
                last, last_at = stored, now
            progress.update(task, completed=stored)
            if not proc.is_alive() and stored >= published.value:
                complete = True
                break
            if not proc.is_alive() and now - last_at > 10:  # messages lost: stop waiting
                break
            if now - start > seconds + 90:
                break
            # The end is timed to a batch anyway (a worker counts 500 fixes at once).
            time.sleep(0.005)
        proc.join(10)
    finally:
        subscribers.close()
    elapsed = last_at - start
    sent = int(published.value)
    with psycopg.connect(postgis.libpq_url(fleet.url, TRACK_DB)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM positions WHERE device_id LIKE %s AND time >= %s",
            (fleet.prefix + "-%", fleet.t0 + timedelta(seconds=first_step)),
        ).fetchone()
    in_db = int(row[0]) if row else 0
    fleet.next_step = first_step + sent // max(1, len(fleet.armed)) + 2
    waiting = waited.value / max(elapsed, 1e-9)
    rate = in_db / elapsed
    return Row(
        "ingest",
        "MQTT QoS 1 -> MqttSubscriber -> ingest"
        + ("" if workers == 0 else f", {workers} worker processes (shared subscription)"),
        rate,
        "positions/s",
        in_db,
        elapsed,
        target=f">= {TARGET_INGEST:,.0f}/s",
        met=rate >= TARGET_INGEST,
        note=(
            f"{sent:,} published, {in_db:,} rows stored; publisher waited on the consumer "
            f"{waiting:.0%} of the time; batches of up to 500"
            + ("" if complete else f"; {sent - last:,} NOT STORED (lost by the broker?)")
        ),
    )


# --- 3c. raw insert baselines ----------------------------------------------------------------

RAW_TABLE = "bench_positions_raw"


def raw_baselines(fleet: Fleet, rows_n: int, batch: int, progress: Progress) -> list[Row]:
    """The same position rows, with none of tripp: psycopg executemany (one transaction per
    batch, as ingest commits per batch) and COPY, into a plain table keyed like
    ``positions`` by (device_id, time)."""
    task = progress.add_task("tracking: raw insert baselines", total=2)
    n = len(fleet.armed)
    received = datetime.now(UTC)
    rows = []
    for k in range(rows_n):
        d, step = k % n, 10**6 + k // n  # times no load uses
        lon, lat = fleet.where(d, step)
        rows.append(
            (fleet.armed[d], fleet.t0 + timedelta(seconds=step), lat, lon, 62.0, 91.0, None,
             "{}", None, received)
        )  # fmt: skip
    columns = "device_id, time, lat, lon, speed_kmh, course, seal, attributes, mrn, received_at"
    out = []
    with psycopg.connect(postgis.libpq_url(fleet.url, TRACK_DB)) as conn:
        for how in ("executemany", "COPY"):
            conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            conn.execute(
                f"CREATE TABLE {RAW_TABLE} (device_id varchar(64) NOT NULL, "
                "time timestamptz NOT NULL, lat float8 NOT NULL, lon float8 NOT NULL, "
                "speed_kmh float8, course float8, seal varchar(16), attributes jsonb NOT NULL, "
                "mrn varchar(18), received_at timestamptz NOT NULL, PRIMARY KEY (device_id, time))"
            )
            conn.commit()
            start = time.perf_counter()
            with conn.cursor() as cur:
                for i in range(0, rows_n, batch):
                    chunk = rows[i : i + batch]
                    if how == "COPY":
                        with cur.copy(f"COPY {RAW_TABLE} ({columns}) FROM STDIN") as copy:
                            for r in chunk:
                                copy.write_row(r)
                    else:
                        cur.executemany(
                            f"INSERT INTO {RAW_TABLE} ({columns}) VALUES "
                            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            chunk,
                        )
                    conn.commit()
            elapsed = time.perf_counter() - start
            out.append(
                rate_row(
                    "ingest",
                    f"raw psycopg {how}, {batch}/txn",
                    rows_n,
                    elapsed,
                    "positions/s",
                    note="plain table, same rows and key" if how == "COPY" else "",
                )
            )
            progress.advance(task)
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.commit()
    return out


# --- 3d. time rules and memory -------------------------------------------------------------


def time_rules(w: Any, fleet: Fleet, progress: Progress) -> Row:
    task = progress.add_task("tracking: time rules round (check_time)", total=1)
    start = time.perf_counter()
    w.tracking.check_time()
    elapsed = time.perf_counter() - start
    progress.advance(task)
    return rate_row(
        "ingest",
        f"check_time round, {len(fleet.armed):,} armed",
        len(fleet.armed),
        elapsed,
        "movements/s",
        note="one transaction per armed movement; runs every TRIPP_OVERDUE_INTERVAL_S",
    )


# Runs as ``python -c`` in a fresh interpreter that imports tripp and nothing of the bench,
# as a ``tripp track`` worker would: argv = url, prefix, devices, t0 (ISO), step.
MEMORY_PROBE = """
import gc, json, sys
from datetime import datetime, timedelta


def rss():
    status = dict(
        line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


bare = rss()[0]
from sqlalchemy import text

from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.corridor.model import TransportMode
from tripp.tracking.model import Fix

url, prefix, n, t0, step = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
w = wire(Settings(database_url=url))
tracking = w.tracking
wired = rss()[0]
route = w.corridor.routes[TransportMode.ROAD].coordinates
at = datetime.fromisoformat(t0) + timedelta(seconds=step)
accepted = 0
for i in range(0, n, 500):  # the MQTT subscriber's batch
    fixes = []
    for d in range(i, min(n, i + 500)):
        lon, lat = route[d % len(route)]
        fixes.append(Fix(f"{prefix}-{d:05d}", at, lat, lon, 62.0, 91.0))
    accepted += tracking.ingest(fixes).accepted
gc.collect()
now, peak = rss()
with w.engine.connect() as conn:
    states = conn.execute(text("SELECT count(*) FROM monitor_states")).scalar_one()
    armed = conn.execute(
        text("SELECT count(*) FROM devices WHERE armed_mrn IS NOT NULL")
    ).scalar_one()
print(json.dumps({"bare_mib": bare, "wired_mib": wired, "rss_mib": now, "peak_mib": peak,
                  "accepted": accepted, "monitor_states": states, "armed": armed}))
"""


def memory(fleet: Fleet, progress: Progress) -> Row:
    """VmRSS of a fresh process that wired tracking and ingested one fix per armed device."""
    task = progress.add_task(f"tracking: worker memory, {len(fleet.armed):,} armed", total=1)
    argv = [
        fleet.url,
        fleet.prefix,
        str(len(fleet.armed)),
        fleet.t0.isoformat(),
        str(fleet.next_step),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    progress.advance(task)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed: {proc.stderr[-2000:]}")
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    fleet.next_step += 1
    return Row(
        "memory",
        f"tracking worker RSS, {m['armed']:,} armed",
        m["rss_mib"],
        "MiB",
        target=f"< {TARGET_RSS_MIB:.0f} MiB",
        met=m["rss_mib"] < TARGET_RSS_MIB,
        note=(
            f"fresh process, after ingesting 1 fix each ({m['accepted']:,} stored, "
            f"{m['monitor_states']:,} monitor states); peak {m['peak_mib']:.0f}, after wiring "
            f"{m['wired_mib']:.0f}, bare interpreter {m['bare_mib']:.0f} MiB"
        ),
    )


# --- the whole run -------------------------------------------------------------------------


def ingest(args: argparse.Namespace | None, console: Console, progress: Progress) -> list[Row]:
    from tripp.bootstrap import wire
    from tripp.config import Settings

    try:
        url = scratch_database(TRACK_DB)
    except Exception as exc:  # no PostgreSQL: say so and go on
        console.print(f"[yellow]tracking ingest skipped: {str(exc).splitlines()[0]}[/yellow]")
        return []
    w = wire(Settings(database_url=url))
    w.upgrade()
    fleet = setup_fleet(w, url, progress)
    workers = option(args, "track_workers")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = serve(url, port, workers, Path(tmp) / "server.log")
        try:
            setup_s = arm(w, fleet, option(args, "track_ingest_devices"), progress)
            http_row = http_ingest(fleet, args, progress, port)
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(5)
    direct = in_process(w, fleet, progress)
    mqtt_rows: list[Row] = []
    for mqtt_workers in (0, option(args, "track_workers")):
        try:
            mqtt_rows.append(mqtt_ingest(w, fleet, args, progress, mqtt_workers))
        except (OSError, RuntimeError) as exc:
            console.print(f"[yellow]MQTT ingest skipped: {str(exc).splitlines()[0]}[/yellow]")
    raw = raw_baselines(
        fleet, option(args, "track_raw_rows"), option(args, "track_batch"), progress
    )
    loads = [r for r in (http_row, *mqtt_rows) if r is not None]
    for row in loads:
        row.note += f"; vs COPY {row.value / raw[1].value:.1%}"
        row.note += f"; {row.value / TRACCAR_MSGS:.1f}x Traccar's 8,000 msg/s"
    rows = [*loads, *direct]
    for row in rows:
        row.baseline = raw[0].measurement
        row.ratio = row.value / raw[0].value
    rows += raw
    rows.append(time_rules(w, fleet, progress))
    setup_s += arm(w, fleet, option(args, "track_devices"), progress)
    w.engine.dispose()
    rows.append(memory(fleet, progress))
    rows[-1].note += f"; set-up of the armed fleet took {setup_s:.0f} s"
    return rows


def run(
    args: argparse.Namespace | None, console: Console, progress: Progress
) -> list[dict[str, Any]]:
    """Every tracking measurement; prints nothing (see ``report``), returns the rows."""
    parts = set(option(args, "track_parts").split(","))
    unknown = parts - {"evaluation", "teltonika", "ingest"}
    if unknown:
        raise SystemExit(
            f"unknown --track-parts {sorted(unknown)}: use evaluation, teltonika, ingest"
        )
    rows: list[Row] = []
    if "evaluation" in parts:
        rows += evaluation(args, progress)
    if "teltonika" in parts:
        rows += teltonika(progress)
    if "ingest" in parts:
        rows += ingest(args, console, progress)
    return [r.as_dict() for r in rows]


def _figure(row: dict[str, Any]) -> str:
    value = row["value"]
    return f"{value:,.1f}" if row["unit"] == "MiB" else f"{value:,.0f}"


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Tracking (higher is better, but memory)", show_lines=False)
    for col, justify in (
        ("measurement", "left"),
        ("figure", "right"),
        ("unit", "left"),
        ("vs baseline", "right"),
        ("baseline", "left"),
        ("target", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    notes = []
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        target = row["target"] or ""
        if row["met"] is not None:
            target = f"{target} {'[green]met[/green]' if row['met'] else '[red]missed[/red]'}"
        mark = ""
        if row["note"]:
            notes.append(row["note"])
            mark = f" [{len(notes)}]"
        table.add_row(
            row["measurement"] + mark,
            _figure(row),
            row["unit"],
            ratio,
            row["baseline"] or "",
            target,
        )
    console.print(table)
    for i, note in enumerate(notes, 1):
        console.print(f"  [{i}] {note}", highlight=False)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tracking",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=110)
    with Progress(console=console, transient=True) as progress:
        rows = run(args, console, progress)
    report(rows, console)


if __name__ == "__main__":
    main()
