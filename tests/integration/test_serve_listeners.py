"""`tripp serve` is a complete installation: the API, the OsmAnd and Teltonika listeners
and the MQTT subscriber in one process, all feeding the same store."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest

from tests.conftest import IN_CI, Tokens
from tests.integration.live import LiveServer, free_port
from tripp.bootstrap import Wiring
from tripp.tracking.teltonika import AvlPacket, AvlRecord, encode_imei, encode_packet

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]
MQTT_URL = os.environ.get("TRIPP_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
IMEI = "356307042441013"


def _broker() -> tuple[str, int]:
    host, port = MQTT_URL.removeprefix("mqtt://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        message = f"MQTT broker not reachable at {MQTT_URL}: {exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return host, int(port)


@pytest.fixture
def server(wiring: Wiring, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    _broker()
    ports = {"osmand": free_port(), "teltonika": free_port()}
    live = LiveServer(database_url, tmp_path / "server.log", env={
        "TRIPP_OSMAND_PORT": str(ports["osmand"]), "TRIPP_TELTONIKA_PORT": str(ports["teltonika"]),
        "TRIPP_TRACKING_HOST": "127.0.0.1", "TRIPP_MQTT_URL": MQTT_URL,
        "TRIPP_MQTT_CLIENT_ID": f"tripp-test-{os.getpid()}-{time.monotonic_ns()}",
        "TRIPP_MQTT_GROUP": f"g{time.monotonic_ns()}",
    })  # fmt: skip
    live.ports = ports  # type: ignore[attr-defined]
    live.start()
    yield live
    live.stop()


def test_every_channel_reaches_the_store(server: LiveServer, tokens: Tokens) -> None:
    with httpx.Client(
        base_url=server.url + "/api/v1",
        headers={"Authorization": f"Bearer {tokens.operator}"},
        timeout=10,
    ) as api:
        for device, imei in (("PHONE-1", None), ("FMB-1", IMEI), ("MQTT-1", None)):
            body = {"id": device, "kind": "tracker", **({"imei": imei} if imei else {})}
            assert api.post("/devices", json=body).status_code == 201
        now = datetime.now(UTC).replace(microsecond=0)
        # OsmAnd, as Traccar Client sends it (speed in knots).
        r = httpx.get(
            f"http://127.0.0.1:{server.ports['osmand']}/",  # type: ignore[attr-defined]
            params={
                "id": "PHONE-1",
                "lat": "38.91",
                "lon": "46.30",
                "timestamp": str(int(now.timestamp())),
                "speed": "10",
            },
        )
        assert r.status_code == 200
        unknown = httpx.get(
            f"http://127.0.0.1:{server.ports['osmand']}/",  # type: ignore[attr-defined]
            params={"id": "NOBODY", "lat": "38.91", "lon": "46.30"},
        )
        assert unknown.status_code == 404
        # Teltonika: handshake, one record, acknowledged with its count once stored.
        record = AvlRecord(
            timestamp=now,
            priority=0,
            lon_e7=463000000,
            lat_e7=389100000,
            altitude_m=600,
            angle_deg=90,
            satellites=9,
            speed_kmh=40,
            event_io=0,
            io={},
            io_width={},
        )
        with socket.create_connection(("127.0.0.1", server.ports["teltonika"]), timeout=10) as s:  # type: ignore[attr-defined]
            s.sendall(encode_imei(IMEI))
            assert s.recv(1) == b"\x01"
            s.sendall(encode_packet(AvlPacket(codec=0x08, records=[record])))
            assert s.recv(4) == (1).to_bytes(4, "big")
        # MQTT, QoS 1.
        host, port = _broker()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{time.monotonic_ns()}"
        )
        client.connect(host, port)
        client.loop_start()
        info = client.publish(
            "tripp/positions/MQTT-1",
            qos=1,
            payload=(f'{{"time": "{now.isoformat()}", "lat": 38.91, "lon": 46.30}}'),
        )
        info.wait_for_publish(10)
        client.loop_stop()
        client.disconnect()
        deadline = time.monotonic() + 15
        seen: dict[str, object] = {}
        while time.monotonic() < deadline and len(seen) < 3:
            for device in ("PHONE-1", "FMB-1", "MQTT-1"):
                latest = api.get(f"/devices/{device}").json()["latest_position"]
                if latest:
                    seen[device] = latest
            time.sleep(0.2)
        assert set(seen) == {"PHONE-1", "FMB-1", "MQTT-1"}, server.log.read_text()[-2000:]
        assert seen["PHONE-1"]["speed_kmh"] == pytest.approx(18.52)  # type: ignore[index]
        assert datetime.fromisoformat(seen["FMB-1"]["time"]) == now  # type: ignore[index]
        assert datetime.fromisoformat(seen["MQTT-1"]["time"]) == now  # type: ignore[index]
