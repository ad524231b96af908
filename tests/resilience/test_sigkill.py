"""SIGKILL the server in the middle of each kind of write, then restart it on the same store.

For declarations, events, position batches and fee payments alike: every request answered
with success before the kill is found whole after the restart; nothing half-written remains
(SQLite's integrity check, the guarantee and ledger invariants, the audit chain); and the
client's retries of everything it sent, answered or not, are idempotent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from tests.conftest import Tokens
from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tests.resilience.conftest import Report
from tripp.bootstrap import Wiring, utc_now
from tripp.db.tables import events, guarantees, latest_positions, movement_offices, movements
from tripp.db.tables import positions as positions_table
from tripp.fees import store as ledger
from tripp.signing import store as key_store
from tripp.signing.keyring import Keyring

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

THREADS = 4


@dataclass(frozen=True)
class Call:
    """One request a client would retry until it hears an answer."""

    method: str
    path: str
    token: str
    body: Any
    key: str  # what identifies the record it writes


@dataclass
class Stream:
    """Workers sending calls until the server dies; what was acknowledged, what was not."""

    url: str
    calls: list[Call]
    ok: frozenset[int]
    acknowledged: list[Call] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)  # by call key, when acknowledged
    refused: list[tuple[Call, int]] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self) -> Call | None:
        with self._lock:
            if self._next >= len(self.calls):
                return None
            self._next += 1
            return self.calls[self._next - 1]

    def _work(self) -> None:
        with httpx.Client(base_url=self.url + "/api/v1", timeout=10) as http:
            while (call := self._take()) is not None:
                headers = {"Authorization": f"Bearer {call.token}"}
                try:
                    r = http.request(call.method, call.path, headers=headers, json=call.body)
                except httpx.HTTPError:
                    return  # the server died under us: this call's fate is unknown
                if r.status_code in self.ok:
                    self.answers[call.key] = r.json()
                    self.acknowledged.append(call)
                else:
                    self.refused.append((call, r.status_code))

    def run_until_killed(self, server: LiveServer, after: int) -> None:
        workers = [threading.Thread(target=self._work) for _ in range(THREADS)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while len(self.acknowledged) < after and time.monotonic() < deadline:
            time.sleep(0.005)
        server.kill()
        for w in workers:
            w.join(15)
        assert len(self.acknowledged) >= after, "the stream was too slow to exercise the crash"
        assert self._next < len(self.calls), "every call was answered before the kill"
        assert not self.refused, self.refused[:3]

    @property
    def sent(self) -> int:
        return self._next


@pytest.fixture
def server(wiring: Wiring, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    # Customs of departure and the operator hold keys: releases are signed, dossiers export.
    keys = tmp_path / "keys"
    for party in ("AZ-CUSTOMS", "CORRIDOR-OPERATOR"):
        with wiring.engine.begin() as conn:
            key_store.publish(conn, Keyring(keys).create(party), utc_now())
    s = LiveServer(database_url, tmp_path / "server.log", {"TRIPP_KEYS_DIR": str(keys)})
    s.start()
    yield s
    s.stop()


class Client:
    """Set-up calls that must succeed, before the crash."""

    def __init__(self, server: LiveServer, tokens: Tokens) -> None:
        self.http = httpx.Client(base_url=server.url + "/api/v1", timeout=10)
        self.tokens = tokens

    def __call__(self, method: str, path: str, token: str, body: Any = None) -> Any:
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, json=body)
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json()

    def guarantee(self) -> str:
        body = {"holder": "AZ-CARRIER-0001", "reference_amount": "999999999.00",
                "currency": "USD"}  # fmt: skip
        return str(self("POST", "/guarantees", self.tokens.az_customs, body)["grn"])

    def movements(self, wiring: Wiring, n: int) -> list[str]:
        body = declaration_body(road_itinerary(wiring.corridor), self.guarantee())
        return [self("POST", "/movements", self.tokens.carrier, body)["mrn"] for _ in range(n)]


@pytest.fixture
def client(server: LiveServer, tokens: Tokens) -> Iterator[Client]:
    c = Client(server, tokens)
    yield c
    c.http.close()


def after_restart(server: LiveServer, check: Callable[[httpx.Client], None]) -> None:
    server.start()  # migrations and recovery run again on the same store
    with httpx.Client(base_url=server.url + "/api/v1", timeout=10) as http:
        check(http)


def resend(server: LiveServer, calls: list[Call], allowed: frozenset[int]) -> dict[int, int]:
    """Every call again, as a client that never heard its answer would: count the answers."""
    answers: dict[int, int] = {}
    with httpx.Client(base_url=server.url + "/api/v1", timeout=10) as http:
        for call in calls:
            headers = {"Authorization": f"Bearer {call.token}"}
            r = http.request(call.method, call.path, headers=headers, json=call.body)
            assert r.status_code in allowed, (call.key, r.status_code, r.text)
            answers[r.status_code] = answers.get(r.status_code, 0) + 1
    return answers


def tripp(database_url: str, keys: Path, *args: str) -> str:
    """The command an auditor runs, against the store; its output."""
    env = {**os.environ, "TRIPP_DATABASE_URL": database_url, "TRIPP_KEYS_DIR": str(keys)}
    done = subprocess.run(
        [sys.executable, "-m", "tripp", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def store_is_sound(wiring: Wiring, database_url: str) -> None:
    """SQLite's page check, and the audit chain verified by ``tripp audit verify``."""
    with wiring.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    tripp(database_url, Path("."), "audit", "verify")


