"""Settings from TRIPP_* variables: each refusal names the variable and the rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tripp.config import ConfigError, Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/tripp.db"
    assert settings.mqtt_url == settings.mqtt_ca_file == ""


def test_values_are_typed() -> None:
    settings = Settings.from_env(
        {"TRIPP_PORT": "9000", "TRIPP_FEES_ENFORCED": "no", "TRIPP_DASHBOARD_POLL_S": "0.25"}
    )
    assert (settings.port, settings.fees_enforced, settings.dashboard_poll_s) == (9000, False, 0.25)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TRIPP_PORT": "eighty"}, "TRIPP_PORT='eighty' is not a valid int"),
        ({"TRIPP_FEES_ENFORCED": "maybe"}, "TRIPP_FEES_ENFORCED='maybe' must be one of"),
        ({"TRIPP_OVERDUE_INTERVAL_S": "0"}, "TRIPP_OVERDUE_INTERVAL_S=0.0 must be > 0"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        Settings.from_env(env)


def test_the_mqtt_ca_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    env = {"TRIPP_MQTT_URL": "mqtts://broker.example", "TRIPP_MQTT_CA_FILE": str(missing)}
    with pytest.raises(ConfigError, match=r"TRIPP_MQTT_CA_FILE=.* is not a file"):
        Settings.from_env(env)
    missing.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Settings.from_env(env).mqtt_ca_file == str(missing)


@pytest.mark.parametrize("url", ["", "mqtt://broker.example"])
def test_the_mqtt_ca_file_is_only_for_mqtts(url: str, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ConfigError, match="TRIPP_MQTT_URL is not an mqtts:// URL"):
        Settings.from_env({"TRIPP_MQTT_URL": url, "TRIPP_MQTT_CA_FILE": str(ca)})
    upper = Settings.from_env(
        {"TRIPP_MQTT_URL": "MQTTS://broker.example", "TRIPP_MQTT_CA_FILE": str(ca)}
    )
    assert upper.mqtt_ca_file == str(ca)
