"""The MQTT subscriber against a real Mosquitto.

Most tests use the shared broker at TRIPP_TEST_MQTT_URL (default
mqtt://127.0.0.1:1883) with a topic root, client ids and groups unique to this
run, and short session expiries so nothing lingers there. The restart test starts
a private broker on a free port, because the shared one must never be stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.mosquitto import (
    Authority,
    Key,
    PrivateBroker,
    Publisher,
    eventually,
    reachable,
    unavailable,
)
from tripp.errors import StoreUnavailable
from tripp.tracking.model import Fix, IngestResult
from tripp.tracking.mqtt import BrokerAddress, MqttSubscriber

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(60)]

MQTT_URL = os.environ.get("TRIPP_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
RUN = secrets.token_hex(4)
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------


def position(device: str, i: int) -> tuple[Key, bytes]:
    """The i-th fix of ``device``: its key and its payload; lat encodes i."""
    at = T0 + timedelta(seconds=i)
    payload = {"time": at.isoformat(), "lat": 40 + i / 10_000, "lon": 49.8, "speed_kmh": 60}
    return (device, at), json.dumps(payload).encode()


class MemorySink:
    """Stores fixes by (device, time), as the real store does; remembers each call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stored: dict[Key, Fix] = {}
        self.calls: list[list[Fix]] = []

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        with self._lock:
            self.calls.append(list(fixes))
            fresh = {
                (f.device_id, f.time): f for f in fixes if (f.device_id, f.time) not in self.stored
            }
            self.stored.update(fresh)
            return IngestResult(accepted=len(fresh), duplicates=len(fixes) - len(fresh))

    def keys(self) -> set[Key]:
        with self._lock:
            return set(self.stored)

    def total_fixes(self) -> int:
        with self._lock:
            return sum(len(call) for call in self.calls)


class FailingOnceSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.refused: list[Fix] = []

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        if not self.refused:
            self.refused = list(fixes)
            raise StoreUnavailable("database restarting")
        return super().ingest(fixes)


class Lab:
    """Unique names for one test, and cleanup of what it starts."""

    def __init__(self, url: str, name: str, ca_file: Path | None = None) -> None:
        self.url = url
        self.address = BrokerAddress.parse(url)
        self.ca_file = ca_file  # trusted by both ends for an mqtts:// broker
        self.tag = f"{RUN}-{name}-{secrets.token_hex(2)}"
        self.root = f"tripp-test/{self.tag}/positions"
        self._subscribers: list[MqttSubscriber] = []
        self._publishers: list[Publisher] = []

    def subscriber(
        self, sink: MemorySink, name: str, *, ready: bool = True, **options: Any
    ) -> MqttSubscriber:
        options.setdefault("ca_file", str(self.ca_file) if self.ca_file else None)
        subscriber = MqttSubscriber(
            self.url,
            sink,
            f"tripp-test-{self.tag}-{name}",
            topic_root=self.root,
            batch_max_wait_ms=20,
            session_expiry_s=30,  # leaves nothing behind on the shared broker for long
            reconnect_min_s=0.1,
            reconnect_max_s=0.5,
            **options,
        )
        self._subscribers.append(subscriber)
        subscriber.start()
        if ready:
            assert subscriber.wait_ready(5), f"{name} did not subscribe"
        return subscriber

    def publisher(self) -> Publisher:
        publisher = Publisher(
            self.address, f"tripp-test-{self.tag}-pub-{len(self._publishers)}", self.ca_file
        )
        self._publishers.append(publisher)
        return publisher

    def publish_positions(self, publisher: Publisher, devices: int, per_device: int) -> set[Key]:
        keys = set()
        for i in range(per_device):
            for d in range(devices):
                key, payload = position(f"DEV-{d}", i)
                publisher.send(f"{self.root}/DEV-{d}", key, payload)
                keys.add(key)
        return keys

    def close(self) -> None:
        for subscriber in self._subscribers:
            subscriber.stop()
        for publisher in self._publishers:
            publisher.close()


