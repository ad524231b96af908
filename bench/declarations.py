"""Declarations per second through the service layer and the HTTP API, on SQLite and
PostgreSQL, each beside raw-driver baselines measured in the same run.

Baselines (same rows, same driver, no tripp code):
- ``raw executemany``: every declaration's rows (movement, offices, guarantee debit)
  inserted with executemany in ONE transaction; the issue's baseline, a ceiling.
- ``raw per-declaration``: the same rows, one transaction per declaration, as tripp
  must do (each declaration is acknowledged only once it is durable).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Engine

from tripp.bootstrap import Wiring, utc_now
from tripp.codes.mrn import new_mrn
from tripp.corridor.model import Itinerary, TransportMode
from tripp.guarantees import service as guarantees
from tripp.movements.codec import declaration_to_json
from tripp.movements.examples import example_declaration
from tripp.movements.lodging import Lodged, LodgeRequest, lodge_batch
from tripp.movements.schemas import DeclarationIn
from tripp.movements.views import movement_view
from tripp.parties import service as parties
from tripp.parties.model import Actor, Party, Role

HOLDER = "BENCH-CARRIER-1"


@dataclass
class Result:
    store: str
    path: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def itinerary(w: Wiring) -> Itinerary:
    for it in w.corridor.itineraries:
        if it.mode is TransportMode.ROAD and it.offices_of_transit:
            return it
    raise LookupError("the corridor has no road itinerary")


def declaration_json(it: Itinerary, grn: str) -> dict[str, Any]:
    return example_declaration(it, grn, HOLDER)


def setup_parties(w: Wiring) -> tuple[str, str]:
    """The bench carrier, a guarantee big enough for every run, and a carrier token."""
    uow = w.context.uow
    parties.add_party(uow, Party(HOLDER, Role.CARRIER, "AZ", "bench"), utc_now())
    customs = Actor("AZ-CUSTOMS", Role.CUSTOMS, "AZ")
    g = guarantees.register(
        uow,
        w.corridor,
        customs,
        holder=HOLDER,
        reference_amount=Decimal(10**12),
        currency="USD",
        now=utc_now(),
    )
    token, _ = parties.create_token(
        uow, party_id=HOLDER, role=Role.CARRIER, label="bench", now=utc_now()
    )
    return g.grn, token


def service_layer(
    w: Wiring, body: dict[str, Any], n: int, batch: int, tick: Callable[[], None]
) -> float:
    """``n`` declarations through the service layer, ``batch`` per unit of work.

    ``batch=1`` is one transaction per declaration; larger batches are what the
    HTTP layer's group commit does under load.
    """
    ctx = w.context
    actor = Actor(HOLDER, Role.CARRIER, "AZ")
    render = partial(movement_view, commercial=True)
    start = time.perf_counter()
    for _ in range(n // batch):
        requests = [
            LodgeRequest(actor, DeclarationIn.model_validate(body).to_domain(), None, "")
            for _ in range(batch)
        ]
        outcomes = lodge_batch(ctx, requests, render=render)
        if not all(isinstance(o, Lodged) for o in outcomes):
            raise RuntimeError(f"a declaration was refused: {outcomes}")
        for _ in range(batch):
            tick()
    return time.perf_counter() - start


def raw_rows(
    w: Wiring, body: dict[str, Any], grn: str, n: int
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    decl = DeclarationIn.model_validate(body).to_domain()
    doc = json.dumps(declaration_to_json(decl))
    now = datetime.now(UTC)
    rows = []
    for _ in range(n):
        mrn = new_mrn(year=now.year, country="AZ")
        movement = {
            "mrn": mrn,
            "holder": HOLDER,
            "grn": grn,
            "state": "accepted",
            "decl": doc,
            "liab": 1200000,
            "cur": "USD",
            "at": now,
            "seals": "[]",
        }
        offices = [
            {"mrn": mrn, "pos": i, "code": code, "country": code[:2], "role": role.value}
            for i, (_, role, code) in enumerate(decl.offices())
        ]
        rows.append((movement, offices))
    return rows


def _sql(dialect: str) -> tuple[str, str, str]:
    p = (lambda name: f"%({name})s") if dialect == "postgresql" else (lambda name: f":{name}")
    at = p("at")
    movement = (
        "INSERT INTO movements (mrn, holder, guarantee_grn, state, declaration, liability_minor, "
        f"liability_currency, accepted_at, updated_at, seals) VALUES ({p('mrn')}, {p('holder')}, "
        f"{p('grn')}, {p('state')}, {p('decl')}, {p('liab')}, {p('cur')}, {at}, {at}, {p('seals')})"
    )
    office = (
        "INSERT INTO movement_offices (mrn, position, office_code, country, role) VALUES "
        f"({p('mrn')}, {p('pos')}, {p('code')}, {p('country')}, {p('role')})"
    )
    debit = f"UPDATE guarantees SET committed_minor = committed_minor + {p('liab')} WHERE grn = {p('grn')}"
    return movement, office, debit


def raw_baseline(engine: Engine, rows: list[Any], *, per_declaration: bool) -> float:
    """Plain driver calls: the same rows tripp writes, with none of its logic."""
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    assert dbapi is not None
    movement_sql, office_sql, debit_sql = _sql(engine.dialect.name)
    is_sqlite = engine.dialect.name == "sqlite"
    if is_sqlite:
        for m, _ in rows:
            m["at"] = m["at"].replace(tzinfo=None).isoformat(sep=" ")
    cursor = dbapi.cursor()
    start = time.perf_counter()
    if per_declaration:
        for m, offices in rows:
            if is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(movement_sql, m)
            cursor.executemany(office_sql, offices)
            cursor.execute(debit_sql, m)
            dbapi.commit()
    else:
        if is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(movement_sql, [m for m, _ in rows])
        cursor.executemany(office_sql, [o for _, offices in rows for o in offices])
        cursor.executemany(debit_sql, [m for m, _ in rows])
        dbapi.commit()
    elapsed = time.perf_counter() - start
    raw.close()
    return elapsed


def http_load(
    url: str, token: str, body: dict[str, Any], n: int, clients: int, tick: Callable[[], None]
) -> float:
    """``clients`` keep-alive connections posting declarations as fast as answers come back."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    per_client = n // clients
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        for _ in range(per_client):
            conn.request("POST", "/api/v1/movements", body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 201:
                failures.append(f"{response.status}: {data[:200]!r}")
            tick()
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} declarations failed, e.g. {failures[0]}")
    return elapsed
