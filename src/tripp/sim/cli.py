"""``tripp sim``: run a capacity scenario and write what planners read."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from tripp.errors import FieldError, InvalidInput
from tripp.sim.build import model
from tripp.sim.drive_cli import drive
from tripp.sim.replicate import replicate
from tripp.sim.scenario import Scenario, from_dict

app = typer.Typer(help="Capacity simulation of border posts (docs/simulation.md).",
                  no_args_is_help=True)  # fmt: skip
err = Console(stderr=True)


def load(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput([FieldError(str(path), str(exc).splitlines()[0], "readable")]) from exc
    return from_dict(raw, file=str(path))


@app.command("run")
def run(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="scenario YAML")],
    out: Annotated[Path, typer.Option(help="directory for summary.json and stations.csv")] = Path(
        "sim-out"
    ),
    workers: Annotated[int, typer.Option(help="processes for the replications (0: the cores)")] = 0,
) -> None:
    """Simulate every post of SCENARIO over its replications; prints each stage's waits with
    95 % confidence intervals and writes JSON and CSV (same seed: identical bytes), PNG
    charts and a self-contained report.html."""
    s = load(scenario)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"scenario": s.name, "seed": s.seed,
                               "replications": s.replications, "posts": {}}  # fmt: skip
    rows: list[list[str]] = []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"{s.name}: {len(s.posts)} posts", total=len(s.posts))
        for post in s.posts:
            summary = replicate(model(s, post), replications=s.replications, seed=s.seed,
                                workers=workers or None)  # fmt: skip
            results["posts"][post.id] = json.loads(summary.to_json())
            rows += _rows(post.id, summary)
            progress.advance(task)
    (out / "summary.json").write_text(json.dumps(results, sort_keys=True, indent=1) + "\n")
    (out / "stations.csv").write_text(_csv(rows))
    from tripp.sim.report import write as write_report

    charts = write_report(out, results)
    _print(rows)
    err.print(f"written: {out / 'summary.json'}, {out / 'stations.csv'}, "
              f"{', '.join(p.name for p in charts)}")  # fmt: skip


_HEADER = ["post", "stage", "wait_mean_min", "ci95", "wait_p95_min", "wait_p99_min",
           "utilisation", "throughput_per_hour", "turned_away"]  # fmt: skip


def _rows(post: str, summary: Any) -> list[list[str]]:
    out = []
    for st in summary.stations:
        out.append([post, st.name, f"{st.wait_mean.mean:.2f}", f"{st.wait_mean.half_width:.2f}",
                    f"{st.wait_p95.mean:.2f}", f"{st.wait_p99.mean:.2f}",
                    f"{st.utilisation.mean:.3f}", f"{st.throughput_per_hour.mean:.1f}",
                    f"{st.turned_away.mean:.1f}"])  # fmt: skip
    return out


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def _print(rows: list[list[str]]) -> None:
    table = Table("post", "stage", "mean wait (min)", "p95", "p99", "utilisation",
                  "per hour", "turned away")  # fmt: skip
    for r in rows:
        table.add_row(r[0], r[1], f"{r[2]} ± {r[3]}", r[4], r[5], r[6], r[7], r[8])
    Console().print(table)


class Staffing(StrEnum):
    auto = "auto"
    hourly = "hourly"
    flat = "flat"


_OPTIMIZE_HELP = (
    "The fewest servers for each stage of each post so that TARGET holds with 95 % "
    "confidence over the scenario's replications, and the frontier of what was tried.\n\n"
    "Hour by hour, TARGET must hold for the vehicles arriving in every hour of the day: the "
    "answer is a count for each hour with the fewest server-hours, never below the hour's "
    "steady-state (Erlang C) need, printed as a 24-hour table. Flat, one count holds over "
    "the whole day. Stages are sized in the order vehicles meet them."
)


@app.command("optimize", help=_OPTIMIZE_HELP)
def optimize_command(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="scenario YAML")],
    target: Annotated[str, typer.Option(
        help='the service level, e.g. "p95_wait<=30min": 95 % of vehicles wait at most 30 '
             "minutes (mean, median, p95 or p99; min or h)")],
    staffing: Annotated[Staffing, typer.Option(
        help="hourly: one count per hour of the day; flat: one count all day; auto: hourly "
             "for a stage whose arrivals or scenario staffing vary by hour, else flat")
    ] = Staffing.auto,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="PATH",
        help="also write the staffing and the frontier as JSON")] = None,
    max_simulations: Annotated[int, typer.Option(
        help="hourly sizing: at most this many simulations per stage", min=1)] = 150,
    workers: Annotated[int, typer.Option(help="processes for the replications (0: the cores)")] = 0,
) -> None:  # fmt: skip
    from tripp.sim.optimize import parse_target, plan

    goal = parse_target(target)
    s = load(scenario)
    plans: dict[str, list[Any]] = {}
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"{s.name}: sizing for {goal}", total=None)
        for post in s.posts:
            m = model(s, post)
            hourly = (
                None
                if staffing is Staffing.auto
                else [staffing is Staffing.hourly] * len(m.stations)
            )
            plans[post.id] = plan(m, goal, replications=s.replications, seed=s.seed,
                                  hourly=hourly, workers=workers or None,
                                  max_simulations=max_simulations,
                                  progress=lambda: progress.advance(task))  # fmt: skip
    from tripp.sim.optimize import plans_dict

    _print_plans(Console(), plans, goal)
    if json_out is not None:
        posts = {post_id: plans_dict(stages) for post_id, stages in plans.items()}
        document = {"scenario": s.name, "seed": s.seed, "replications": s.replications,
                    "target": str(goal), "posts": posts}  # fmt: skip
        json_out.write_text(json.dumps(document, sort_keys=True, indent=1) + "\n")
        err.print(f"written: {json_out}")


def _print_plans(console: Console, plans: dict[str, list[Any]], goal: Any) -> None:
    """The flat frontiers in one table; for each stage sized by hour its search (frontier)
    and its 24-hour staffing; then one line per post with the answer."""
    from tripp.sim.optimize import FlatStage

    flat = [(post, p) for post, stages in plans.items() for p in stages if isinstance(p, FlatStage)]
    if flat:
        table = Table("post", "stage", "servers", f"{goal.statistic} wait (min)", "upper 95 %",
                      "meets", title="Flat staffing: each count tried")  # fmt: skip
        for post, p in flat:
            for pt in p.frontier:
                table.add_row(post, pt.stage, str(pt.servers), f"{pt.wait_min:.1f}",
                              f"{pt.upper_min:.1f}", "yes" if pt.met else "no")  # fmt: skip
        console.print(table)
    for post, stages in plans.items():
        for p in stages:
            if not isinstance(p, FlatStage):
                console.print(_search_table(post, p, goal))
                console.print(_schedule_table(post, p, goal))
    for post, stages in plans.items():
        console.print(f"{post} meets {goal} with 95 % confidence with:")
        for p in stages:
            console.print(f"  {_answer(p)}")


def _search_table(post: str, p: Any, goal: Any) -> Table:
    table = Table("step", "change", "server-hours a day", "worst hour",
                  f"{goal.statistic} wait there (min)", "upper 95 %", "all hours meet",
                  title=f"{post} {p.stage}: hour-by-hour search (frontier)")  # fmt: skip
    for st in p.frontier:
        change = st.change if st.kept else f"{st.change}, undone"
        worst = f"{st.worst_hour:02d}-{st.worst_hour + 1:02d}"
        table.add_row(str(st.step), change, str(st.server_hours), worst, f"{st.wait_min:.1f}",
                      f"{st.upper_min:.1f}", "yes" if st.met else "no")  # fmt: skip
    return table


def _schedule_table(post: str, p: Any, goal: Any) -> Table:
    table = Table("hour", "arrivals per hour", "steady-state need", "servers",
                  f"{goal.statistic} wait (min)", "upper 95 %",
                  title=f"{post} {p.stage}: servers by hour, "
                        f"{p.server_hours} server-hours a day")  # fmt: skip
    for h, servers in enumerate(p.servers_by_hour):
        w = p.waits[h]
        wait, upper = ("-", "-") if w is None else (f"{w.mean:.1f}",
                                                    f"{w.mean + w.half_width:.1f}")  # fmt: skip
        table.add_row(f"{h:02d}-{h + 1:02d}", f"{p.arrivals_per_hour[h]:.1f}",
                      str(p.stationary_by_hour[h]), str(servers), wait, upper)  # fmt: skip
    return table


def _answer(p: Any) -> str:
    from tripp.sim.optimize import FlatStage

    if isinstance(p, FlatStage):
        return f"{p.stage} {p.servers} all day"
    low, peak = min(p.servers_by_hour), max(p.servers_by_hour)
    counts = f"{low}-{peak}" if low < peak else f"{peak}"
    note = " (search budget spent: may not be the fewest)" if p.exhausted else ""
    return (f"{p.stage} {counts} by hour: {p.server_hours} server-hours a day "
            f"({24 * peak} flat at the peak){note}")  # fmt: skip


@app.command("calibrate")
def calibrate_command(
    office: Annotated[str, typer.Option(help="the office whose records calibrate the post")],
    template: Annotated[Path, typer.Option(help="scenario to start from (its posts, stages)")],
    out: Annotated[Path, typer.Option(help="where to write the calibrated scenario")],
    days: Annotated[int, typer.Option(help="window: the last DAYS days")] = 28,
) -> None:
    """Write a scenario whose arrival profile (daily volume, weekday and hour shapes), lane
    shares and inspection times come from what OFFICE recorded in TRIPP_DATABASE_URL."""
    from datetime import UTC, datetime, timedelta

    from tripp.bootstrap import wire
    from tripp.config import Settings
    from tripp.sim.calibrate import calibrate

    base = yaml.safe_load(template.read_text(encoding="utf-8"))
    load(template)  # the template itself must be a valid scenario
    w = wire(Settings.from_env())
    until = datetime.now(UTC)
    with w.engine.connect() as conn:
        scenario, report = calibrate(conn, office, until - timedelta(days=days), until, base)
    from_dict(scenario)  # what is written must read back
    header = "# Calibrated by tripp sim calibrate: " + json.dumps(report, sort_keys=True) + "\n"
    out.write_text(header + yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    err.print(
        f"{out}: {report['crossings']} crossings, screenings {report['screenings']}, "
        f"profile {'measured' if report['profile_measured'] else 'kept from the template'}"
    )


app.command("drive")(drive)
