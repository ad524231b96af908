"""tripp corridor show / validate through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripp.corridor.cli import app

CORRIDORS = Path(__file__).resolve().parents[1] / "data" / "corridors"
CA_YAML = CORRIDORS / "central-asia-rail.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_corridor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIPP_CORRIDOR", raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # wide enough for Rich tables not to fold codes


def test_show_defaults_to_the_bundled_corridor() -> None:
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 0, result.output
    for text in ("TRIPP", "AZ000101", "AM000102", "Asia/Yerevan", "TRIPP-W-ROAD", "2402", "AZN"):
        assert text in result.stdout
    assert "51.2" in result.stdout  # road length, km, geodesic


def test_show_reads_tripp_corridor_from_the_environment() -> None:
    result = runner.invoke(app, ["show"], env={"TRIPP_CORRIDOR": str(CA_YAML)})
    assert result.exit_code == 0, result.output
    assert "CA-RAIL" in result.stdout and "TRIPP-W-ROAD" not in result.stdout


def test_show_file_option_beats_the_environment() -> None:
    env = {"TRIPP_CORRIDOR": str(CORRIDORS / "broken" / "bad-syntax.yaml")}
    result = runner.invoke(app, ["show", "--file", str(CA_YAML)], env=env)
    assert result.exit_code == 0, result.output
    assert "KZ510020" in result.stdout


def test_show_json_prints_the_api_body() -> None:
    result = runner.invoke(app, ["show", "--json", "-f", str(CA_YAML)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["id"] == "CA-RAIL"
    assert body["routes"]["features"][0]["properties"]["mode"] == "rail"


def test_validate_ok() -> None:
    result = runner.invoke(app, ["validate", str(CA_YAML)])
    assert result.exit_code == 0
    assert result.stdout == (
        "OK: CA-RAIL, 5 offices, 1 route (rail 652.8 km), 6 stop zones, 2 itineraries\n"
    )


def test_validate_prints_every_error_plainly_and_exits_1() -> None:
    path = CORRIDORS / "broken" / "many-errors.yaml"
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    (code_line,) = [line for line in lines if ": offices[0].code: " in line]
    assert code_line == (
        f"{path}: offices[0].code: 'AZ12' must be 8 characters: "
        "country alpha-2 + 6 letters/digits (A-Z, 0-9) [office-code]"
    )
    geojson = str(CORRIDORS / "broken" / "many-errors.geojson")
    assert any(line.startswith(f"{geojson}: features[0]") for line in lines)
    assert lines[-1] == f"{path}: 16 errors"
    assert "Traceback" not in result.output


def test_show_of_a_broken_file_exits_1_without_traceback() -> None:
    result = runner.invoke(app, ["show", "-f", str(CORRIDORS / "broken" / "bad-syntax.yaml")])
    assert result.exit_code == 1
    assert "[yaml-syntax]" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_needs_a_file() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
