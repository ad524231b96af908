"""`make demo`'s start-up path, headless: `tripp demo` on a fresh SQLite store serves,
drives traffic, and within 60 s positions arrive and an alert is raised; Ctrl-C (SIGINT)
stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.live import free_port

pytestmark = pytest.mark.slow

LINK = re.compile(r"^\s+(\w+)\s+([A-Z0-9-]+)\s+(http://\S+)/dashboard/#token=(\S+)$", re.M)


def test_demo_moves_within_a_minute_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TRIPP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "TRIPP_KEYS_DIR": str(tmp_path / "keys"),
        "TRIPP_OSMAND_PORT": "0",
        "TRIPP_TELTONIKA_PORT": "0",
        "TRIPP_MQTT_URL": "",
        "TRIPP_LOG_LEVEL": "warning",
        "COLUMNS": "400",
    }
    log = (tmp_path / "demo.log").open("w+b")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tripp", "demo", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        tokens: dict[str, str] = {}
        while time.monotonic() - started < 30 and len(tokens) < 6:
            text = (tmp_path / "demo.log").read_text(errors="replace")
            tokens = {m.group(2): m.group(4) for m in LINK.finditer(text)}
            assert proc.poll() is None, text
            time.sleep(0.2)
        assert set(tokens) >= {"CORRIDOR-OPERATOR", "WORKING-GROUP", "AZ-CARRIER-0001"}, text
        operator = {"Authorization": f"Bearer {tokens['CORRIDOR-OPERATOR']}"}
        base = f"http://127.0.0.1:{port}/api/v1"
        positions = alerts = 0
        while time.monotonic() - started < 60 and not (positions and alerts):
            try:
                found = httpx.get(f"{base}/alerts", headers=operator, timeout=5)
                if found.status_code == 200:
                    alerts = len(found.json()["items"])
                moving = httpx.get(f"{base}/dashboard/vehicles", headers=operator, timeout=5)
                if moving.status_code == 200:
                    positions = len(moving.json()["vehicles"])
            except httpx.HTTPError:
                pass  # still starting
            time.sleep(1)
        elapsed = time.monotonic() - started
        assert positions > 0, f"no vehicle positions after {elapsed:.0f} s"
        assert alerts > 0, f"no alert after {elapsed:.0f} s"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    text = (tmp_path / "demo.log").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
