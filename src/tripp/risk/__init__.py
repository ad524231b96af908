"""Risk screening at the border posts (pure: no I/O, no clock, no randomness of its own).

A ``Ruleset`` is versioned data owned by one country's customs (``ruleset.from_dict``
validates it); ``engine.screen`` applies it to a ``Subject`` (what a border post sees of a
movement) and returns a ``Decision``: a ``Lane`` (green, yellow for documents, red for a
physical or X-ray examination), the score, every ``Reason`` with the rule that produced it,
and the ruleset's country and version, so that an auditor can recompute any decision.

Errors: a broken ruleset raises ``tripp.errors.InvalidInput`` listing every broken field;
screening at an office of another country than the ruleset's raises ``RulesetNotApplicable``.
"""

from __future__ import annotations

from tripp.risk.engine import random_draw, screen
from tripp.risk.model import Decision, HolderHistory, Lane, Reason, Subject
from tripp.risk.ruleset import Ruleset, RulesetNotApplicable, from_dict

__all__ = [
    "Decision",
    "HolderHistory",
    "Lane",
    "Reason",
    "Ruleset",
    "RulesetNotApplicable",
    "Subject",
    "from_dict",
    "random_draw",
    "screen",
]
