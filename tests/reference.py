"""Independent answers for issue 18's tests: plain Python over a curated folder's Parquet files.

Nothing here imports the service: the rules are written out again from docs/api.md (sort keys
with ties by id, artists as the names of a ';'-separated list, the tempo and Camelot rules,
distances in the z-score space with ties to 9 decimals broken by id), so a test that compares
the API with them checks the code against the documentation. Also a generated catalogue with
ties, shared artists, re-releases and beatless tracks, for the tests to build.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

FEATURES = ("danceability", "energy", "valence", "acousticness", "instrumentalness",
            "speechiness", "liveness", "loudness", "tempo")  # fmt: skip
SQRT = {"speechiness", "instrumentalness"}
GENRES = ("ambient", "sleep", "piano")  # conftest.TINY_GENRES
Tracks = dict[int, tuple[tuple[str, ...], dict[str, Any]]]


def discovery_tracks(count: int = 60, seed: int = 18) -> Tracks:
    """Tracks for conftest.write_curated: values on coarse grids (so sort keys and distances
    tie), 1-3 artists from a small pool (so lists intersect), a few re-releases of the track
    before, some tempo 0, keys on both modes."""
    rng = random.Random(seed)
    pool = ["Ana", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus"]
    tracks: Tracks = {}
    for n in range(1, count + 1):
        genres = tuple(g for g in GENRES if rng.random() < 0.45) or (rng.choice(GENRES),)
        names = rng.sample(pool, rng.choice([1, 1, 1, 2, 3]))
        values: dict[str, Any] = {f: rng.choice([0.0, 0.04, 0.25, 0.5, 1.0]) for f in FEATURES}
        values |= {
            "track_name": rng.choice(["song", "Song", "ballad", "Aria"]) + f" {n % 9}",
            "artists": rng.choice([";", " ; "]).join(names),
            "popularity": rng.choice([10, 40, 40, 80]),
            "loudness": rng.choice([-30.0, -10.0, -5.0]),
            "tempo": rng.choice([0.0, 60.0, 63.0, 90.0, 119.0, 120.0, 180.0, 240.0]),
            "key": rng.randint(0, 11),
            "mode": rng.randint(0, 1),
            "duration_ms": rng.choice([100_000, 200_000]),
        }
        if n % 11 == 0:  # a re-release of the track before: same name and artists
            values |= {k: tracks[n - 1][1][k] for k in ("track_name", "artists")}
        tracks[n] = (genres, values)
    return tracks


@dataclass(frozen=True)
class Catalogue:
    """A curated version as plain Python: tracks by id (dicts), their genres and z-scores."""

    tracks: dict[str, dict[str, Any]]  # id -> the tracks.parquet row
    genres: dict[str, list[str]]  # id -> genre ids
    z: dict[str, list[float]]  # id -> z-scores in FEATURES order
    ids: list[str]  # sorted


def load(curated: Path) -> Catalogue:
    """The version in `curated`: its tracks, memberships and published statistics (checked
    against a computation of its own first)."""
    rows = pl.read_parquet(curated / "tracks.parquet").to_dicts()
    tracks = {row["id"]: row for row in rows}
    genres: dict[str, list[str]] = {track_id: [] for track_id in tracks}
    for genre, track_id in (
        pl.read_parquet(curated / "track_genres.parquet").select("genre_id", "track_id").iter_rows()
    ):
        genres[track_id].append(genre)
    stats = {r["feature"]: r for r in pl.read_parquet(curated / "feature_stats.parquet").to_dicts()}
    z: dict[str, list[float]] = {track_id: [] for track_id in tracks}
    for feature in FEATURES:
        values = [_moved(feature, row[feature]) for row in rows]
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        published = stats[feature]
        assert math.isclose(mean, published["mean"], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(std, published["std"], rel_tol=1e-9, abs_tol=1e-12)
        for row in rows:
            spread = published["std"]
            moved = _moved(feature, row[feature])
            z[row["id"]].append(0.0 if spread == 0 else (moved - published["mean"]) / spread)
    return Catalogue(tracks, genres, z, sorted(tracks))


def _moved(feature: str, value: float) -> float:
    return math.sqrt(value) if feature in SQRT else float(value)


def artist_names(track: dict[str, Any]) -> list[str]:
    """A track's artists: the names of its ';'-separated list, trimmed, each once, in order."""
    names: list[str] = []
    for name in (track["artists"] or "").split(";"):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    return names


def mixes(code: str | None, other: str | None) -> bool:
    """The harmonic_to rule: the same code, one step round the wheel with the same letter, or
    the same number with the other letter."""
    if code is None or other is None:
        return False
    number, letter, other_number, other_letter = (
        int(code[:-1]),
        code[-1],
        int(other[:-1]),
        other[-1],
    )
    if letter == other_letter:
        return (number - other_number) % 12 in (0, 1, 11)
    return number == other_number


def in_tempo(tempo: float, bpm: float, tolerance: float = 6.0) -> bool:
    """The bpm rule: within the tolerance (per cent) of the BPM, its half or its double."""
    return any(abs(tempo - x) <= x * tolerance / 100 for x in (bpm * 0.5, bpm, bpm * 2.0))


def tick(distance: float) -> int:
    """A distance in whole ticks of 1e-9: equal ticks are a tie, broken by id."""
    return round(distance * 1e9)


def distance(a: list[float], b: list[float], features: list[int] | None = None) -> float:
    """Euclidean distance over the chosen feature positions (all by default)."""
    chosen = range(len(a)) if features is None else features
    return math.sqrt(math.fsum((a[i] - b[i]) ** 2 for i in chosen))


def varied(ids: list[str], cat: Catalogue, per_artist: int) -> list[str]:
    """max_per_artist: walking best first, keep a track when each of its artists is on fewer
    than `per_artist` kept tracks."""
    counts: dict[str, int] = {}
    kept = []
    for track_id in ids:
        names = artist_names(cat.tracks[track_id])
        if all(counts.get(name, 0) < per_artist for name in names):
            for name in names:
                counts[name] = counts.get(name, 0) + 1
            kept.append(track_id)
    return kept
