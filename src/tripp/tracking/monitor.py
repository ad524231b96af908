"""Glue between stored fixes and the pure alert rules (``geometry``, ``alerts``).

Runs inside the ingest unit of work: the movement's monitor state is locked,
the new fixes evaluated in time order, alerts opened or cleared, the state
saved, all committed together with the fixes themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from tripp.corridor.model import Corridor
from tripp.db.uow import UnitOfWork
from tripp.tracking.model import Fix


class Monitor:
    def __init__(self, corridor: Corridor) -> None:
        self.corridor = corridor

    def on_fixes(
        self, conn: Connection, mrn: str, fixes: Sequence[Fix], *, armed_since: datetime | None
    ) -> None:
        raise NotImplementedError("evaluation is wired when tracking.alerts lands")

    def check_time(self, uow: UnitOfWork, now: datetime) -> int:
        return 0
