"""`tripp sim calibrate`'s core: a scenario from what an office recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.sim.calibrate import MIN_CROSSINGS, calibrate
from tripp.sim.scenario import from_dict

ENTRY = "AM000101"
TEMPLATE = Path(__file__).parents[2] / "src/tripp/sim/data/tripp-meghri.yaml"


def test_the_profile_lanes_and_inspection_times_come_from_the_records(
    api: Api, tokens: Tokens, wiring: Wiring
) -> None:
    started = datetime.now(UTC)
    grn = api.guarantee("100000000.00")["grn"]
    crossed = MIN_CROSSINGS + 10
    for i in range(crossed):
        r = api.lodge(grn)
        mrn = r.json()["mrn"]
        api.event(mrn, tokens.az_customs, "release", api.itinerary.office_of_departure)
        if i < 12:  # some are screened red and X-rayed before they cross
            api.call("POST", f"/offices/{ENTRY}/screenings", tokens.am_customs, json={"mrn": mrn})
            r = api.event(mrn, tokens.am_customs, "inspection", ENTRY, kind="xray",
                          outcome="no_findings", duration_min=3 + i % 4)  # fmt: skip
            assert r.status_code == 201, r.text
        r = api.event(mrn, tokens.am_customs, "border_crossing", ENTRY, direction="entry")
        assert r.status_code == 201, r.text
    template = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    with wiring.engine.connect() as conn:
        scenario, report = calibrate(conn, ENTRY, now - timedelta(days=28), now + timedelta(
            minutes=1), template)  # fmt: skip
    assert report["crossings"] == crossed and report["profile_measured"]
    s = from_dict(scenario)  # what calibration writes is a valid scenario
    total = sum(c.daily for c in s.classes.values())
    assert abs(total - crossed / 28) < 0.1  # the window's daily average
    truck = s.classes["truck"]
    # Recorded just now: the busiest hour is this one (or the last, across an hour's turn).
    assert max(range(24), key=lambda h: truck.hourly[h]) in {started.hour, now.hour}
    xray = next(st for st in s.posts[0].stages if st.id == "xray")
    assert xray.service.dist == "empirical"
    assert sorted(xray.service.params["samples_min"]) == sorted(3 + i % 4 for i in range(12))
    screened = sum(report["screenings"].values())
    assert xray.share == round(report["screenings"].get("red", 0) / screened, 4)
