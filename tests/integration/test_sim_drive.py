"""``tripp sim drive`` against a real server process: traffic arrives, alerts are raised."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import mint_tokens
from tests.integration.live import LiveServer
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.sim.drive import DriveConfig, DriveStats, run_drive
from tripp.sim.drive_cli import drive
from tripp.sim.traffic import TrafficConfig

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'tripp.db'}"
    w = wire(Settings(database_url=url))
    w.upgrade()
    t = mint_tokens(w)
    w.engine.dispose()
    tokens = {"SYSTEM": t.admin, "AZ-CUSTOMS": t.az_customs, "AM-CUSTOMS": t.am_customs,
              "CORRIDOR-OPERATOR": t.operator, "WORKING-GROUP": t.observer,
              "AZ-CARRIER-0001": t.carrier}  # fmt: skip
    # The fee gate on, as in production and the demo: the driver pays at the front office.
    live = LiveServer(url, tmp_path / "server.log", env={"TRIPP_FEES_ENFORCED": "1"})
    live.start()
    yield live, tokens
    live.stop()


def _get(live: LiveServer, token: str, path: str, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{live.url}/api/v1{path}", headers=headers, params=params, timeout=10)


def test_drive_produces_traffic_positions_and_alerts(
    server: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    live, tokens = server
    traffic = TrafficConfig(seed=21, speedup=600, vehicles_per_day=300)
    seen: list[DriveStats] = []
    stats = run_drive(DriveConfig(url=live.url, tokens=tokens, traffic=traffic, duration_s=25,
                                  run_id="T1"), threading.Event(), seen.append)  # fmt: skip

    assert seen and seen[-1] == stats
    assert stats.server_errors == 0 and stats.network_errors == 0 and stats.gave_up == 0
    assert stats.errors_by_status == {}, stats.recent_refusals
    assert stats.declarations >= 10 and stats.releases >= 10 and stats.positions >= 50
    assert stats.crossings >= 5 and stats.arrivals >= 3 and stats.control_results >= 3
    assert stats.alerts_by_kind.get("seal_opened", 0) >= 1

    operator = tokens["CORRIDOR-OPERATOR"]
    written_off = _get(live, operator, "/movements", state="written_off", limit=500).json()
    assert len(written_off["items"]) >= 1
    mrn = written_off["items"][0]["mrn"]
    track = _get(live, operator, f"/movements/{mrn}/track").json()
    assert track["properties"]["fixes"] >= 2
    alerts = _get(live, operator, "/alerts", limit=500).json()["items"]
    assert {a["kind"] for a in alerts} >= {"seal_opened"}
    events = _get(live, tokens["AM-CUSTOMS"], f"/movements/{mrn}/events").json()
    kinds = [e["type"] for e in (events["items"] if isinstance(events, dict) else events)]
    assert kinds[0] == "release" and kinds[-2:] == ["arrival", "control_result"]
    assert "border_crossing" in kinds

    # The command itself, registered as the sim app will register it.
    app = typer.Typer()
    app.command("drive")(drive)
    app.command("noop")(lambda: None)  # two commands keep "drive" a subcommand
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    result = CliRunner().invoke(app, ["drive", "--url", live.url, "--speedup", "600",
                                      "--minutes", "0.1", "--run-id", "T2", "--seed", "3"],
                                env={"TRIPP_DRIVE_TOKENS": str(path)})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "declarations" in result.output and "summary" in result.output
