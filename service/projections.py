"""Filtered listings over millions of tracks: the filters read from one projection, in order.

Every range filter is a slice of its column's ascending order (rows.arrow's `_asc` sort, ties
by id): the tracks from the first whose value is at least the minimum to the last whose value
is at most the maximum, found by bisection, so its count costs nothing. The narrowest range
drives: its projection (service/scale_tables.py) holds, in that same order, every track's
quantile of each other range column and its categorical codes, so the other filters read a
slice of bytes one after another instead of gathering values track by track (a gather costs
tens of times a sequential read at ten million tracks). A quantile strictly inside another
range's is inside it; the tracks of the two quantiles at its ends are checked on their exact
ranks. The filters no code answers (artist, bpm) are then checked on the tracks left. Exact:
the same tracks as the masks of service/filters.py. Never imports Flask.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.fields import CATEGORIES, RANGE_FILTERS
from service.filters import FILTERS, Range, Values, filter_mask
from service.index import TrackIndex
from service.scale_tables import ASCENDING, QUANTILES, quantile_start

SCALE_FROM = 1_000_000  # tracks: below this, masks over every track are as fast (measured)


@dataclass(frozen=True)
class Matches:
    """The tracks a query's filters pass, found through one projection: `rows` in the driving
    column's ascending order, and their `positions` in that order after `start`."""

    driver: str
    start: int
    positions: np.ndarray
    rows: np.ndarray


def uses_projections(index: TrackIndex, genre: str | None, filters: Values) -> bool:
    """Whether a query is answered through the projections: a large version, no genre (its
    members are few: gathering them is cheaper), and a range filter to drive."""
    if genre is not None or len(index.ids) < SCALE_FROM or not index.projections:
        return False
    return any(f"min_{c}" in filters or f"max_{c}" in filters for c in RANGE_FILTERS)


def range_slice(index: TrackIndex, column: str, low: Any, high: Any) -> tuple[int, int]:
    """The positions [start, stop) in the column's ascending order of the tracks whose value is
    within [low, high] (either end None: open)."""
    order, values = index.orders[ASCENDING[column]], index.values[column]

    def value(at: int) -> Any:
        return values[order[at]]

    start = 0 if low is None else bisect.bisect_left(range(len(order)), low, key=value)
    stop = len(order) if high is None else bisect.bisect_right(range(len(order)), high, key=value)
    return start, max(start, stop)


def matches(index: TrackIndex, filters: Values) -> Matches:
    """The tracks that pass every filter (a query with a range filter: uses_projections)."""
    slices = {
        column: range_slice(
            index, column, filters.get(f"min_{column}"), filters.get(f"max_{column}")
        )
        for column in RANGE_FILTERS
        if f"min_{column}" in filters or f"max_{column}" in filters
    }
    driver = min(slices, key=lambda column: slices[column][1] - slices[column][0])
    start, stop = slices[driver]
    batch = index.projections[driver]
    keep = np.ones(stop - start, dtype=bool)
    for column, (low, high) in slices.items():
        if column != driver:
            keep &= within(
                index, batch[f"q_{column}"][start:stop], column, low, high, (driver, start)
            )
    residual: list[Any] = []
    for entry in FILTERS:
        allowed = getattr(entry, "allowed", None)
        if allowed is not None and (found := allowed(index, filters)) is not None:
            name, codes = found
            keep &= code_in(batch[f"code_{name}"][start:stop], codes, len(CATEGORIES[name]))
        elif allowed is None and not isinstance(entry, Range):
            residual.append(entry)
    positions = np.flatnonzero(keep)
    rows = index.orders[ASCENDING[driver]][start + positions]
    for entry in residual:
        mask = entry.mask(index, filters, rows)
        if mask is not None:
            positions, rows = positions[mask], rows[mask]
    return Matches(driver, start, positions, rows)


def within(
    index: TrackIndex,
    codes: np.ndarray,
    column: str,
    low: int,
    high: int,
    place: tuple[str, int],
) -> np.ndarray:
    """Which tracks of a slice (their quantiles of `column`: `codes`) have a rank in that
    column's ascending order in [low, high); `place` is the slice's driver and start."""
    if low >= high:
        return np.zeros(len(codes), dtype=bool)
    tracks = len(index.ids)
    first, last = low * QUANTILES // tracks, (high - 1) * QUANTILES // tracks
    inside = (codes > first) & (codes < last)
    for quantile in {first, last}:  # the quantiles at the ends: on the exact rank
        if quantile_start(quantile, tracks) >= low and quantile_start(quantile + 1, tracks) <= high:
            inside |= codes == quantile  # wholly inside after all
            continue
        at = np.flatnonzero(codes == quantile)
        driver, start = place
        rank = index.ranks[ASCENDING[column]][index.orders[ASCENDING[driver]][start + at]]
        inside[at] = (rank >= low) & (rank < high)
    return inside


def code_in(codes: np.ndarray, allowed: list[int], size: int) -> np.ndarray:
    """Which codes are one of `allowed` (of `size` possible)."""
    if len(allowed) == 1:
        return codes == allowed[0]
    table = np.zeros(max(size, 256), dtype=bool)
    table[allowed] = True
    return table[codes]


def facet_counts(
    index: TrackIndex, fields: tuple[str, ...], found: Matches
) -> dict[str, list[dict[str, Any]]]:
    """Each categorical facet field's value counts among the matches (not `genre`)."""
    facets: dict[str, list[dict[str, Any]]] = {}
    batch: Mapping[str, np.ndarray] = index.projections[found.driver]
    for name in fields:
        codes = batch[f"code_{name}"][found.start + found.positions]
        counts = np.bincount(codes, minlength=len(CATEGORIES[name]))
        facets[name] = [
            {"value": value, "count": int(count)}
            for value, count in zip(CATEGORIES[name], counts.tolist(), strict=True)
        ]
    return facets


def worth_scanning(index: TrackIndex, filters: Values, matched: int, needed: int) -> bool:
    """Whether a page of `needed` matches is found sooner by walking the sort's order, checking
    the filters on each track passed (about needed x tracks / matched of them, a gather per
    filter each), than by ranking every match (a gather each, then a partition)."""
    return walked_estimate(index, matched, needed) < walk_budget(filters, matched)


def walked_estimate(index: TrackIndex, matched: int, needed: int) -> float:
    """Tracks a walk passes to find `needed` of `matched`, if they are spread evenly."""
    return needed * len(index.ids) / max(matched, 1)


def walk_budget(filters: Values, matched: int) -> int:
    """The tracks a walk may pass before ranking every match would have been cheaper."""
    return matched // (len(filters) + 1)


def walk_hits(
    index: TrackIndex, filters: Values, order: np.ndarray, needed: int, budget: int
) -> np.ndarray | None:
    """The first `needed` tracks of `order` that pass the filters (all of them if fewer), in
    doubling blocks: a shallow page of common matches reads a few thousand tracks. None when
    that takes more than `budget` tracks: the matches lie far down the order (a sort by a
    filtered column, or correlated columns), and ranking them costs less."""
    found: list[np.ndarray] = []
    count, start, size = 0, 0, 1024
    while count < needed and start < len(order):
        if start > budget:
            return None
        block = order[start : start + size]
        mask = filter_mask(index, filters, block)
        hits = block if mask is None else block[mask]
        found.append(hits)
        count += len(hits)
        start, size = start + size, size * 2
    return np.concatenate(found)[:needed] if found else order[:0]
