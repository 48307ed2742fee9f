"""The seeded query mix: API URLs per endpoint group, drawn from a curated dataset.

Every benchmark (in-process and HTTP) replays these lists, so the same seed gives the same
requests everywhere. The filtered /tracks groups (`tracks`, `ranges3`, `facets`) are also
rendered as the equivalent Datasette table-API URLs (bench/datasette_urls.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import polars as pl

from bench.datasette_urls import datasette_url
from contract import CAMELOT_CODES as CAMELOT
from contract import MOODS
from contract.fields import RANGE_FILTERS, SORTS
from contract.music import harmonic_matches

API = "/api/v1"
DEFAULT_SEED = 4
# The workload fixes its own order of columns and sorts (the one they had when it was first
# measured), so the same seed draws the same requests whatever order the catalogue lists them in.
NUMERIC_COLUMNS = ("popularity", "energy", "tempo", "valence", "danceability", "acousticness",
                   "instrumentalness", "speechiness", "liveness", "loudness", "duration_ms")  # fmt: skip
TRACK_SORTS = (
    "popularity", "energy", "energy_asc", "tempo", "tempo_asc", "valence", "name",
    *(name for column in NUMERIC_COLUMNS for name in (column, f"{column}_asc")
      if name not in ("popularity", "energy", "energy_asc", "tempo", "tempo_asc", "valence")),
    "name_desc",
)  # fmt: skip
assert set(NUMERIC_COLUMNS) == set(RANGE_FILTERS) and set(TRACK_SORTS) == set(SORTS)
GENRE_TRACK_SORTS = ("popularity", "energy", "tempo", "valence", "name")
LIMITS = (None, None, 10, 20, 50, 100)
OFFSETS = (None, None, None, None, 20, 40, 100, 200)
FACET_FIELDS = ("mood", "key", "camelot", "mode", "time_signature", "explicit")
BATCH_SIZE = 100
# Where random ranges are drawn, and with how many decimals, per numeric column.
RANGE_SPANS: dict[str, tuple[float, float, int]] = {
    **{c: (0.0, 1.0, 2) for c in ("energy", "valence", "danceability", "acousticness",
                                  "instrumentalness", "speechiness", "liveness")},
    "tempo": (40.0, 200.0, 1),
    "loudness": (-40.0, 0.0, 1),
    "popularity": (0, 100, 0),
    "duration_ms": (60_000, 400_000, 0),
}  # fmt: skip
# Share of each endpoint group in the blended "all" mix.
ALL_WEIGHTS = {
    "stats": 5,
    "genres": 5,
    "genre": 10,
    "genre_tracks": 15,
    "tracks": 25,
    "facets": 5,
    "batch": 5,
    "track": 15,
    "compare": 5,
    "similar": 5,
    "recommendations": 5,
}
# Exports answer a whole genre each: the mix has one per EXPORT_SHARE requests of a group, and
# keeps them out of "all" (whose blend stays comparable with earlier runs).
EXPORT_SHARE = 20
GROUPS = (*ALL_WEIGHTS, "ranges3", "all", "export")
SIMILARITY_FEATURES = ("danceability", "energy", "valence", "acousticness", "instrumentalness",
                       "speechiness", "liveness", "loudness", "tempo")  # fmt: skip
TARGET_SPANS = {f: RANGE_SPANS[f][:2] for f in SIMILARITY_FEATURES}
DATASETTE_GROUPS = ("tracks", "ranges3", "facets", "track")


@dataclass(frozen=True)
class Catalogue:
    """What the mix draws from: genre ids, track ids with primary genre, artist names."""

    genres: list[str]
    track_ids: list[str]
    track_genres: list[str]
    artists: list[str]
    harmonic_codes: dict[str, str]  # track id -> codes it mixes with, for tracks with a key


def catalogue_from_tracks(tracks: pl.DataFrame, genres: list[str]) -> Catalogue:
    """Catalogue of a curated tracks frame (id, genre_id, artists, camelot) and its genres."""
    ordered = tracks.select("id", "genre_id", "artists", "camelot").sort("id")
    artists = sorted({name for name in ordered["artists"].drop_nulls().to_list() if name})
    keyed = ordered.filter(pl.col("camelot").is_not_null()).head(5000)
    return Catalogue(
        genres=list(genres),
        track_ids=ordered["id"].to_list(),
        track_genres=ordered["genre_id"].to_list(),
        artists=artists,
        harmonic_codes={
            track_id: ",".join(harmonic_matches(code))
            for track_id, code in keyed.select("id", "camelot").iter_rows()
        },
    )


def catalogue_from_curated(curated: Path) -> Catalogue:
    """Catalogue of a curated folder (tracks.parquet and genres.parquet)."""
    columns = ["id", "genre_id", "artists", "camelot"]
    tracks = pl.read_parquet(curated / "tracks.parquet", columns=columns)
    genres = pl.read_parquet(curated / "genres.parquet", columns=["id", "position"])
    return catalogue_from_tracks(tracks, genres.sort("position")["id"].to_list())


def artist_fragment(rng: random.Random, artists: list[str]) -> str:
    """Part of a real artist string: a whole first artist or one word of it (partial match)."""
    first = rng.choice(artists).split(";")[0].strip()
    words = [word for word in first.split() if len(word) >= 4 and word.isalnum()]
    if words and rng.random() < 0.5:
        return rng.choice(words)
    return first


def feature_range(rng: random.Random, column: str) -> dict[str, str]:
    """min_/max_ of one column inside its span; either end may be left open."""
    low, high, digits = RANGE_SPANS[column]
    start = rng.uniform(low, high - (high - low) * 0.1)
    stop = min(high, start + rng.uniform(0.1, 0.5) * (high - low))
    shape = rng.random()
    bounds = {}
    if shape >= 0.25:
        bounds[f"min_{column}"] = f"{start:.{digits}f}"
    if not 0.25 <= shape < 0.5:
        bounds[f"max_{column}"] = f"{stop:.{digits}f}"
    return bounds


def some(rng: random.Random, values: tuple, most: int) -> str:
    """1 to `most` distinct values, comma-separated."""
    return ",".join(map(str, rng.sample(values, rng.randint(1, most))))


def track_query(rng: random.Random, cat: Catalogue) -> dict[str, str]:
    """Parameters of one filtered /tracks query: any filters, often a genre, one of all sorts."""
    params: dict[str, str] = {}
    chances: list[tuple[float, Callable[[], dict[str, str]]]] = [
        (0.5, lambda: {"genre": rng.choice(cat.genres)}),
        (0.1, lambda: {"artist": artist_fragment(rng, cat.artists)}),
        *[(0.15, lambda column=column: feature_range(rng, column)) for column in NUMERIC_COLUMNS],
        (0.2, lambda: {"key": some(rng, tuple(range(-1, 12)), 3)}),
        (0.2, lambda: {"mood": some(rng, MOODS, 2)}),
        (0.1, lambda: {"camelot": some(rng, CAMELOT, 3)}),
        (0.2, lambda: {"mode": str(rng.randint(0, 1))}),
        (0.1, lambda: {"explicit": rng.choice(["true", "false"])}),
        (0.05, lambda: {"time_signature": rng.choice(["3", "4", "5"])}),
        (0.05, lambda: {"harmonic_to": rng.choice(list(cat.harmonic_codes))}),
    ]
    for chance, make in chances:
        if rng.random() < chance:
            params |= make()
    if rng.random() < 0.8:
        params["sort"] = rng.choice(TRACK_SORTS)
    _paginate(rng, params)
    return params


def three_ranges(rng: random.Random, facets: bool = False) -> dict[str, str]:
    """Exactly three feature ranges (both ends) and a sort; with facets, 1-3 facet fields."""
    params: dict[str, str] = {}
    for column in rng.sample(NUMERIC_COLUMNS, 3):
        low, high, digits = RANGE_SPANS[column]
        start = rng.uniform(low, high - (high - low) * 0.3)
        params[f"min_{column}"] = f"{start:.{digits}f}"
        stop = min(high, start + rng.uniform(0.2, 0.6) * (high - low))
        params[f"max_{column}"] = f"{stop:.{digits}f}"
    params["sort"] = rng.choice(TRACK_SORTS)
    if facets:
        params["facets"] = some(rng, FACET_FIELDS, 3)
    _paginate(rng, params)
    return params


def _paginate(rng: random.Random, params: dict[str, str]) -> None:
    limit, offset = rng.choice(LIMITS), rng.choice(OFFSETS)
    if limit is not None:
        params["limit"] = str(limit)
    if offset is not None:
        params["offset"] = str(offset)


def api_url(path: str, params: dict[str, str] | None = None) -> str:
    """An API path with its query string (percent-encoded, parameters in the given order)."""
    query = urlencode(params or {}, quote_via=quote, safe=",")
    return f"{API}{path}?{query}" if query else f"{API}{path}"


def group_queries(group: str, rng: random.Random, cat: Catalogue) -> tuple[str, str | None]:
    """One (API URL, Datasette URL or None) of an endpoint group."""
    listings: dict[str, Callable[[], dict[str, str]]] = {
        "tracks": lambda: track_query(rng, cat),
        "ranges3": lambda: three_ranges(rng),
        "facets": lambda: three_ranges(rng, facets=True),
    }
    if group in listings:
        params = listings[group]()
        return api_url("/tracks", params), datasette_url(params, cat.harmonic_codes)
    if group == "track":
        track_id = rng.choice(cat.track_ids)
        return api_url(f"/tracks/{track_id}"), f"/kapiko/tracks/{track_id}.json?_shape=objects"
    makers: dict[str, Callable[[], str]] = {
        "stats": lambda: api_url("/stats"),
        "genres": lambda: api_url("/genres"),
        "genre": lambda: api_url(f"/genres/{rng.choice(cat.genres)}"),
        "genre_tracks": lambda: genre_tracks_url(rng, cat),
        "compare": lambda: compare_url(rng, cat),
        "batch": lambda: api_url(
            "/tracks", {"ids": ",".join(rng.sample(cat.track_ids, BATCH_SIZE))}
        ),
        "similar": lambda: similar_url(rng, cat),
        "recommendations": lambda: recommendations_url(rng, cat),
    }
    return makers[group](), None


def neighbour_extras(rng: random.Random, cat: Catalogue) -> dict[str, str]:
    """What a similar or recommendations query may add: a genre, a filter, a feature subset."""
    params: dict[str, str] = {}
    if rng.random() < 0.3:
        params["genre"] = rng.choice(cat.genres)
    if rng.random() < 0.3:
        params |= feature_range(rng, rng.choice(NUMERIC_COLUMNS))
    if rng.random() < 0.2:
        params["features"] = some(rng, SIMILARITY_FEATURES, 5)
    params["limit"] = str(rng.choice((10, 20, 20, 50)))
    return params


def similar_url(rng: random.Random, cat: Catalogue) -> str:
    """A /tracks/<id>/similar URL: a random track, sometimes within a genre or a filter."""
    return api_url(f"/tracks/{rng.choice(cat.track_ids)}/similar", neighbour_extras(rng, cat))


def recommendations_url(rng: random.Random, cat: Catalogue) -> str:
    """A /recommendations URL: 1-3 seed tracks, sometimes a genre seed, 0-2 targets."""
    params = {"seed_tracks": ",".join(rng.sample(cat.track_ids, rng.randint(1, 3)))}
    if rng.random() < 0.3:
        params["seed_genres"] = rng.choice(cat.genres)
    for feature in rng.sample(SIMILARITY_FEATURES, rng.randint(0, 2)):
        low, high = TARGET_SPANS[feature]
        params[f"target_{feature}"] = f"{rng.uniform(low, high):.2f}"
    extras = neighbour_extras(rng, cat)
    extras.pop("features", None)  # a target must be one of the features
    return api_url("/recommendations", params | extras)


def export_url(rng: random.Random, cat: Catalogue) -> str:
    """A /tracks/export URL: one genre, the filters and sort of a /tracks query, CSV or NDJSON."""
    params = {k: v for k, v in track_query(rng, cat).items() if k not in ("limit", "offset")}
    params["genre"] = rng.choice(cat.genres)
    params["format"] = rng.choice(("csv", "ndjson"))
    return api_url("/tracks/export", params)


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
    groups = (*ALL_WEIGHTS, "ranges3")
    mix = {group: [group_queries(group, rng, cat) for _ in range(size)] for group in groups}
    weights = list(ALL_WEIGHTS.values())
    mix["all"] = [rng.choice(mix[rng.choices(list(ALL_WEIGHTS), weights)[0]]) for _ in range(size)]
    exports = random.Random(seed + 1)  # its own stream: the other groups' URLs stay as they were
    mix["export"] = [(export_url(exports, cat), None) for _ in range(max(5, size // EXPORT_SHARE))]
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
