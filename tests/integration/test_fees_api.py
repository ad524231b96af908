"""Transit fees over the API, with the fee gate on: crossing, paying, refunds, reports,
schedules, and the ledger's invariants under concurrent payments on a real database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.conftest import mint_tokens
from tests.integration.conftest import Api, uid
from tripp.api.app import create_app
from tripp.bootstrap import Wiring, wire
from tripp.config import Settings
from tripp.errors import NotFound
from tripp.fees import store
from tripp.fees.defaults import default_schedule_dict
from tripp.parties.model import Actor, Role

ENTRY = "AM000101"


@pytest.fixture
def fee_wiring(database_url: str) -> Iterator[Wiring]:
    w = wire(Settings(database_url=database_url, fees_enforced=True))
    w.upgrade()
    yield w
    w.engine.dispose()


@pytest.fixture
def fees(fee_wiring: Wiring) -> Iterator[Api]:
    tokens = mint_tokens(fee_wiring)
    app = create_app(fee_wiring, run_jobs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tokens, fee_wiring.corridor)


def _released(api: Api) -> str:
    r = api.lodge(api.guarantee("1000000.00")["grn"])
    assert r.status_code == 201, r.text
    mrn = str(r.json()["mrn"])
    r = api.event(mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure)
    assert r.status_code == 201, r.text
    return mrn


def _cross(api: Api, mrn: str) -> Any:
    return api.event(mrn, api.tokens.am_customs, "border_crossing", ENTRY, direction="entry")


def _fee(api: Api, mrn: str, token: str) -> dict[str, Any]:
    r = api.call("GET", f"/movements/{mrn}/fee", token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_an_unpaid_fee_stops_the_crossing_until_it_is_paid(fees: Api) -> None:
    t = fees.tokens
    mrn = _released(fees)
    r = _cross(fees, mrn)
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"].endswith("fee-unpaid") and "AMD" in problem["detail"]
    fee = _fee(fees, mrn, t.operator)
    assert fee["status"] == "due" and fee["currency"] == "AMD" and fee["authority"] == "AM-CUSTOMS"
    # The lines say why: the truck, its container; 12 t is within the free mass band.
    kinds = {line["kind"] for line in fee["assessment"]["lines"]}
    assert {"vehicle", "teu"} <= kinds
    body = {"method": "external", "reference": "CARD-0001", "amount": fee["amount"],
            "currency": "AMD"}  # fmt: skip
    short = {**body, "reference": "CARD-0000", "amount": "100.00"}
    r = fees.call("POST", f"/movements/{mrn}/fee/payments", t.operator, json=short)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount"
    r = fees.call("POST", f"/movements/{mrn}/fee/payments", t.operator, json=body)
    assert r.status_code == 201, r.text
    paid = r.json()
    assert paid["status"] == "settled" and paid["receipt"]["number"].startswith("TF-")
    again = fees.call("POST", f"/movements/{mrn}/fee/payments", t.operator, json=body)
    assert again.status_code == 200 and again.json()["receipt"] == paid["receipt"]
    assert _cross(fees, mrn).status_code == 201


def test_prepaid_accounts_pay_and_refunds_go_back(fees: Api) -> None:
    t = fees.tokens
    mrn = _released(fees)
    amount = _fee(fees, mrn, t.carrier)["amount"]
    path = f"/movements/{mrn}/fee/payments"
    r = fees.call("POST", path, t.carrier, json={"method": "prepaid", "reference": "p-1"})
    assert r.status_code == 422 and r.json()["errors"][0]["rule"]  # nothing prepaid yet
    top = {"amount": "50000.00", "currency": "AMD", "reference": "BANK-77"}
    r = fees.call("POST", "/fees/accounts/AZ-CARRIER-0001/top-ups", t.carrier, json=top)
    assert r.status_code == 403  # staff record money received, not the carrier
    r = fees.call("POST", "/fees/accounts/AZ-CARRIER-0001/top-ups", t.operator, json=top)
    assert r.status_code == 201 and r.json()["available"] == "50000.00"
    r = fees.call("POST", path, t.carrier, json={"method": "prepaid", "reference": "p-1"})
    assert r.status_code == 201 and r.json()["receipt"]["method"] == "prepaid"
    left = Decimal("50000.00") - Decimal(amount)
    account = fees.call("GET", "/fees/accounts/AZ-CARRIER-0001", t.carrier).json()
    assert Decimal(account["available"]) == left
    # A movement cannot be cancelled once released; a fee paid before release can: lodge
    # another, pay it, cancel it, and the money comes back to the prepaid account.
    r = fees.lodge(fees.guarantee()["grn"])
    other = r.json()["mrn"]
    r = fees.call("POST", f"/movements/{other}/fee/payments", t.carrier,
                  json={"method": "prepaid", "reference": "p-2"})  # fmt: skip
    assert r.status_code == 201, r.text
    r = fees.event(other, t.carrier, "cancel", None, reason="contract fell through")
    assert r.status_code == 201, r.text
    assert _fee(fees, other, t.carrier)["status"] == "refunded"
    account = fees.call("GET", "/fees/accounts/AZ-CARRIER-0001", t.carrier).json()
    assert Decimal(account["available"]) == left


def test_who_may_do_what_with_fees(fees: Api) -> None:
    t = fees.tokens
    mrn = _released(fees)
    external = {"method": "external", "reference": "X-1", "amount": "1.00", "currency": "AMD"}
    path = f"/movements/{mrn}/fee/payments"
    assert fees.call("POST", path, t.carrier, json=external).status_code == 403
    assert fees.call("POST", path, t.am_customs, json=external).status_code == 403
    assert fees.call("GET", f"/movements/{mrn}/fee", t.other_carrier).status_code == 404
    assert fees.call("GET", f"/movements/{mrn}/fee", t.observer).status_code == 403
    assert fees.call("GET", "/fees/accounts/AZ-CARRIER-0001", t.other_carrier).status_code == 404
    r = fees.call("GET", "/fees/reconciliation?day=2026-01-01", t.observer)
    assert r.status_code == 403


def test_daily_reconciliation_balances_per_party(fees: Api) -> None:
    t = fees.tokens
    mrn = _released(fees)
    amount = _fee(fees, mrn, t.operator)["amount"]
    fees.call("POST", f"/movements/{mrn}/fee/payments", t.operator,
              json={"method": "external", "reference": "CASH-9", "amount": amount,
                    "currency": "AMD"})  # fmt: skip
    # The day is the authority's (the schedules' timezone), not the server's.
    day = datetime.now(ZoneInfo("Asia/Yerevan")).date().isoformat()
    r = fees.call("GET", f"/fees/reconciliation?day={day}", t.operator)
    assert r.status_code == 200, r.text
    reports = {x["party"]: x for x in r.json()["reports"]}
    assert {"AZ-CARRIER-0001", "AM-CUSTOMS", "CORRIDOR-OPERATOR"} <= set(reports)
    assert all(x["ok"] for x in reports.values())
    mine = fees.call("GET", f"/fees/reconciliation?day={day}&format=csv", t.carrier)
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(mine.text)))
    assert rows and all("AM-CUSTOMS" not in ",".join(row) for row in rows[1:])


def test_only_the_authority_publishes_schedules(fees: Api) -> None:
    t = fees.tokens
    body = default_schedule_dict()
    future = {**body["schedules"][0], "id": "AM-TRIPP-2", "effective_from": "2099-01-01"}
    first = {**body["schedules"][0], "effective_to": "2098-12-31"}
    new = {**body, "schedules": [first, future]}
    assert fees.call("PUT", "/fees/schedules", t.az_customs, json=new).status_code == 403
    assert fees.call("PUT", "/fees/schedules", t.operator, json=new).status_code == 403
    r = fees.call("PUT", "/fees/schedules", t.am_customs, json=new)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    dearer = [{**first["lines"][0], "amount": "90000.00"}, *first["lines"][1:]]
    rewrite = {**body, "schedules": [{**first, "lines": dearer}, future]}
    r = fees.call("PUT", "/fees/schedules", t.am_customs, json=rewrite)
    assert r.status_code == 409  # a version in force is history
    listed = fees.call("GET", "/fees/schedules", t.carrier).json()
    assert [s["id"] for s in listed["schedules"]] == ["AM-TRIPP-1", "AM-TRIPP-2"]


def _invariants(w: Wiring) -> None:
    with w.engine.connect() as conn:
        balances = store.balances(conn)
        sums = store.posting_sums(conn)
    # Every balance is the sum of its postings, and no posting is missing from a balance.
    for key in balances.keys() | sums.keys():
        assert balances.get(key, 0) == sums.get(key, 0), key
    by_currency: dict[str, int] = {}
    for (account, currency), value in balances.items():
        by_currency[currency] = by_currency.get(currency, 0) + value
        if account.startswith("carrier:") and account.endswith(":prepaid"):
            assert value <= 0, f"{account} overdrawn: {value}"
    assert all(v == 0 for v in by_currency.values()), by_currency


def test_concurrent_payments_refunds_and_cancellations_lose_no_money(
    fees: Api, fee_wiring: Wiring
) -> None:
    """Real concurrent connections (threads, each its own unit of work): payments racing
    for one prepaid account, retries of one reference, cancellations and top-ups."""
    desk = fees.http.app.state.fee_desk  # type: ignore[attr-defined]
    staff = Actor("CORRIDOR-OPERATOR", Role.OPERATOR, "AZ")
    carrier = Actor("AZ-CARRIER-0001", Role.CARRIER, "AZ")
    grn = fees.guarantee("100000000.00")["grn"]
    mrns = [fees.lodge(grn).json()["mrn"] for _ in range(12)]
    amount = Decimal(desk.fee(carrier, mrns[0])["amount"])
    # Enough for 7 of the 12 fees: the rest must be refused, never overdrawn.
    desk.top_up(staff, "AZ-CARRIER-0001", amount * 7, "AMD", "BANK-1")

    def pay(i: int) -> str:
        try:
            desk.pay(carrier, mrns[i % 12], method="prepaid", reference=f"pay-{i % 12}")
            return "paid"
        except Exception as exc:  # the refusals are the point: count them
            return type(exc).__name__

    def cancel(i: int) -> int:
        return fees.event(mrns[i], fees.tokens.carrier, "cancel", None,
                          reason="test", id=uid()).status_code  # fmt: skip

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(pay, range(24)))  # every fee twice: a retry each
        cancelled = list(pool.map(cancel, range(0, 12, 3)))
        pool.map(lambda k: desk.top_up(staff, "AZ-CARRIER-0001", amount, "AMD", f"T-{k}"),
                 range(3))  # fmt: skip
    assert "paid" in outcomes and all(c == 201 for c in cancelled)

    def status(mrn: str) -> str:
        try:
            return str(desk.fee(carrier, mrn)["status"])
        except NotFound:  # cancelled before anyone needed its fee: none was ever due
            return "none"

    statuses = [status(m) for m in mrns]
    settled = statuses.count("settled") + statuses.count("refunded")
    assert settled <= 7 + 3
    _invariants(fee_wiring)
    held = Decimal(desk.account(carrier, "AZ-CARRIER-0001", "AMD")["available"])
    paid_now = statuses.count("settled")
    assert held == amount * 7 + amount * 3 - amount * paid_now


def test_no_other_authority_can_switch_the_fee_off(fees: Api) -> None:
    """A second authority's schedule would make the fee ambiguous: only the corridor's fee
    authorities publish, each for its own country."""
    t = fees.tokens
    body = default_schedule_dict()
    theirs = {**body["schedules"][0], "id": "AZ-1", "authority": "AZ-CUSTOMS", "country": "AZ"}
    r = fees.call("PUT", "/fees/schedules", t.az_customs,
                  json={**body, "schedules": [*body["schedules"], theirs]})  # fmt: skip
    assert r.status_code == 403
    mrn = _released(fees)
    assert _cross(fees, mrn).status_code == 409  # still due


def test_a_cancelled_movement_owes_nothing(fees: Api) -> None:
    mrn = fees.lodge(fees.guarantee()["grn"]).json()["mrn"]
    assert fees.event(mrn, fees.tokens.carrier, "cancel", None, reason="r").status_code == 201
    assert fees.call("GET", f"/movements/{mrn}/fee", fees.tokens.carrier).status_code == 404
    r = fees.call("POST", f"/movements/{mrn}/fee/payments", fees.tokens.carrier,
                  json={"method": "prepaid", "reference": "k"})  # fmt: skip
    assert r.status_code == 404


def test_references_do_not_cross_parties(fees: Api) -> None:
    t = fees.tokens
    for carrier in ("AZ-CARRIER-0001", "AZ-CARRIER-0002"):
        r = fees.call("POST", f"/fees/accounts/{carrier}/top-ups", t.operator,
                      json={"amount": "90000.00", "currency": "AMD", "reference": f"B-{carrier}"})  # fmt: skip
        assert r.status_code == 201
    reused = fees.call("POST", "/fees/accounts/AZ-CARRIER-0002/top-ups", t.operator,
                       json={"amount": "1.00", "currency": "AMD",
                             "reference": "B-AZ-CARRIER-0001"})  # fmt: skip
    assert reused.status_code == 409
    mine = _released(fees)
    grn = fees.guarantee(holder="AZ-CARRIER-0002")["grn"]
    theirs = fees.lodge(grn, token=t.other_carrier, holder="AZ-CARRIER-0002").json()["mrn"]
    pay = {"method": "prepaid", "reference": "PAY-1"}
    assert (
        fees.call("POST", f"/movements/{mine}/fee/payments", t.carrier, json=pay).status_code == 201
    )
    r = fees.call("POST", f"/movements/{theirs}/fee/payments", t.other_carrier, json=pay)
    assert r.status_code == 201  # the same key, another carrier's fee: no clash, no leak


def test_an_announced_bus_pays_before_its_travellers_are_admitted(fees: Api) -> None:
    t = fees.tokens
    person = {"document_type": "P", "document_number": "C01X00T47", "issuing_state": "AZE",
              "nationality": "AZE", "surname": "MAMMADOV", "given_names": "ELCHIN",
              "birth_date": "1980-05-14", "sex": "M", "expiry": "2035-01-01"}  # fmt: skip
    body = {"id": "bus:77", "vehicle_id": "10-BUS-77", "vehicle_class": "bus",
            "office": ENTRY, "travellers": [person]}  # fmt: skip
    r = fees.call("POST", "/vehicles", t.carrier, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["fee"]["status"] == "due"
    traveller = r.json()["travellers"][0]["id"]
    fee = fees.call("GET", "/vehicles/bus:77/fee", t.operator).json()
    assert fee["currency"] == "AMD" and Decimal(fee["amount"]) > 0
    admit = {"outcome": "admitted"}
    r = fees.call("POST", f"/travellers/{traveller}/decision", t.am_customs, json=admit)
    assert r.status_code == 409 and r.json()["type"].endswith("fee-unpaid")
    pay = {"method": "external", "reference": "TILL-5", "amount": fee["amount"],
           "currency": "AMD"}  # fmt: skip
    r = fees.call("POST", "/vehicles/bus:77/fee/payments", t.operator, json=pay)
    assert r.status_code == 201 and r.json()["receipt"]["number"].startswith("TF-")
    r = fees.call("POST", f"/travellers/{traveller}/decision", t.am_customs, json=admit)
    assert r.status_code == 200, r.text
    assert fees.call("GET", "/vehicles/bus:77/fee", t.other_carrier).status_code == 404
