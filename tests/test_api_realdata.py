"""The API on the dataset the real pipeline builds from the real upstream (default catalogue).

Checks the contract's example requests against values computed independently from the upstream
CSV with Python's csv module, and cross-checks the endpoints against each other.
"""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import assert_canonical_error

pytestmark = pytest.mark.realdata
API = "/api/v1"
APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"


DEFAULT_GENRES = ("ambient", "chill", "study", "sleep", "piano", "classical", "new-age",
                  "trip-hop", "sad", "acoustic")  # fmt: skip


@pytest.fixture(scope="module")
def client(real_app: Any) -> Any:
    return real_app.test_client()


@pytest.fixture(scope="module")
def upstream(upstream_path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """The upstream rows of the default genres as text, per genre, one per track id (the first)."""
    rows: dict[str, dict[str, dict[str, str]]] = {genre: {} for genre in DEFAULT_GENRES}
    with open(upstream_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["track_genre"] in rows:
                rows[row["track_genre"]].setdefault(row["track_id"], row)
    return rows


def unique_tracks(upstream: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    """Every track of the default genres once (features are the same in every row of a track)."""
    return {tid: row for genre in DEFAULT_GENRES for tid, row in upstream[genre].items()}


def get(client: Any, url: str) -> dict[str, Any]:
    response = client.get(API + url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


def all_tracks(client: Any, url: str) -> list[dict[str, Any]]:
    """Every track of a listing, page by page."""
    tracks: list[dict[str, Any]] = []
    separator = "&" if "?" in url else "?"
    while True:
        body = get(client, f"{url}{separator}limit=100&offset={len(tracks)}")
        tracks += body["data"]
        if len(tracks) >= body["meta"]["total"]:
            return tracks


def test_contract_example_stats(client: Any, upstream: dict) -> None:
    tracks = unique_tracks(upstream)
    data = get(client, "/stats")["data"]
    assert data["totals"] == {"tracks": len(tracks), "genres": 10}
    assert len(tracks) == 9431
    mean_energy = sum(float(t["energy"]) for t in tracks.values()) / len(tracks)
    mean_tempo = sum(float(t["tempo"]) for t in tracks.values()) / len(tracks)
    assert data["global_averages"]["avg_energy"] == round(mean_energy, 3)
    assert data["global_averages"]["avg_tempo"] == round(mean_tempo, 2)
    assert [(g["id"], g["track_count"]) for g in data["genres"]] == [
        (genre, len(upstream[genre])) for genre in DEFAULT_GENRES
    ]


def test_contract_example_genres(client: Any, upstream: dict) -> None:
    body = get(client, "/genres")
    assert body["meta"] == {"total": 10}
    ambient = body["data"][0]
    rows = upstream["ambient"].values()
    assert (ambient["id"], ambient["name"], ambient["track_count"]) == ("ambient", "Ambient", 999)
    assert ambient["avg_valence"] == round(sum(float(r["valence"]) for r in rows) / 999, 4)
    assert ambient["avg_loudness"] == round(sum(float(r["loudness"]) for r in rows) / 999, 4)
    assert ambient["updated_at"].endswith("Z")


def test_contract_example_genre_detail(client: Any, upstream: dict) -> None:
    data = get(client, "/genres/ambient")["data"]
    rows = list(upstream["ambient"].values())
    # exact decimal buckets of the text values: 0.3 is in bucket 30, never 20
    by_bucket = Counter(min(int(Decimal(r["energy"]) * 10), 9) * 10 for r in rows)
    assert {b["bucket"]: b["count"] for b in data["distributions"]["energy"]} == {
        bucket: by_bucket.get(bucket, 0) for bucket in range(0, 100, 10)
    }
    artists = Counter(r["artists"] for r in rows).most_common(1)[0]
    assert data["top_artists"][0] == {"artists": artists[0], "track_count": artists[1]}


def test_contract_example_genre_tracks(client: Any, upstream: dict) -> None:
    body = get(client, "/genres/ambient/tracks?limit=5&sort=energy")
    rows = sorted(upstream["ambient"].values(), key=lambda r: r["track_id"])
    rows.sort(key=lambda r: float(r["energy"]), reverse=True)
    assert [t["id"] for t in body["data"]] == [r["track_id"] for r in rows[:5]]
    assert body["meta"] == {"total": 999, "limit": 5, "offset": 0, "next": body["meta"]["next"]}
    assert body["meta"]["next"].startswith(
        "/api/v1/genres/ambient/tracks?limit=5&sort=energy&cursor="
    )


def test_contract_example_search(client: Any, upstream: dict) -> None:
    body = get(client, "/tracks?genre=ambient&max_energy=0.1&sort=energy_asc&limit=5")
    rows = sorted(upstream["ambient"].values(), key=lambda r: r["track_id"])
    quiet = sorted((r for r in rows if float(r["energy"]) <= 0.1), key=lambda r: float(r["energy"]))
    assert [t["id"] for t in body["data"]] == [r["track_id"] for r in quiet[:5]]
    assert body["meta"]["total"] == len(quiet) == 324
    assert body["data"][0]["artists"] == "Max Richter"


def test_contract_example_track(client: Any) -> None:
    track = get(client, f"/tracks/{APOCALYPSE}")["data"]
    expected = {  # the contract's example response, field for field
        "id": APOCALYPSE,
        "name": "Apocalypse",
        "artists": "Cigarettes After Sex",
        "album": "Cigarettes After Sex",
        "genre_id": "ambient",
        "genre_name": "Ambient",
        "popularity": 84,
        "duration_ms": 290616,
        "tempo": 94.485,
        "energy": 0.467,
        "valence": 0.182,
        "loudness": -9.013,
        "acousticness": 0.0205,
        "danceability": 0.37,
        "instrumentalness": 0.572,
        "speechiness": 0.0273,
        "liveness": 0.109,
        "key": 5,
        "mode": 1,
        "time_signature": 4,
        "source": "spotify",
    }
    assert {key: track[key] for key in expected} == expected
    assert track["genres"][0] == "ambient"
    assert track["explicit"] is False


def test_contract_example_compare_labels(client: Any) -> None:
    data = get(client, f"/compare?track_id={APOCALYPSE}&genre=ambient")["data"]
    comparison = data["comparison"]
    assert comparison["energy"]["percentile_label"] == "above average"
    assert comparison["valence"]["percentile_label"] == "near average"
    ambient = get(client, "/genres")["data"][0]
    for feature, row in comparison.items():
        assert row["genre_avg"] == ambient[f"avg_{feature}"]
        assert row["delta"] == round(row["track_value"] - row["genre_avg"], 4)


@pytest.mark.parametrize("feature", ["tempo", "energy", "loudness"])
def test_compare_percentile_is_the_mid_rank_within_the_genre(client: Any, feature: str) -> None:
    values = [t[feature] for t in all_tracks(client, "/genres/ambient/tracks")]
    mine = get(client, f"/tracks/{APOCALYPSE}")["data"][feature]
    below = sum(v < mine for v in values)
    equal = sum(v == mine for v in values)
    row = get(client, f"/compare?track_id={APOCALYPSE}&genre=ambient")["data"]["comparison"]
    assert row[feature]["percentile"] == round(100 * (below + equal / 2) / len(values), 1)


def test_totals_agree_across_endpoints(client: Any) -> None:
    stats = get(client, "/stats")["data"]
    health = get(client, "/health")["data"]
    genres = get(client, "/genres")
    assert stats["totals"]["tracks"] == health["counts"]["tracks"]
    assert stats["totals"]["genres"] == genres["meta"]["total"] == len(genres["data"])
    assert sum(g["track_count"] for g in genres["data"]) == health["counts"]["track_genres"]
    assert get(client, "/tracks?limit=1")["meta"]["total"] == health["counts"]["tracks"]
    for genre in genres["data"]:
        listed = get(client, f"/tracks?genre={genre['id']}&limit=1")["meta"]["total"]
        assert listed == genre["track_count"]


def test_genre_detail_distributions_count_every_track(client: Any) -> None:
    for genre in get(client, "/genres")["data"]:
        detail = get(client, f"/genres/{genre['id']}")["data"]
        assert {"energy", "tempo", "valence"} <= set(detail["distributions"])
        for buckets in detail["distributions"].values():
            assert sum(b["count"] for b in buckets) == genre["track_count"]
        counts = [a["track_count"] for a in detail["top_artists"]]
        assert 0 < len(counts) <= 10 and counts == sorted(counts, reverse=True)


def test_a_genre_listing_has_each_track_once_and_multi_genre_tracks(client: Any) -> None:
    tracks = all_tracks(client, "/tracks?genre=sleep&sort=name")
    assert len({t["id"] for t in tracks}) == len(tracks)
    assert all("sleep" in t["genres"] for t in tracks)
    shared = [t for t in tracks if len(t["genres"]) > 1]
    assert shared, "the default catalogue has tracks in several genres"
    catalogue = [g["id"] for g in get(client, "/genres")["data"]]
    for track in shared:
        assert track["genre_id"] == track["genres"][0]
        positions = [catalogue.index(g) for g in track["genres"]]
        assert positions == sorted(positions)
        assert get(client, f"/tracks/{track['id']}")["data"] == track


def test_real_values_at_the_edges_are_served(client: Any) -> None:
    no_beat = get(client, "/tracks?max_tempo=0&limit=3")
    assert no_beat["meta"]["total"] > 0
    assert all(t["tempo"] == 0 for t in no_beat["data"])
    assert_canonical_error(client.get(f"{API}/tracks/{'Z' * 22}"), 404)


@pytest.mark.parametrize(
    ("query", "condition", "sort", "descending"),
    [
        ("min_energy=0.3&sort=tempo", pl.col("energy") >= 0.3, "tempo", True),
        (
            "artist=a&sort=name",
            pl.col("artists").str.to_lowercase().str.contains("a", literal=True),
            "name",
            False,
        ),
        ("mode=1&sort=energy_asc", pl.col("mode") == 1, "energy", False),
    ],
)
def test_paging_a_large_listing_matches_an_independent_polars_query(
    client: Any, real_curated_dir: Path, query: str, condition: pl.Expr, sort: str, descending: bool
) -> None:
    """Thousands of matches: past the index's block scan and byte search thresholds."""
    tracks = pl.read_parquet(real_curated_dir / "tracks.parquet").filter(condition)
    key = pl.col("name").str.to_lowercase() if sort == "name" else pl.col(sort)
    expected = tracks.sort([key, pl.col("id")], descending=[descending, False])["id"].to_list()
    assert len(expected) > 3000
    assert [track["id"] for track in all_tracks(client, f"/tracks?{query}")] == expected


def test_a_tracks_popularity_is_its_highest_upstream_value_everywhere(
    client: Any, upstream_path: Path
) -> None:
    """Some tracks have different popularities in different rows upstream (0 in one, 44 in
    another); the track has its highest one in every response and every genre listing."""
    values: dict[str, set[int]] = {}
    with open(upstream_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["track_genre"] in DEFAULT_GENRES:
                values.setdefault(row["track_id"], set()).add(int(row["popularity"]))
    differing = {tid: max(v) for tid, v in sorted(values.items()) if len(v) > 1}
    assert len(differing) == 27
    for track_id, highest in differing.items():
        track = get(client, f"/tracks/{track_id}")["data"]
        assert track["popularity"] == highest
        for genre in track["genres"]:  # listed, filtered and sorted by the same value
            body = get(client, f"/genres/{genre}/tracks?min_popularity={highest}"
                               f"&max_popularity={highest}&limit=100")  # fmt: skip
            assert track_id in {t["id"] for t in body["data"]}
