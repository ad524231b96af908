"""The command line against a real SQLite store, as an operator would use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripp.cli import app
from tripp.parties.service import TOKEN_PREFIX


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRIPP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_builtin_parties_exist_from_the_start(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("party", "list")
    assert code == 0
    for party in ("SYSTEM", "AZ-CUSTOMS", "AM-CUSTOMS", "CORRIDOR-OPERATOR", "WORKING-GROUP"):
        assert party in out


def test_party_and_token_lifecycle(run) -> None:  # type: ignore[no-untyped-def]
    assert run("party", "add", "AZ-CARRIER-0001", "--role", "carrier", "--country", "AZ")[0] == 0
    code, out, err = run("token", "create", "--party", "AZ-CARRIER-0001", "--role", "carrier")
    assert code == 0
    token = out.strip()
    assert out == token + "\n" and token.startswith(TOKEN_PREFIX + "_")  # the token alone
    token_id = token.split("_")[1]
    assert token_id in err
    code, out, _ = run("token", "list")
    assert token_id in out and token not in out  # the secret is never shown again
    assert run("token", "revoke", token_id)[0] == 0
    code, _, err = run("token", "revoke", token_id)
    assert code == 1 and "no active token" in err


def test_mistakes_exit_1_without_traceback(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("party", "add", "AZ-CARRIER-0001", "--role", "carrier", "--country", "AZ")
    assert code == 0
    code, _, err = run("party", "add", "AZ-CARRIER-0001", "--role", "carrier", "--country", "AZ")
    assert code == 1 and "exists already" in err and "Traceback" not in err
    code, _, err = run("party", "add", "lower_case", "--role", "carrier")
    assert code == 1 and "id:" in err
    code, _, err = run("token", "create", "--party", "AZ-CUSTOMS", "--role", "carrier")
    assert code == 1 and "acts as customs" in err
    code, _, err = run("token", "create", "--party", "NOBODY", "--role", "carrier")
    assert code == 1 and "does not exist" in err


def test_db_upgrade_is_repeatable(run) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade")[0] == 0
    assert run("db", "upgrade")[0] == 0


def test_overdue_job_once(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("jobs", "overdue")
    assert code == 0 and out == "" and "0 movements" in err


def test_each_customs_publishes_only_its_own_risk_rules(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    code, out, _ = run("risk", "show", "AM", "--party", "AM-CUSTOMS")
    assert code == 0 and json.loads(out)["version"] == 1
    rules = tmp_path / "am.yaml"
    rules.write_text(out, encoding="utf-8")  # JSON is YAML
    code, _, err = run("risk", "set", "AM", str(rules), "--party", "AZ-CUSTOMS")
    assert code == 1 and "only AM customs" in err
    code, _, err = run("risk", "set", "AM", str(rules), "--party", "AM-CUSTOMS")
    assert code == 0 and "version 2" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("thresholds: {yellow: 5}\n", encoding="utf-8")
    code, _, err = run("risk", "set", "AM", str(broken), "--party", "AM-CUSTOMS")
    assert code == 1 and "thresholds.red" in err and "rules" in err
    code, out, _ = run("risk", "show", "AM", "--party", "AM-CUSTOMS", "--version", "1")
    assert code == 0 and json.loads(out)["version"] == 1
    code, _, err = run("risk", "trust", "AM", "AZ-CARRIER-0001", "--party", "AM-CUSTOMS")
    assert code == 0 and "granted" in err
