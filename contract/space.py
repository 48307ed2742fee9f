"""The similarity space's arithmetic, written once: each feature's transform and its z-score.

A track is a point whose coordinates are its similarity features (contract/fields.py: `space`),
each transformed (square root for the features that crowd near 0) and standardised with the
mean and population standard deviation over the dataset's unique tracks, which the pipeline
publishes in feature_stats.parquet. The pipeline computes those statistics with `transformed`,
the service turns values into z-scores and back with `z_scores` and `from_z`.
"""

from __future__ import annotations

import numpy as np


def transformed(values: np.ndarray, transform: str) -> np.ndarray:
    """A feature's values as the space uses them, before standardising."""
    values = np.asarray(values, dtype=np.float64)
    if transform == "sqrt":
        return np.sqrt(values)
    if transform == "identity":
        return values
    raise ValueError(f"unknown transform {transform!r}")


def z_scores(values: np.ndarray, transform: str, mean: float, std: float) -> np.ndarray:
    """(transform(value) - mean) / std for each value, or 0 everywhere when std is 0."""
    moved = transformed(values, transform)
    if std == 0:
        return np.zeros_like(moved)
    return np.ascontiguousarray((moved - mean) / std)


def from_z(z: float, transform: str, mean: float, std: float) -> float:
    """A z-score back in the feature's own units."""
    value = mean + z * std
    return value * value if transform == "sqrt" else value
