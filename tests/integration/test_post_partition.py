"""A partition with real processes: a ``tripp serve`` upstream and a ``tripp post`` node.

Upstream stopped; 100 crossings (and a few screenings and inspections) recorded at the
node; upstream back: exactly 100 crossings upstream, and still 100 after another round.
Then 60 more recorded offline and the node SIGKILLed while it pushes them; restarted on
the same store, it brings every recorded event upstream exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import mint_tokens
from tests.integration.conftest import Api
from tests.integration.live import LiveServer, free_port
from tripp.api.app import create_app
from tripp.bootstrap import wire
from tripp.config import Settings

pytestmark = pytest.mark.slow

OFFICE = "AM000101"  # the first office of transit of the road itinerary from Azerbaijan
FIRST, SECOND = 100, 60
SCREENED_EVERY = 10  # every tenth movement is also screened at the node


class NodeProcess:
    """``python -m tripp.post`` in a subprocess, as an operator starts it."""

    def __init__(self, upstream: str, token: str, db: Path, log: Path) -> None:
        self.port = free_port()
        self.args = [
            sys.executable, "-m", "tripp.post", "--office", OFFICE, "--upstream", upstream,
            "--db", str(db), "--port", str(self.port), "--sync-interval", "1",
            "--log-level", "warning",
        ]  # fmt: skip
        self.env = {**os.environ, "TRIPP_POST_TOKEN": token}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def start(self, timeout_s: float = 30) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        wait_for(self._answers, timeout_s, "the node to answer", explain=self.explain)

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"node exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success
        except httpx.HTTPError:
            return False

    def explain(self) -> str:
        """What a failed wait shows: the node's status and the end of its log."""
        try:
            status = self.http.get("/post/status").text
        except httpx.HTTPError as exc:
            status = repr(exc)
        return f"\nnode status: {status}\nnode log:\n{self.log.read_text()[-3000:]}"

    def status(self) -> dict[str, Any]:
        r = self.http.get("/post/status")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.http.close()


def wait_for(
    check: Callable[[], bool],
    timeout_s: float,
    what: str,
    poll_s: float = 0.05,
    explain: Callable[[], str] = str,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}{explain()}")
        time.sleep(poll_s)


