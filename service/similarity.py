"""Similar tracks and recommendations: exact nearest neighbours in the standardised feature space.

The space (docs/api.md, "The feature space"): every track is a point whose coordinates are its
similarity features (contract.SIMILARITY_FEATURES), each transformed (square root for
speechiness and instrumentalness) and standardised with the mean and population standard
deviation the pipeline wrote (feature_stats.parquet). Distance is Euclidean over the chosen
features' z-scores; distances equal to 9 decimals are a tie, broken by track id (so the last bits
of floating-point rounding never decide an order). Every request scans every candidate: exact,
no approximate index. Over all nine features the scan reads the row-major matrix once, as
|x|^2 - 2 x.q + |q|^2 with each row's |x|^2 kept (a fifth of the memory traffic of one pass per
feature, which matters at a million tracks); the few rows near the cut are then measured again
directly, so the order and the distances shown are the direct ones. Never imports Flask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from contract import SIMILARITY_FEATURES, CuratedDatasetError

Point = dict[str, float]  # feature -> z-score
TIE = 1e-9  # distances closer than this (after rounding to it) are equal: ordered by id
SLACK = 1e-8  # bound on the expanded form's rounding error in a squared distance (~1e-12)
POSITION = {feature: i for i, feature in enumerate(SIMILARITY_FEATURES)}


@dataclass(frozen=True)
class FeatureSpace:
    """Each row's z-score per feature, how to convert values, recordings and genre centroids."""

    matrix: np.ndarray  # rows x SIMILARITY_FEATURES z-scores, float64, C order
    norms: np.ndarray  # each row's squared length over all the features
    stats: dict[str, tuple[str, float, float]]  # feature -> (transform, mean, std)
    recording: np.ndarray  # row -> code shared by the rows with the same name and artists
    centroids: dict[str, Point]  # genre -> mean z-score of its member tracks (empty: no tracks)


def feature_space(
    arrays: Mapping[str, np.ndarray], stats: pl.DataFrame, genre_ids: tuple[str, ...]
) -> FeatureSpace:
    """The space over a dataset's serving arrays and its published statistics."""
    by_feature = {row["feature"]: row for row in stats.iter_rows(named=True)}
    if tuple(by_feature) != SIMILARITY_FEATURES:
        raise CuratedDatasetError(f"feature_stats lists {list(by_feature)}, not the space's")
    centroids = {
        genre: {}
        if np.isnan(row).any()
        else dict(zip(SIMILARITY_FEATURES, row.tolist(), strict=True))
        for genre, row in zip(genre_ids, np.asarray(arrays["centroids"]), strict=True)
    }
    return FeatureSpace(
        matrix=arrays["similarity"],
        norms=arrays["norms"],
        stats={f: (r["transform"], r["mean"], r["std"]) for f, r in by_feature.items()},
        recording=arrays["recording"],
        centroids=centroids,
    )


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
    return {f: float(space.matrix[row, POSITION[f]]) for f in features}


def exact_squared(space: FeatureSpace, point: Point, rows: np.ndarray | None) -> np.ndarray:
    """Squared distance from `point` to each of `rows` (every row if None), directly."""
    columns = [POSITION[f] for f in point]
    matrix = space.matrix if rows is None else space.matrix[rows]
    diff = matrix[:, columns] - np.array(list(point.values()))
    return np.einsum("ij,ij->i", diff, diff)


def squared_distances(
    space: FeatureSpace, point: Point, rows: np.ndarray | None
) -> tuple[np.ndarray, bool]:
    """Squared distances to `rows` (every row if None), and whether they are the expanded,
    approximate form (all features) rather than the direct one (a subset)."""
    if len(point) < len(SIMILARITY_FEATURES):
        return exact_squared(space, point, rows), False
    target = np.array([point[f] for f in SIMILARITY_FEATURES])
    matrix = space.matrix if rows is None else space.matrix[rows]
    norms = space.norms if rows is None else space.norms[rows]
    d2 = matrix @ (-2.0 * target)
    d2 += norms
    d2 += float(target @ target)
    return np.maximum(d2, 0.0, out=d2), True


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
    d2, approximate = squared_distances(space, point, candidates)
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
    slack = SLACK if approximate else 0.0
    chosen = np.flatnonzero(d2 <= cut * cut + slack)  # every row that may tie at the cut
    if approximate:  # measure the few near the cut directly, and cut again
        rows = chosen if candidates is None else candidates[chosen]
        exact = exact_squared(space, point, rows)
        cut = math.sqrt(np.partition(exact, k - 1)[k - 1]) + TIE
        near = exact <= cut * cut
        chosen, d2_chosen = chosen[near], exact[near]
    else:
        d2_chosen = d2[chosen]
    distances = np.sqrt(d2_chosen)
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
