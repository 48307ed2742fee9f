"""Pages of neighbours: read from the nearest candidate in growing prefixes and thinned for
max_per_artist, and, at millions of tracks, found through the cells of the space.

At a version of SCALE_FROM tracks or more, a request with no genre, avoided track nor cursor is
answered through the cells (service/cells.py: exact branch and bound) instead of a scan of
every candidate: every track, or the tracks the filters pass (found through the projections
when a range filter drives, service/projections.py), when they are many. The seeds'
recordings are found by bisection in the recording order and left out of the page and the
total, as the scan leaves them out. A genre's members, a few matches, avoided tracks and
cursors keep the scan of service/neighbours.py: exact too, and what each costs at ten million
tracks is in docs/performance.md. Never imports Flask.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from service import cells, projections
from service.exclusions import ticks
from service.filters import filter_mask
from service.index import TrackIndex
from service.neighbour_query import NeighbourQuery
from service.similarity import FeatureSpace, Point
from service.variety import varied

DIRECT_SHARE = 8  # under 1/8 of the tracks, the candidates are measured one by one


@dataclass(frozen=True)
class Page:
    """A page of neighbours (and the next one's first, if any): rows, distances, how many
    candidates there are, and how many come before the page."""

    rows: list[int]
    distances: list[float]
    total: int
    before: int


def by_cells(
    index: TrackIndex, space: FeatureSpace, query: NeighbourQuery, candidates: np.ndarray | None
) -> bool:
    """Whether a page is found through the cells: a version of millions of tracks, no avoided
    track nor cursor (their rules read every candidate's distance: the full scan answers), and
    candidates too many to measure one by one (not a genre's members, nor a few matches)."""
    if space.cells is None or len(index.ids) < projections.SCALE_FROM or query.avoid or query.after:
        return False
    if query.genre is not None:
        return False
    return candidates is None or len(candidates) * DIRECT_SHARE >= len(index.ids)


def seed_releases(
    index: TrackIndex,
    space: FeatureSpace,
    seeds: list[int],
    rows: np.ndarray | None,
    keep: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """The candidates that are a seed's recording (left out), found by bisection in the
    recording order, and how many candidates are left: (rows ascending or None: every track;
    keep a mask over them or None)."""
    assert space.cells is not None
    order, codes = space.cells.by_recording, space.recording
    left = []
    for code in sorted({int(space.recording[row]) for row in seeds}):
        start = bisect.bisect_left(range(len(order)), code, key=lambda at: codes[order[at]])
        stop = bisect.bisect_right(range(len(order)), code, key=lambda at: codes[order[at]])
        left.append(order[start:stop])
    found = np.unique(np.concatenate(left)) if left else np.empty(0, dtype=np.int64)
    if rows is not None:
        at = np.minimum(np.searchsorted(rows, found), max(len(rows) - 1, 0))
        found = found[rows[at] == found] if len(rows) else found[:0]
        return found, len(rows) - len(found)
    if keep is not None:
        found = found[keep[found]]
        return found, int(np.count_nonzero(keep)) - len(found)
    return found, len(index.ids) - len(found)


def cell_page(
    index: TrackIndex,
    space: FeatureSpace,
    point: Point,
    seeds: list[int],
    query: NeighbourQuery,
    candidates: tuple[np.ndarray | None, np.ndarray | None],
    needed: int,
) -> Page:
    """_page through the cells (service/cells.py): no genre, avoided track nor cursor."""
    rows, keep = candidates
    assert space.cells is not None  # by_cells
    index_cells = space.cells
    left, total = seed_releases(index, space, seeds, rows, keep)
    accept = None
    if rows is not None:  # the projections' matches: every track the filters pass
        accept = lambda found: filter_mask(index, query.filters, found)  # noqa: E731
    elif keep is not None:
        accept = lambda found: keep[found]  # noqa: E731

    def nearest_k(k: int) -> tuple[np.ndarray, np.ndarray]:
        found, distances = cells.nearest(index_cells, space, point, k + len(left), accept)
        kept = ~np.isin(found, left)
        return found[kept][:k], distances[kept][:k]

    if query.max_per_artist is not None:
        return varied_page(index, nearest_k, total, query, needed)
    found, distances = nearest_k(needed)
    return Page(found[query.offset :].tolist(), distances[query.offset :].tolist(), total,
                query.offset)  # fmt: skip


def varied_page(
    index: TrackIndex,
    nearest_k: Callable[[int], tuple[np.ndarray, np.ndarray]],
    total: int,
    query: NeighbourQuery,
    needed: int,
) -> Page:
    """_page under max_per_artist: the list is read from its nearest candidate, in growing
    prefixes (`nearest_k`), and thinned (service/variety.py); a cursor's page starts after
    its key."""
    distance: dict[int, float] = {}

    def blocks() -> Iterator[np.ndarray]:
        done, size = 0, 2 * needed
        while done < total:
            rows, distances = nearest_k(size)
            distance.update(zip(rows[done:].tolist(), distances[done:].tolist(), strict=True))
            yield rows[done:]
            if len(rows) == done:  # nothing more to read
                return
            done, size = len(rows), size * 4

    kept = varied(index, blocks(), query.max_per_artist or 1)
    before = 0
    if query.after is not None:  # the kept rows up to the cursor count, and are not sent
        tick, track_id = query.after
        last = int(np.searchsorted(index.ids, track_id.encode(), side="right"))
        for row in kept:
            at = int(ticks(np.array(distance[row]))[()])
            if at > tick or (at == tick and row >= last):
                kept = itertools.chain([row], kept)
                break
            before += 1
    rows = list(itertools.islice(kept, query.offset, needed))
    return Page(rows, [distance[row] for row in rows], total, before + query.offset)
