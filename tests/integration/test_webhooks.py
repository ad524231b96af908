"""Webhooks end to end: subscriptions over the API, the outbox written with the alert,
signed POSTs to a real local HTTP receiver, retries with backoff, and party scoping."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.api.app import create_app
from tripp.bootstrap import Wiring
from tripp.db.tables import alerts
from tripp.db.uow import UnitOfWork
from tripp.tracking.views import alert_view
from tripp.webhooks.dispatcher import WebhookDispatcher
from tripp.webhooks.model import Backoff, verify
from tripp.webhooks.service import enqueue_alert
from tripp.webhooks.tables import webhook_deliveries

# --- a real receiver -------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST; answers 500 to the first ``failures`` of them."""

    port: int = 0
    failures: int = 0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def take(self, request: Received) -> int:
        with self.lock:
            self.requests.append(request)
            if self.failures > 0:
                self.failures -= 1
                return 500
            return 204


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.receiver.take(Received(headers, body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recorded = Receiver()
    handler = type("Handler", (_Handler,), {"receiver": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    recorded.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- the app, alerts and the dispatcher -------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)
FAST = Backoff(base_s=2, cap_s=30, floor_s=1, max_attempts=3)


@pytest.fixture
def api(wiring: Wiring, tokens: Tokens) -> Iterator[Api]:
    app = create_app(wiring, run_jobs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tokens, wiring.corridor)


@pytest.fixture
def uow(wiring: Wiring) -> UnitOfWork:
    return wiring.context.uow


@pytest.fixture
def dispatcher(uow: UnitOfWork) -> Iterator[WebhookDispatcher]:
    d = WebhookDispatcher(uow, clock=lambda: datetime.now(UTC), backoff=FAST, rng=random.Random(7))
    yield d
    d.stop()


def subscribe(api: Api, token: str, url: str, kinds: list[str], **extra: Any) -> dict[str, Any]:
    r = api.call("POST", "/webhooks", token, json={"url": url, "kinds": kinds, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def raise_alert(
    uow: UnitOfWork, mrn: str, kind: str = "speeding", country: str | None = "AZ"
) -> tuple[int, int]:
    """Open an alert and queue its webhooks in one transaction: (alert id, queued)."""
    row = {
        "mrn": mrn, "kind": kind, "device_id": None, "raised_at": NOW, "lon": 45.5, "lat": 39.2,
        "country": country, "details": {"speed_kmh": 112}, "recorded_at": NOW,
    }  # fmt: skip
    with uow.write() as conn:
        alert_id = int(conn.execute(insert(alerts).returning(alerts.c.id), [row]).scalar_one())
        view = alert_view(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one())
        return alert_id, enqueue_alert(conn, view, "raised", NOW)


def log_of(api: Api, token: str, webhook_id: int) -> list[dict[str, Any]]:
    r = api.call("GET", f"/webhooks/{webhook_id}/deliveries", token)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def movement(api: Api) -> str:
    """A released movement of AZ-CARRIER-0001, from AZ to AZ through AM."""
    return api.released(api.guarantee()["grn"])


# --- delivery, signature, scoping -------------------------------------------------


def test_a_visible_alert_is_delivered_signed_to_each_entitled_subscriber(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    t = api.tokens
    mine = subscribe(api, t.carrier, receiver.url("/carrier"), ["speeding", "overdue"])
    az = subscribe(api, t.az_customs, receiver.url("/az"), ["speeding"])
    # Not entitled: another carrier's movement; an alert in AZ on a movement that does not
    # start or end in AM; a kind not subscribed to.
    other = subscribe(api, t.other_carrier, receiver.url("/other"), ["speeding"])
    subscribe(api, t.am_customs, receiver.url("/am"), ["speeding"])
    subscribe(api, t.operator, receiver.url("/operator"), ["seal_opened"])
    mrn = movement(api)

    alert_id, queued = raise_alert(uow, mrn)
    assert queued == 2
    assert dispatcher.deliver_due(NOW) == 2
    assert dispatcher.deliver_due(NOW) == 0  # nothing twice

    by_delivery = {r.headers["x-tripp-delivery"]: r for r in receiver.requests}
    assert len(by_delivery) == 2
    for hook in (mine, az):
        [entry] = log_of(api, t.carrier if hook is mine else t.az_customs, hook["id"])
        assert entry["status"] == "delivered" and entry["attempts"] == 1
        assert entry["last_status_code"] == 204 and entry["alert_id"] == alert_id
        got = by_delivery[str(entry["id"])]
        assert verify(
            hook["secret"], got.body, timestamp=got.headers["x-tripp-timestamp"],
            signature_header=got.headers["x-tripp-signature"], now=time.time(),
        )  # fmt: skip
        assert not verify(
            other["secret"], got.body, timestamp=got.headers["x-tripp-timestamp"],
            signature_header=got.headers["x-tripp-signature"],
        )  # fmt: skip
        assert got.headers["content-type"] == "application/json"
    payload = receiver.requests[0].body.decode()
    assert f'"id":{alert_id}' in payload and '"type":"alert.raised"' in payload
    assert f'"mrn":"{mrn}"' in payload
    assert log_of(api, t.other_carrier, other["id"]) == []


def test_an_alert_in_a_country_reaches_that_countrys_customs(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    am = subscribe(api, api.tokens.am_customs, receiver.url(), ["route_deviation"])
    _, queued = raise_alert(uow, movement(api), "route_deviation", country="AM")
    assert queued == 1
    assert dispatcher.deliver_due(NOW) == 1
    assert log_of(api, api.tokens.am_customs, am["id"])[0]["status"] == "delivered"


def test_a_rolled_back_alert_leaves_no_delivery(
    api: Api, uow: UnitOfWork, receiver: Receiver
) -> None:
    subscribe(api, api.tokens.operator, receiver.url(), ["speeding"])
    mrn = movement(api)
    with pytest.raises(RuntimeError), uow.write() as conn:
        row = {"mrn": mrn, "kind": "speeding", "raised_at": NOW, "details": {}, "recorded_at": NOW}
        alert_id = conn.execute(insert(alerts).returning(alerts.c.id), [row]).scalar_one()
        view = alert_view(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one())
        assert enqueue_alert(conn, view, "raised", NOW) == 1
        raise RuntimeError("the alert's transaction fails after queueing")
    with uow.read() as conn:
        assert conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar() == 0


# --- retries and the log ----------------------------------------------------------


def test_retries_with_backoff_then_success(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    hook = subscribe(api, api.tokens.operator, receiver.url(), ["speeding"])
    raise_alert(uow, movement(api))
    receiver.failures = 2

    assert dispatcher.deliver_due(NOW) == 1
    [entry] = log_of(api, api.tokens.operator, hook["id"])
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("pending", 1, 500)
    assert entry["last_error"] == "HTTP 500"
    wait = datetime.fromisoformat(entry["next_attempt_at"]) - NOW
    assert timedelta(seconds=1) <= wait <= timedelta(seconds=2)  # attempt 1: up to base_s
    assert dispatcher.deliver_due(NOW + wait - timedelta(milliseconds=1)) == 0  # not yet due

    later = NOW + wait
    assert dispatcher.deliver_due(later) == 1
    [entry] = log_of(api, api.tokens.operator, hook["id"])
    assert (entry["status"], entry["attempts"]) == ("pending", 2)
    wait = datetime.fromisoformat(entry["next_attempt_at"]) - later
    assert timedelta(seconds=1) <= wait <= timedelta(seconds=4)  # attempt 2: up to 2 * base_s

    assert dispatcher.deliver_due(later + wait) == 1
    [entry] = log_of(api, api.tokens.operator, hook["id"])
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("delivered", 3, 204)
    assert entry["last_error"] is None and entry["next_attempt_at"] is None
    # Every retry carries the same delivery id and the same body.
    assert len({r.headers["x-tripp-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3


def test_max_attempts_then_failed(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    hook = subscribe(api, api.tokens.operator, receiver.url(), ["speeding"])
    raise_alert(uow, movement(api))
    receiver.failures = 100
    at = NOW
    for _ in range(FAST.max_attempts):
        assert dispatcher.deliver_due(at) == 1
        at += timedelta(seconds=FAST.cap_s)
    [entry] = log_of(api, api.tokens.operator, hook["id"])
    assert (entry["status"], entry["attempts"]) == ("failed", FAST.max_attempts)
    assert entry["next_attempt_at"] is None
    assert dispatcher.deliver_due(at + timedelta(days=1)) == 0
    assert len(receiver.requests) == FAST.max_attempts


def test_an_unreachable_receiver_is_logged_without_details(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: connections refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook?token=s3cr3t"
    hook = subscribe(api, api.tokens.operator, url, ["speeding"])
    raise_alert(uow, movement(api))
    assert dispatcher.deliver_due(NOW) == 1
    [entry] = log_of(api, api.tokens.operator, hook["id"])
    assert entry["status"] == "pending" and entry["attempts"] == 1
    assert entry["last_status_code"] is None and entry["last_error"] == "ConnectError"


def test_several_dispatchers_send_each_delivery_once(
    api: Api, uow: UnitOfWork, receiver: Receiver
) -> None:
    for token in (api.tokens.operator, api.tokens.admin, api.tokens.carrier):
        subscribe(api, token, receiver.url(), ["speeding", "overdue"])
    mrn = movement(api)
    for kind in ("speeding", "overdue"):
        for _ in range(5):
            raise_alert(uow, mrn, kind)
            with uow.write() as conn:  # clear it so the next one may open
                conn.execute(
                    alerts.update().where(alerts.c.cleared_at.is_(None)).values(cleared_at=NOW)
                )
    dispatchers = [
        WebhookDispatcher(uow, clock=lambda: NOW, backoff=FAST, batch=3, rng=random.Random(i))
        for i in range(3)
    ]

    def drain(d: WebhookDispatcher) -> None:
        while d.deliver_due(NOW):
            pass

    threads = [threading.Thread(target=drain, args=(d,)) for d in dispatchers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    for d in dispatchers:
        d.stop()
    ids = [r.headers["x-tripp-delivery"] for r in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30


# --- the API: roles, ownership, deletion ------------------------------------------


def test_roles_and_ownership(api: Api, receiver: Receiver) -> None:
    t = api.tokens
    r = api.call(
        "POST", "/webhooks", t.observer, json={"url": receiver.url(), "kinds": ["speeding"]}
    )
    assert r.status_code == 403
    assert api.call("GET", "/webhooks", t.observer).status_code == 403
    assert api.call("GET", "/webhooks", None).status_code == 401

    mine = subscribe(api, t.carrier, receiver.url(), ["speeding", "speeding", "overdue"])
    assert mine["kinds"] == ["speeding", "overdue"]
    assert mine["secret"].startswith("whsec_")
    chosen = subscribe(api, t.admin, receiver.url(), ["overdue"], secret="a-secret-of-my-own!")
    assert chosen["secret"] == "a-secret-of-my-own!"

    listed = api.call("GET", "/webhooks", t.carrier).json()["items"]
    assert [w["id"] for w in listed] == [mine["id"]]
    assert "secret" not in listed[0]  # shown once, at creation
    assert api.call("GET", "/webhooks", t.other_carrier).json()["items"] == []

    for token in (t.other_carrier, t.admin):  # another party's id, even the admin's
        assert api.call("DELETE", f"/webhooks/{mine['id']}", token).status_code == 404
        assert api.call("GET", f"/webhooks/{mine['id']}/deliveries", token).status_code == 404
    assert api.call("DELETE", "/webhooks/999999", t.carrier).status_code == 404
    assert api.call("DELETE", f"/webhooks/{mine['id']}", t.observer).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/h", "kinds": ["speeding"]}, "url"),
        ({"url": "https://u:p@example.com/h", "kinds": ["speeding"]}, "url"),
        ({"url": "https://example.com/" + "a" * 2000, "kinds": ["speeding"]}, "url"),
        ({"url": "https://example.com/h", "kinds": ["napping"]}, "kinds[0]"),
        ({"url": "https://example.com/h", "kinds": []}, "kinds"),
        (
            {"url": "https://example.com/h", "kinds": ["speeding"], "secret": "tiny-s3cr3t"},
            "secret",
        ),
        ({"url": "https://example.com/h", "kinds": ["speeding"], "extra": 1}, "extra"),
    ],
)
def test_invalid_subscriptions_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    r = api.call("POST", "/webhooks", api.tokens.carrier, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert "tiny-s3cr3t" not in r.text  # a refused secret is not quoted back


def test_deleting_stops_deliveries(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    hook = subscribe(api, api.tokens.carrier, receiver.url(), ["speeding", "overdue"])
    mrn = movement(api)
    raise_alert(uow, mrn, "speeding")  # queued, not yet sent
    assert api.call("DELETE", f"/webhooks/{hook['id']}", api.tokens.carrier).status_code == 204
    assert api.call("DELETE", f"/webhooks/{hook['id']}", api.tokens.carrier).status_code == 404
    assert (
        api.call("GET", f"/webhooks/{hook['id']}/deliveries", api.tokens.carrier).status_code == 404
    )
    assert raise_alert(uow, mrn, "overdue")[1] == 0  # nothing new is queued
    assert dispatcher.deliver_due(NOW + timedelta(days=1)) == 0
    assert receiver.requests == []
    with uow.read() as conn:
        [status] = conn.execute(select(webhook_deliveries.c.status)).scalars().all()
    assert status == "failed"


def test_the_delivery_log_is_paged(
    api: Api, uow: UnitOfWork, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    hook = subscribe(
        api, api.tokens.operator, receiver.url(), ["speeding", "overdue", "seal_opened"]
    )
    mrn = movement(api)
    for kind in ("speeding", "overdue", "seal_opened"):
        raise_alert(uow, mrn, kind)
    path = f"/webhooks/{hook['id']}/deliveries"
    first = api.call("GET", path, api.tokens.operator, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.call(
        "GET", path, api.tokens.operator, params={"cursor": first["next_cursor"]}
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert [d["status"] for d in first["items"] + rest["items"]] == ["pending"] * 3
    bad = api.call("GET", path, api.tokens.operator, params={"cursor": "nonsense"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


# --- the running dispatcher and the tracking pipeline -----------------------------


def test_the_dispatcher_thread_delivers_alerts_raised_by_positions(
    api: Api, wiring: Wiring, receiver: Receiver
) -> None:
    hook = subscribe(api, api.tokens.carrier, receiver.url(), ["seal_opened"])
    assert api.call("POST", "/devices", api.tokens.az_customs,
                    json={"id": "TRK-W", "kind": "tracker"}).status_code == 201  # fmt: skip
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    r = api.event(mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure,
                  seals=["S1"], tracker_id="TRK-W")  # fmt: skip
    assert r.status_code == 201, r.text
    dispatcher = WebhookDispatcher(
        wiring.context.uow, clock=lambda: datetime.now(UTC), backoff=FAST, poll_ms=50
    )
    dispatcher.start()
    try:
        fix = {"device_id": "TRK-W", "time": datetime.now(UTC).isoformat(), "lat": 40.38,
               "lon": 49.85, "speed_kmh": 0.0, "seal": "open"}  # fmt: skip
        assert api.call("POST", "/positions", api.tokens.operator, json=[fix]).status_code == 202
        dispatcher.notify()
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        dispatcher.stop()
    [got] = receiver.requests
    assert b'"kind":"seal_opened"' in got.body and mrn.encode() in got.body
    [entry] = log_of(api, api.tokens.carrier, hook["id"])
    assert entry["status"] == "delivered"
