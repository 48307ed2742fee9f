"""/tracks/{id}/similar and /recommendations: their parameters, seeds and target point, and pages.

Both are track listings ordered by distance in the feature space (service/similarity.py) and take
every /tracks filter as a hard limit. Similar: the point is one track's; the track and every other
release of the same recording (same name and artists) are left out. Recommendations: the point
is the mean of the seeds' points (a genre's point is its centroid), with each target_<f> (in the
feature's own units) replacing that coordinate; without seeds only the targeted features count.
The seeds, and their other releases, are left out. Never imports Flask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract import SIMILARITY_FEATURES
from service import cursor, projections
from service.exclusions import after_cursor, nearer_to_avoided, ticks
from service.filters import filter_mask
from service.index import TrackIndex, genre_members, row_of, track_texts
from service.neighbour_pages import DIRECT_SHARE, Page, by_cells, cell_page, varied_page
from service.neighbour_query import (
    RECOMMEND_PARAMS,
    SIMILAR_PARAMS,
    NeighbourQuery,
    neighbour_query,
)
from service.params import ParamError, genre_not_found, track_not_found
from service.projection import projected
from service.projections import matches, uses_projections
from service.similarity import (
    FeatureSpace,
    Point,
    first,
    in_units,
    left_out,
    mean_point,
    point_of,
    ranking,
    to_z,
)

__all__ = [
    "RECOMMEND_PARAMS",
    "SIMILAR_PARAMS",
    "Answer",
    "neighbour_query",
    "recommend",
    "similar",
]


@dataclass(frozen=True)
class Answer:
    """A page of neighbours as JSON texts (each with its distance), what the meta says, and the
    cursor of the next page (None on the last)."""

    texts: list[str]
    meta: dict[str, Any]
    next_cursor: str | None = None


def similar(index: TrackIndex, space: FeatureSpace, track_id: str, query: NeighbourQuery) -> Answer:
    """The tracks nearest to one track (NotFoundError if unknown)."""
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id)
    features = query.features or SIMILARITY_FEATURES
    found = _page(index, space, point_of(space, row, features), [row], query)
    return _answer(index, found, query, {"features": list(features)})


def recommend(
    index: TrackIndex, space: FeatureSpace, genre_names: Mapping[str, str], query: NeighbourQuery
) -> Answer:
    """The tracks nearest to the point the seeds and targets make."""
    if not (query.seed_tracks or query.seed_genres or query.targets):
        raise ParamError(
            "give at least one seed (seed_tracks, seed_genres) or one target_<feature>; "
            "targets: " + ", ".join(f"target_{f}" for f in SIMILARITY_FEATURES)
        )
    rows = [_seed_row(index, track_id) for track_id in query.seed_tracks]
    genre_points = [_seed_genre(space, genre) for genre in query.seed_genres]
    features = _features(query, seeded=bool(rows or genre_points))
    seeds = [point_of(space, row, features) for row in rows] + genre_points
    point = mean_point(seeds, features) if seeds else {}
    point = {f: point.get(f, 0.0) for f in features}
    point.update({f: to_z(space, f, value) for f, value in query.targets.items()})
    found = _page(index, space, point, rows, query)
    meta = {
        "features": list(features),
        "seeds": {
            "tracks": [_track_seed(index, row) for row in rows],
            "genres": [{"id": g, "name": genre_names[g]} for g in query.seed_genres],
        },
        "target": in_units(space, point),
    }
    return _answer(index, found, query, meta)


def _features(query: NeighbourQuery, seeded: bool) -> tuple[str, ...]:
    """The features of the space a recommendation is measured over."""
    if query.features is not None:
        outside = [f for f in query.targets if f not in query.features]
        if outside:
            raise ParamError(
                f"'target_{outside[0]}' is for a feature not in 'features' "
                f"({','.join(query.features)}); add it to features or drop the target"
            )
        untargeted = [f for f in query.features if f not in query.targets]
        if not seeded and untargeted:
            raise ParamError(
                f"feature '{untargeted[0]}' has no target_{untargeted[0]} and there is no seed "
                "to take it from; give a target or a seed, or leave it out of 'features'"
            )
        return query.features
    if seeded:
        return SIMILARITY_FEATURES
    return tuple(f for f in SIMILARITY_FEATURES if f in query.targets)


def _seed_row(index: TrackIndex, track_id: str, parameter: str = "seed_tracks") -> int:
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id, f" ({parameter})")
    return row


def _seed_genre(space: FeatureSpace, genre: str) -> Point:
    centroid = space.centroids.get(genre)
    if centroid is None:
        raise genre_not_found(genre)
    if not centroid:
        raise ParamError(f"'seed_genres' genre '{genre}' has no tracks, so it has no point")
    return centroid


def _track_seed(index: TrackIndex, row: int) -> dict[str, Any]:
    """A seed track as meta shows it: id, name and artists."""
    track = json.loads(track_texts(index, [row])[0])
    return {key: track[key] for key in ("id", "name", "artists")}


def _page(
    index: TrackIndex, space: FeatureSpace, point: Point, seeds: list[int], query: NeighbourQuery
) -> Page:
    """The page of candidates nearest to the point: the genre's members (or every track) that
    pass the filters, without the seeds' recordings, nor the avoided tracks', nor the tracks
    nearer to an avoided track than to the point."""
    candidates, keep = _candidates(index, query)
    needed = query.offset + query.limit + 1  # one more: is there a next page?
    if by_cells(index, space, query, candidates):
        return cell_page(index, space, point, seeds, query, (candidates, keep), needed)
    avoided = [_seed_row(index, track_id, "avoid_tracks") for track_id in query.avoid]
    recordings = [int(space.recording[row]) for row in [*seeds, *avoided]]
    found = ranking(space, point, candidates, keep, recordings)
    if avoided:
        points = [point_of(space, row, tuple(point)) for row in avoided]
        found = left_out(found, nearer_to_avoided(found, points))
    if query.max_per_artist is not None:
        return varied_page(index, lambda k: first(found, k), found.total, query, needed)
    before = 0
    if query.after is not None:
        passed = after_cursor(found, index.ids, *query.after)
        found, before = passed, found.total - passed.total
    rows, distances = first(found, needed)
    return Page(
        rows[query.offset :].tolist(),
        distances[query.offset :].tolist(),
        found.total + before,
        before + query.offset,
    )


def _candidates(
    index: TrackIndex, query: NeighbourQuery
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The candidate rows, ascending (None: every track), and a mask over them (None: all):
    a genre's members and the filters' mask over them; at millions of tracks with a range
    filter, the rows the filters pass, found through the projections."""
    if query.genre is not None:
        members = genre_members(index, query.genre)
        if members is None:
            raise genre_not_found(query.genre)
        return members, filter_mask(index, query.filters, members)
    if uses_projections(index, None, query.filters):
        rows = matches(index, query.filters).rows
        if len(rows) * DIRECT_SHARE < len(index.ids):  # few: measured one by one
            return np.sort(rows), None
        # Many (at ten million tracks, a wide range passes most): a mask over every track,
        # made by scattering them, costs 20 ms where sorting them cost 400.
        keep = np.zeros(len(index.ids), dtype=bool)
        keep[rows] = True
        return None, keep
    mask = filter_mask(index, query.filters, None)
    # Filters with no range (an artist, a key, a mood) may pass a few tracks of millions: the
    # cells would visit every cell looking for k of them; they are measured directly instead.
    if mask is None or len(index.ids) < projections.SCALE_FROM:
        return None, mask
    if int(np.count_nonzero(mask)) * DIRECT_SHARE < len(index.ids):
        return np.flatnonzero(mask), None
    return None, mask


def _answer(index: TrackIndex, found: Page, query: NeighbourQuery, extra: dict[str, Any]) -> Answer:
    page = found.rows[: query.limit]
    texts = projected(track_texts(index, page), query.fields)
    with_distance = [
        f'{text[:-1]},"distance":{round(float(d), 4)!r}}}'
        for text, d in zip(texts, found.distances, strict=False)
    ]
    following = None
    if len(found.rows) > query.limit:
        last = page[-1]
        tick = int(ticks(np.array(found.distances[query.limit - 1]))[()])
        following = cursor.encode("distance", tick, bytes(index.ids[last]).decode())
    meta = {"total": found.total, "limit": query.limit, "offset": found.before, **extra}
    return Answer(with_distance, meta, following)
