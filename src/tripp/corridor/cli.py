"""``tripp corridor``: show or validate a corridor file (docs/corridor-format.md).

Broken files print one line per error, ``file: field: message [rule]``, on
stderr and exit 1; never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pyproj import Geod
from rich.console import Console
from rich.table import Table

from tripp.config import Settings
from tripp.corridor.loader import (
    CorridorFieldError,
    bundled_corridor_path,
    corridor_to_dict,
    load_corridor,
)
from tripp.corridor.model import Corridor, CorridorInvalid, Office, Route
from tripp.corridor.offices import WEEKDAYS
from tripp.errors import TrippError

app = typer.Typer(
    help="Show or validate corridor files (YAML + GeoJSON, see docs/corridor-format.md).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_GEOD = Geod(ellps="WGS84")


def route_length_km(route: Route) -> float:
    """Geodesic length of the route on the WGS 84 ellipsoid, in kilometres."""
    lons, lats = zip(*route.coordinates, strict=True)
    return float(_GEOD.line_length(lons, lats)) / 1000


def error_lines(exc: CorridorInvalid) -> list[str]:
    """``file: field: message [rule]`` for each error; the file is the one at fault."""
    lines = []
    for e in exc.errors:
        file = e.file if isinstance(e, CorridorFieldError) and e.file else exc.source
        lines.append(f"{file}: {e.field}: {e.message} [{e.rule}]")
    return lines


def _load(path: Path) -> Corridor:
    """The corridor, or exit 1 after printing every error plainly on stderr."""
    try:
        return load_corridor(path)
    except CorridorInvalid as exc:
        for line in error_lines(exc):
            typer.echo(line, err=True)  # not Rich: "[rule]" would be read as markup
        typer.echo(f"{exc.source}: {_count(len(exc.errors), 'error')}", err=True)
        raise typer.Exit(1) from None


def _default_path() -> Path:
    """TRIPP_CORRIDOR through the settings (one place reads the environment), else bundled."""
    try:
        return Settings.from_env().corridor_path or bundled_corridor_path()
    except TrippError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None


@app.command()
def show(
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="corridor YAML; default TRIPP_CORRIDOR, else TRIPP"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the GET /corridor JSON instead of tables")
    ] = False,
) -> None:
    """Show a corridor: offices, routes, limits, tariff, currencies and itineraries."""
    corridor = _load(file or _default_path())
    if as_json:
        sys.stdout.write(json.dumps(corridor_to_dict(corridor), indent=2, ensure_ascii=False))
        sys.stdout.write("\n")
        return
    console = Console()
    console.print(f"[bold]{corridor.id}[/bold]: {corridor.name}", highlight=False)
    console.print(
        f"buffer {corridor.buffer_m:g} m from the route; "
        f"default time limit {corridor.time_limit_hours:g} h",
        highlight=False,
    )
    for table in _tables(corridor):
        console.print(table)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="the corridor YAML file to check")],
) -> None:
    """Check a corridor file and the GeoJSON file it names against every rule."""
    corridor = _load(file)
    typer.echo(f"OK: {summary(corridor)}")


def summary(c: Corridor) -> str:
    """One line, e.g. ``TRIPP, 7 offices, 2 routes (road 51.2 km, rail 183.1 km), ...``."""
    routes = ", ".join(f"{r.mode.value} {route_length_km(r):.1f} km" for r in c.routes.values())
    counts = (
        _count(len(c.offices), "office"),
        f"{_count(len(c.routes), 'route')} ({routes})",
        _count(len(c.stop_zones), "stop zone"),
        _count(len(c.itineraries), "itinerary", "itineraries"),
    )
    return ", ".join((c.id, *counts))


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _tables(c: Corridor) -> list[Table]:
    return [
        _offices_table(c),
        _routes_table(c),
        _tariff_table(c),
        _currencies_table(c),
        _itineraries_table(c),
    ]


def _offices_table(c: Corridor) -> Table:
    table = Table(title="Offices")
    table.add_column("code", no_wrap=True)
    for name in ("name", "roles", "modes", "lon, lat", "time zone", "hours"):
        table.add_column(name)
    for o in c.offices.values():
        table.add_row(
            o.code + ("*" if o.estimated else ""),
            o.name,
            ", ".join(sorted(o.roles)),
            ", ".join(sorted(o.modes)),
            f"{o.location[0]:.4f}, {o.location[1]:.4f}",
            o.timezone,
            _hours(o),
        )
    table.caption = "* estimated" if any(o.estimated for o in c.offices.values()) else None
    return table


def _hours(o: Office) -> str:
    if len(o.opening_hours) == 1 and len(o.opening_hours[0].weekdays) == 7:
        p = o.opening_hours[0]
        if p.opens.hour == p.opens.minute == 0 and p.until_midnight:
            return "24/7"
    return "; ".join(
        f"{','.join(WEEKDAYS[d] for d in sorted(p.weekdays))} {p.opens:%H:%M}-"
        + ("24:00" if p.until_midnight else f"{p.closes:%H:%M}")
        for p in o.opening_hours
    )


def _routes_table(c: Corridor) -> Table:
    table = Table("mode", "name", "vertices", "length km", title="Routes")
    for r in c.routes.values():
        table.add_row(
            r.mode.value + ("*" if r.estimated else ""),
            r.name,
            str(len(r.coordinates)),
            f"{route_length_km(r):.1f}",
        )
    table.caption = f"{len(c.stop_zones)} stop zones; buffer {c.buffer_m:g} m"
    return table


def _tariff_table(c: Corridor) -> Table:
    estimate = " (estimates)" if c.tariff.estimated else ""
    table = Table("HS prefix", "rate %", "note", title=f"Tariff{estimate}")
    table.add_row("(default)", f"{c.tariff.default_rate_pct:f}", "")
    for r in c.tariff.rates:
        table.add_row(r.hs_prefix, f"{r.rate_pct:f}", r.note)
    return table


def _currencies_table(c: Corridor) -> Table:
    cur = c.currencies
    table = Table("currency", f"in {cur.base}", title="Currencies")
    for code, rate in cur.rates_to_base.items():
        table.add_row(code, f"{rate:f}")
    notes = (f"as of {cur.as_of}" if cur.as_of else "", "estimates" if cur.estimated else "")
    table.caption = ", ".join(n for n in notes if n) or None
    return table


def _itineraries_table(c: Corridor) -> Table:
    table = Table("name", "mode", "departure", "transit", "destination", title="Itineraries")
    for i in c.itineraries:
        table.add_row(
            i.name,
            i.mode.value,
            i.office_of_departure,
            " > ".join(i.offices_of_transit),
            i.office_of_destination,
        )
    return table