@pytest.fixture(scope="module")
def shared_broker_url() -> str:
    address = BrokerAddress.parse(MQTT_URL)
    if not reachable(address):
        unavailable(f"MQTT broker is not reachable at {address}")
    return MQTT_URL


@pytest.fixture
def lab(shared_broker_url: str, request: pytest.FixtureRequest) -> Iterator[Lab]:
    lab = Lab(shared_broker_url, request.node.name.removeprefix("test_")[:20])
    yield lab
    lab.close()


# --- through the shared broker ------------------------------------------------------


def test_every_message_reaches_the_sink_in_batches(lab: Lab) -> None:
    sink = MemorySink()
    subscriber = lab.subscriber(sink, "w")
    publisher = lab.publisher()
    sent = lab.publish_positions(publisher, devices=10, per_device=20)
    publisher.wait_all_acked()

    assert eventually(lambda: sink.keys() == sent), f"stored {len(sink.keys())} of 200"
    for (device, at), fix in sink.stored.items():
        assert fix.lat == 40 + (at - T0).total_seconds() / 10_000, device
    counters = subscriber.counters
    assert counters.received >= 200 and counters.ingested >= 200
    assert counters.rejected == 0 and counters.sink_failures == 0
    assert max(len(call) for call in sink.calls) > 1, "messages were not batched"


def test_a_failed_ingest_is_redelivered_then_stored(lab: Lab) -> None:
    sink = FailingOnceSink()
    subscriber = lab.subscriber(sink, "w")
    publisher = lab.publisher()
    sent = lab.publish_positions(publisher, devices=1, per_device=5)

    assert eventually(lambda: sink.keys() == sent)
    refused = {(f.device_id, f.time) for f in sink.refused}
    assert refused and refused <= sink.keys()
    counters = subscriber.counters
    assert counters.sink_failures == 1
    assert counters.reconnects >= 1  # reconnecting is what makes the broker redeliver
    assert counters.received >= len(sent) + len(refused)


def test_poison_messages_are_acknowledged_and_counted(lab: Lab) -> None:
    sink = MemorySink()
    subscriber = lab.subscriber(sink, "w")
    publisher = lab.publisher()
    publisher.send(f"{lab.root}/DEV-1", None, b"{not json")
    publisher.send(f"{lab.root}/DEV-1", None, json.dumps({"time": T0.isoformat()}).encode())
    good = lab.publish_positions(publisher, devices=1, per_device=1)
    assert eventually(lambda: sink.keys() == good and subscriber.counters.rejected == 2)
    subscriber.stop()

    # The same session again: nothing comes back, so everything was acknowledged.
    again = lab.subscriber(sink, "w")
    marker, payload = position("DEV-MARK", 0)
    publisher.send(f"{lab.root}/DEV-MARK", marker, payload)
    assert eventually(lambda: marker in sink.stored)
    assert (again.counters.received, again.counters.rejected) == (1, 0)


def test_messages_published_while_the_worker_is_down_arrive_on_return(lab: Lab) -> None:
    sink = MemorySink()
    lab.subscriber(sink, "w").stop()
    publisher = lab.publisher()
    sent = lab.publish_positions(publisher, devices=2, per_device=10)
    publisher.wait_all_acked()
    assert not sink.keys()

    lab.subscriber(sink, "w")
    assert eventually(lambda: sink.keys() == sent)


def test_a_shared_group_gets_each_message_once_in_total(lab: Lab) -> None:
    sinks = [MemorySink(), MemorySink()]
    group = f"g-{lab.tag}"
    for n, sink in enumerate(sinks):
        lab.subscriber(sink, f"w{n}", shared_group=group)
    publisher = lab.publisher()
    sent = lab.publish_positions(publisher, devices=10, per_device=20)
    publisher.wait_all_acked()

    assert eventually(lambda: sinks[0].keys() | sinks[1].keys() == sent)
    time.sleep(0.3)  # room for a stray second delivery to show up
    assert sinks[0].total_fixes() + sinks[1].total_fixes() == len(sent)
    assert not sinks[0].keys() & sinks[1].keys()
    assert all(sink.keys() for sink in sinks), "one member got nothing: not shared"


