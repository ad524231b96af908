"""The ``tripp sim drive`` command: live traffic against a running server (docs/simulation.md)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

from tripp.errors import FieldError, InvalidInput
from tripp.sim.drive import DriveConfig, DriveStats, run_drive
from tripp.sim.traffic import TrafficConfig, hourly_profile

TOKENS_ENV = "TRIPP_DRIVE_TOKENS"
err = Console(stderr=True)


def load_tokens(path: Path) -> dict[str, str]:
    """``{"AZ-CARRIER-0001": "<token>", "AZ-CUSTOMS": "<token>", ...}``: party id → token.

    Raises InvalidInput naming the file when it is unreadable or not such an object.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput([FieldError(str(path), str(exc).splitlines()[0], "readable")]) from exc
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in raw.items()
    ):
        message = 'must be a JSON object {"PARTY-ID": "token", ...}'
        raise InvalidInput([FieldError(str(path), message, "tokens-file")])
    return dict(raw)


def load_profile(path: Path | None) -> tuple[float, ...]:
    """Departures by hour from a scenario's classes (default: the bundled scenario)."""
    try:
        if path is None:
            text = resources.files("tripp.sim").joinpath("data/tripp-meghri.yaml").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        raw: Any = yaml.safe_load(text)
        return hourly_profile(raw["classes"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        where = str(path or "bundled scenario")
        raise InvalidInput([FieldError(where, str(exc).splitlines()[0], "profile")]) from exc


def drive(
    url: Annotated[str, typer.Option(help="the tripp server")] = "http://127.0.0.1:8000",
    tokens: Annotated[
        Path | None,
        typer.Option(
            envvar=TOKENS_ENV,
            help='JSON file {"PARTY-ID": "token"}: a carrier, AZ-CUSTOMS, AM-CUSTOMS, '
            "CORRIDOR-OPERATOR (SYSTEM may stand in for customs and operator)",
        ),
    ] = None,
    speedup: Annotated[
        float, typer.Option(min=1, help="simulated seconds per real second (600: a day in 2.4 min)")
    ] = 120.0,
    vehicles_per_day: Annotated[
        float, typer.Option(min=0.1, help="average departures per simulated day")
    ] = 200.0,
    minutes: Annotated[
        float | None,
        typer.Option(min=0.05, help="stop after this many real minutes (default: Ctrl-C)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="the same seed plans the same traffic")] = 1,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="scenario YAML whose classes' hourly weights shape the day "
            "(default: the bundled tripp-meghri.yaml)"
        ),
    ] = None,
    start_hour: Annotated[
        float, typer.Option(min=0, max=23.99, help="simulated hour of day at the start")
    ] = 8.0,
    rail_share: Annotated[float, typer.Option(min=0, max=1, help="share by rail")] = 0.1,
    deviation_rate: Annotated[
        float, typer.Option(min=0, max=1, help="share of vehicles leaving the route")
    ] = 0.03,
    stop_rate: Annotated[
        float, typer.Option(min=0, max=1, help="share stopping outside control areas")
    ] = 0.02,
    seal_rate: Annotated[
        float, typer.Option(min=0, max=1, help="share whose e-seal reports open")
    ] = 0.02,
    run_id: Annotated[
        str | None, typer.Option(help="prefix of the ids created (default: from the time)")
    ] = None,
    log_file: Annotated[
        Path | None, typer.Option(help="write every refusal and retry to this file")
    ] = None,
) -> None:
    """Drive realistic live traffic through the public API of a running
    tripp server.

    Vehicles depart through the day (the profile's hourly shape,
    VEHICLES_PER_DAY on average; a simulated day lasts 86400/SPEEDUP
    real seconds). Each is declared by its carrier, released with an
    e-seal tracker, pays the transit fee, is screened and crosses at the
    offices of transit, reports positions along the corridor route,
    arrives and is controlled at destination. A few leave the route,
    stop outside control areas or report a broken seal, so tracking
    alerts appear (the first vehicle's seal breaks at once).

    Refusals are counted, not fatal. Ctrl-C stops cleanly and prints a
    summary.
    """
    path = tokens if tokens is not None else _env_tokens()
    traffic = TrafficConfig(
        seed=seed, vehicles_per_day=vehicles_per_day, hourly=load_profile(profile),
        start_hour=start_hour, speedup=speedup, rail_share=rail_share,
        deviation_rate=deviation_rate, stop_rate=stop_rate, seal_rate=seal_rate,
    )  # fmt: skip
    config = DriveConfig(url=url, tokens=load_tokens(path), traffic=traffic,
                         duration_s=None if minutes is None else minutes * 60,
                         run_id=run_id)  # fmt: skip
    _log_to(log_file)
    stats = _drive_live(config)
    Console().print(_table(stats, final=True))
    if stats.recent_refusals:
        err.print("last refusals:", highlight=False)
        for line in stats.recent_refusals:
            err.print(f"  {line}", markup=False, highlight=False)


def _env_tokens() -> Path:
    value = os.environ.get(TOKENS_ENV)
    if not value:
        raise typer.BadParameter(f"give --tokens PATH or set {TOKENS_ENV}", param_hint="--tokens")
    return Path(value)


def _log_to(path: Path | None) -> None:
    if path is None:
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("tripp.sim.drive")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _drive_live(config: DriveConfig) -> DriveStats:
    """Runs the drive in a thread so that Ctrl-C here stops it cleanly."""
    stop, done = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    with Live(_table(DriveStats(), final=False), console=err, transient=True) as live:

        def work() -> None:
            try:
                outcome["stats"] = run_drive(config, stop, lambda s: live.update(_table(s, False)))
            except BaseException as exc:  # handed to the main thread, raised there
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="tripp-sim-drive", daemon=True).start()
        # Waiting on an event, not Thread.join: a join interrupted by Ctrl-C may not wait again.
        try:
            while not done.wait(0.2):
                pass
        except KeyboardInterrupt:
            stop.set()
            err.print("stopping: finishing the calls under way...", highlight=False)
            while not done.wait(0.2):
                pass
    if "error" in outcome:
        raise outcome["error"]
    stats: DriveStats = outcome["stats"]
    return stats


def _table(stats: DriveStats, final: bool) -> Table:
    title = "tripp sim drive: summary" if final else "tripp sim drive (Ctrl-C stops)"
    table = Table("", "count", title=f"{title} {stats.run_id}".strip(), show_header=False)
    rows: Mapping[str, object] = {
        "elapsed (s)": stats.elapsed_s, "vehicles started": stats.vehicles,
        "on the road": stats.on_the_road, "declarations": stats.declarations,
        "releases": stats.releases, "fees paid": stats.fee_payments,
        "positions": stats.positions, "screenings": stats.screenings,
        "inspections": stats.inspections, "crossings": stats.crossings,
        "incidents": stats.incidents, "arrivals": stats.arrivals,
        "control results": stats.control_results,
        "alerts": _by_kind(stats.alerts_by_kind) or "0",
        "refused / failed": _by_kind({str(k): v for k, v in stats.errors_by_status.items()})
        or "none",
        "network errors": stats.network_errors,
    }  # fmt: skip
    for name, value in rows.items():
        table.add_row(name, str(value))
    return table


def _by_kind(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
