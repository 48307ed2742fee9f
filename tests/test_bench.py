"""Smoke tests of bench/: the synthetic generator and the query mix keep working (no timings)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import polars as pl

from bench import queries
from bench.scale_model import model, one_machine_limit, power_law
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
    synthetic = synthetic_frame(upstream, rows=50, seed=1, mode="resample")
    assert synthetic.columns == upstream.columns
    assert synthetic[""].to_list() == [str(n) for n in range(50)]
    ids = synthetic["track_id"].to_list()
    assert len(set(ids)) == 50 and not set(ids) & set(upstream["track_id"])
    assert all(re.fullmatch(TRACK_ID_PATTERN, track_id) for track_id in ids)
    pairs = set(synthetic.select("energy", "track_genre").iter_rows())
    assert pairs <= {("0.1", "ambient"), ("0.9", "sleep")}
    assert synthetic_frame(upstream, rows=50, seed=1, mode="resample").equals(synthetic)


def test_perturbed_rows_move_valid_features_a_little_and_keep_everything_else() -> None:
    upstream = pl.DataFrame(
        {
            "": ["0", "1", "2"],
            "track_id": ["a" * 22, "b" * 22, "c" * 22],
            "popularity": ["50", "0", "oops"],
            "energy": ["0.5", "1.0", "1.7"],  # 1.7 is out of range: kept for the pipeline
            "instrumentalness": ["0.25", "0", ""],
            "tempo": ["120.0", "0", "90"],  # 0 means no beat
            "key": ["5", "11", "2"],
            "track_genre": ["ambient", "sleep", "piano"],
        }
    )
    synthetic = synthetic_frame(upstream, rows=3000, seed=7, start=62**2)
    assert synthetic[""].to_list() == [str(62**2 + n) for n in range(3000)]
    ids = synthetic["track_id"].to_list()
    assert len(set(ids)) == 3000 and all(re.fullmatch(TRACK_ID_PATTERN, i) for i in ids)
    assert ids[0].startswith("Synth00100")  # the row number 62**2 in base62, then random
    by_source = synthetic.partition_by("track_genre", as_dict=True)
    first, second, third = (by_source[(genre,)] for genre in ("ambient", "sleep", "piano"))
    # every cell that does not parse or is out of range, and every categorical cell, verbatim
    assert set(third["popularity"]) == {"oops"} and set(third["energy"]) == {"1.7"}
    assert set(third["instrumentalness"]) == {""} and set(second["tempo"]) == {"0"}
    assert set(first["key"]) == {"5"} and set(second["key"]) == {"11"}
    # valid numbers move by noise of about 1% of their range, never out of it
    energy = first["energy"].cast(pl.Float64)
    assert (
        energy.n_unique() > 20 and 0.005 < energy.std() < 0.015 and abs(energy.mean() - 0.5) < 0.002
    )
    edge = second["energy"].cast(pl.Float64)
    assert edge.max() <= 1.0 and 0.98 < edge.mean() < 1.0  # reflected at 1, not piled up at it
    tempo = first["tempo"].cast(pl.Float64)
    assert 1.5 < tempo.std() < 3.5 and abs(tempo.mean() - 120) < 0.3  # 1% of 0-250 BPM
    popularity = first["popularity"].cast(pl.Int64)
    assert set(popularity) <= set(range(44, 57)) and abs(popularity.mean() - 50) < 0.2
    roots = first["instrumentalness"].cast(pl.Float64).sqrt()  # the noise is added in sqrt space
    assert 0.005 < roots.std() < 0.015 and abs(roots.mean() - 0.5) < 0.002
    assert synthetic_frame(upstream, rows=3000, seed=7, start=62**2).equals(synthetic)  # seeded


def test_every_request_of_the_benchmark_mix_succeeds(real_curated_dir: Path) -> None:
    rows = queries.run_dataset(real_curated_dir, "smoke", size=20)
    assert {row["group"] for row in rows} == set(queries.GROUPS)
    assert all(row["non_200"] == 0 for row in rows)
    assert {row["n"] for row in rows if row["group"] != "export"} == {20}
    assert [row["n"] for row in rows if row["group"] == "export"] == [5]  # a few whole genres


def test_the_scale_model_recovers_a_power_law_and_the_one_machine_limit() -> None:
    a, b = power_law([(1e6, 2.0 * 1e6**0.5), (3e6, 2.0 * 3e6**0.5), (1e7, 2.0 * 1e7**0.5)])
    assert math.isclose(a, 2.0, rel_tol=1e-9) and math.isclose(b, 0.5, rel_tol=1e-9)
    sizes = [
        {"rows": rows, "version_mb": 70.0 * rows / 1e6, "ingest_peak_rss_mb": 2000.0}
        for rows in (1_000_000, 10_000_000)
    ]
    by_name = {row["figure"]: row for row in model(sizes)}
    assert by_name["version MB"]["exponent"] == 1.0
    assert by_name["version MB"]["law at 100M"] == 7000.0  # 70 MB a million, linear
    assert by_name["ingest peak MB"]["exponent"] == 0.0  # flat
    assert "cache MB" not in by_name  # not measured: no law
    # 24 GB, less 2 workers of 100 MB and an ingest of 2 GB, at 1,300 MB per million tracks
    assert math.isclose(one_machine_limit(1300, 24576, 200, 2048), (24576 - 2248) / 1300)
