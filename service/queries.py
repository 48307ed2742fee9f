"""Track queries over the in-memory index: listings with filters, facets and pages; lookups by id.

Listings never sort the catalogue per request: every sort key has a precomputed row order (ties
by id ascending) and each row's rank in it. A request builds a boolean mask of the matching rows,
then either scans the sort order until the page is full (when matches are common) or ranks just
the matching rows (when they are few, or the page is deep). Tracks come back as their JSON text,
so views never re-serialise them. Never imports Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.fields import CATEGORIES
from service.filters import filter_mask
from service.index import (
    TrackIndex,
    genre_members,
    row_of,
    sort_order,
    sort_rank,
    track_texts,
)
from service.params import genre_not_found, track_not_found
from service.serving import ID_WIDTH
from service.track_query import TrackQuery

Facets = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Listing:
    """One page of a listing: the tracks' JSON texts, the match count, and facet counts."""

    texts: list[str]
    total: int
    facets: Facets | None = None


def list_tracks(index: TrackIndex, query: TrackQuery) -> Listing:
    """One page of the tracks matching a query, how many match, and the facets asked for."""
    candidates = genre_candidates(index, query.genre)
    mask = filter_mask(index, query.filters, candidates)
    rows, total = page_rows(index, query, candidates, mask)
    facets = facet_counts(index, query.facets, candidates, mask) if query.facets else None
    return Listing(track_texts(index, rows.tolist()), total, facets)


def genre_candidates(index: TrackIndex, genre: str | None) -> np.ndarray | None:
    """A genre's member rows (None: every row, when no genre is given); NotFoundError if unknown."""
    if genre is None:
        return None
    members = genre_members(index, genre)
    if members is None:
        raise genre_not_found(genre)
    return members


def matching_rows(index: TrackIndex, query: TrackQuery) -> np.ndarray:
    """Every row matching the query's genre and filters, in its sort order (no page)."""
    candidates = genre_candidates(index, query.genre)
    mask = filter_mask(index, query.filters, candidates)
    order = sort_order(index, query.sort)
    if candidates is not None:
        selected = np.zeros(len(order), dtype=bool)
        selected[candidates if mask is None else candidates[mask]] = True
    elif mask is not None:
        selected = mask
    else:
        return order
    return order[selected[order]]


def page_rows(
    index: TrackIndex, query: TrackQuery, candidates: np.ndarray | None, mask: np.ndarray | None
) -> tuple[np.ndarray, int]:
    """The rows of the page in sort order, and the number of matches."""
    start, stop = query.offset, query.offset + query.limit
    if candidates is None:
        order = sort_order(index, query.sort)
        if mask is None:
            return order[start:stop], len(order)
        total = int(np.count_nonzero(mask))
        if 4 * stop <= total:  # common matches: the page is near the start of the order
            return first_hits(mask, order, stop)[start:stop], total
        hits = np.flatnonzero(mask)
    else:
        hits = candidates if mask is None else candidates[mask]
    return ranked_slice(hits, sort_rank(index, query.sort), start, stop), len(hits)


def first_hits(mask: np.ndarray, order: np.ndarray, needed: int) -> np.ndarray:
    """The first `needed` rows of `order` whose mask (in row order) is set, or all of them.

    Scans the order in doubling blocks, so a shallow page of a broad filter reads a few
    thousand rows instead of gathering the mask for every row.
    """
    found: list[np.ndarray] = []
    count, start, size = 0, 0, 1024
    while count < needed and start < len(order):
        block = order[start : start + size]
        hits = block[mask[block]]
        found.append(hits)
        count += len(hits)
        start, size = start + size, size * 2
    return np.concatenate(found) if found else order[:0]


def ranked_slice(rows: np.ndarray, rank: np.ndarray, start: int, stop: int) -> np.ndarray:
    """rows[start:stop] in the order of their rank (ranks are distinct: no ties to break)."""
    if start >= len(rows):
        return rows[:0]
    keys = rank[rows]
    if stop < len(rows):
        nearest = np.argpartition(keys, stop - 1)[:stop]
        rows, keys = rows[nearest], keys[nearest]
    return rows[np.argsort(keys)][start:stop]


def facet_counts(
    index: TrackIndex,
    fields: tuple[str, ...],
    candidates: np.ndarray | None,
    mask: np.ndarray | None,
) -> Facets:
    """For each field, every value with its count among all matching tracks, in value order.

    Counts of a one-valued field sum to the total; `genre` counts memberships, so a track in
    two genres counts in both.
    """
    selected = candidates if mask is None else (np.flatnonzero(mask) if candidates is None
                                                else candidates[mask])  # fmt: skip
    facets: Facets = {}
    for name in fields:
        if name == "genre":
            counts = _genre_counts(index, selected)
            values: tuple[Any, ...] = index.genre_ids
        else:
            codes = index.codes[name] if selected is None else index.codes[name][selected]
            values = CATEGORIES[name]
            counts = np.bincount(codes, minlength=len(values))
        facets[name] = [
            {"value": value, "count": int(count)}
            for value, count in zip(values, counts.tolist(), strict=True)
        ]
    return facets


def _genre_counts(index: TrackIndex, selected: np.ndarray | None) -> np.ndarray:
    """Each genre's number of members among the selected rows (every row if None)."""
    if selected is None:
        return np.diff(index.genre_bounds)
    chosen = np.zeros(len(index.ids), dtype=bool)
    chosen[selected] = True
    running = np.concatenate(([0], np.cumsum(chosen[index.genre_rows])))
    return running[index.genre_bounds[1:]] - running[index.genre_bounds[:-1]]


def tracks_by_ids(index: TrackIndex, ids: tuple[str, ...]) -> tuple[list[str | None], int]:
    """Each id's track JSON text in the order asked (None where unknown), and how many exist."""
    keys = np.array([track_id.encode() for track_id in ids], dtype=f"S{ID_WIDTH}")
    places = np.minimum(np.searchsorted(index.ids, keys), len(index.ids) - 1)
    found = index.ids[places] == keys
    texts = iter(track_texts(index, places[found].tolist()))
    return [next(texts) if hit else None for hit in found.tolist()], int(found.sum())


def track_by_id(index: TrackIndex, track_id: str) -> str:
    """One track's JSON text, or NotFoundError."""
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id)
    return track_texts(index, [row])[0]
