"""``tripp sim``: run a capacity scenario and write what planners read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from tripp.errors import FieldError, InvalidInput
from tripp.sim.build import model
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


@app.command("optimize")
def optimize_command(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="scenario YAML")],
    target: Annotated[str, typer.Option(help='e.g. "p95_wait<=30min" (mean, median, p95, p99)')],
    workers: Annotated[int, typer.Option(help="processes for the replications (0: the cores)")] = 0,
) -> None:
    """The fewest servers per stage of each post meeting TARGET with 95 % confidence (flat
    staffing), and the frontier: each count tried against the wait it gives."""
    from tripp.sim.optimize import optimize, parse_target

    goal = parse_target(target)
    s = load(scenario)
    table = Table("post", "stage", "servers", f"{goal.statistic} wait (min)", "upper 95 %",
                  "meets")  # fmt: skip
    answers: dict[str, dict[str, int]] = {}
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"{s.name}: sizing for {goal}", total=None)
        for post in s.posts:
            chosen, frontier = optimize(
                model(s, post), goal, replications=s.replications, seed=s.seed,
                workers=workers or None, progress=lambda p: progress.advance(task),
            )  # fmt: skip
            answers[post.id] = chosen
            for p in frontier:
                table.add_row(post.id, p.stage, str(p.servers), f"{p.wait_min:.1f}",
                              f"{p.upper_min:.1f}", "yes" if p.met else "no")  # fmt: skip
    Console().print(table)
    for post_id, chosen in answers.items():
        sizes = ", ".join(f"{stage} {n}" for stage, n in chosen.items())
        typer.echo(f"{post_id}: {sizes}  (meets {goal} with 95 % confidence)")


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
