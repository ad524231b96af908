"""A scenario from what a post actually recorded: the digital twin's starting point.

From a tripp database, for one office over a window of days: arrivals per day, by weekday
and by hour of day, from the crossings (or arrivals) recorded there; the share of
screenings that were yellow or red, which routes vehicles to the documentary and the
load inspections; the inspections' recorded durations, as empirical service times. What
tripp does not record (how long the booth took) keeps the estimate of the template, and the
written file says which figures are measured and which are not.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from tripp.db.tables import events, screenings

# Below this many crossings the profile is noise: keep the template's instead.
MIN_CROSSINGS = 50


def calibrate(
    conn: Connection, office: str, since: datetime, until: datetime, template: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario ``template`` with the measured figures of ``office`` put in, and a
    report of what was measured (counts, the window)."""
    times = [r.at for r in conn.execute(
        select(events.c.at).where(
            events.c.office == office,
            events.c.type.in_(["border_crossing", "arrival"]),
            events.c.at >= since, events.c.at < until,
        )
    )]  # fmt: skip
    lanes = Counter(r.lane for r in conn.execute(
        select(screenings.c.lane).where(
            screenings.c.office == office, screenings.c.at >= since, screenings.c.at < until
        )
    ))  # fmt: skip
    durations: dict[str, list[float]] = {}
    for r in conn.execute(
        select(events.c.payload).where(
            events.c.office == office, events.c.type == "inspection",
            events.c.at >= since, events.c.at < until,
        )
    ):  # fmt: skip
        kind, minutes = r.payload.get("kind"), r.payload.get("duration_min")
        if isinstance(kind, str) and isinstance(minutes, int | float) and minutes > 0:
            durations.setdefault(kind, []).append(float(minutes))
    scenario = _apply(template, office, times, lanes, durations, since, until)
    report = {
        "office": office, "since": since.isoformat(), "until": until.isoformat(),
        "crossings": len(times), "screenings": dict(lanes),
        "inspections": {k: len(v) for k, v in durations.items()},
        "profile_measured": len(times) >= MIN_CROSSINGS,
    }  # fmt: skip
    return scenario, report


def _apply(
    template: dict[str, Any],
    office: str,
    times: list[datetime],
    lanes: Counter[str],
    durations: dict[str, list[float]],
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    out = {**template, "scenario": f"{template.get('scenario', 'calibrated')}-{office}"}
    days = max(1.0, (until - since) / timedelta(days=1))
    if len(times) >= MIN_CROSSINGS:
        hourly = [0.0] * 24
        weekday = [0.0] * 7
        for t in times:
            hourly[t.hour] += 1
            weekday[t.weekday()] += 1
        # Every class keeps its share of the template's volume; the shape is measured.
        classes = dict(out.get("classes", {}))
        template_total = sum(float(c.get("daily", 0)) for c in classes.values()) or 1.0
        for name, c in classes.items():
            share = float(c.get("daily", 0)) / template_total
            classes[name] = {**c, "daily": round(len(times) / days * share, 2),
                             "hourly": [round(h, 3) if h else 0.001 for h in hourly],
                             "weekday": [round(w, 3) if w else 0.001 for w in weekday]}  # fmt: skip
        out["classes"] = classes
    screened = sum(lanes.values())
    posts = []
    for post in out.get("posts", []):
        post = dict(post)
        if post.get("id") == office:
            post["stages"] = [_stage(dict(s), lanes, screened, durations)
                              for s in post.get("stages", [])]  # fmt: skip
        posts.append(post)
    out["posts"] = posts
    return out


def _stage(
    stage: dict[str, Any], lanes: Counter[str], screened: int, durations: dict[str, list[float]]
) -> dict[str, Any]:
    """X-ray and physical stages take the red share; documentary checks the yellow one."""
    kind = str(stage.get("id", ""))
    if screened and kind in ("xray", "physical"):
        stage["share"] = round(lanes.get("red", 0) / screened, 4)
    if screened and kind == "documentary":
        stage["share"] = round(lanes.get("yellow", 0) / screened, 4)
    samples = durations.get(kind)
    if samples and len(samples) >= 10:
        stage["service"] = {"dist": "empirical", "samples_min": sorted(samples)}
    return stage
