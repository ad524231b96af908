"""The device-facing listeners of one process: OsmAnd HTTP, Teltonika TCP, MQTT.

``tripp serve`` starts them beside the API so one process is a complete
installation; ``tripp track`` runs them alone, as a worker. Each is enabled
by its setting (port 0 or an empty URL disables it).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from tripp.config import Settings
from tripp.db.uow import UnitOfWork
from tripp.errors import NotFound
from tripp.tracking import store
from tripp.tracking.model import Device, Fix, IngestResult, PositionSink
from tripp.tracking.mqtt import MqttSubscriber
from tripp.tracking.osmand_server import OsmAndServer, make_osmand_app
from tripp.tracking.service import Tracking
from tripp.tracking.teltonika_server import TeltonikaServer

log = logging.getLogger("tripp.tracking.listeners")


@dataclass(frozen=True)
class StoredDevices:
    """The device directory the Teltonika handshake asks, backed by the database."""

    uow: UnitOfWork

    def by_imei(self, imei: str) -> Device | None:
        with self.uow.read() as conn:
            return store.device_by_imei(conn, imei)

    def by_id(self, device_id: str) -> Device | None:
        with self.uow.read() as conn:
            found = store.get_device(conn, device_id)
        return found[0] if found else None


@dataclass(frozen=True)
class RegisteredOnly:
    """A sink that refuses fixes of unregistered devices (404) instead of dropping them
    silently: a phone set up with a wrong id then shows an error to its user."""

    sink: PositionSink

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        result = self.sink.ingest(fixes)
        if result.unknown:
            raise NotFound(f"device {fixes[0].device_id} is not registered")
        return result


@dataclass
class Listeners:
    settings: Settings
    tracking: Tracking
    osmand: OsmAndServer | None = None
    teltonika: TeltonikaServer | None = None
    mqtt: MqttSubscriber | None = None
    started: list[str] = field(default_factory=list)

    async def start(self) -> None:
        s, host = self.settings, self.settings.tracking_host
        if s.osmand_port:
            app = make_osmand_app(RegisteredOnly(self.tracking), clock=self.tracking.clock)
            self.osmand = OsmAndServer(app)
            await self.osmand.start(host, s.osmand_port)
            self.started.append(f"OsmAnd on {host}:{self.osmand.port}")
        if s.teltonika_port:
            self.teltonika = TeltonikaServer(
                sink=self.tracking, directory=StoredDevices(self.tracking.uow)
            )
            await self.teltonika.start(host, s.teltonika_port)
            self.started.append(f"Teltonika on {host}:{self.teltonika.port}")
        if s.mqtt_url:
            client_id = f"{s.mqtt_client_id}-{socket.gethostname()}"
            group = s.mqtt_group or None
            self.mqtt = MqttSubscriber(
                s.mqtt_url, self.tracking, client_id, group, ca_file=s.mqtt_ca_file or None
            )
            self.mqtt.start()
            shared = f" in shared group {group}" if group else ""
            self.started.append(f"MQTT {s.mqtt_url} as {client_id}{shared}")
        for line in self.started:
            log.info("tracking listener: %s", line)

    async def stop(self) -> None:
        if self.mqtt is not None:
            await asyncio.to_thread(self.mqtt.stop)
        if self.teltonika is not None:
            await self.teltonika.stop()
        if self.osmand is not None:
            await self.osmand.stop()
