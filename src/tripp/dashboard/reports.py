"""Simulator reports on disk: each a directory written by ``tripp sim run --out DIR``
(``summary.json``, ``stations.csv``, ``report.html``, PNG charts) under one root.

Only names this module lists are ever opened: a report is a directory directly under the
root, a file a regular file directly in it with a known suffix; symbolic links are not
followed out of the root.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Report:
    name: str
    scenario: str | None
    created_at: datetime
    files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scenario": self.scenario,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
                "files": list(self.files)}  # fmt: skip


@dataclass(frozen=True)
class ReportShelf:
    """The reports under ``root`` (which may not exist yet: then there are none)."""

    root: Path

    def _files(self, folder: Path) -> tuple[str, ...]:
        return tuple(
            sorted(
                f.name
                for f in folder.iterdir()
                if _NAME.match(f.name)
                and f.suffix.lower() in MEDIA_TYPES
                and not f.is_symlink()
                and f.is_file()
            )
        )

    def _report(self, folder: Path) -> Report | None:
        if not _NAME.match(folder.name) or folder.is_symlink() or not folder.is_dir():
            return None
        files = self._files(folder)
        if "summary.json" not in files and "report.html" not in files:
            return None
        marker = folder / ("summary.json" if "summary.json" in files else "report.html")
        created = datetime.fromtimestamp(marker.stat().st_mtime, UTC).replace(microsecond=0)
        return Report(folder.name, _scenario(folder / "summary.json"), created, files)

    def list(self) -> list[Report]:
        """Newest first, then by name."""
        if not self.root.is_dir():
            return []
        found = [r for d in self.root.iterdir() if (r := self._report(d)) is not None]
        return sorted(found, key=lambda r: (-r.created_at.timestamp(), r.name))

    def file(self, name: str, file: str) -> tuple[Path, str] | None:
        """The path and media type of a listed file, or None."""
        if not (_NAME.match(name) and _NAME.match(file)) or not self.root.is_dir():
            return None
        report = self._report(self.root / name)
        if report is None or file not in report.files:
            return None
        path = self.root / name / file
        if path.resolve().parent != (self.root / name).resolve():
            return None
        return path, MEDIA_TYPES[path.suffix.lower()]


def _scenario(summary: Path) -> str | None:
    try:
        value = json.loads(summary.read_text(encoding="utf-8")).get("scenario")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
