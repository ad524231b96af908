"""The resilience suite (``make test-resilience``): crashes, outages and a full disk.

Each test records what it did and what it counted through the ``report`` fixture; the
lines are printed together at the end of the run, so CI's log shows the evidence (requests
acknowledged, records found after restart), not only a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

_LINES: list[tuple[str, str]] = []


@dataclass
class Report:
    """What one test did and counted, in plain sentences and ``name=value`` figures."""

    test: str
    lines: list[str] = field(default_factory=list)

    def did(self, text: str) -> None:
        self.lines.append(text)

    def counted(self, **figures: object) -> None:
        self.lines.append(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items()))


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[Report]:
    r = Report(request.node.nodeid.split("::", 1)[-1])
    yield r
    _LINES.extend((r.test, line) for line in r.lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _LINES:
        return
    terminalreporter.section("resilience: what was done and counted")
    current = None
    for test, line in _LINES:
        if test != current:
            terminalreporter.write_line(test)
            current = test
        terminalreporter.write_line(f"    {line}")