def test_declarations(
    wiring: Wiring,
    database_url: str,
    tokens: Tokens,
    server: LiveServer,
    client: Client,
    report: Report,
) -> None:
    grn = client.guarantee()
    body = declaration_body(road_itinerary(wiring.corridor), grn)
    calls = [Call("POST", "/movements", tokens.carrier, body, f"decl-{i}") for i in range(5_000)]
    stream = Stream(server.url, calls, frozenset({201}))
    stream.run_until_killed(server, after=40)
    answered = [stream.answers[c.key]["mrn"] for c in stream.acknowledged]

    def check(http: httpx.Client) -> None:
        auth = {"Authorization": f"Bearer {tokens.carrier}"}
        for mrn in answered:
            m = http.get(f"/movements/{mrn}", headers=auth).json()
            assert m["state"] == "accepted" and len(m["goods"]) == 1, m
            assert m["offices_of_transit"] == body["offices_of_transit"]

    after_restart(server, check)
    with wiring.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(movements)).scalar() or 0
    assert stored >= len(answered)
    with wiring.engine.connect() as conn:
        offices_per = len(body["offices_of_transit"]) + 2
        incomplete = conn.execute(
            select(movements.c.mrn)
            .outerjoin(movement_offices, movement_offices.c.mrn == movements.c.mrn)
            .group_by(movements.c.mrn)
            .having(func.count(movement_offices.c.mrn) != offices_per)
        ).all()
        assert incomplete == []
        liabilities = conn.execute(select(func.sum(movements.c.liability_minor))).scalar()
        committed = conn.execute(
            select(guarantees.c.committed_minor).where(guarantees.c.grn == grn)
        ).scalar()
        assert committed == liabilities and committed
    store_is_sound(wiring, database_url)
    report.did(f"{THREADS} clients lodged declarations; SIGKILL; restart on the same store")
    report.counted(
        sent=stream.sent,
        acknowledged_201=len(answered),
        found_after_restart=len(answered),
        in_store=stored,
        half_written=len(incomplete),
        guarantee_balanced=committed == liabilities,
    )


def test_events(
    wiring: Wiring,
    database_url: str,
    tokens: Tokens,
    server: LiveServer,
    client: Client,
    report: Report,
) -> None:
    it = road_itinerary(wiring.corridor)
    mrns = client.movements(wiring, 150)
    at = datetime.now(UTC).isoformat()
    calls = [
        Call(
            "POST",
            f"/movements/{mrn}/events",
            tokens.az_customs,
            {
                "id": f"rel-{mrn}",
                "type": "release",
                "office": it.office_of_departure,
                "at": at,
                "seals": [f"S-{mrn}"],
            },
            mrn,
        )
        for mrn in mrns
    ]
    stream = Stream(server.url, calls, frozenset({201}))
    stream.run_until_killed(server, after=30)

    def check(http: httpx.Client) -> None:
        auth = {"Authorization": f"Bearer {tokens.az_customs}"}
        for call in stream.acknowledged:
            m = http.get(f"/movements/{call.key}", headers=auth).json()
            assert m["state"] == "released" and m["seals"] == [f"S-{call.key}"], m
            timeline = http.get(f"/movements/{call.key}/events", headers=auth).json()
            assert [e["id"] for e in timeline["items"]].count(f"rel-{call.key}") == 1

    after_restart(server, check)
    # The client retries everything: what was recorded answers 200, the rest is recorded now.
    answers = resend(server, calls, frozenset({200, 201}))
    assert answers.get(200, 0) >= len(stream.acknowledged)
    with wiring.engine.connect() as conn:
        released = conn.execute(
            select(func.count()).select_from(events).where(events.c.type == "release")
        ).scalar()
        unsigned = conn.execute(
            select(func.count()).select_from(events).where(events.c.signature.is_(None))
        ).scalar()
        half = conn.execute(
            select(func.count()).select_from(movements)
            .outerjoin(events, events.c.mrn == movements.c.mrn)
            .where(movements.c.state == "released", events.c.seq.is_(None))
        ).scalar()  # fmt: skip
    assert released == len(mrns) and half == 0 and unsigned == 0
    store_is_sound(wiring, database_url)
    # A movement released just before the kill exports as a dossier that verifies offline.
    keys = Path(server.extra_env["TRIPP_KEYS_DIR"])
    dossier, public = keys.parent / "dossier.json", keys.parent / "public.json"
    tripp(database_url, keys, "dossier", "export", stream.acknowledged[-1].key,
          "--out", str(dossier))  # fmt: skip
    tripp(database_url, keys, "keys", "export", "--out", str(public))
    tripp(database_url, keys, "dossier", "verify", str(dossier), "--keys", str(public))
    report.did(f"{THREADS} customs clients released movements; SIGKILL; restart; resend all")
    report.counted(
        sent=stream.sent,
        acknowledged_201=len(stream.acknowledged),
        found_after_restart=len(stream.acknowledged),
        resend_200=answers.get(200, 0),
        resend_201=answers.get(201, 0),
        release_events_in_store=released,
        unsigned_events=unsigned,
        dossier_verified=True,
    )


