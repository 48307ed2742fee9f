"""A run too large to hold in memory gives what a run in memory gives, on the real data.

Both runs ingest all 114 upstream genres (every quarantine and duplicate rule is exercised by
the real file): one in memory, as every run of up to a million rows is, and one told to hold
only 20,000 rows, so that it streams the checked rows through Parquet and curates in six
parts. Every table, quarantine.csv, duplicates.csv and every count of the report must be the
same; the genre averages, summed part by part, may differ in their last bits only.
(test_curate.py checks the parts' arithmetic exactly; bench/out and docs/performance.md show
the in-memory run gives the tables of the code before parts existed.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import DEFAULT_CATALOGUE
from polars.testing import assert_frame_equal

import contract as c
from pipeline.__main__ import main
from pipeline.run import ingest
from pipeline.settings import Settings

SMALL = 20_000


@pytest.fixture(scope="module")
def raw_all(upstream_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw folder with every upstream genre, written by `pipeline raw --genres all`."""
    data_dir = tmp_path_factory.mktemp("all-raw")
    (data_dir / "raw").mkdir()
    shutil.copy(DEFAULT_CATALOGUE, data_dir / "raw" / "genres.toml")
    assert main(["raw", "--data-dir", str(data_dir), "--genres", "all"]) == 0
    return data_dir / "raw"


def run(raw: Path, folder: Path, rows_in_memory: int) -> tuple[Path, Path, list[str]]:
    shutil.copytree(raw, folder / "raw")
    said: list[str] = []
    result = ingest(
        Settings(data_dir=folder, data_docs=False, rows_in_memory=rows_in_memory), said.append
    )
    assert result.status == "published" and result.run_dir is not None
    assert not (result.run_dir / "work").exists()  # the scratch files are gone
    return folder / "curated" / "current", result.run_dir, said


@pytest.mark.realdata
def test_a_run_in_parts_publishes_what_a_run_in_memory_publishes(
    raw_all: Path, tmp_path: Path
) -> None:
    whole, whole_run, _ = run(raw_all, tmp_path / "whole", rows_in_memory=1_000_000)
    parts, parts_run, said = run(raw_all, tmp_path / "parts", rows_in_memory=SMALL)
    assert "  curating 113,998 rows in 6 parts, by track id" in said
    for name in c.CURATED_SCHEMAS:
        expected, found = pl.read_parquet(whole / name), pl.read_parquet(parts / name)
        if "updated_at" in expected.columns:  # each run's own start time
            expected, found = expected.drop("updated_at"), found.drop("updated_at")
        if name == c.GENRES:  # averages of sums made part by part: the last bits may differ
            averages = [column for column in expected.columns if column.startswith("avg_")]
            assert_frame_equal(found, expected, check_exact=False, rel_tol=1e-12)
            expected, found = expected.drop(averages), found.drop(averages)
        assert found.equals(expected), name
    for name in ("quarantine.csv", "duplicates.csv"):
        assert (parts_run / name).read_bytes() == (whole_run / name).read_bytes(), name
    counts = [json.loads((folder / c.MANIFEST).read_text()) for folder in (whole, parts)]
    for manifest in counts:
        for genre in manifest["genres"].values():
            genre.pop("updated_at")
    assert counts[0]["genres"] == counts[1]["genres"]
    assert counts[0]["validation"] == counts[1]["validation"]
    assert counts[0]["validation"]["quarantined_rows"] > 0  # the real file has bad rows
    assert sum(g["duplicates"] for g in counts[0]["genres"].values()) > 0  # and repeats
