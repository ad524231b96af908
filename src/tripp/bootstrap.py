"""Wiring in one place: settings → engine, unit of work, corridor, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from tripp.config import Settings
from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import Corridor
from tripp.db import migrate
from tripp.db.engine import make_engine
from tripp.db.uow import UnitOfWork
from tripp.movements.service import Clock, Context


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
        return Context(UnitOfWork(self.engine), self.corridor, self.clock)

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)


def wire(settings: Settings | None = None, *, clock: Clock = utc_now) -> Wiring:
    settings = settings or Settings.from_env()
    corridor = load_corridor(settings.corridor_path or bundled_corridor_path())
    return Wiring(settings, make_engine(settings), corridor, clock)