# --- a private broker that we restart ------------------------------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("the mosquitto binary is not installed")
    broker = PrivateBroker(binary, tmp_path)
    broker.start()
    yield broker
    broker.stop()


class SlowSink(MemorySink):
    """Slower than the publisher, so a backlog waits in the broker when it stops."""

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        time.sleep(0.1)
        return super().ingest(fixes)


def publish_until(stop: threading.Event, publisher: Publisher, root: str) -> None:
    i = 0
    while not stop.is_set():
        key, payload = position("DEV-R", i)
        publisher.send(f"{root}/DEV-R", key, payload)
        i += 1
        time.sleep(0.003)


def test_nothing_acknowledged_to_the_publisher_is_lost_across_a_broker_restart(
    private_broker: PrivateBroker,
) -> None:
    lab = Lab(private_broker.url, "restart")
    sink = SlowSink()
    stop = threading.Event()
    try:
        # Batches of 10 every 0.1 s: at most 100 fixes/s drain, against ~300/s published.
        subscriber = lab.subscriber(sink, "w", batch_max_messages=10)
        publisher = lab.publisher()
        publishing = threading.Thread(target=publish_until, args=(stop, publisher, lab.root))
        publishing.start()
        time.sleep(0.5)
        backlog = len(publisher.acked() - sink.keys())
        private_broker.stop()
        time.sleep(0.3)
        private_broker.start()
        time.sleep(0.7)
        stop.set()
        publishing.join(5)

        publisher.wait_all_acked(timeout_s=10)  # paho resends what the restart cut off
        acked = publisher.acked()
        assert backlog > 20, "the broker held no backlog when it stopped"
        assert eventually(lambda: acked <= sink.keys(), 20), (
            f"lost {len(acked - sink.keys())} of {len(acked)}"
        )
        assert subscriber.counters.reconnects >= 1
    finally:
        stop.set()
        lab.close()


# --- a private broker over TLS -------------------------------------------------------


def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("the mosquitto binary is not installed")
    return binary


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[PrivateBroker, Authority]]:
    """A broker whose certificate (for 127.0.0.1) a private authority signed."""
    authority = Authority(tmp_path, "tripp-test")
    broker = PrivateBroker(
        mosquitto_binary(), tmp_path, tls=authority.issue("broker", ["127.0.0.1", "localhost"])
    )
    broker.start()
    yield broker, authority
    broker.stop()


def test_over_tls_every_message_arrives_once(tls_broker: tuple[PrivateBroker, Authority]) -> None:
    broker, authority = tls_broker
    lab = Lab(broker.url, "tls", ca_file=authority.pem)
    try:
        sink = MemorySink()
        subscriber = lab.subscriber(sink, "w")
        publisher = lab.publisher()
        # Many TLS records (a read takes at most one), arriving while batches are stored.
        sent = lab.publish_positions(publisher, devices=20, per_device=150)
        publisher.wait_all_acked(timeout_s=20)

        assert eventually(lambda: sink.keys() == sent, 20), f"{len(sink.keys())} of {len(sent)}"
        assert sink.total_fixes() == len(sent)
        assert subscriber.counters.rejected == subscriber.counters.sink_failures == 0
    finally:
        lab.close()


@pytest.mark.parametrize("case", ["another authority", "another host name"])
def test_a_broker_certificate_that_does_not_verify_is_refused(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ours = Authority(tmp_path, "ours")
    if case == "another authority":
        certificate = Authority(tmp_path, "theirs").issue("broker", ["127.0.0.1"])
    else:
        certificate = ours.issue("broker", ["broker.example"])
    broker = PrivateBroker(mosquitto_binary(), tmp_path, tls=certificate)
    broker.start()
    lab = Lab(broker.url, "tls-refused", ca_file=ours.pem)
    try:
        sink = MemorySink()
        with caplog.at_level("WARNING", logger="tripp.tracking.mqtt"):
            subscriber = lab.subscriber(sink, "w", ready=False)
            assert not subscriber.wait_ready(1.5), "subscribed to a broker it cannot trust"
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
        assert subscriber.counters.received == 0
    finally:
        lab.close()
        broker.stop()
