"""Capacity simulator speed: this engine against SimPy and Ciw on the same models, one run.

Two models, all exponential, times in minutes: the reference M/M/4 (3.6 arrivals/min,
1 min mean service, rho = 0.9; Erlang C mean wait 1.9694 min) and a three-stage tandem
post (booth 4 servers 1 min, fee 2 servers 0.45 min, X-ray 1 server 0.25 min, every
vehicle through all three). Each engine serves ``--sim-customers`` customers (default
200,000) per model; figures are the best of ``--sim-repeats`` runs for this engine and one
run for SimPy and Ciw (each takes seconds). Events are counted the same way for every
engine: one arrival and one departure per station visit, so events/s = 2 x stations x
customers/s. SimPy and Ciw are skipped with a note when not installed. The issue's target
is 10x SimPy's customers/s. ``python -m bench.sim`` runs it alone; results also go to
``bench/results/sim.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tripp.sim import Scenario, Station, exponential, replicate, simulate
from tripp.sim.queueing import mmc_mean_wait

RESULTS = Path(__file__).parent / "results" / "sim.json"
TARGET_RATIO = 10.0  # customers/s against SimPy's, the target
LAMBDA = 3.6  # arrivals per minute
SEED = 2026


@dataclass(frozen=True)
class Stage:
    name: str
    servers: int
    mean_min: float


MODELS: dict[str, tuple[Stage, ...]] = {
    "M/M/4": (Stage("booth", 4, 1.0),),
    "tandem post": (Stage("booth", 4, 1.0), Stage("fee", 2, 0.45), Stage("xray", 1, 0.25)),
}


@dataclass(frozen=True)
class Timing:
    customers: int
    seconds: float
    mean_wait_first: float  # minutes at the first station, a sanity check across engines


def engine_run(stages: tuple[Stage, ...], customers: int, seed: int) -> Timing:
    scenario = scenario_of(stages, customers)
    start = time.perf_counter()
    run = simulate(scenario, seed)
    seconds = time.perf_counter() - start
    wait = run.start[0] - run.arrive[0]
    return Timing(run.customers, seconds, float(wait.mean()))


def scenario_of(stages: tuple[Stage, ...], customers: int) -> Scenario:
    return Scenario(
        stations=tuple(Station(s.name, exponential(s.mean_min), s.servers) for s in stages),
        arrivals_per_hour=(LAMBDA * 60,),
        horizon_min=customers / LAMBDA,
    )


def simpy_run(stages: tuple[Stage, ...], customers: int, seed: int) -> Timing:
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    resources = [simpy.Resource(env, capacity=s.servers) for s in stages]
    rates = [1 / s.mean_min for s in stages]
    waits: list[float] = []

    def customer() -> Any:
        for k, (resource, rate) in enumerate(zip(resources, rates, strict=True)):
            arrived = env.now
            with resource.request() as request:
                yield request
                if k == 0:
                    waits.append(env.now - arrived)
                yield env.timeout(rng.expovariate(rate))

    def source() -> Any:
        for _ in range(customers):
            yield env.timeout(rng.expovariate(LAMBDA))
            env.process(customer())

    env.process(source())
    start = time.perf_counter()
    env.run()
    return Timing(customers, time.perf_counter() - start, sum(waits) / len(waits))


def ciw_run(stages: tuple[Stage, ...], customers: int, seed: int) -> Timing:
    import ciw

    count = len(stages)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(LAMBDA)] + [None] * (count - 1),
        service_distributions=[ciw.dists.Exponential(1 / s.mean_min) for s in stages],
        number_of_servers=[s.servers for s in stages],
        routing=[[1.0 if j == i + 1 else 0.0 for j in range(count)] for i in range(count)],
    )
    ciw.seed(seed)
    start = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    seconds = time.perf_counter() - start
    waits = [r.waiting_time for r in sim.get_all_records() if r.node == 1]
    return Timing(customers, seconds, sum(waits) / len(waits))


def best(work: Callable[[], Timing], repeats: int) -> Timing:
    return min((work() for _ in range(repeats)), key=lambda t: t.seconds / t.customers)


def parallel_rate(stages: tuple[Stage, ...], customers: int) -> tuple[float, int]:
    """Customers/s over replications spread on every core, spawn start-up included."""
    workers = os.cpu_count() or 1
    scenario = scenario_of(stages, customers)
    start = time.perf_counter()
    replicate(scenario, replications=2 * workers, seed=SEED, workers=workers)
    return 2 * workers * customers / (time.perf_counter() - start), workers


def row(
    model: str, engine: str, timing: Timing, stations: int, simpy: float | None
) -> dict[str, Any]:
    rate = timing.customers / timing.seconds
    ratio = None if simpy is None else rate / simpy
    return {
        "model": model,
        "engine": engine,
        "customers": timing.customers,
        "seconds": round(timing.seconds, 4),
        "customers_per_s": round(rate, 1),
        "events_per_s": round(2 * stations * rate, 1),
        "mean_wait_first_station_min": None
        if math.isnan(timing.mean_wait_first)
        else round(timing.mean_wait_first, 4),
        "vs_simpy": None if ratio is None else round(ratio, 3),
        "target": f">= {TARGET_RATIO:.0f}x SimPy" if engine == "tripp.sim" else None,
        "met": None if ratio is None or engine != "tripp.sim" else ratio >= TARGET_RATIO,
    }


def run(console: Console, *, customers: int = 200_000, repeats: int = 3) -> list[dict[str, Any]]:
    """Measure every engine on both models; returns the rows (see ``report``)."""
    exact = mmc_mean_wait(LAMBDA, 1.0, 4)
    console.print(f"sim: {customers:,} customers per run; M/M/4 exact mean wait {exact:.4f} min")
    rows: list[dict[str, Any]] = []
    for model, stages in MODELS.items():
        engine_run(stages, min(customers, 20_000), SEED)  # warm caches and imports
        timings = {"tripp.sim": best(lambda s=stages: engine_run(s, customers, SEED), repeats)}
        for name, fn in (("SimPy", simpy_run), ("Ciw", ciw_run)):
            module = name.lower()
            if importlib.util.find_spec(module) is None:
                console.print(f"[yellow]{name} not installed: skipped[/yellow]")
                continue
            timings[name] = fn(stages, customers, SEED)
        simpy = timings.get("SimPy")
        simpy_rate = None if simpy is None else simpy.customers / simpy.seconds
        rows += [row(model, n, t, len(stages), simpy_rate) for n, t in timings.items()]
        rate, workers = parallel_rate(stages, customers)
        parallel = Timing(round(rate), 1.0, float("nan"))
        label = f"tripp.sim replicate(), {workers} processes (spawn + statistics included)"
        rows.append(row(model, label, parallel, len(stages), simpy_rate))
    return rows


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Capacity simulator speed (higher is better)")
    for col in ("model", "engine", "customers/s", "events/s", "wait@1 (min)", "vs SimPy", "target"):
        table.add_column(col, justify="left" if col in ("model", "engine") else "right")
    for r in rows:
        ratio = "" if r["vs_simpy"] is None else f"{r['vs_simpy']:.1f}x"
        target = r["target"] or ""
        if r["met"] is not None:
            target += " [green]met[/green]" if r["met"] else " [red]missed[/red]"
        table.add_row(
            r["model"],
            r["engine"],
            f"{r['customers_per_s']:,.0f}",
            f"{r['events_per_s']:,.0f}",
            ""
            if r["mean_wait_first_station_min"] is None
            else f"{r['mean_wait_first_station_min']:.3f}",
            ratio,
            target,
        )
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim", description=__doc__)
    parser.add_argument("--sim-customers", type=int, default=200_000)
    parser.add_argument("--sim-repeats", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=110)
    report(run(console, customers=args.sim_customers, repeats=args.sim_repeats), console)


if __name__ == "__main__":
    main()
