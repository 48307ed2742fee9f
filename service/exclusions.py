"""Rows a ranking by distance leaves out beyond the filters: those a cursor has already passed,
and those nearer to an avoided track than to the point asked about (avoid_tracks).

Both are decided on exact distances with the service's tie rule (service/similarity.py:
distances equal to 9 decimals are a tie, broken by id). The ranking's keys, which may be the
float32 first pass, settle every row far from the boundary; the few rows within the keys'
error of it are measured again directly. Never imports Flask.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from service.similarity import (
    FLOAT32_ERROR,
    GATHER_SHARE,
    IN_BELOW,
    POSITION,
    TIE,
    Point,
    Ranking,
    exact_squared,
    leave_out,
)


def ticks(distances: np.ndarray) -> np.ndarray:
    """Distances as whole ticks of TIE: what orders them (ties then go by id)."""
    return np.rint(distances / TIE)


def after_cursor(found: Ranking, ids: np.ndarray, tick: int, track_id: str) -> Ranking:
    """The ranking without the rows at or before (distance tick, track id), which are left out
    in place (the keys are the ranking's own fresh array): a few passes over the keys, so a
    deep page costs about what the first does."""
    keys, margin, shift = found.keys, 2 * found.error, found.shift
    low, high = max(tick - 1, 0) * TIE, (tick + 1) * TIE  # a tick's whole width either side
    before = keys < low * low - shift - margin  # surely before: left out
    passed = int(np.count_nonzero(before))
    leave_out(keys, before)
    unsure = np.flatnonzero(keys <= high * high - shift + margin)  # near the cursor's distance
    rows = unsure if found.rows is None else found.rows[unsure]
    exact = exact_squared(found.space, found.point, rows) if found.error else keys[unsure]
    at = ticks(np.sqrt(exact))
    last = np.searchsorted(ids, track_id.encode(), side="right")  # rows below: id <= track_id
    gone = unsure[(at < tick) | ((at == tick) & (rows < last))]
    keys[gone] = np.inf
    return dataclasses.replace(found, total=found.total - passed - len(gone))


def nearer_to_avoided(found: Ranking, avoided: list[Point]) -> np.ndarray:
    """Mask over the measured rows: those strictly nearer (by whole ticks) to one of the
    avoided points than to the ranking's point."""
    mask = np.zeros(len(found.keys), dtype=bool)
    for point in avoided:
        mask |= _nearer(found, point)
    return mask


def _nearer(found: Ranking, avoid: Point) -> np.ndarray:
    """d(c, avoid)^2 - d(c, target)^2 = |a|^2 - |p|^2 - 2 c.(a - p): linear in each row c, so one
    pass of dot products settles all but the rows at the boundary."""
    target = found.point
    step = np.array([avoid[f] - target[f] for f in target])
    constant = sum(avoid[f] ** 2 - target[f] ** 2 for f in target)
    dots, relative = _dots(found, step)
    length = float(np.sqrt(step @ step))
    reach = found.space.max_length + math.sqrt(sum(v * v for v in target.values()))
    reach += math.sqrt(sum(v * v for v in avoid.values()))
    # the dot products' rounding, and a tick either way between the two distances
    margin = 2 * relative * length * (reach + 1) + 8 * TIE * reach + 1e-12
    difference = constant - 2 * dots
    nearer = difference < -margin
    unsure = np.flatnonzero((np.abs(difference) <= margin) & (found.keys < IN_BELOW))
    rows = unsure if found.rows is None else found.rows[unsure]
    to_avoid = ticks(np.sqrt(exact_squared(found.space, avoid, rows)))
    to_target = ticks(np.sqrt(exact_squared(found.space, target, rows)))
    nearer[unsure] = to_avoid < to_target
    return nearer


def _dots(found: Ranking, step: np.ndarray) -> tuple[np.ndarray, float]:
    """Each measured row's dot product with `step` (over the point's features), and the
    relative error bound of the arithmetic used."""
    space, rows, features = found.space, found.rows, list(found.point)
    if len(features) == len(POSITION):  # the float32 feature-major matrix, as the ranking
        vector = np.zeros(len(POSITION), dtype=np.float32)
        vector[[POSITION[f] for f in features]] = step
        if rows is not None and len(rows) * GATHER_SHARE < len(space.norms32):
            return (vector @ space.matrix32[:, rows]).astype(np.float64), FLOAT32_ERROR
        dots = (vector @ space.matrix32).astype(np.float64)
        return (dots if rows is None else dots[rows]), FLOAT32_ERROR
    total = np.zeros(len(found.keys))
    for feature, weight in zip(features, step.tolist(), strict=True):
        column = space.columns[feature]
        total += (column if rows is None else column[rows]) * weight
    return total, 1e-12
