"""Odd files that once crashed the loader instead of being reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import CorridorInvalid


@pytest.mark.parametrize("geojson", ["null", "[]", '"text"', "42"])
def test_geojson_that_is_not_an_object(tmp_path: Path, geojson: str) -> None:
    shutil.copy(bundled_corridor_path(), tmp_path / "tripp.yaml")
    (tmp_path / "tripp.geojson").write_text(geojson)
    with pytest.raises(CorridorInvalid) as caught:
        load_corridor(tmp_path / "tripp.yaml")
    assert "tripp.geojson" in str(caught.value)


def test_yaml_key_that_is_a_list(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("? [a]\n: 1\n")
    with pytest.raises(CorridorInvalid, match="a key must be plain text"):
        load_corridor(tmp_path / "k.yaml")
