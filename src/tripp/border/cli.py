"""``tripp risk``: each customs publishes and reads its own country's risk rules.

The command acts for a party (``--party``), with that party's role and country, so the
same rule holds as over the API: a customs manages only its own country's rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from tripp.bootstrap import Wiring, wire
from tripp.config import Settings
from tripp.db.uow import UnitOfWork
from tripp.errors import FieldError, InvalidInput, NotFound
from tripp.parties import store as party_store
from tripp.parties.model import Actor

app = typer.Typer(help="Risk rules of border-post screening, per country.", no_args_is_help=True)
Party = Annotated[
    str, typer.Option("--party", help="the customs party acting, e.g. AM-CUSTOMS (or SYSTEM)")
]
Country = Annotated[str, typer.Argument(metavar="COUNTRY", help="ISO 3166-1 alpha-2, e.g. AM")]


def _wiring() -> Wiring:
    w = wire(Settings.from_env())
    w.upgrade()
    return w


def _actor(w: Wiring, party_id: str) -> Actor:
    with UnitOfWork(w.engine).read() as conn:
        party = party_store.get_party(conn, party_id)
    if party is None:
        raise NotFound(f"no party {party_id} (see 'tripp party list')")
    return Actor(party.id, party.role, party.country)


@app.command("show")
def show(
    country: Country,
    party: Party,
    version: Annotated[int | None, typer.Option(help="an older version")] = None,
) -> None:
    """Print a country's current (or an older) ruleset as JSON."""
    w = _wiring()
    body = w.border.ruleset(_actor(w, party), country.upper(), version)
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


@app.command("set")
def publish(
    country: Country,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="ruleset as YAML or JSON")],
    party: Party,
) -> None:
    """Publish FILE as the country's next ruleset version (validated; errors name fields)."""
    try:
        body = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput([FieldError(str(file), str(exc).splitlines()[0], "readable")]) from exc
    w = _wiring()
    stored = w.border.publish_ruleset(_actor(w, party), country.upper(), body)
    typer.echo(f"{stored['country']} ruleset version {stored['version']} published", err=True)


@app.command("trust")
def trust(
    country: Country,
    holder: Annotated[str, typer.Argument(metavar="HOLDER")],
    party: Party,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="end the status")] = False,
) -> None:
    """Grant (or --withdraw) trusted-trader status of HOLDER in COUNTRY."""
    w = _wiring()
    changed = w.border.set_trust(_actor(w, party), country.upper(), holder, not withdraw)
    state = "withdrawn" if withdraw else "granted"
    typer.echo(f"{holder}: trusted-trader status {state}{'' if changed else ' (no change)'}",
               err=True)  # fmt: skip
