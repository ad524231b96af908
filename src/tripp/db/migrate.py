"""Schema migrations with Alembic, run from code (``tripp db upgrade``, ``tripp serve``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is there already."""
    with _untimed(engine) as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (rolling back a release; the tests of a
    migration's data step)."""
    with _untimed(engine) as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


@contextmanager
def _untimed(engine: Engine) -> Iterator[Connection]:
    """A connection without the sessions' statement timeout (``tripp.db.engine``): a
    migration may rewrite or index a large table, which takes as long as it takes.

    The timeouts are back when the connection returns to the pool; if the migration
    failed, the connection is dropped instead, its state unknown."""
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            yield conn
            return
        conn.exec_driver_sql("SET statement_timeout = 0")
        conn.exec_driver_sql("SET idle_in_transaction_session_timeout = 0")
        conn.commit()
        try:
            yield conn
        except BaseException:
            conn.invalidate()
            raise
        conn.exec_driver_sql("RESET statement_timeout")
        conn.exec_driver_sql("RESET idle_in_transaction_session_timeout")
        conn.commit()
