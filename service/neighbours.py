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
from dataclasses import dataclass, field
from typing import Any

from contract import RANGES, SIMILARITY_FEATURES, TRACK_ID_PATTERN
from service.filters import FILTER_PARAMS, GENRE_PARAM, filter_mask, given_filters
from service.index import TrackIndex, genre_members, row_of, track_texts
from service.params import (
    EXAMPLE_TRACK,
    FORMAT_PARAM,
    PAGE_PARAMS,
    Param,
    ParamError,
    genre_not_found,
    parse,
    track_not_found,
)
from service.similarity import (
    FeatureSpace,
    Neighbours,
    Point,
    in_units,
    mean_point,
    nearest,
    point_of,
    to_z,
)

MAX_SEEDS = 5
FEATURES_PARAM = Param(
    "features",
    "string",
    "The features the distance is measured over, comma-separated (default: all nine of the "
    "space: " + ", ".join(SIMILARITY_FEATURES) + ").",
    choices=SIMILARITY_FEATURES,
    many=True,
    example=("energy", "valence", "acousticness"),
)
_PAGE = tuple(p for p in PAGE_PARAMS if p.name != "sort")  # always nearest first
SIMILAR_PARAMS: tuple[Param, ...] = (
    GENRE_PARAM,
    *FILTER_PARAMS,
    FEATURES_PARAM,
    *_PAGE,
    FORMAT_PARAM,
)
SEED_PARAMS: tuple[Param, ...] = (
    Param(
        "seed_tracks",
        "string",
        f"Up to {MAX_SEEDS} track ids, comma-separated: the target point starts at their mean.",
        pattern=TRACK_ID_PATTERN,
        many=True,
        max_items=MAX_SEEDS,
        example=(EXAMPLE_TRACK,),
    ),
    Param(
        "seed_genres",
        "string",
        f"Up to {MAX_SEEDS} genre ids, comma-separated; a genre's point is the mean of its tracks'.",
        many=True,
        max_items=MAX_SEEDS,
        example=("ambient",),
    ),
)
TARGET_PARAMS: tuple[Param, ...] = tuple(
    Param(f"target_{f}", "number", f"The {f} to be near, in its own units.", *RANGES[f])
    for f in SIMILARITY_FEATURES
)
RECOMMEND_PARAMS: tuple[Param, ...] = (
    *SEED_PARAMS,
    *TARGET_PARAMS,
    FEATURES_PARAM,
    GENRE_PARAM,
    *FILTER_PARAMS,
    *_PAGE,
    FORMAT_PARAM,
)


@dataclass(frozen=True)
class NeighbourQuery:
    """A parsed similar or recommendations request."""

    genre: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] | None = None  # None: not given
    seed_tracks: tuple[str, ...] = ()
    seed_genres: tuple[str, ...] = ()
    targets: Mapping[str, float] = field(default_factory=dict)  # feature -> value in its units
    limit: int = 20
    offset: int = 0
    format: str = "json"  # or a file: csv, ndjson (service/exports.py)


def neighbour_query(specs: tuple[Param, ...], query: Mapping[str, list[str]]) -> NeighbourQuery:
    """Parse a similar (SIMILAR_PARAMS) or recommendations (RECOMMEND_PARAMS) query."""
    values = parse(specs, query)
    filters = given_filters(values)
    return NeighbourQuery(
        genre=values["genre"],
        filters=filters,
        features=values["features"],
        seed_tracks=values.get("seed_tracks") or (),
        seed_genres=values.get("seed_genres") or (),
        targets={
            f: values[f"target_{f}"]
            for f in SIMILARITY_FEATURES
            if values.get(f"target_{f}") is not None
        },
        limit=values["limit"],
        offset=values["offset"],
        format=values["format"],
    )


@dataclass(frozen=True)
class Answer:
    """A page of neighbours as JSON texts (each with its distance) and what the meta says."""

    texts: list[str]
    meta: dict[str, Any]


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


def _seed_row(index: TrackIndex, track_id: str) -> int:
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id, " (seed_tracks)")
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
) -> Neighbours:
    """The page of candidates nearest to the point: the genre's members (or every track) that
    pass the filters, without the seeds' recordings."""
    candidates = None
    if query.genre is not None:
        candidates = genre_members(index, query.genre)
        if candidates is None:
            raise genre_not_found(query.genre)
    keep = filter_mask(index, query.filters, candidates)
    recordings = [int(space.recording[row]) for row in seeds]
    stop = query.offset + query.limit
    return nearest(space, point, candidates, keep, recordings, query.offset, stop)


def _answer(
    index: TrackIndex, found: Neighbours, query: NeighbourQuery, extra: dict[str, Any]
) -> Answer:
    texts = track_texts(index, found.rows.tolist())
    with_distance = [
        f'{text[:-1]},"distance":{round(float(d), 4)!r}}}'
        for text, d in zip(texts, found.distances, strict=True)
    ]
    meta = {"total": found.total, "limit": query.limit, "offset": query.offset, **extra}
    return Answer(with_distance, meta)
