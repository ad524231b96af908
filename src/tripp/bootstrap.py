"""Wiring in one place: settings → engine, unit of work, corridor, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from tripp.config import Settings
from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import Corridor
from tripp.db import migrate
from tripp.db.engine import make_engine
from tripp.db.uow import UnitOfWork
from tripp.movements.service import Clock, Context
from tripp.signing.keyring import Keyring

if TYPE_CHECKING:
    from tripp.border.service import Border
    from tripp.tracking.service import Tracking


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wiring:
    settings: Settings
    engine: Engine
    corridor: Corridor
    clock: Clock

    @property
    def context(self) -> Context:
        return Context(
            UnitOfWork(self.engine), self.corridor, self.clock, self.settings.fees_enforced,
            self.keyring,
        )  # fmt: skip

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(Path(self.settings.keys_dir))

    @cached_property
    def border(self) -> Border:
        """Border-post use cases; shares the tracking pipeline's projected corridor."""
        from tripp.border.service import Border

        return Border(UnitOfWork(self.engine), self.corridor, self.clock,
                      self.tracking.monitor.geometry)  # fmt: skip

    @cached_property
    def tracking(self) -> Tracking:
        """The tracking pipeline; the corridor is projected once, here."""
        from tripp.audit.recorder import alert_listener
        from tripp.tracking.monitor import Monitor
        from tripp.tracking.service import Tracking

        monitor = Monitor(self.corridor)
        monitor.listeners.append(alert_listener)
        return Tracking(UnitOfWork(self.engine), self.corridor, self.clock, monitor)

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)


def wire(settings: Settings | None = None, *, clock: Clock = utc_now) -> Wiring:
    settings = settings or Settings.from_env()
    corridor = load_corridor(settings.corridor_path or bundled_corridor_path())
    return Wiring(settings, make_engine(settings), corridor, clock)
