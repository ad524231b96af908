"""The live map under driven traffic: `tripp sim drive` runs against a real server, and in
headless Chromium vehicles appear, move without a page reload, and an alert stands out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Console
from tests.conftest import mint_tokens
from tests.integration.live import LiveServer
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.sim.drive import DriveConfig, run_drive
from tripp.sim.traffic import TrafficConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def driven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    where = tmp_path_factory.mktemp("driven")
    url = f"sqlite:///{where / 'tripp.db'}"
    w = wire(Settings(database_url=url))
    w.upgrade()
    t = mint_tokens(w)
    w.engine.dispose()
    server = LiveServer(url, where / "server.log")
    server.start()
    tokens = {"AZ-CARRIER-0001": t.carrier, "AZ-CUSTOMS": t.az_customs,
              "AM-CUSTOMS": t.am_customs, "CORRIDOR-OPERATOR": t.operator, "SYSTEM": t.admin}  # fmt: skip
    stop = threading.Event()
    config = DriveConfig(url=server.url, tokens=tokens,
                         traffic=TrafficConfig(speedup=300, vehicles_per_day=600, seed=7))  # fmt: skip
    driver = threading.Thread(target=run_drive, args=(config, stop), daemon=True)
    driver.start()
    try:
        yield server.url, t.operator
    finally:
        stop.set()
        driver.join(20)
        server.stop()


def _positions(p: Any) -> dict[str, str]:
    return dict(p.eval_on_selector_all(
        "#map .vehicle", "(ms) => ms.map((m) => [m.dataset.mrn, m.getAttribute('transform')])"
    ))  # fmt: skip


def test_driven_vehicles_move_on_the_map_and_alerts_stand_out(
    driven: tuple[str, str], page: tuple[Any, Console], artifacts: Path
) -> None:
    url, operator = driven
    p, console = page
    p.goto(f"{url}/dashboard/#token={operator}")
    p.locator("#live[data-state='live']").wait_for(timeout=30000)
    p.locator("#map .vehicle").first.wait_for(timeout=30000)
    p.evaluate("window.__notReloaded = true")
    first = _positions(p)
    moved: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not moved:
        time.sleep(1)
        now = _positions(p)
        moved = {m for m, where in now.items() if m in first and first[m] != where}
    assert moved, f"no vehicle moved in 30 s among {len(first)}"
    p.locator("#vehicle-list li[data-alert='true']").first.wait_for(timeout=40000)
    p.screenshot(path=str(artifacts / "dashboard-driven-map-1366.png"))
    assert p.evaluate("window.__notReloaded") is True
    assert console.unexpected() == []
