"""The seeded query mix: API URLs per endpoint group, drawn from a curated dataset.

Every benchmark (in-process and HTTP) replays these lists, so the same seed gives the same
requests everywhere. The filtered `/tracks` queries are also rendered as the equivalent
Datasette table-API URLs (bench/datasette_app.py serves the same tracks from SQLite).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import polars as pl

API = "/api/v1"
DEFAULT_SEED = 4
TRACK_SORTS = ("popularity", "energy", "energy_asc", "tempo", "tempo_asc", "valence", "name")
GENRE_TRACK_SORTS = ("popularity", "energy", "tempo", "valence", "name")
LIMITS = (None, None, 10, 20, 50, 100)
OFFSETS = (None, None, None, None, 20, 40, 100, 200)
# Share of each endpoint group in the blended "all" mix.
ALL_WEIGHTS = {
    "stats": 5,
    "genres": 5,
    "genre": 10,
    "genre_tracks": 15,
    "tracks": 35,
    "track": 20,
    "compare": 10,
}
GROUPS = (*ALL_WEIGHTS, "all")

# Datasette: views (see bench/sqlite_export.py), on which `_next` is a plain offset; a genre
# filter means membership, as in the API, so it goes to the membership view.
DATASETTE_ALL = "/kapiko/tracks_api.json"
DATASETTE_BY_GENRE = "/kapiko/tracks_by_genre.json"
DATASETTE_SORTS = {
    "popularity": ("_sort_desc", "popularity"),
    "energy": ("_sort_desc", "energy"),
    "energy_asc": ("_sort", "energy"),
    "tempo": ("_sort_desc", "tempo"),
    "tempo_asc": ("_sort", "tempo"),
    "valence": ("_sort_desc", "valence"),
    "name": ("_sort", "name"),
}


@dataclass(frozen=True)
class Catalogue:
    """What the mix draws from: genre ids, track ids with primary genre, artist names."""

    genres: list[str]
    track_ids: list[str]
    track_genres: list[str]
    artists: list[str]


def catalogue_from_tracks(tracks: pl.DataFrame, genres: list[str]) -> Catalogue:
    """Catalogue of a curated tracks frame (columns id, genre_id, artists) and its genres."""
    ordered = tracks.select("id", "genre_id", "artists").sort("id")
    artists = sorted({name for name in ordered["artists"].drop_nulls().to_list() if name})
    return Catalogue(
        genres=list(genres),
        track_ids=ordered["id"].to_list(),
        track_genres=ordered["genre_id"].to_list(),
        artists=artists,
    )


def catalogue_from_curated(curated: Path) -> Catalogue:
    """Catalogue of a curated folder (tracks.parquet and genres.parquet)."""
    tracks = pl.read_parquet(curated / "tracks.parquet", columns=["id", "genre_id", "artists"])
    genres = pl.read_parquet(curated / "genres.parquet", columns=["id", "position"])
    return catalogue_from_tracks(tracks, genres.sort("position")["id"].to_list())


def artist_fragment(rng: random.Random, artists: list[str]) -> str:
    """Part of a real artist string: a whole first artist or one word of it (partial match)."""
    first = rng.choice(artists).split(";")[0].strip()
    words = [word for word in first.split() if len(word) >= 4 and word.isalnum()]
    if words and rng.random() < 0.5:
        return rng.choice(words)
    return first


def feature_range(rng: random.Random, low: float, high: float, digits: int) -> tuple[str, str]:
    """A random [min, max] inside [low, high] as text; either end may be left open ('')."""
    start = rng.uniform(low, high - (high - low) * 0.1)
    stop = min(high, start + rng.uniform(0.1, 0.5) * (high - low))
    shape = rng.random()
    lo = "" if shape < 0.25 else f"{start:.{digits}f}"
    hi = "" if 0.25 <= shape < 0.5 else f"{stop:.{digits}f}"
    return lo, hi


def track_query(rng: random.Random, cat: Catalogue) -> dict[str, str]:
    """Parameters of one filtered /tracks query (string values, API names)."""
    params: dict[str, str] = {}
    if rng.random() < 0.7:
        params["genre"] = rng.choice(cat.genres)
    if rng.random() < 0.15:
        params["artist"] = artist_fragment(rng, cat.artists)
    if rng.random() < 0.5:
        params["min_energy"], params["max_energy"] = feature_range(rng, 0.0, 1.0, 2)
    if rng.random() < 0.4:
        params["min_tempo"], params["max_tempo"] = feature_range(rng, 40.0, 200.0, 1)
    if rng.random() < 0.3:
        params["key"] = str(rng.randint(0, 11))
    if rng.random() < 0.3:
        params["mode"] = str(rng.randint(0, 1))
    if rng.random() < 0.8:
        params["sort"] = rng.choice(TRACK_SORTS)
    _paginate(rng, params)
    return {name: value for name, value in params.items() if value != ""}


def _paginate(rng: random.Random, params: dict[str, str]) -> None:
    limit, offset = rng.choice(LIMITS), rng.choice(OFFSETS)
    if limit is not None:
        params["limit"] = str(limit)
    if offset is not None:
        params["offset"] = str(offset)


def api_url(path: str, params: dict[str, str] | None = None) -> str:
    """An API path with its query string (percent-encoded, parameters in the given order)."""
    query = urlencode(params or {}, quote_via=quote)
    return f"{API}{path}?{query}" if query else f"{API}{path}"


def datasette_url(params: dict[str, str]) -> str:
    """The Datasette table-API URL equivalent to one /tracks query."""
    names = {"genre": "member_genre", "artist": "artists__contains", "key": "key", "mode": "mode"}
    ranges = {"min_energy": "energy__gte", "max_energy": "energy__lte"}
    ranges |= {"min_tempo": "tempo__gte", "max_tempo": "tempo__lte"}
    args: dict[str, str] = {}
    for name, value in params.items():
        if name in names or name in ranges:
            args[names.get(name) or ranges[name]] = value
    sort_arg, sort_column = DATASETTE_SORTS[params.get("sort", "popularity")]
    args[sort_arg] = sort_column
    args["_size"] = params.get("limit", "20")
    if "offset" in params:
        args["_next"] = params["offset"]  # on a view, _next is a row offset
    args["_shape"] = "objects"  # rows as objects; keeps filtered_table_rows_count (our total)
    table = DATASETTE_BY_GENRE if "genre" in params else DATASETTE_ALL
    return f"{table}?{urlencode(args, quote_via=quote)}"


def group_queries(group: str, rng: random.Random, cat: Catalogue) -> tuple[str, str | None]:
    """One (API URL, Datasette URL or None) of an endpoint group."""
    if group == "tracks":
        params = track_query(rng, cat)
        return api_url("/tracks", params), datasette_url(params)
    if group == "track":
        track_id = rng.choice(cat.track_ids)
        return api_url(f"/tracks/{track_id}"), f"/kapiko/tracks/{track_id}.json?_shape=objects"
    makers: dict[str, Callable[[], str]] = {
        "stats": lambda: api_url("/stats"),
        "genres": lambda: api_url("/genres"),
        "genre": lambda: api_url(f"/genres/{rng.choice(cat.genres)}"),
        "genre_tracks": lambda: genre_tracks_url(rng, cat),
        "compare": lambda: compare_url(rng, cat),
    }
    return makers[group](), None


def genre_tracks_url(rng: random.Random, cat: Catalogue) -> str:
    """A /genres/<g>/tracks URL with a random sort and page."""
    params: dict[str, str] = {}
    if rng.random() < 0.8:
        params["sort"] = rng.choice(GENRE_TRACK_SORTS)
    _paginate(rng, params)
    return api_url(f"/genres/{rng.choice(cat.genres)}/tracks", params)


def compare_url(rng: random.Random, cat: Catalogue) -> str:
    """A /compare URL: a random track against its own genre or another one."""
    index = rng.randrange(len(cat.track_ids))
    genre = cat.track_genres[index] if rng.random() < 0.5 else rng.choice(cat.genres)
    return api_url("/compare", {"track_id": cat.track_ids[index], "genre": genre})


def query_mix(cat: Catalogue, size: int = 1000, seed: int = DEFAULT_SEED) -> dict[str, list]:
    """Per group, `size` (API URL, Datasette URL or None) pairs; group 'all' blends them."""
    rng = random.Random(seed)
    mix = {group: [group_queries(group, rng, cat) for _ in range(size)] for group in ALL_WEIGHTS}
    weights = list(ALL_WEIGHTS.values())
    mix["all"] = [rng.choice(mix[rng.choices(list(ALL_WEIGHTS), weights)[0]]) for _ in range(size)]
    return mix


def write_url_files(mix: dict[str, list], directory: Path) -> dict[str, Path]:
    """Write one URL per line per group (and '<group>.datasette' lists); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for group, pairs in mix.items():
        paths[group] = directory / f"{group}.txt"
        paths[group].write_text("".join(f"{ours}\n" for ours, _ in pairs))
        if pairs and all(theirs is not None for _, theirs in pairs):
            paths[f"{group}.datasette"] = directory / f"{group}.datasette.txt"
            paths[f"{group}.datasette"].write_text("".join(f"{theirs}\n" for _, theirs in pairs))
    return paths
