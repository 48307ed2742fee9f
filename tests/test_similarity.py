"""service/similarity.py on small hand-built frames: z-scores, exact nearest neighbours, ties.

The statistics are chosen (mean 0, std 1, or a square-root transform of perfect squares) so every
distance below is worked out by hand: 3-4-5 triangles and small integers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest

import contract as c
from contract.space import z_scores as standardise
from service.serving import in_memory
from service.similarity import (
    FeatureSpace,
    feature_space,
    from_z,
    mean_point,
    nearest,
    to_z,
)
from service.similarity import in_units as units


def tid(n: int) -> str:
    return f"{n:0>22}"


# (name, artists, energy, valence) of five tracks; the others features are 0 everywhere.
ROWS = [
    ("One", "A", 0.0, 0.0),
    ("Two", "B", 3.0, 4.0),  # 5 from One
    ("Three", "C", 0.0, 5.0),  # 5 from One: a tie with Two, broken by id
    ("One", "A", 1.0, 0.0),  # the same recording as track 1 (same name and artists)
    ("Five", "A", 0.0, 1.0),  # same artists, another name: not the same recording
]


def space_of(rows: list[tuple[str, str, float, float]]) -> FeatureSpace:
    """A space whose z-scores are the raw values: every feature has mean 0 and std 1."""
    n = len(rows)
    defaults = {column: dtype for column, dtype in c.CURATED_SCHEMAS[c.TRACKS].items()}
    tracks = pl.DataFrame(
        {
            **{column: [None] * n for column in defaults},
            "id": [tid(i) for i in range(1, n + 1)],
            "name": [r[0] for r in rows],
            "artists": [r[1] for r in rows],
            "genre_id": ["g"] * n,
            **{f: [0.0] * n for f in c.SIMILARITY_FEATURES},
            "energy": [r[2] for r in rows],
            "valence": [r[3] for r in rows],
            "popularity": [50] * n, "duration_ms": [1] * n, "key": [0] * n, "mode": [1] * n,
            "time_signature": [4] * n, "explicit": [False] * n, "mood": ["sad"] * n,
        },
        schema=defaults,
    )  # fmt: skip
    stats = pl.DataFrame(
        {
            "feature": list(c.SIMILARITY_FEATURES),
            "transform": ["identity"] * len(c.SIMILARITY_FEATURES),
            "mean": [0.0] * len(c.SIMILARITY_FEATURES),
            "std": [1.0] * len(c.SIMILARITY_FEATURES),
        }
    )
    tables = {
        c.TRACKS: tracks,
        c.TRACK_GENRES: pl.DataFrame({"genre_id": ["g"] * n, "track_id": tracks["id"]}),
        c.GENRES: pl.DataFrame({"id": ["g"], "name": ["G"], "position": [0]}),
        c.FEATURE_STATS: stats,
    }
    return feature_space(in_memory(tables), stats, ("g",))


def space_from(matrix: np.ndarray, recording: np.ndarray) -> FeatureSpace:
    """A space over a feature-major matrix of z-scores, as the serving cache holds it."""
    norms = (matrix**2).sum(axis=0)
    return FeatureSpace(
        columns=dict(zip(c.SIMILARITY_FEATURES, matrix, strict=True)),
        matrix32=matrix.astype(np.float32),
        norms32=norms.astype(np.float32),
        max_length=float(np.sqrt(norms.max())),
        stats={},
        recording=recording,
        centroids={},
    )


def test_nearest_is_exact_ties_by_id_and_leaves_out_the_recording() -> None:
    space = space_of(ROWS)
    one = {"energy": 0.0, "valence": 0.0}
    recording_of_one = int(space.recording[0])
    found = nearest(space, one, None, None, [recording_of_one], 0, 10)
    # rows 0 and 3 (track 1 and its other release) left out; 5 (row 4) at 1, then 2 and 3 at 5
    assert found.rows.tolist() == [4, 1, 2]
    assert found.distances.tolist() == [1.0, 5.0, 5.0]
    assert found.total == 3


def test_a_page_cut_through_a_tie_keeps_id_order() -> None:
    space = space_of(ROWS)
    one = {"energy": 0.0, "valence": 0.0}
    pages = [nearest(space, one, None, None, [], start, start + 1).rows.tolist()
             for start in range(5)]  # fmt: skip
    assert pages == [[0], [3], [4], [1], [2]]  # 0, 1, 1 (tie: row 3 before 4), 5, 5
    assert nearest(space, one, None, None, [], 5, 6).rows.tolist() == []


def test_candidates_and_a_mask_limit_the_search() -> None:
    space = space_of(ROWS)
    candidates = np.array([1, 2, 4])
    keep = np.array([True, True, False])  # row 4 filtered out
    found = nearest(space, {"energy": 3.0, "valence": 4.0}, candidates, keep, [], 0, 5)
    assert found.rows.tolist() == [1, 2]  # itself at 0, then (0, 5): sqrt(9 + 1)
    assert found.distances.tolist() == [0.0, pytest.approx(math.sqrt(10))]
    assert found.total == 2


def test_one_feature_counts_alone() -> None:
    space = space_of(ROWS)
    found = nearest(space, {"valence": 4.0}, None, None, [], 0, 2)
    assert found.rows.tolist() == [1, 2]  # valence 4 (distance 0), then 5 (distance 1)
    assert found.distances.tolist() == [0.0, 1.0]


def test_standardise_with_a_square_root_and_a_zero_spread() -> None:
    values = np.array([0.0, 0.25, 1.0])
    assert standardise(values, "sqrt", 0.5, 0.5).tolist() == [-1.0, 0.0, 1.0]  # sqrt: 0, .5, 1
    assert standardise(values, "identity", 0.0, 0.0).tolist() == [0.0, 0.0, 0.0]


def test_values_and_z_scores_convert_both_ways() -> None:
    space = space_of(ROWS)
    sqrt_space = dataclasses.replace(
        space, stats={**space.stats, "speechiness": ("sqrt", 0.5, 0.25)}
    )
    assert to_z(sqrt_space, "speechiness", 0.25) == 0.0  # sqrt(0.25) = 0.5, the mean
    assert to_z(sqrt_space, "speechiness", 1.0) == 2.0  # (1 - 0.5) / 0.25
    assert from_z(sqrt_space, "speechiness", 2.0) == 1.0
    assert from_z(sqrt_space, "speechiness", -2.0) == 0.0  # (0.5 - 0.5) squared
    assert units(sqrt_space, {"speechiness": 0.0, "energy": 1.5}) == {
        "speechiness": 0.25,
        "energy": 1.5,
    }


def test_a_genre_centroid_is_the_mean_of_its_tracks() -> None:
    space = space_of(ROWS)
    centroid = space.centroids["g"]
    assert centroid["energy"] == pytest.approx((0 + 3 + 0 + 1 + 0) / 5)
    assert centroid["valence"] == pytest.approx((0 + 4 + 5 + 0 + 1) / 5)
    assert mean_point([{"energy": 1.0}, {"energy": 4.0}], ("energy",)) == {"energy": 2.5}


def test_the_expanded_scan_agrees_with_the_direct_one_on_random_points() -> None:
    """All nine features go through |x|^2 - 2x.q + |q|^2 and a direct re-measure near the cut:
    the page must be exactly what sorting the direct distances gives."""
    rng = np.random.default_rng(7)
    rows = [(f"T{n}", "A", 0.0, 0.0) for n in range(300)]
    space = space_of(rows)
    matrix = np.round(rng.normal(size=(len(c.SIMILARITY_FEATURES), 300)), 1)  # many ties
    space = space_from(matrix, space.recording)
    for _ in range(20):
        point = dict(
            zip(c.SIMILARITY_FEATURES, np.round(rng.normal(size=9), 1).tolist(), strict=True)
        )
        direct = [math.dist(matrix[:, i], list(point.values())) for i in range(300)]
        expected = sorted(range(300), key=lambda i: (round(direct[i] * 1e9), i))[:25]
        found = nearest(space, point, None, None, [], 0, 25)
        assert found.rows.tolist() == expected
        assert found.distances.tolist() == pytest.approx([direct[i] for i in expected], abs=1e-12)


@pytest.mark.parametrize(("n", "stop"), [(40_000, 20), (40_000, 1), (40_000, 100), (20_000, 700)])
def test_the_sampled_cut_over_many_rows_agrees_with_a_full_sort(n: int, stop: int) -> None:
    """Past 16,384 candidates the cut is found from a sample first: the page must not change."""
    rng = np.random.default_rng(n + stop)
    matrix = np.round(rng.normal(size=(len(c.SIMILARITY_FEATURES), n)), 2)
    recording = np.arange(n, dtype=np.int32)
    space = space_from(matrix, recording)
    for _ in range(5):
        target = np.round(rng.normal(size=len(c.SIMILARITY_FEATURES)), 2)
        point = dict(zip(c.SIMILARITY_FEATURES, target.tolist(), strict=True))
        direct = np.sqrt(((matrix - target[:, None]) ** 2).sum(axis=0))
        left_out = int(np.argmin(direct))  # the nearest row is the seed's recording
        keys = sorted((round(float(d) * 1e9), i) for i, d in enumerate(direct) if i != left_out)
        expected = [i for _, i in keys][stop - min(stop, 10) : stop]
        found = nearest(space, point, None, None, [left_out], stop - min(stop, 10), stop)
        assert found.rows.tolist() == expected
        assert found.total == n - 1
