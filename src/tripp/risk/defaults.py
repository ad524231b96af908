"""The bundled version-1 rulesets of Armenia (AM) and Azerbaijan (AZ), as plain dicts.

They are a starting point for each customs, which then publishes its own versions. Both
start from the same baseline, so that on opening day a movement meets comparable
screening on either side of the border.
"""

from __future__ import annotations

import copy
from typing import Any

from tripp.risk.ruleset import Ruleset, from_dict

# Score scale. YELLOW is where documents are checked, RED where the load is. A trusted
# trader's TRUSTED points offset a soft signal (a late arrival, a thin record) but not a
# clear one: a clear SIGNAL is worth YELLOW even after that offset. RED takes two clear
# signals, so no single soft criterion sends a truck to the X-ray scanner on its own; hard
# signals (arms, an opened seal) force red through ``lane`` whatever the score.
YELLOW = 20
RED = 50
TRUSTED = -10
SIGNAL = YELLOW - TRUSTED

_BASELINE: dict[str, Any] = {
    "thresholds": {"yellow": YELLOW, "red": RED},
    "rules": [
        {
            "id": "arms",
            "kind": "hs_prefix",
            "description": "arms and ammunition (HS chapter 93)",
            # Licensed goods in every corridor country: a transit without a physical check
            # could carry them anywhere, so no score can outweigh this.
            "prefixes": ["93"],
            "lane": "red",
        },
        {
            "id": "explosives-radioactive",
            "kind": "hs_prefix",
            "description": "explosives, detonators, radioactive elements",
            # Powders, explosives and detonators (3601-3603), radioactive elements (2844):
            # a hazard to the post itself, so checked physically whatever the holder.
            # Fireworks and matches (3604, 3605) are left out on purpose.
            "prefixes": ["3601", "3602", "3603", "2844"],
            "lane": "red",
        },
        {
            "id": "dual-use",
            "kind": "hs_prefix",
            "description": "dual-use goods (examples from the Wassenaar lists)",
            # Reactors (8401), laser/plasma machine tools (8456), numerically controlled
            # lathes (845811) and milling (845961), lasers and optics (9013), radar and
            # navigation (8526), drones (8806). Most are licensed, legitimate trade: the
            # licence is a document, so documents first.
            "prefixes": ["8401", "8456", "845811", "845961", "9013", "8526", "8806"],
            "points": SIGNAL,
        },
        {
            "id": "drug-precursors",
            "kind": "hs_prefix",
            "description": "drug precursors (UN 1988 Convention, tables I and II)",
            # Ephedrine, pseudoephedrine (293941, 293942), P-2-P (291431), PMK, isosafrole,
            # piperonal, safrole (293291-293294), acetic anhydride (291524), potassium
            # permanganate (284161), phenylacetic and anthranilic acid (291634, 292243).
            # More than a clear signal: with any soft one on top (e.g. overdue) it is red.
            "prefixes": [
                "293941",
                "293942",
                "291431",
                "293291",
                "293292",
                "293293",
                "293294",
                "291524",
                "284161",
                "291634",
                "292243",
            ],
            "points": RED - 10,
        },
        {
            "id": "mass-plausible",
            "kind": "mass_limit",
            "description": "declared gross mass above what the vehicle can legally carry",
            # Limits at the legal maximum gross mass of the whole vehicle (truck 40 t, van
            # 3.5 t) or a 4-axle 1520 mm wagon's payload (70 t): a declaration above them
            # is wrong, not merely unusual, so this never flags an honest heavy load.
            "limits_kg": {"truck": 40000, "van": 3500, "wagon": 70000},
            "points": SIGNAL,
        },
        {
            "id": "holder-history",
            "kind": "holder_history",
            "description": "the holder's record on the corridor",
            # A recovery (duties taken from the guarantee) weighs three discrepancies. The
            # cap stays below RED: a record alone asks for documents, never the scanner.
            "weights": {"discrepancies": 5, "incidents": 3, "recoveries": 15},
            "cap": 40,
            # A holder with almost no record is unknown rather than trusted.
            "min_movements": 3,
            "new_holder_points": 5,
        },
        {
            "id": "tracking",
            "kind": "tracking_alert",
            "description": "tracking alerts open on the movement",
            # An opened seal means the load may have changed: the declaration proves
            # nothing any more. Deviations and stops are when goods can be swapped. A
            # silent tracker is most often a flat battery, a late arrival most often the
            # queue at a post: soft signals. Speeding is for the traffic police: left out.
            "alerts": {
                "seal_opened": {"lane": "red"},
                "route_deviation": {"points": SIGNAL},
                "unauthorized_stop": {"points": SIGNAL},
                "tracker_silent": {"points": YELLOW},
                "overdue": {"points": 10},
            },
        },
        {
            "id": "trusted-trader",
            "kind": "trusted_trader",
            "description": "authorised economic operator",
            # See TRUSTED; no lane, so it never undoes a lane that another rule forces.
            "points": TRUSTED,
        },
        {
            "id": "random",
            "kind": "random",
            "description": "random selection",
            # Some unselected movements must be checked to measure what the rules miss
            # and so that no holder can learn to stay green; 5 % in all keeps the posts'
            # load bearable at the corridor's expected volume.
            "red_rate": "0.01",
            "yellow_rate": "0.04",
        },
    ],
}


def default_ruleset_dict(country: str) -> dict[str, Any]:
    """A fresh copy of the bundled version-1 ruleset of ``country`` (AM or AZ)."""
    if country not in DEFAULT_COUNTRIES:
        raise ValueError(f"country={country!r} has no bundled ruleset (AM, AZ)")
    return {"country": country, "version": 1, **copy.deepcopy(_BASELINE)}


def default_ruleset(country: str) -> Ruleset:
    """The bundled version-1 ruleset of ``country``, validated."""
    return from_dict(default_ruleset_dict(country))


DEFAULT_COUNTRIES = ("AM", "AZ")
