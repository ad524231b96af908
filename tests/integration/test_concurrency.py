"""50 concurrent declarations against a guarantee that covers 10, through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tokens
from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tripp.bootstrap import Wiring

pytestmark = pytest.mark.slow


@pytest.fixture
def server(wiring: Wiring, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(database_url, tmp_path / "server.log")
    live.start()
    yield live
    live.stop()


def test_guarantee_is_never_over_committed(
    server: LiveServer, tokens: Tokens, wiring: Wiring
) -> None:
    with httpx.Client(base_url=server.url + "/api/v1", timeout=60) as http:
        itinerary = road_itinerary(wiring.corridor)
        customs = {"Authorization": f"Bearer {tokens.az_customs}"}
        carrier = {"Authorization": f"Bearer {tokens.carrier}"}
        probe = http.post(
            "/guarantees",
            headers=customs,
            json={"holder": "AZ-CARRIER-0001", "reference_amount": "1000000.00", "currency": "USD"},
        ).json()
        one = http.post(
            "/movements", headers=carrier, json=declaration_body(itinerary, probe["grn"])
        )
        liability = Decimal(one.json()["liability"]["amount"])
        g = http.post(
            "/guarantees",
            headers=customs,
            json={
                "holder": "AZ-CARRIER-0001",
                "reference_amount": str(liability * 10),
                "currency": "USD",
            },
        ).json()
        body = declaration_body(itinerary, g["grn"])

        def lodge(_: int) -> int:
            with httpx.Client(base_url=server.url + "/api/v1", timeout=60) as own:
                return own.post("/movements", headers=carrier, json=body).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(lodge, range(50)))
        assert codes.count(201) == 10 and codes.count(422) == 40, codes
        after = http.get(f"/guarantees/{g['grn']}", headers=carrier).json()
        assert Decimal(after["committed"]) == liability * 10
        assert after["available"] == "0.00"
