"""The border-post node without a network: its store, its local rules and the sync state
machine against an in-memory upstream behind ``httpx.MockTransport``.

The fake upstream keeps the contract the node relies on (docs/border-posts.md, API.md):
events idempotent by (MRN, id), 409 on a state conflict, screenings idempotent by id,
a paged expected list. It can be down, lose its answers after committing, or "kill" the
node right after committing (an exception no handler catches, as SIGKILL would leave it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tripp.border.service import subject_json
from tripp.corridor.model import TransportMode
from tripp.errors import Conflict, InvalidInput
from tripp.movements.model import IllegalTransition
from tripp.post.app import create_app
from tripp.post.bootstrap import Node, PostSettings, Secret, wire
from tripp.post.errors import (
    AlreadyRecorded,
    InspectionRequired,
    NodeMisconfigured,
    NotExpectedHere,
)
from tripp.post.model import Kind, Outcome, Record, Status, classify, inspection_block
from tripp.post.screening import Basis, Target, decide, precomputed, subject_of
from tripp.risk.defaults import default_ruleset, default_ruleset_dict
from tripp.risk.engine import random_draw, screen
from tripp.risk.model import HolderHistory, Lane, Subject

OFFICE = "AM000101"
TOKEN = "node-token"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Killed(BaseException):
    """The node process dying: no ``except Exception`` in the node catches it."""


def expected_item(mrn: str, n: int, **extra: Any) -> dict[str, Any]:
    """An item as GET /offices/{code}/expected publishes it (customs view)."""
    item: dict[str, Any] = {
        "mrn": mrn, "state": "released", "holder": "AZ-CARRIER-0001", "mode": "road",
        "vehicle_id": f"10-AZ-{n:03d}", "containers": [f"CSQU305438{n % 10}"], "seals": ["S1"],
        "tracker_id": None, "office_role": "transit",
        "next_event": {"type": "border_crossing", "direction": "entry"},
        "released_at": (T0 - timedelta(hours=1)).isoformat(), "eta": T0.isoformat(),
        "eta_source": "schedule", "lane": "green", "reasons": [],
        "ruleset": {"country": "AM", "version": 1}, "screening": None,
        "inspection_required": False, "open_alerts": [],
        "goods": [{"hs_code": "870323", "gross_mass_kg": "12000"}],
    }  # fmt: skip
    item.update(extra)
    return item


@dataclass
class FakeUpstream:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    screenings: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)  # the upstream's own screening lane
    down: bool = False
    lose_answers: int = 0  # commit, then time out this many times
    kill_after_commit: int = 0  # commit, then kill the node this many times
    fail_500: set[str] = field(default_factory=set)  # event ids answered 500
    token_refused: bool = False
    page_size: int = 2
    calls: list[str] = field(default_factory=list)

    def add(self, n: int) -> list[str]:
        mrns = [f"26AZ{i:014d}" for i in range(len(self.items), len(self.items) + n)]
        for i, mrn in enumerate(mrns):
            self.items[mrn] = expected_item(mrn, len(self.items) + i)
            self.states[mrn] = "released"
        return mrns

    def crossings(self) -> int:
        return sum(1 for e in self.events.values() if e["type"] == "border_crossing")

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.token_refused:
            return _problem(401, "bad token")
        path = request.url.path.removeprefix("/api/v1")
        if request.method == "POST" and path.endswith("/events"):
            return self._after_commit(request, self._event(path.split("/")[2], request))
        if request.method == "POST" and path.endswith("/screenings"):
            return self._after_commit(request, self._screening(json.loads(request.content)))
        if path.endswith("/expected"):
            return self._page(request.url.params.get("cursor"))
        if path == "/risk/rulesets/AM":
            return httpx.Response(200, json=default_ruleset_dict("AM"))
        if path == "/corridor":
            return httpx.Response(200, json={"offices": [{"code": OFFICE, "country": "AM"}]})
        return _problem(404, "no such path")

    def _after_commit(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if self.kill_after_commit:
            self.kill_after_commit -= 1
            raise Killed
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def _event(self, mrn: str, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["id"] in self.fail_500:
            return _problem(500, "internal error")
        stored = self.events.get((mrn, body["id"]))
        if stored is not None:
            return (
                httpx.Response(200, json={"mrn": mrn})
                if stored == body
                else _problem(409, "id reused")
            )
        if self.states.get(mrn) not in ("released", "in_transit"):
            return _problem(409, f"movement {mrn} is {self.states.get(mrn)}")
        self.events[(mrn, body["id"])] = body
        if body["type"] == "border_crossing":
            self.states[mrn] = "in_transit"
            self.items.pop(mrn, None)
        return httpx.Response(201, json={"mrn": mrn, "state": self.states[mrn]})

    def _screening(self, body: dict[str, Any]) -> httpx.Response:
        if body["id"] in self.screenings:
            return httpx.Response(200, json=self.screenings[body["id"]])
        answer = {**body, "lane": self.lanes.get(body["mrn"], "green"), "reasons": []}
        self.screenings[body["id"]] = answer
        return httpx.Response(201, json=answer)

    def _page(self, cursor: str | None) -> httpx.Response:
        start = int(cursor or 0)
        items = list(self.items.values())
        more = start + self.page_size < len(items)
        page = items[start : start + self.page_size]
        return httpx.Response(
            200,
            json={"office": OFFICE, "items": page,
                  "next_cursor": str(start + self.page_size) if more else None},
        )  # fmt: skip


def _problem(status: int, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "urn:tripp:problem:x", "title": "t", "status": status, "detail": detail},
        headers={"content-type": "application/problem+json"},
    )


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


def open_node(path: Path, upstream: FakeUpstream) -> Node:
    settings = PostSettings(OFFICE, "http://upstream.test", Secret(TOKEN), path)
    return wire(settings, transport=httpx.MockTransport(upstream.handler))


@pytest.fixture
def node(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Node]:
    n = open_node(tmp_path / "node.db", upstream)
    yield n
    n.close()


def crossing(n: int, **extra: Any) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat()
    return {"id": f"ev-{n}", "type": "border_crossing", "direction": "entry", "at": at, **extra}


def inspection(n: int, kind: str) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat()
    return {"id": f"insp-{n}", "type": "inspection", "kind": kind, "outcome": "no_findings",
            "duration_min": 10, "follow_up": "none", "at": at}  # fmt: skip


def statuses(node: Node, kind: Kind = Kind.EVENT) -> list[Status]:
    with node.store.read() as tx:
        return [r.status for r in tx.pending(kind)] + [
            r.status for r in tx.conflicts(include_acknowledged=True) if r.kind is kind
        ]


# --- the sync state machine ----------------------------------------------------------------


def test_offline_records_reach_the_upstream_once(node: Node, upstream: FakeUpstream) -> None:
    mrns = upstream.add(5)
    assert node.syncer.round().pulled == 5  # three pages of two
    upstream.down = True
    for i, mrn in enumerate(mrns):
        node.service.record(mrn, crossing(i))
    report = node.syncer.round()
    assert not report.reachable and node.syncer.reachable is False
    assert upstream.crossings() == 0
    upstream.down = False
    assert node.syncer.round().pushed == 5
    assert upstream.crossings() == 5
    assert node.syncer.round().pushed == 0 and upstream.crossings() == 5
    assert node.service.expected(50, None)["items"] == []


def test_a_lost_answer_is_resent_and_answered_200(node: Node, upstream: FakeUpstream) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    upstream.lose_answers = 1
    node.service.record(mrn, crossing(1))
    assert not node.syncer.round().reachable  # the upstream committed; the node cannot know
    assert statuses(node) == [Status.PENDING]
    assert node.syncer.round().pushed == 1
    assert upstream.crossings() == 1
    with node.store.read() as tx:
        assert tx.find(Kind.EVENT, "ev-1", mrn).upstream_status == 200  # type: ignore[union-attr]


def test_a_node_killed_between_commit_and_mark_sends_again_after_restart(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    mrns = upstream.add(3)
    first = open_node(tmp_path / "node.db", upstream)
    first.syncer.round()
    for i, mrn in enumerate(mrns):
        first.service.record(mrn, crossing(i))
    upstream.kill_after_commit = 1
    with pytest.raises(Killed):
        first.syncer.round()
    first.close()  # what the OS does to a killed process's files; nothing more ran
    assert upstream.crossings() == 1
    second = open_node(tmp_path / "node.db", upstream)
    try:
        assert second.syncer.round().pushed == 3
        assert upstream.crossings() == 3
        assert second.syncer.round().pushed == 0 and upstream.crossings() == 3
    finally:
        second.close()


def test_a_state_conflict_is_kept_for_the_officer(node: Node, upstream: FakeUpstream) -> None:
    a, b = upstream.add(2)
    node.syncer.round()
    upstream.states[a] = "under_enquiry"  # opened upstream while the post was offline
    node.service.record(a, crossing(1))
    node.service.record(b, crossing(2))
    report = node.syncer.round()
    assert (report.pushed, report.conflicts) == (1, 1)
    [conflict] = node.service.conflicts(include_acknowledged=False)
    assert conflict["mrn"] == a and conflict["upstream_status"] == 409
    assert "under_enquiry" in conflict["conflict"]
    node.syncer.round()  # a conflict is not re-sent
    assert upstream.calls.count(f"POST /api/v1/movements/{a}/events") == 1
    node.service.acknowledge(conflict["seq"])
    assert node.service.conflicts(include_acknowledged=False) == []
    [kept] = node.service.conflicts(include_acknowledged=True)
    assert kept["acknowledged_at"] is not None and kept["body"]["id"] == "ev-1"


def test_a_server_fault_retries_and_keeps_the_movements_order(
    node: Node, upstream: FakeUpstream
) -> None:
    a, b = upstream.add(2)
    node.syncer.round()
    upstream.fail_500 = {"insp-1"}
    node.service.record(a, inspection(1, "documentary"))
    node.service.record(a, crossing(1))
    node.service.record(b, crossing(2))
    assert node.syncer.round().pushed == 1  # only b: a's crossing waits behind its inspection
    assert list(upstream.events) == [(b, "ev-2")]
    upstream.fail_500 = set()
    node.syncer.round()
    assert list(upstream.events)[1:] == [(a, "insp-1"), (a, "ev-1")]


def test_a_refused_token_stops_the_round_without_conflicts(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    node.service.record(mrn, crossing(1))
    upstream.token_refused = True
    report = node.syncer.round()
    assert report.error is not None and "refused the node's token" in report.error
    assert statuses(node) == [Status.PENDING]


def test_a_screening_in_another_lane_upstream_is_a_conflict(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    upstream.lanes[mrn] = "red"  # e.g. a seal opened since the node's last pull
    answer, created = node.service.screen(
        Target(vehicle_id=upstream.items[mrn]["vehicle_id"]), None
    )
    assert created and answer["lane"] == "green" and answer["basis"] == "pre-arrival"
    assert node.syncer.round().conflicts == 1
    [conflict] = node.service.conflicts(include_acknowledged=False)
    assert "screened" in conflict["conflict"] and "red" in conflict["conflict"]
    # The upstream's lane now rules the gate here: the crossing needs a load inspection.
    with pytest.raises(InspectionRequired, match="xray or physical"):
        node.service.record(mrn, crossing(1))


def test_events_go_before_screenings_so_the_crossing_is_recorded_upstream(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    upstream.down = True
    node.service.screen(Target(mrn=mrn), "scr-1")
    node.service.record(mrn, crossing(1))
    upstream.down = False
    upstream.lanes[mrn] = "red"  # an alert raised upstream while the post was offline
    report = node.syncer.round()
    assert (report.pushed, report.conflicts) == (1, 1)
    assert list(upstream.events) == [(mrn, "ev-1")] and list(upstream.screenings) == ["scr-1"]
    calls = [c for c in upstream.calls if c.startswith("POST")]
    assert calls == [
        f"POST /api/v1/movements/{mrn}/events",
        f"POST /api/v1/offices/{OFFICE}/screenings",
    ]


# --- the node's local rules ----------------------------------------------------------------


def test_a_red_lane_needs_a_load_inspection_before_crossing(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    upstream.items[mrn].update(lane="red", reasons=[_reason("arms", "hs_prefix", "red")])
    node.syncer.round()
    answer, _ = node.service.screen(Target(container=upstream.items[mrn]["containers"][0]), "s1")
    assert answer["lane"] == "red" and answer["inspection_required"]
    node.service.record(mrn, inspection(1, "documentary"))
    with pytest.raises(InspectionRequired, match="xray or physical"):
        node.service.record(mrn, crossing(1))
    node.service.record(mrn, inspection(2, "xray"))
    assert node.service.record(mrn, crossing(1))[0]["state"] == "in_transit"
    with pytest.raises(AlreadyRecorded):
        node.service.record(mrn, crossing(2))


def test_the_mirrored_screening_binds_until_an_inspection_here(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    upstream.items[mrn].update(screening={"id": "x", "lane": "yellow"}, inspection_required=True)
    node.syncer.round()
    [item] = node.service.expected(50, None)["items"]
    assert item["inspection_required"]
    with pytest.raises(InspectionRequired, match="documentary check is enough"):
        node.service.record(mrn, crossing(1))
    node.service.record(mrn, inspection(1, "documentary"))
    node.service.record(mrn, crossing(1))


@pytest.mark.parametrize(
    ("lane", "kinds", "needed"),
    [
        (None, [], None),
        ("green", [], None),
        ("yellow", [], "an inspection (a documentary check is enough)"),
        ("yellow", ["documentary"], None),
        ("red", ["documentary"], "an xray or physical inspection"),
        ("red", ["physical"], None),
    ],
)
def test_inspection_block(lane: str | None, kinds: list[str], needed: str | None) -> None:
    records = (
        [] if lane is None else [Record(1, Kind.SCREENING, Status.PENDING, "s", lane=Lane(lane))]
    )
    for i, kind in enumerate(kinds, start=2):
        records.append(Record(i, Kind.EVENT, Status.SYNCED, f"e{i}", "inspection", kind))
    assert inspection_block({"state": "released"}, records) == needed


def test_the_strictest_screening_decides_and_every_inspection_counts() -> None:
    red = Record(1, Kind.SCREENING, Status.SYNCED, "s1", lane=Lane.RED)
    xray = Record(2, Kind.EVENT, Status.SYNCED, "e2", "inspection", "xray")
    green = Record(3, Kind.SCREENING, Status.PENDING, "s3", lane=Lane.GREEN)
    assert inspection_block({}, [red, green]) == "an xray or physical inspection"
    assert inspection_block({}, [xray, red, green]) is None  # before or after: it counts
    refused = Record(2, Kind.EVENT, Status.CONFLICT, "e2", "inspection", "xray")
    assert inspection_block({}, [refused, red]) is not None  # the upstream never took it


def test_an_upstream_requirement_behind_a_green_latest_screening_is_taken_as_red() -> None:
    item = {"screening": {"lane": "green"}, "inspection_required": True}
    documentary = Record(1, Kind.EVENT, Status.PENDING, "e1", "inspection", "documentary")
    assert inspection_block(item, [documentary]) == "an xray or physical inspection"


def test_repeated_event_ids_replay_and_reused_ids_conflict(
    node: Node, upstream: FakeUpstream
) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    first, created = node.service.record(mrn, crossing(1, at="2026-03-01T08:00:00+00:00"))
    again, created_again = node.service.record(mrn, crossing(1, at="2026-03-01T08:00:00+00:00"))
    assert created and not created_again
    assert {k: v for k, v in again.items() if k != "sync"} == {
        k: v for k, v in first.items() if k != "sync"
    }
    with pytest.raises(Conflict, match="already used"):
        node.service.record(mrn, crossing(1, direction="exit"))


def test_events_the_node_refuses_at_the_desk(node: Node, upstream: FakeUpstream) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    with pytest.raises(NotExpectedHere):
        node.service.record("26AZ99999999999999", crossing(1))
    with pytest.raises(InvalidInput, match="makes an entry"):
        node.service.record(mrn, crossing(1, direction="exit"))
    with pytest.raises(InvalidInput, match="records at AM000101 only"):
        node.service.record(mrn, crossing(1, office="AM000102"))
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidInput, match="future"):
        node.service.record(mrn, crossing(1, at=future))
    with pytest.raises(InvalidInput, match="before the movement's release"):
        node.service.record(mrn, crossing(1, at=(T0 - timedelta(days=1)).isoformat()))
    with pytest.raises(InvalidInput, match="border-post node records"):
        node.service.record(mrn, {"id": "c", "type": "cancel", "reason": "x", "at": T0.isoformat()})
    enquiry = {**inspection(9, "physical"), "outcome": "findings", "findings": "x",
               "follow_up": "enquiry"}  # fmt: skip
    assert node.service.record(mrn, enquiry)[0]["state"] == "under_enquiry"
    with pytest.raises(IllegalTransition):
        node.service.record(mrn, crossing(1))


def test_a_store_of_another_office_is_refused(tmp_path: Path, upstream: FakeUpstream) -> None:
    open_node(tmp_path / "node.db", upstream).close()
    other = PostSettings("AM000102", "http://u.test", Secret(TOKEN), tmp_path / "node.db")
    with pytest.raises(NodeMisconfigured, match="store of office AM000101"):
        wire(other)


# --- screening at the node -----------------------------------------------------------------


def test_the_engine_decides_as_upstream_when_the_item_has_its_subject() -> None:
    upstream_subject = Subject(
        mrn="26AZ00000000000042", country="AM", office=OFFICE, holder="AZ-CARRIER-0001",
        mode=TransportMode.ROAD, gross_mass_kg=Decimal("1000"), hs_codes=("930190", "870323"),
        history=HolderHistory(10, 1, 0, 0), alerts=frozenset({"route_deviation"}),
        trusted_trader=True,
    )  # fmt: skip
    item = expected_item(upstream_subject.mrn, 1, subject=subject_json(upstream_subject))
    ruleset = default_ruleset("AM")
    decision, basis = decide(item, ruleset, office=OFFICE, country="AM")
    # The upstream writes the vehicle class it screened with ("truck" for a road default).
    same = replace(upstream_subject, vehicle_class=upstream_subject.vehicle)
    assert subject_of(item, office=OFFICE, country="AM") == same
    assert basis is Basis.ENGINE and decision == screen(upstream_subject, ruleset)
    assert decision.lane is Lane.RED and decision.reasons[0].rule == "arms"


def test_without_the_holders_record_the_node_adopts_the_precomputed_decision() -> None:
    item = expected_item("26AZ00000000000043", 1, lane="yellow",
                         reasons=[_reason("dual-use", "hs_prefix", None, points=30)])  # fmt: skip
    decision, basis = decide(item, default_ruleset("AM"), office=OFFICE, country="AM")
    assert basis is Basis.PRE_ARRIVAL and decision == precomputed(item)
    assert (decision.lane, decision.score) == (Lane.YELLOW, 30)
    assert decision.draw == random_draw(item["mrn"], "AM", 1)


def test_a_repeated_screening_id_replays(node: Node, upstream: FakeUpstream) -> None:
    [mrn] = upstream.add(1)
    node.syncer.round()
    first, created = node.service.screen(Target(mrn=mrn), "s-1")
    again, created_again = node.service.screen(Target(mrn=mrn), "s-1")
    assert created and not created_again and again["at"] == first["at"]
    with pytest.raises(Conflict):
        node.service.screen(Target(vehicle_id="nope"), "s-1")
    with pytest.raises(NotExpectedHere, match="for nope"):
        node.service.screen(Target(vehicle_id="nope"), None)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.ACCEPTED), (201, Outcome.ACCEPTED), (401, Outcome.REFUSED),
     (403, Outcome.REFUSED), (404, Outcome.CONFLICT), (409, Outcome.CONFLICT),
     (422, Outcome.CONFLICT), (500, Outcome.RETRY)],
)  # fmt: skip
def test_classify(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


# --- the node's HTTP API -------------------------------------------------------------------


def test_the_http_api_speaks_the_upstream_paths(node: Node, upstream: FakeUpstream) -> None:
    mrns = upstream.add(3)
    node.syncer.round()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(node, run_sync=False)) as http:
        r = http.get(f"/api/v1/offices/{OFFICE}/expected?limit=2")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        r = http.get(f"/api/v1/offices/{OFFICE}/expected?limit=2", headers=auth)
        assert [i["mrn"] for i in r.json()["items"]] == mrns[:2] and r.json()["next_cursor"]
        assert http.get("/api/v1/offices/AM000102/expected", headers=auth).status_code == 404
        body = {"vehicle_id": upstream.items[mrns[0]]["vehicle_id"], "id": "scan-1"}
        r = http.post(f"/api/v1/offices/{OFFICE}/screenings", json=body, headers=auth)
        assert r.status_code == 201 and r.json()["mrn"] == mrns[0]
        r = http.post(f"/api/v1/offices/{OFFICE}/screenings", json=body, headers=auth)
        assert r.status_code == 200
        r = http.post(f"/api/v1/movements/{mrns[0]}/events", json=crossing(1), headers=auth)
        assert r.status_code == 201 and r.json()["sync"] == {"status": "pending"}
        bad = {**crossing(2), "direction": "sideways"}
        r = http.post(f"/api/v1/movements/{mrns[1]}/events", json=bad, headers=auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "direction"
        assert http.post("/api/v1/post/sync", headers=auth).status_code == 202
        status = http.get("/api/v1/post/status", headers=auth).json()
        assert status["pending"] == {"events": 1, "screenings": 1} and status["expected"] == 3
        assert http.get("/api/v1/post/conflicts", headers=auth).json() == {"items": []}
        assert http.get("/healthz").status_code == 200


def _reason(rule: str, kind: str, lane: str | None, points: int = 0) -> dict[str, Any]:
    return {"rule": rule, "kind": kind, "points": points, "lane": lane, "detail": rule}


def test_a_file_that_is_no_store_is_refused(tmp_path: Path, upstream: FakeUpstream) -> None:
    path = tmp_path / "node.db"
    path.write_bytes(b"not a database, just bytes " * 100)
    with pytest.raises(NodeMisconfigured, match="not a usable node store"):
        open_node(path, upstream)


def test_a_full_disk_refuses_the_write_and_keeps_the_store(tmp_path: Path) -> None:
    """The node's own store full (SQLITE_FULL, here from a page cap) is StoreFull, as on
    the server: the officer's write is refused whole and what was recorded stays."""
    from sqlalchemy import event, text

    from tripp.errors import StoreFull
    from tripp.post.store import NodeStore

    store = NodeStore.open(tmp_path / "node.db", "AM000101")
    with store.read() as tx:
        pages = tx.conn.execute(text("PRAGMA page_count")).scalar_one()
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 2}")

    written = 0
    with pytest.raises(StoreFull):
        for i in range(10_000):
            with store.write() as tx:
                tx.set_meta(f"k{i}", "x" * 2000)
            written += 1
    assert written > 0
    with store.read() as tx:
        assert tx.conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        assert tx.get_meta("k0") == "x" * 2000 and tx.get_meta(f"k{written}") is None
    store.close()