def upstream_events(db: Path, office: str) -> list[tuple[str, str, str]]:
    """(mrn, id, type) of every event recorded at ``office``, read beside the server."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute(
            "SELECT mrn, id, type FROM events WHERE office = ? ORDER BY seq", (office,)
        ).fetchall()
    return [(str(m), str(i), str(t)) for m, i, t in rows]


def crossings_upstream(db: Path) -> int:
    return sum(1 for _, _, t in upstream_events(db, OFFICE) if t == "border_crossing")


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Path, str, list[str]]]:
    """An upstream store with FIRST + SECOND movements released towards OFFICE."""
    db = tmp_path / "upstream.db"
    w = wire(Settings(database_url=f"sqlite:///{db}"))
    w.upgrade()
    tokens = mint_tokens(w)
    with TestClient(create_app(w, run_jobs=False)) as http:
        api = Api(http, tokens, w.corridor)
        assert api.itinerary.offices_of_transit[0] == OFFICE
        grn = api.guarantee("999999999.00")["grn"]
        mrns = [api.released(grn) for _ in range(FIRST + SECOND)]
    w.engine.dispose()
    yield db, tokens.am_customs, mrns


def record_offline(node: NodeProcess, mrns: list[str], start: int) -> dict[str, int]:
    """At the desk: screen every tenth movement (and inspect as its lane asks), then record
    its crossing; every answer must be 201. Returns what was recorded, by kind."""
    done = {"border_crossing": 0, "inspection": 0, "screening": 0}
    for n, mrn in enumerate(mrns, start=start):
        at = datetime.now(UTC).isoformat()
        if n % SCREENED_EVERY == 0:
            r = node.http.post(f"/offices/{OFFICE}/screenings", json={"mrn": mrn, "id": f"s-{n}"})
            assert r.status_code == 201, r.text
            done["screening"] += 1
            if r.json()["lane"] != "green":
                body = {"id": f"i-{n}", "type": "inspection", "kind": "xray", "at": at,
                        "outcome": "no_findings", "duration_min": 12}  # fmt: skip
                assert node.http.post(f"/movements/{mrn}/events", json=body).status_code == 201
                done["inspection"] += 1
        body = {"id": f"c-{n}", "type": "border_crossing", "direction": "entry", "at": at}
        r = node.http.post(f"/movements/{mrn}/events", json=body)
        assert r.status_code == 201, r.text
        done["border_crossing"] += 1
    return done


def test_partition_sync_twice_and_a_killed_node(
    seeded: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    began = time.monotonic()
    db, token, mrns = seeded
    upstream = LiveServer(f"sqlite:///{db}", tmp_path / "upstream.log")
    upstream.start()
    node = NodeProcess(upstream.url, token, tmp_path / "node.db", tmp_path / "node.log")
    try:
        node.start()
        wait_for(
            lambda: node.status()["expected"] == FIRST + SECOND,
            30,
            "the first mirror",
            explain=node.explain,
        )
        print(f"\nmirrored {FIRST + SECOND} expected movements ({time.monotonic() - began:.1f}s)")

        upstream.stop()
        first = record_offline(node, mrns[:FIRST], 0)
        status = node.status()
        assert status["pending"]["events"] == FIRST + first["inspection"]
        assert crossings_upstream(db) == 0
        print(f"upstream stopped; recorded at the node: {first}")

        upstream.start()
        wait_for(lambda: _all_pushed(node), 30, "the first sync", explain=node.explain)
        assert crossings_upstream(db) == FIRST
        print(f"upstream back; after sync: {crossings_upstream(db)} crossings upstream")

        rounds = node.status()["rounds"]
        assert node.http.post("/post/sync").status_code == 202
        wait_for(
            lambda: node.status()["rounds"] >= rounds + 2,
            15,
            "two more rounds",
            explain=node.explain,
        )
        assert crossings_upstream(db) == FIRST
        print(f"synced again: still {crossings_upstream(db)} crossings upstream")

        upstream.stop()
        second = record_offline(node, mrns[FIRST:], FIRST)
        upstream.start()
        before = crossings_upstream(db)
        # Kill a third of the way in, polling finely: the push takes about a second.
        third = before + SECOND // 3
        wait_for(lambda: crossings_upstream(db) >= third, 30, "the push to begin", poll_s=0.002)
        node.kill()
        at_kill = crossings_upstream(db)
        print(f"node killed mid-sync with {at_kill - FIRST} of {SECOND} new crossings upstream")
        assert at_kill < FIRST + SECOND, "the push ended before the kill: nothing was tested"

        node.start()
        wait_for(lambda: _all_pushed(node), 30, "the sync after restart", explain=node.explain)
        events = upstream_events(db, OFFICE)
        recorded = {
            "border_crossing": first["border_crossing"] + second["border_crossing"],
            "inspection": first["inspection"] + second["inspection"],
        }
        assert len(events) == len(set(events)) == sum(recorded.values())
        for kind, n in recorded.items():
            assert sum(1 for e in events if e[2] == kind) == n, kind
        assert {m for m, _, t in events if t == "border_crossing"} == set(mrns)
        status = node.status()
        assert status["conflicts_open"] == 0
        assert status["synced"]["screenings"] == first["screening"] + second["screening"]
        print(
            f"restarted: {crossings_upstream(db)} crossings, "
            f"{recorded['inspection']} inspections upstream, no duplicate, no loss; "
            f"screenings synced {status['synced']['screenings']} "
            f"(took {time.monotonic() - began:.1f}s)"
        )
    finally:
        node.stop()
        upstream.stop()


def _all_pushed(node: NodeProcess) -> bool:
    status = node.status()
    return bool(status["upstream"]["reachable"]) and status["pending"] == {
        "events": 0,
        "screenings": 0,
    }
