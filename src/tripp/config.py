"""Settings, read once from ``TRIPP_*`` environment variables.

The defaults make ``make demo`` work on a fresh machine: an embedded SQLite
file under ./var and the bundled TRIPP corridor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from tripp.errors import TrippError


class ConfigError(TrippError):
    title = "Configuration error"
    slug = "configuration"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/tripp.db"
    corridor: str = ""  # path to a corridor YAML; empty = the bundled TRIPP corridor
    host: str = "127.0.0.1"
    port: int = 8000
    overdue_interval_s: float = 60.0
    sqlite_synchronous: str = "FULL"
    db_pool_size: int = 10
    # PostgreSQL cancels a statement running longer (a 503 to retry) and ends a transaction
    # left idle as long; 0 disables both. Migrations run without it.
    db_statement_timeout_s: float = 30.0
    log_level: str = "info"
    auth_cache_s: float = 5.0
    position_retention_days: int = 0  # 0 keeps position history for ever
    mqtt_url: str = ""  # e.g. mqtt://127.0.0.1:1883; empty disables the subscriber
    mqtt_client_id: str = "tripp"  # fixed, so the broker keeps QoS-1 messages while away
    # Empty: one plain persistent subscription, which survives a broker restart intact.
    # A group name: a shared subscription that spreads the load over `tripp track` workers,
    # but Mosquitto 2.0 does not restore shared subscriptions from its store, so what is
    # published between a broker restart and the workers' return is dropped (docs/tracking.md).
    mqtt_group: str = ""
    # PEM file of the authorities that sign an mqtts:// broker's certificate (a private CA);
    # empty: the system's. Only for mqtts://, so that a plain URL is never taken for secure.
    mqtt_ca_file: str = ""
    tracking_host: str = "0.0.0.0"  # devices report from the network
    osmand_port: int = 5055  # 0 disables the OsmAnd listener
    teltonika_port: int = 5027  # 0 disables the Teltonika listener
    # Crossings into the fee authority's country need the transit fee settled or waived.
    # Off only for installations where fees are collected outside tripp.
    fees_enforced: bool = True
    # Travellers' identity data is emptied this many days after the announcement; the
    # decisions and their reason codes stay (data minimisation, docs/travellers.md).
    traveller_retention_days: int = 30
    # Private signing keys, one PEM file per party (docs/security.md); events recorded by
    # a party with a key here are signed with it.
    keys_dir: str = "var/keys"
    # Brute-force protection: a client may fail authentication this many times, then one
    # more time per refill interval (docs/security.md).
    auth_failures_burst: int = 20
    auth_failures_refill_s: float = 3.0
    # Seconds between the dashboard stream's looks at the store (docs/dashboard-api.md).
    dashboard_poll_s: float = 0.5
    # Where `tripp sim run --report DIR` reports are listed from by the dashboard.
    sim_reports_dir: str = "var/sim-reports"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"TRIPP_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.name, raw, type(getattr(cls, f.name)))
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(
                f"TRIPP_SQLITE_SYNCHRONOUS={self.sqlite_synchronous!r} "
                "must be OFF, NORMAL, FULL or EXTRA"
            )
        if self.log_level.lower() not in {"critical", "error", "warning", "info", "debug"}:
            raise ConfigError(
                f"TRIPP_LOG_LEVEL={self.log_level!r} must be critical, error, warning, info "
                "or debug"
            )
        if self.db_statement_timeout_s < 0:
            raise ConfigError(
                f"TRIPP_DB_STATEMENT_TIMEOUT_S={self.db_statement_timeout_s} must be >= 0"
            )
        if self.overdue_interval_s <= 0:
            raise ConfigError(f"TRIPP_OVERDUE_INTERVAL_S={self.overdue_interval_s} must be > 0")
        if self.mqtt_ca_file and not Path(self.mqtt_ca_file).is_file():
            raise ConfigError(f"TRIPP_MQTT_CA_FILE={self.mqtt_ca_file!r} is not a file")
        if self.mqtt_ca_file and urlsplit(self.mqtt_url).scheme != "mqtts":
            raise ConfigError("TRIPP_MQTT_CA_FILE is set but TRIPP_MQTT_URL is not an mqtts:// URL")
        if not 0.05 <= self.dashboard_poll_s <= 10:
            raise ConfigError(
                f"TRIPP_DASHBOARD_POLL_S={self.dashboard_poll_s} must be within 0.05..10"
            )

    @property
    def corridor_path(self) -> Path | None:
        return Path(self.corridor) if self.corridor else None


def _parse(name: str, raw: str, kind: type) -> object:
    if kind is bool:  # bool("0") is True: spell the accepted words out
        words = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
        if raw.strip().lower() not in words:
            raise ConfigError(
                f"TRIPP_{name.upper()}={raw!r} must be one of 1/0, true/false, yes/no"
            )
        return words[raw.strip().lower()]
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"TRIPP_{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
