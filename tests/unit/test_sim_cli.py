"""`tripp sim run`: the bundled scenario end to end, reproducible to the byte."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tripp.cli import app

BUNDLED = Path(__file__).parents[2] / "src/tripp/sim/data/tripp-meghri.yaml"


def _small(tmp_path: Path) -> Path:
    raw = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    raw |= {"horizon_days": 2, "replications": 3}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_seeded_run_reproduces_its_output_byte_for_byte(tmp_path: Path) -> None:
    scenario = _small(tmp_path)
    runner = CliRunner()
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(app, ["sim", "run", str(scenario), "--out", str(out),
                                     "--workers", "1"])  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(((out / "summary.json").read_bytes(), (out / "stations.csv").read_text()))
    assert outputs[0] == outputs[1]
    rows = outputs[0][1].splitlines()
    assert rows[0].startswith("post,stage,wait_mean_min")
    assert [r.split(",")[1] for r in rows[1:]] == ["booth", "fee", "xray", "passengers"]
    out = tmp_path / "a"
    for name in ("AM000101-queue.png", "AM000101-wait.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "booth" in page and "http" not in page


def test_a_broken_scenario_names_its_fields(tmp_path: Path) -> None:
    raw = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    raw["replications"] = -1
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(app, ["sim", "run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "replications" in result.stderr
