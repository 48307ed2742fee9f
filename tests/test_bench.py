"""Smoke tests of bench/: the synthetic generator and the query mix keep working (no timings)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from bench import queries
from bench.synth import synthetic_frame
from contract import TRACK_ID_PATTERN


def test_synthetic_rows_copy_real_rows_under_new_unique_valid_ids() -> None:
    upstream = pl.DataFrame(
        {
            "": ["0", "1"],
            "track_id": ["a" * 22, "b" * 22],
            "energy": ["0.1", "0.9"],
            "track_genre": ["ambient", "sleep"],
        }
    )
    synthetic = synthetic_frame(upstream, rows=50, seed=1)
    assert synthetic.columns == upstream.columns
    assert synthetic[""].to_list() == [str(n) for n in range(50)]
    ids = synthetic["track_id"].to_list()
    assert len(set(ids)) == 50 and not set(ids) & set(upstream["track_id"])
    assert all(re.fullmatch(TRACK_ID_PATTERN, track_id) for track_id in ids)
    pairs = set(synthetic.select("energy", "track_genre").iter_rows())
    assert pairs <= {("0.1", "ambient"), ("0.9", "sleep")}
    assert synthetic_frame(upstream, rows=50, seed=1).equals(synthetic)  # seeded


def test_every_request_of_the_benchmark_mix_succeeds(real_curated_dir: Path) -> None:
    rows = queries.run_dataset(real_curated_dir, "smoke", size=20)
    assert {row["group"] for row in rows} == set(queries.GROUPS)
    assert all(row["non_200"] == 0 for row in rows)
    assert {row["n"] for row in rows if row["group"] != "export"} == {20}
    assert [row["n"] for row in rows if row["group"] == "export"] == [5]  # a few whole genres
