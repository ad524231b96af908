"""Two tracking workers on one database: each keeps parsed monitor states in memory, and
neither may judge a movement on a copy the other has since made stale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import select

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.bootstrap import Wiring, wire
from tripp.config import Settings
from tripp.corridor.model import TransportMode
from tripp.db.tables import alerts, monitor_states
from tripp.tracking.alerts import AlertKind
from tripp.tracking.model import Fix


@pytest.fixture
def other_worker(database_url: str, wiring: Wiring) -> Iterator[Wiring]:
    """A second process's wiring: its own engine, monitor and state cache."""
    w = wire(Settings(database_url=database_url))
    yield w
    w.engine.dispose()


def _mid_route(wiring: Wiring) -> tuple[float, float]:
    """(lon, lat) halfway along the road route: on it, away from the stop zones."""
    geometry = wiring.tracking.monitor.geometry
    line = geometry.route_m(TransportMode.ROAD)
    x, y = shapely.get_coordinates(line.interpolate(line.length / 2))[0]
    to_wgs = Transformer.from_crs(f"EPSG:{geometry.epsg}", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(x, y)
    return float(lon), float(lat)


def _released(api: Api, tokens: Tokens, device: str) -> tuple[str, datetime]:
    """A movement released with tracker ``device`` (registered here); its MRN and release."""
    api.call("POST", "/devices", tokens.az_customs, json={"id": device, "kind": "tracker"})
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    r = api.event(
        mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
        at=start, tracker_id=device,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return mrn, start


def _stored_version(wiring: Wiring, mrn: str) -> int:
    with wiring.engine.connect() as conn:
        return int(
            conn.execute(
                select(monitor_states.c.version).where(monitor_states.c.mrn == mrn)
            ).scalar_one()
        )


def test_a_worker_never_judges_on_a_stale_copy(
    api: Api, wiring: Wiring, other_worker: Wiring, tokens: Tokens
) -> None:
    mrn, start = _released(api, tokens, "SC-1")
    lon, lat = _mid_route(wiring)
    a, b = wiring.tracking, other_worker.tracking

    def fixes(first_s: int, last_s: int, speed: float) -> list[Fix]:
        return [
            Fix("SC-1", start + timedelta(seconds=s), lat, lon, speed, 90.0)
            for s in range(first_s, last_s + 1, 30)
        ]

    a.ingest(fixes(30, 90, 60.0))  # A caches the state: moving, nothing running
    seen_by_a = _stored_version(wiring, mrn)
    b.ingest(fixes(120, 270, 0.0))  # B: the vehicle stops at 120 s; a stop run begins
    assert _stored_version(wiring, mrn) != seen_by_a
    a.ingest(fixes(300, 480, 0.0))  # A must continue B's run, not its own copy

    with wiring.engine.connect() as conn:
        raised = conn.execute(
            select(alerts.c.kind, alerts.c.raised_at).where(alerts.c.mrn == mrn)
        ).all()
    stop_min_s = wiring.corridor.tracking.stop_min_s
    # From B's first stopped fix: 120 s + 300 s. A stale copy would have started the run
    # at 300 s and raised nothing by 480 s.
    assert [(k, t) for k, t in raised] == [
        ("unauthorized_stop", start + timedelta(seconds=120 + stop_min_s))
    ]
    assert len(a.monitor.cache) == 1 and len(b.monitor.cache) == 1


def test_a_rolled_back_batch_leaves_no_copy(api: Api, wiring: Wiring, tokens: Tokens) -> None:
    mrn, start = _released(api, tokens, "SC-2")
    lon, lat = _mid_route(wiring)
    tracking = wiring.tracking
    tracking.ingest([Fix("SC-2", start + timedelta(seconds=10), lat, lon, 50.0)])
    before = tracking.monitor.cache.copies([mrn])[mrn]

    def failing(*args: object) -> None:
        raise RuntimeError("the store failed after the monitor ran")

    tracking.monitor.listeners.append(lambda *a: None)
    original = tracking.monitor.on_batch

    def on_batch_then_fail(*args: object, **kw: object) -> object:
        original(*args, **kw)  # type: ignore[arg-type]
        failing()
        return {}

    tracking.monitor.on_batch = on_batch_then_fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        tracking.ingest([Fix("SC-2", start + timedelta(seconds=20), lat, lon, 50.0)])
    tracking.monitor.on_batch = original  # type: ignore[method-assign]
    assert tracking.monitor.cache.copies([mrn])[mrn] == before
    assert _stored_version(wiring, mrn) == before[0]


def test_quiet_fixes_write_no_state_and_the_clock_judges_by_the_newest_fix(
    api: Api, wiring: Wiring, tokens: Tokens
) -> None:
    mrn, start = _released(api, tokens, "SC-3")
    lon, lat = _mid_route(wiring)
    tracking = wiring.tracking
    silent_s = wiring.corridor.tracking.silent_after_s
    step = timedelta(seconds=silent_s / 2)
    first = start + timedelta(seconds=10)
    tracking.ingest([Fix("SC-3", first, lat, lon, 60.0, 90.0)])  # watching starts: written
    version = _stored_version(wiring, mrn)
    times = [first + k * step for k in range(1, 7)]
    for t in times:
        assert tracking.ingest([Fix("SC-3", t, lat, lon, 60.0, 90.0)]).accepted == 1
    assert _stored_version(wiring, mrn) == version  # six quiet fixes, no state written

    def silent_alerts() -> list[tuple[datetime, list[dict[str, object]]]]:
        with wiring.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.raised_at, alerts.c.details).where(
                    alerts.c.mrn == mrn, alerts.c.kind == "tracker_silent"
                )
            ).all()
        return [(raised, details["evidence"]) for raised, details in rows]

    # The stored state's last fix is the first one, long silent by now; the newest is not.
    newest = times[-1]
    tracking.monitor.check_time(tracking.uow, newest + timedelta(seconds=silent_s - 1))
    assert silent_alerts() == []
    tracking.monitor.check_time(tracking.uow, newest + timedelta(seconds=silent_s + 1))
    [(raised, evidence)] = silent_alerts()
    assert raised == newest + timedelta(seconds=silent_s)
    assert evidence[0]["time"] == newest.isoformat().replace("+00:00", "Z")
    # The round keeps a copy of the state it wrote, as a batch of fixes does.
    [(cached_version, cached)] = tracking.monitor.cache.copies([mrn]).values()
    assert cached_version == _stored_version(wiring, mrn)
    assert cached.is_open(AlertKind.TRACKER_SILENT)

    # A late fix (older than the newest) is still judged in its time order.
    late = tracking.ingest([Fix("SC-3", times[2] + timedelta(seconds=1), lat, lon, 60.0, 90.0)])
    assert late.accepted == 1
    assert [raised for raised, _ in silent_alerts()] == [newest + timedelta(seconds=silent_s)]


def test_a_worker_keeps_a_copy_of_a_state_it_only_read(
    api: Api, wiring: Wiring, other_worker: Wiring, tokens: Tokens
) -> None:
    """States are seldom written: a worker that only ever reads one (another wrote it) must
    not parse it again for every batch."""
    mrn, start = _released(api, tokens, "SC-4")
    lon, lat = _mid_route(wiring)
    a, b = wiring.tracking, other_worker.tracking
    a.ingest([Fix("SC-4", start + timedelta(seconds=10), lat, lon, 60.0, 90.0)])  # A writes
    version = _stored_version(wiring, mrn)
    assert b.monitor.cache.copies([mrn]) == {}
    b.ingest([Fix("SC-4", start + timedelta(seconds=40), lat, lon, 60.0, 90.0)])  # B reads
    assert _stored_version(wiring, mrn) == version  # a quiet fix: nothing written
    [(cached_version, state)] = b.monitor.cache.copies([mrn]).values()
    assert cached_version == version
    assert state.watching_since == start + timedelta(seconds=10)
