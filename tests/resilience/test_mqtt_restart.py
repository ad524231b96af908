"""Positions over MQTT survive a broker restart and a SIGKILLed server, end to end.

Trackers publish QoS 1 to a private Mosquitto (persistence on) that a real ``tripp serve``
subscribes to with its persistent session. Mid-stream the broker is restarted, then the
server is killed and restarted. Every position the broker acknowledged to a tracker must
end up stored exactly once.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tokens
from tests.integration.live import LiveServer
from tests.integration.mosquitto import Key, PrivateBroker, Publisher, eventually, unavailable
from tests.resilience.conftest import Report
from tripp.bootstrap import Wiring
from tripp.db.tables import positions
from tripp.tracking.mqtt import BrokerAddress

pytestmark = [pytest.mark.slow, pytest.mark.mqtt, pytest.mark.timeout(180)]

DEVICES = 10
T0 = datetime(2026, 2, 1, 8, tzinfo=UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("the mosquitto binary is not installed")
    workdir = tmp_path / "broker"
    workdir.mkdir()
    b = PrivateBroker(binary, workdir)
    b.start()
    yield b
    b.stop()


class Trackers:
    """Ten trackers behind one QoS-1 publisher, sending a fix each 2 ms until stopped."""

    def __init__(self, broker: PrivateBroker) -> None:
        self.publisher = Publisher(BrokerAddress.parse(broker.url), "resilience-trackers")
        self.stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            device = f"MQ-{self.sent % DEVICES:02d}"
            at = T0 + timedelta(seconds=self.sent)
            body = {"time": at.isoformat(), "lat": 38.9, "lon": 46.2 + self.sent / 1e6}
            self.publisher.send(
                f"tripp/positions/{device}", (device, at), json.dumps(body).encode()
            )
            self.sent += 1
            time.sleep(0.002)

    def __enter__(self) -> Trackers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(10)
        try:  # paho resends what the restart cut off; wait for the broker's answers
            self.publisher.wait_all_acked(timeout_s=20)
        finally:
            self.publisher.close()


def stored(wiring: Wiring) -> set[Key]:
    with wiring.engine.connect() as conn:
        rows = conn.execute(select(positions.c.device_id, positions.c.time)).all()
    return {(r.device_id, r.time.astimezone(UTC)) for r in rows}


def test_no_acknowledged_position_is_lost(
    wiring: Wiring,
    database_url: str,
    tokens: Tokens,
    broker: PrivateBroker,
    tmp_path: Path,
    report: Report,
) -> None:
    env = {"TRIPP_MQTT_URL": broker.url, "TRIPP_MQTT_CLIENT_ID": "tripp-resilience"}
    server = LiveServer(database_url, tmp_path / "server.log", env)
    server.start()
    try:
        auth = {"Authorization": f"Bearer {tokens.operator}"}
        for d in range(DEVICES):
            r = httpx.post(server.url + "/api/v1/devices", headers=auth,
                           json={"id": f"MQ-{d:02d}", "kind": "tracker"})  # fmt: skip
            assert r.status_code == 201, r.text
        with Trackers(broker) as trackers:
            time.sleep(1.0)
            before_broker = len(stored(wiring))
            broker.stop()  # SIGTERM: Mosquitto saves its store; trackers buffer and resend
            time.sleep(0.5)
            broker.start()
            time.sleep(1.5)
            before_kill = len(stored(wiring))
            server.kill()  # the broker keeps the server's session and what it had not acked
            time.sleep(1.0)
            server.start()
            time.sleep(1.0)
        acked = trackers.publisher.acked()
        assert eventually(lambda: acked <= stored(wiring), 30), (
            f"lost {len(acked - stored(wiring))} of {len(acked)} acknowledged positions"
        )
    finally:
        server.stop()
    with wiring.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(positions)).scalar()
    assert before_broker > 0 and before_kill > before_broker, "the stream did not flow"
    assert rows == len(acked)  # each once: redeliveries were dropped as duplicates
    report.did(
        f"{DEVICES} trackers published QoS 1 to a private Mosquitto; broker restarted "
        "(SIGTERM); tripp serve SIGKILLed and restarted; trackers kept publishing"
    )
    report.counted(
        published=trackers.sent,
        acknowledged_by_broker=len(acked),
        stored_before_broker_restart=before_broker,
        stored_before_server_kill=before_kill,
        stored_at_end=rows,
        lost=len(acked - stored(wiring)),
    )
