"""Similar tracks and recommendations: exact nearest neighbours in the standardised feature space.

The space (docs/api.md, "The feature space"): every track is a point whose coordinates are its
similarity features (contract.SIMILARITY_FEATURES), each transformed (square root for
speechiness and instrumentalness) and standardised with the mean and population standard
deviation the pipeline wrote (feature_stats.parquet). Distance is Euclidean over the chosen
features' z-scores; distances equal to 9 decimals are a tie, broken by track id (so the last bits
of floating-point rounding never decide an order). Every request scans every candidate: exact,
no approximate index. This module never imports Flask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from contract import SIMILARITY_FEATURES, CuratedDatasetError
from service.index import TrackIndex, genre_members

Point = dict[str, float]  # feature -> z-score
TIE = 1e-9  # distances closer than this (after rounding to it) are equal: ordered by id


@dataclass(frozen=True)
class FeatureSpace:
    """Each row's z-score per feature, how to convert values, recordings and genre centroids."""

    columns: dict[str, np.ndarray]  # feature -> z-scores of every row, contiguous float64
    stats: dict[str, tuple[str, float, float]]  # feature -> (transform, mean, std)
    recording: np.ndarray  # row -> code shared by the rows with the same name and artists
    centroids: dict[str, Point]  # genre -> mean z-score of its member tracks (empty: no tracks)


def build_space(tracks: pl.DataFrame, stats: pl.DataFrame, index: TrackIndex) -> FeatureSpace:
    """The space of the tracks (in row order, i.e. sorted by id) from the pipeline's statistics."""
    by_feature = {row["feature"]: row for row in stats.iter_rows(named=True)}
    if tuple(by_feature) != SIMILARITY_FEATURES:
        raise CuratedDatasetError(f"feature_stats lists {list(by_feature)}, not the space's")
    space_stats = {f: (r["transform"], r["mean"], r["std"]) for f, r in by_feature.items()}
    columns = {
        f: standardise(tracks[f].to_numpy().astype(np.float64), *space_stats[f])
        for f in SIMILARITY_FEATURES
    }
    recording = tracks.select(pl.struct("name", "artists").rank("dense")).to_series()
    centroids = {}
    for genre in index.genre_ids:
        members = genre_members(index, genre)
        has_tracks = members is not None and len(members) > 0
        centroids[genre] = (
            {f: float(columns[f][members].mean()) for f in SIMILARITY_FEATURES}
            if has_tracks
            else {}
        )
    return FeatureSpace(columns, space_stats, recording.to_numpy().astype(np.int32), centroids)


def standardise(values: np.ndarray, transform: str, mean: float, std: float) -> np.ndarray:
    """z-scores of values: (transform(value) - mean) / std, or 0 where the std is 0."""
    transformed = np.sqrt(values) if transform == "sqrt" else values
    if std == 0:
        return np.zeros_like(transformed)
    return np.ascontiguousarray((transformed - mean) / std)


def to_z(space: FeatureSpace, feature: str, value: float) -> float:
    """One value of a feature, in its own units, as a z-score."""
    return float(standardise(np.array([value]), *space.stats[feature])[0])


def from_z(space: FeatureSpace, feature: str, z: float) -> float:
    """A z-score of a feature back in the feature's own units."""
    transform, mean, std = space.stats[feature]
    value = mean + z * std
    return value * value if transform == "sqrt" else value


def point_of(space: FeatureSpace, row: int, features: tuple[str, ...]) -> Point:
    """A track's coordinates in the chosen features."""
    return {f: float(space.columns[f][row]) for f in features}


def squared_distances(space: FeatureSpace, point: Point, rows: np.ndarray | None) -> np.ndarray:
    """Squared distance from `point` to each of `rows` (every row if None), one feature at a time."""
    total: np.ndarray | None = None
    for feature, target in point.items():
        column = space.columns[feature]
        diff = (column if rows is None else column[rows]) - target
        diff *= diff
        if total is None:
            total = diff
        else:
            total += diff
    assert total is not None, "a point has at least one feature"
    return total


@dataclass(frozen=True)
class Neighbours:
    """One page of nearest tracks: their rows and distances, and how many candidates there were."""

    rows: np.ndarray
    distances: np.ndarray
    total: int


def nearest(
    space: FeatureSpace,
    point: Point,
    candidates: np.ndarray | None,
    keep: np.ndarray | None,
    recordings: list[int],
    start: int,
    stop: int,
) -> Neighbours:
    """The candidates nearest to `point`, nearest first, ties by id, positions start..stop.

    `candidates` are rows in ascending order (every row if None), `keep` a mask over them (the
    filters), and rows of the given `recordings` are left out (the seed and its other releases).
    """
    d2 = squared_distances(space, point, candidates)
    recording = space.recording if candidates is None else space.recording[candidates]
    left_out = np.isin(recording, recordings)
    if keep is not None:
        left_out |= ~keep
    d2[left_out] = np.inf
    total = len(d2) - int(np.count_nonzero(left_out))
    if start >= total:
        return Neighbours(np.empty(0, dtype=np.int64), np.empty(0), total)
    k = min(stop, total)
    cut = math.sqrt(np.partition(d2, k - 1)[k - 1]) + TIE
    chosen = np.flatnonzero(d2 <= cut * cut)  # every row that may tie at the cut
    distances = np.sqrt(d2[chosen])
    order = np.lexsort((chosen, np.rint(distances / TIE)))[start:stop]
    chosen, distances = chosen[order], distances[order]
    rows = chosen if candidates is None else candidates[chosen]
    return Neighbours(rows, distances, total)


def mean_point(vectors: list[Point], features: tuple[str, ...]) -> Point:
    """The mean of several points in the chosen features."""
    return {f: math.fsum(v[f] for v in vectors) / len(vectors) for f in features}


def in_units(space: FeatureSpace, point: Mapping[str, float]) -> dict[str, float]:
    """A point in the features' own units (BPM, dB, 0-1), rounded to 4 decimals."""
    return {f: round(from_z(space, f, z), 4) for f, z in point.items()}