T0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
DEVICES = 20
BATCH = 100


def test_position_batches(
    wiring: Wiring,
    database_url: str,
    tokens: Tokens,
    server: LiveServer,
    client: Client,
    report: Report,
) -> None:
    for d in range(DEVICES):
        client("POST", "/devices", tokens.operator, {"id": f"TRK-{d:03d}", "kind": "tracker"})

    def batch(b: int) -> list[dict[str, Any]]:
        return [
            {
                "device_id": f"TRK-{(b * BATCH + i) % DEVICES:03d}",
                "time": (T0 + timedelta(seconds=b * BATCH + i)).isoformat(),
                "lat": 38.9 + i / 10_000,
                "lon": 46.2,
                "speed_kmh": 40,
            }
            for i in range(BATCH)
        ]

    calls = [Call("POST", "/positions", tokens.operator, batch(b), str(b)) for b in range(400)]
    stream = Stream(server.url, calls, frozenset({202}))
    stream.run_until_killed(server, after=25)
    acked = {(p["device_id"], p["time"]) for c in stream.acknowledged for p in c.body}

    with wiring.engine.connect() as conn:
        stored = {
            (r.device_id, r.time.astimezone(UTC).isoformat())
            for r in conn.execute(select(positions_table.c.device_id, positions_table.c.time))
        }
    lost = acked - stored
    assert not lost, f"{len(lost)} acknowledged positions lost, e.g. {sorted(lost)[:3]}"

    after_restart(server, lambda http: None)
    answers = resend(server, calls, frozenset({202}))
    with wiring.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(positions_table)).scalar()
        newest = dict(
            conn.execute(
                select(positions_table.c.device_id, func.max(positions_table.c.time)).group_by(
                    positions_table.c.device_id
                )
            ).all()
        )
        latest = dict(
            conn.execute(select(latest_positions.c.device_id, latest_positions.c.time)).all()
        )
    assert total == len(calls) * BATCH  # every fix once: retries added no duplicates
    assert latest == newest  # the latest-position table agrees with the history
    store_is_sound(wiring, database_url)
    report.did(f"{THREADS} gateways posted batches of {BATCH} fixes; SIGKILL; restart; resend")
    report.counted(
        batches_sent=stream.sent,
        batches_acknowledged_202=len(stream.acknowledged),
        positions_acknowledged=len(acked),
        found_after_restart=len(acked & stored),
        positions_after_resend=total,
        resend_answers=answers,
    )


def test_fee_payments(
    wiring: Wiring,
    database_url: str,
    tokens: Tokens,
    server: LiveServer,
    client: Client,
    report: Report,
) -> None:
    mrns = client.movements(wiring, 120)
    calls = []
    for mrn in mrns:
        fee = client("GET", f"/movements/{mrn}/fee", tokens.operator)
        body = {"method": "external", "reference": f"PAY-{mrn}", "amount": fee["amount"],
                "currency": fee["currency"]}  # fmt: skip
        calls.append(Call("POST", f"/movements/{mrn}/fee/payments", tokens.operator, body, mrn))
    stream = Stream(server.url, calls, frozenset({201}))
    stream.run_until_killed(server, after=25)
    receipts: dict[str, str] = {}

    def check(http: httpx.Client) -> None:
        auth = {"Authorization": f"Bearer {tokens.operator}"}
        for call in stream.acknowledged:
            fee = http.get(f"/movements/{call.key}/fee", headers=auth).json()
            assert fee["status"] == "settled", fee
            assert fee["receipt"] == stream.answers[call.key]["receipt"]
            receipts[call.key] = fee["receipt"]["number"]

    after_restart(server, check)
    answers = resend(server, calls, frozenset({200, 201}))
    assert answers.get(200, 0) >= len(stream.acknowledged)
    with wiring.engine.connect() as conn:
        balances = ledger.balances(conn)
        sums = ledger.posting_sums(conn)
    assert balances == {k: v for k, v in sums.items() if v or k in balances}
    per_currency: dict[str, int] = {}
    for (_, currency), value in balances.items():
        per_currency[currency] = per_currency.get(currency, 0) + value
    assert all(v == 0 for v in per_currency.values()), per_currency  # double entry holds
    store_is_sound(wiring, database_url)
    report.did(f"{THREADS} front-office clients paid fees; SIGKILL; restart; resend all")
    report.counted(
        sent=stream.sent,
        acknowledged_201=len(stream.acknowledged),
        settled_after_restart=len(receipts),
        resend_200=answers.get(200, 0),
        resend_201=answers.get(201, 0),
        ledger_balanced=True,
    )
