"""What a planner reads without the code: PNG charts and one self-contained HTML page.

Per post: each stage's queue length hour by hour (mean across replications with its 95 %
confidence band) and its waiting-time percentiles; the HTML page carries the table of every
stage's figures and the charts inline (base64), so it opens anywhere, offline, as one file.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to files only

import matplotlib.pyplot as plt


def queue_chart(post: str, stations: list[dict[str, Any]]) -> bytes:
    """PNG: queue length by hour for each stage, with the 95 % band across replications."""
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    for st in stations:
        means = [h["mean"] for h in st["queue_by_hour"]]
        halves = [h["half_width"] for h in st["queue_by_hour"]]
        hours = range(len(means))
        ax.plot(hours, means, label=st["name"])
        ax.fill_between(hours, [max(0.0, m - w) for m, w in zip(means, halves, strict=True)],
                        [m + w for m, w in zip(means, halves, strict=True)], alpha=0.2)  # fmt: skip
    ax.set_title(f"{post}: vehicles waiting, by hour (mean and 95 % band)")
    ax.set_xlabel("hour of the simulation (warm-up included)")
    ax.set_ylabel("vehicles waiting")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return _png(fig)


def wait_chart(post: str, stations: list[dict[str, Any]]) -> bytes:
    """PNG: mean, p95 and p99 wait per stage, with the 95 % interval as error bars."""
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    names = [st["name"] for st in stations]
    width = 0.25
    for k, (key, label) in enumerate((("wait_mean", "mean"), ("wait_p95", "95th pct"),
                                      ("wait_p99", "99th pct"))):  # fmt: skip
        values = [st[key]["mean"] for st in stations]
        errors = [st[key]["half_width"] for st in stations]
        ax.bar([i + k * width for i in range(len(names))], values, width, yerr=errors,
               capsize=3, label=label)  # fmt: skip
    ax.set_xticks([i + width for i in range(len(names))], names)
    ax.set_title(f"{post}: waiting time per stage (minutes)")
    ax.set_ylabel("minutes")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write(out: Path, results: dict[str, Any]) -> list[Path]:
    """Charts as PNG files and ``report.html`` into ``out``; returns what was written."""
    written = []
    sections = []
    for post, summary in results["posts"].items():
        stations = summary["stations"]
        charts = {"queue": queue_chart(post, stations), "wait": wait_chart(post, stations)}
        for name, png in charts.items():
            path = out / f"{post}-{name}.png"
            path.write_bytes(png)
            written.append(path)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
                st["name"], _ci(st["wait_mean"]), _ci(st["wait_p95"]), _ci(st["wait_p99"]),
                f"{st['utilisation']['mean']:.0%}", f"{st['throughput_per_hour']['mean']:.1f}",
                f"{st['turned_away']['mean']:.1f}",
            )) + "</tr>"
            for st in stations
        )  # fmt: skip
        images = "".join(
            f'<img alt="{html.escape(post)} {name} chart" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            for name, png in charts.items()
        )
        sections.append(
            f"<h2>{html.escape(post)}</h2><table><thead><tr><th>stage</th>"
            "<th>mean wait (min)</th><th>95th pct</th><th>99th pct</th><th>utilisation</th>"
            "<th>per hour</th><th>turned away</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{images}"
        )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(results['scenario'])}: capacity simulation</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#111}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;"
        "padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%;display:block;margin:1em 0}</style></head><body>"
        f"<h1>{html.escape(results['scenario'])}</h1>"
        f"<p>{results['replications']} replications, seed {results['seed']}. Figures are "
        "means across replications with the half-width of their 95 % confidence interval."
        "</p>" + "".join(sections) + "</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    written.append(path)
    return written


def _ci(estimate: dict[str, float]) -> str:
    return f"{estimate['mean']:.1f} ± {estimate['half_width']:.1f}"
