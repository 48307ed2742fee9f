"""Exact nearest neighbours over millions of tracks: branch and bound through the cells of the
similarity space (service/scale_tables.py), for any subset of the features and any filter.

The cells are the leaves of a k-d tree over the nine z-scores, each with the box that holds its
tracks. No track of a cell is nearer to a point than the box is, in any subset of the features,
so the cells are visited nearest box first, a round of them at a time, each round measured from
the float32 copy in cell order (its tracks lie together), and the visit stops when the next box
is farther than the k-th nearest track found so far, by more than the float32 error and a tie's
width. The tracks that may still be among the k are measured again in float64 and ordered by
the service's rule (distances equal to 9 decimals tie, broken by id): the answer is exactly the
full scan's (service/similarity.py), found by reading a few cells instead of every track. A
filter is checked on the tracks of the cells visited: a filter few tracks pass makes the visit
long, so the caller measures those few directly instead (service/neighbours.py). Never imports
Flask.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from service.scale_tables import Cells
from service.similarity import POSITION, TIE, FeatureSpace, Point, exact_squared

FIRST_ROUND = 16_384  # tracks measured in the first round; each round then doubles
# |d32 - d| <= 8 u (|x| + |q|) with u = 2^-24 (the float32 copies of x and q, the difference,
# the squares and their sum); twice that, for margin.
FLOAT32_ERROR = 16 * 2.0**-24


def box_distances(cells: Cells, point: Point) -> np.ndarray:
    """Each cell's least possible distance to `point` in its features (a lower bound)."""
    at = [POSITION[f] for f in point]
    target = np.array(list(point.values()))
    below = np.maximum(cells.low[:, at] - target, 0.0)
    above = np.maximum(target - cells.high[:, at], 0.0)
    gap = below + above  # one of the two is 0
    return np.sqrt(np.einsum("ij,ij->i", gap, gap))


def positions_of(cells: Cells, chosen: np.ndarray) -> np.ndarray:
    """The positions (in cell order) of the tracks of the chosen cells, cell after cell."""
    first, last = cells.starts[chosen], cells.starts[chosen + 1]
    first, last = first[last > first], last[last > first]
    sizes = last - first
    steps = np.ones(int(sizes.sum()), dtype=np.int64)
    ends = np.cumsum(sizes)[:-1]
    steps[0] = first[0] if len(first) else 0
    steps[ends] = first[1:] - last[:-1] + 1  # jump from a cell's end to the next one's start
    return np.cumsum(steps)


def approximate(cells: Cells, point: Point, positions: np.ndarray) -> np.ndarray:
    """The distances from `point` to the tracks at `positions`, from the float32 copy."""
    total = np.zeros(len(positions), dtype=np.float32)
    for feature, target in point.items():
        diff = cells.z32[POSITION[feature]][positions] - np.float32(target)
        diff *= diff
        total += diff
    return np.sqrt(total)


def nearest(
    cells: Cells,
    space: FeatureSpace,
    point: Point,
    k: int,
    accept: Callable[[np.ndarray], np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows and exact distances of the k tracks nearest to `point` that `accept` keeps
    (a mask over the rows it is given; None or a None mask keeps all), nearest first, ties by
    id: fewer when fewer pass."""
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    bounds = box_distances(cells, point)
    visit = np.argsort(bounds, kind="stable")
    bounds, sizes = bounds[visit], np.diff(cells.starts)[visit]
    reach = space.max_length + math.sqrt(sum(v * v for v in point.values()))
    error = FLOAT32_ERROR * reach + 1e-12
    found_rows: list[np.ndarray] = []
    found: list[np.ndarray] = []
    kth, done, size = math.inf, 0, FIRST_ROUND
    while done < len(visit) and bounds[done] <= kth + error + 2 * TIE:
        stop = done + max(1, int(np.searchsorted(np.cumsum(sizes[done:]), size)) + 1)
        stop = min(stop, int(np.searchsorted(bounds, kth + error + 2 * TIE, side="right")))
        stop = max(stop, done + 1)
        positions = positions_of(cells, visit[done:stop])
        rows = cells.rows[positions]
        distances = approximate(cells, point, positions)
        keep = None if accept is None else accept(rows)
        if keep is not None:
            rows, distances = rows[keep], distances[keep]
        found_rows.append(rows)
        found.append(distances)
        kth = _kth(found, k, kth)
        if math.isfinite(kth):  # keep only what may still be among the k
            every, rows = np.concatenate(found), np.concatenate(found_rows)
            near = every <= kth + 2 * error + 2 * TIE
            found, found_rows = [every[near]], [rows[near]]
        done, size = stop, size * 2
    return _exact_first(space, point, found_rows, found, k, kth + 2 * error + 2 * TIE)


def _kth(found: list[np.ndarray], k: int, kth: float) -> float:
    """The k-th smallest distance found so far (inf while fewer than k)."""
    every = np.concatenate(found)
    if len(every) < k:
        return math.inf
    return min(kth, float(np.partition(every, k - 1)[k - 1]))


def _exact_first(
    space: FeatureSpace,
    point: Point,
    found_rows: list[np.ndarray],
    found: list[np.ndarray],
    k: int,
    cut: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Of the tracks found, those within `cut` measured exactly; the k first, ties by id."""
    rows, distances = np.concatenate(found_rows), np.concatenate(found)
    near = rows[distances <= cut].astype(np.int64)
    exact = np.sqrt(exact_squared(space, point, near))
    order = np.lexsort((near, np.rint(exact / TIE)))[:k]
    return near[order], exact[order]
