"""Discovery I on the real curated data (default catalogue): the README's examples and every new
filter, sort and facet against independent Polars queries over the curated Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from builders import get_json as get
from test_derive import CAMELOT_BY_HAND, KEY_NAMES_BY_HAND

import contract as c

pytestmark = pytest.mark.realdata
APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"


@pytest.fixture(scope="module")
def client(real_app: Any) -> Any:
    return real_app.test_client()


@pytest.fixture(scope="module")
def tracks(real_curated_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(real_curated_dir / c.TRACKS)


@pytest.fixture(scope="module")
def members(real_curated_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(real_curated_dir / c.TRACK_GENRES)


def all_ids(client: Any, url: str) -> list[str]:
    """Every track id of a listing, page by page."""
    ids: list[str] = []
    while True:
        body = get(client, f"{url}&limit=100&offset={len(ids)}")
        ids += [track["id"] for track in body["data"]]
        if len(ids) >= body["meta"]["total"]:
            return ids


def expected_ids(frame: pl.DataFrame, column: str, descending: bool) -> list[str]:
    key = pl.col("name").str.to_lowercase() if column == "name" else pl.col(column)
    return frame.sort([key, pl.col("id")], descending=[descending, False])["id"].to_list()


def in_genre(tracks: pl.DataFrame, members: pl.DataFrame, genre: str) -> pl.DataFrame:
    ids = members.filter(pl.col("genre_id") == genre)["track_id"].implode()
    return tracks.filter(pl.col("id").is_in(ids))


def test_every_track_has_the_derived_fields_of_its_key_and_features(tracks: pl.DataFrame) -> None:
    for key, mode, valence, energy, key_name, camelot, mood in tracks.select(
        "key", "mode", "valence", "energy", "key_name", "camelot", "mood"
    ).iter_rows():
        if key == -1:
            assert (key_name, camelot) == (None, None)
        else:
            assert (key_name, camelot) == (KEY_NAMES_BY_HAND[key], CAMELOT_BY_HAND[(key, mode)])
        quadrant = {(True, True): "happy", (False, True): "tense", (False, False): "sad",
                    (True, False): "calm"}[(valence >= 0.5, energy >= 0.5)]  # fmt: skip
        assert mood == quadrant


def test_readme_calm_happy_acoustic_tracks(client: Any, tracks: pl.DataFrame) -> None:
    body = get(client, "/tracks?mood=calm,happy&min_acousticness=0.8&sort=valence&limit=5")
    matching = tracks.filter(pl.col("valence") >= 0.5, pl.col("acousticness") >= 0.8)
    assert body["meta"]["total"] == matching.height > 100
    assert [t["id"] for t in body["data"]] == expected_ids(matching, "valence", True)[:5]


def test_readme_most_danceable_piano_tracks(
    client: Any, tracks: pl.DataFrame, members: pl.DataFrame
) -> None:
    body = get(client, "/genres/piano/tracks?sort=danceability&limit=10")
    piano = in_genre(tracks, members, "piano")
    assert [t["id"] for t in body["data"]] == expected_ids(piano, "danceability", True)[:10]
    assert body["data"][0]["danceability"] == piano["danceability"].max()


def test_readme_batch_of_thirty(client: Any, tracks: pl.DataFrame) -> None:
    wanted = tracks.sample(30, seed=11)["id"].to_list()
    body = get(client, "/tracks?ids=" + ",".join(wanted))
    assert [t["id"] for t in body["data"]] == wanted
    assert body["meta"] == {"requested": 30, "found": 30}
    for track in body["data"][:5]:
        assert track == get(client, f"/tracks/{track['id']}")["data"]


def test_readme_harmonic_matches(client: Any, tracks: pl.DataFrame, members: pl.DataFrame) -> None:
    apocalypse = get(client, f"/tracks/{APOCALYPSE}")["data"]
    assert (apocalypse["key_name"], apocalypse["camelot"], apocalypse["mood"]) == ("F", "7B", "sad")
    url = f"/tracks?harmonic_to={APOCALYPSE}&genre=ambient&sort=popularity"
    ambient = in_genre(tracks, members, "ambient")
    compatible = ambient.filter(pl.col("camelot").is_in(["6B", "7B", "8B", "7A"]))
    assert all_ids(client, url) == expected_ids(compatible, "popularity", True)


def test_facets_against_polars(client: Any, tracks: pl.DataFrame, members: pl.DataFrame) -> None:
    body = get(client, "/tracks?genre=ambient&max_energy=0.5&facets=mood,camelot,genre&limit=1")
    ambient = in_genre(tracks, members, "ambient").filter(pl.col("energy") <= 0.5)
    meta = body["meta"]
    assert meta["total"] == ambient.height
    moods = dict(ambient.group_by("mood").len().iter_rows())
    assert {e["value"]: e["count"] for e in meta["facets"]["mood"] if e["count"]} == moods
    assert sum(e["count"] for e in meta["facets"]["camelot"]) == meta["total"]
    genres = members.filter(pl.col("track_id").is_in(ambient["id"].implode()))
    counts = dict(genres.group_by("genre_id").len().iter_rows())
    assert {e["value"]: e["count"] for e in meta["facets"]["genre"] if e["count"]} == counts


@pytest.mark.parametrize(
    ("query", "condition", "sort", "descending"),
    [
        ("min_valence=0.3&max_valence=0.6&sort=danceability_asc",
         pl.col("valence").is_between(0.3, 0.6), "danceability", False),
        ("max_loudness=-20&sort=loudness", pl.col("loudness") <= -20, "loudness", True),
        ("min_instrumentalness=0.5&max_speechiness=0.1&sort=name_desc",
         (pl.col("instrumentalness") >= 0.5) & (pl.col("speechiness") <= 0.1), "name", True),
        ("mood=sad,calm&explicit=false&sort=popularity_asc",
         pl.col("mood").is_in(["sad", "calm"]) & ~pl.col("explicit"), "popularity", False),
        ("key=0,7,-1&time_signature=3&sort=duration_ms",
         pl.col("key").is_in([0, 7, -1]) & (pl.col("time_signature") == 3), "duration_ms", True),
        ("camelot=8A,8B,9A&min_popularity=30&max_duration_ms=240000&sort=liveness",
         pl.col("camelot").is_in(["8A", "8B", "9A"]) & (pl.col("popularity") >= 30)
         & (pl.col("duration_ms") <= 240000), "liveness", True),
    ],
)  # fmt: skip
def test_new_filters_and_sorts_page_like_polars(
    client: Any,
    tracks: pl.DataFrame,
    query: str,
    condition: pl.Expr,
    sort: str,
    descending: bool,
) -> None:
    expected = expected_ids(tracks.filter(condition), sort, descending)
    assert len(expected) > 50
    assert all_ids(client, f"/tracks?{query}") == expected
