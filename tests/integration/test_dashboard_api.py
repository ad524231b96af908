"""The dashboard API on SQLite and PostgreSQL: layers, vehicles, the live stream, KPIs and
simulator reports, each scoped like the rest of the API (docs/dashboard-api.md)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tests.integration.live import LiveServer, free_port
from tripp.api.app import create_app
from tripp.bootstrap import Wiring
from tripp.dashboard.feed import ShutdownWatch

DASH = "/dashboard"


@dataclass
class Fleet:
    own_mrn: str  # AZ-CARRIER-0001's, tracked by TRK-OWN
    other_mrn: str  # AZ-CARRIER-0002's, tracked by TRK-OTHER
    idle_mrn: str  # accepted, never released: not under way


def _release(api: Api, mrn: str, tracker: str) -> None:
    r = api.event(
        mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure,
        seals=["S-1"], tracker_id=tracker,
    )  # fmt: skip
    assert r.status_code == 201, r.text


def fleet(api: Api) -> Fleet:
    own = api.guarantee("500000.00", holder="AZ-CARRIER-0001")["grn"]
    other = api.guarantee("500000.00", holder="AZ-CARRIER-0002")["grn"]
    for device in ("TRK-OWN", "TRK-OTHER"):
        r = api.call("POST", "/devices", api.tokens.admin, json={"id": device, "kind": "tracker"})
        assert r.status_code == 201, r.text
    own_mrn = api.lodge(own).json()["mrn"]
    other_mrn = api.lodge(other, token=api.tokens.other_carrier, holder="AZ-CARRIER-0002").json()[
        "mrn"
    ]
    idle_mrn = api.lodge(own).json()["mrn"]
    _release(api, own_mrn, "TRK-OWN")
    _release(api, other_mrn, "TRK-OTHER")
    return Fleet(own_mrn, other_mrn, idle_mrn)


def post_fix(api: Api, device: str, at: datetime, lon: float = 46.2, lat: float = 38.95) -> None:
    body = [{"device_id": device, "time": at.isoformat(), "lat": lat, "lon": lon,
             "speed_kmh": 42.0}]  # fmt: skip
    r = api.call("POST", "/positions", api.tokens.operator, json=body)
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text


# --- layers --------------------------------------------------------------------------


def test_layers_draw_the_corridor_offline(api: Api) -> None:
    r = api.call("GET", f"{DASH}/layers", api.tokens.operator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    by_layer: dict[str, list[dict[str, Any]]] = {}
    for f in doc["features"]:
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert {"route", "office", "border", "river"} <= set(by_layer)
    assert {f["properties"]["mode"] for f in by_layer["route"]} == {"road", "rail"}
    office = by_layer["office"][0]["properties"]
    assert {"code", "name", "role", "country"} <= set(office)
    minlon, minlat, maxlon, maxlat = doc["bbox"]
    assert 44 <= minlon < maxlon <= 48 and 38 <= minlat < maxlat <= 42
    again = api.call(
        "GET", f"{DASH}/layers", api.tokens.carrier, headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


# --- vehicles ------------------------------------------------------------------------


def test_vehicles_show_what_each_caller_sees(api: Api) -> None:
    f = fleet(api)
    now = datetime.now(UTC)
    post_fix(api, "TRK-OWN", now + timedelta(seconds=1))
    post_fix(api, "TRK-OTHER", now + timedelta(seconds=1), lon=46.3)
    post_fix(api, "TRK-OWN", now + timedelta(seconds=2), lon=46.25)

    def mrns(token: str) -> dict[str, dict[str, Any]]:
        r = api.call("GET", f"{DASH}/vehicles", token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["at"].endswith("Z") and body["cursor"]
        return {v["mrn"]: v for v in body["vehicles"]}

    own = mrns(api.tokens.carrier)
    assert set(own) == {f.own_mrn}
    v = own[f.own_mrn]
    assert v["lon"] == 46.25 and v["device_id"] == "TRK-OWN" and v["status"] == "released"
    assert v["carrier"] == "AZ-CARRIER-0001" and v["plate"] and v["speed_kmh"] == 42.0
    assert isinstance(v["alerts"], list)
    assert set(mrns(api.tokens.other_carrier)) == {f.other_mrn}
    assert set(mrns(api.tokens.am_carrier)) == set()
    assert set(mrns(api.tokens.operator)) == {f.own_mrn, f.other_mrn}
    assert set(mrns(api.tokens.admin)) == {f.own_mrn, f.other_mrn}
    # Both itineraries cross Armenia: Armenian customs see both, as GET /movements does.
    listed = {
        m["mrn"] for m in api.call("GET", "/movements", api.tokens.am_customs).json()["items"]
    }
    assert set(mrns(api.tokens.am_customs)) == {f.own_mrn, f.other_mrn} & listed
    assert api.call("GET", f"{DASH}/vehicles", api.tokens.observer).status_code == 403


def test_an_arrived_movement_leaves_the_map(api: Api) -> None:
    f = fleet(api)
    post_fix(api, "TRK-OWN", datetime.now(UTC) + timedelta(seconds=1))
    r = api.event(f.own_mrn, api.tokens.am_customs, "arrival", api.itinerary.office_of_destination)
    if r.status_code != 201:  # the destination's customs may be AZ's on this itinerary
        r = api.event(
            f.own_mrn, api.tokens.az_customs, "arrival", api.itinerary.office_of_destination
        )
    assert r.status_code == 201, r.text
    got = api.call("GET", f"{DASH}/vehicles", api.tokens.admin).json()["vehicles"]
    assert f.own_mrn not in {v["mrn"] for v in got}


# --- KPIs ----------------------------------------------------------------------------


def test_kpis_for_everyone_and_as_csv(api: Api) -> None:
    fleet(api)
    r = api.call("GET", f"{DASH}/kpis", api.tokens.observer)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["movements"] == 3
    assert set(doc) == {"from", "to", "movements", "transit_time_hours", "crossings_per_hour",
                        "border_post_dwell_minutes", "alerts_per_100_movements"}  # fmt: skip
    assert set(doc["transit_time_hours"]) == {"histogram", "p50", "p95"}
    assert set(doc["alerts_per_100_movements"]) == {"total", "by_kind"}
    assert "AZ-CARRIER" not in r.text and "mrn" not in r.text
    for how in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        c = api.call("GET", f"{DASH}/kpis", api.tokens.carrier, **how)
        assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(c.text)))
        assert rows[0]["table"] == "movements" and rows[0]["count"] == "3"
        assert "alerts_per_100_movements" in {row["table"] for row in rows}


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2024-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"},
        {"office": "ZZ999999"},
    ],
)
def test_kpis_refuse_bad_periods(api: Api, params: dict[str, str]) -> None:
    r = api.call("GET", f"{DASH}/kpis", api.tokens.admin, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


# --- simulator reports ---------------------------------------------------------------


def _report(root: Path, name: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"scenario": "peak-hour", "posts": {}}))
    (folder / "report.html").write_text("<!doctype html><title>r</title>")
    (folder / "AM000101-wait.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (folder / "notes.txt").write_text("not served")


def test_sim_reports_are_listed_and_served(api: Api, wiring: Wiring, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    _report(root, "run-1")
    (tmp_path / "secret.json").write_text("{}")
    app: Any = api.http.app
    app.state.settings = dataclasses.replace(wiring.settings, sim_reports_dir=str(root))
    r = api.call("GET", f"{DASH}/sim-reports", api.tokens.am_customs)
    assert r.status_code == 200, r.text
    (item,) = r.json()
    assert item["name"] == "run-1" and item["scenario"] == "peak-hour"
    assert item["files"] == ["AM000101-wait.png", "report.html", "summary.json"]
    png = api.call("GET", f"{DASH}/sim-reports/run-1/AM000101-wait.png", api.tokens.operator)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    page = api.call("GET", f"{DASH}/sim-reports/run-1/report.html", api.tokens.admin)
    assert page.headers["content-type"].startswith("text/html")
    assert "sandbox" in page.headers["content-security-policy"]
    for path in ("run-1/notes.txt", "run-1/..%2F..%2Fsecret.json", "..%2Fsecret.json/x",
                 "run-2/summary.json", "run-1/%2E%2E"):  # fmt: skip
        assert api.call("GET", f"{DASH}/sim-reports/{path}", api.tokens.admin).status_code == 404
    for token in (api.tokens.carrier, api.tokens.observer):
        assert api.call("GET", f"{DASH}/sim-reports", token).status_code == 403


# --- the role matrix -----------------------------------------------------------------

CELLS = ("layers", "vehicles", "stream", "kpis", "sim-reports")
EXPECTED = {
    "admin":      [200, 200, 200, 200, 200],
    "az_customs": [200, 200, 200, 200, 200],
    "am_customs": [200, 200, 200, 200, 200],
    "carrier":    [200, 200, 200, 200, 403],
    "operator":   [200, 200, 200, 200, 200],
    "observer":   [403, 403, 403, 200, 403],
    "no_token":   [401, 401, 401, 401, 401],
}  # fmt: skip


@pytest.fixture
def server(wiring: Wiring) -> Iterator[str]:
    """The app under uvicorn in a thread: a real HTTP server for the stream."""
    app = create_app(wiring, run_jobs=False)
    app.state.settings = wiring.settings
    # Signals reach the main thread only; a server in a thread is told to close by hand.
    watch = app.state.dashboard_shutdown = ShutdownWatch()
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{config.port}"
    watch.closing = True
    srv.should_exit = True
    thread.join(10)
    assert not thread.is_alive(), "the server did not stop"


@pytest.mark.parametrize("role", list(EXPECTED))
def test_dashboard_role_matrix(server: str, tokens: Tokens, wiring: Wiring, role: str) -> None:
    token = None if role == "no_token" else getattr(tokens, role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    got = []
    with httpx.Client(base_url=server + "/api/v1/dashboard", headers=headers, timeout=5) as c:
        for cell in CELLS:
            if cell == "stream":
                with c.stream("GET", "/stream") as r:
                    got.append(r.status_code)
            else:
                got.append(c.get("/" + cell).status_code)
    assert dict(zip(CELLS, got, strict=True)) == dict(zip(CELLS, EXPECTED[role], strict=True))


# --- the live stream -----------------------------------------------------------------


class Listener:
    """Reads a stream in a thread; parsed events arrive on ``events``."""

    def __init__(self, base: str, token: str, headers: dict[str, str] | None = None,
                 params: dict[str, str] | None = None) -> None:  # fmt: skip
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status: int | None = None
        self.ready = threading.Event()
        self._response: httpx.Response | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=30))
        self._args = (base + "/api/v1/dashboard/stream",
                      {"Authorization": f"Bearer {token}", **(headers or {})}, params or {})  # fmt: skip
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        url, headers, params = self._args
        try:
            with self._client.stream("GET", url, headers=headers, params=params) as r:
                self._response = r
                self.status = r.status_code
                self.ready.set()
                event: dict[str, Any] = {}
                for line in r.iter_lines():
                    if line == "":
                        if "data" in event:
                            event["received"] = time.monotonic()
                            self.events.put(event)
                        event = {}
                    elif line.startswith(":"):
                        continue
                    else:
                        name, _, value = line.partition(": ")
                        event[name] = json.loads(value) if name == "data" else value
        except httpx.HTTPError:
            pass
        finally:
            self.ready.set()

    def next(self, kind: str, timeout_s: float, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                break
            if e.get("event") == kind and all(e["data"].get(k) == v for k, v in match.items()):
                return e
        raise AssertionError(f"no {kind} event {match} within {timeout_s} s")

    def seen(self) -> list[dict[str, Any]]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        self._client.close()
        self._thread.join(5)


def test_the_stream_delivers_a_position_within_2_s_and_only_to_who_sees_it(
    server: str, wiring: Wiring, tokens: Tokens
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        api = Api(http, tokens, wiring.corridor)  # type: ignore[arg-type]
        f = fleet(api)
        mine = Listener(server, tokens.carrier)
        everyone = Listener(server, tokens.operator)
        try:
            assert mine.status == everyone.status == 200
            at = datetime.now(UTC) + timedelta(seconds=1)
            sent = time.monotonic()
            post_fix(api, "TRK-OTHER", at, lon=46.31)
            post_fix(api, "TRK-OWN", at, lon=46.21)
            got = mine.next("position", 2.0, mrn=f.own_mrn)
            assert got["received"] - sent < 2.0
            assert got["data"]["lon"] == 46.21 and got["data"]["fixed_at"].endswith("Z")
            assert set(got["data"]) == {"mrn", "lon", "lat", "fixed_at", "speed_kmh"}
            assert got["id"]
            everyone.next("position", 2.0, mrn=f.other_mrn)
            time.sleep(1.0)
            assert f.other_mrn not in json.dumps(mine.seen())
        finally:
            mine.close()
            everyone.close()


def test_the_stream_resumes_from_last_event_id_and_from_the_snapshot(
    server: str, wiring: Wiring, tokens: Tokens
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        api = Api(http, tokens, wiring.corridor)  # type: ignore[arg-type]
        f = fleet(api)
        first = Listener(server, tokens.admin)
        t0 = datetime.now(UTC) + timedelta(seconds=1)
        try:
            post_fix(api, "TRK-OWN", t0)
            last_id = first.next("position", 2.0, mrn=f.own_mrn)["id"]
        finally:
            first.close()
        # Gone for a while: a fix and a state change happen unseen.
        post_fix(api, "TRK-OWN", t0 + timedelta(seconds=5), lon=46.27)
        api.event(f.other_mrn, tokens.az_customs, "border_crossing",
                  api.itinerary.offices_of_transit[0], direction="exit")  # fmt: skip
        again = Listener(server, tokens.admin, headers={"Last-Event-ID": last_id})
        try:
            got = again.next("position", 3.0, mrn=f.own_mrn, lon=46.27)
            assert got["data"]["fixed_at"] == (t0 + timedelta(seconds=5)).isoformat().replace(
                "+00:00", "Z"
            )
        finally:
            again.close()
        # From the snapshot's cursor: what came after /vehicles arrives on the stream.
        snapshot = api.call("GET", f"{DASH}/vehicles", tokens.carrier).json()
        post_fix(api, "TRK-OWN", t0 + timedelta(seconds=9), lon=46.29)
        late = Listener(server, tokens.carrier, params={"cursor": snapshot["cursor"]})
        try:
            late.next("position", 3.0, mrn=f.own_mrn, lon=46.29)
        finally:
            late.close()


def test_the_stream_refuses_a_foreign_cursor(server: str, tokens: Tokens) -> None:
    r = httpx.get(server + "/api/v1/dashboard/stream", params={"cursor": "bm90LW91cnM"},
                  headers={"Authorization": f"Bearer {tokens.admin}"})  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


def test_open_streams_do_not_hold_the_server_shutdown(
    database_url: str, wiring: Wiring, tokens: Tokens, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one store is enough to prove the shutdown")
    live = LiveServer(database_url, tmp_path / "server.log")
    live.start()
    assert live.proc is not None
    listener = Listener(live.url, tokens.operator)
    try:
        assert listener.status == 200
        live.proc.send_signal(signal.SIGTERM)
        live.proc.wait(8)  # raises if the open stream holds the shutdown
    finally:
        listener.close()
        if live.proc.poll() is None:
            live.kill()
