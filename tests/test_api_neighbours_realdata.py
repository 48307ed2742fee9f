"""Similar tracks and recommendations on the real curated data, against a numpy brute force.

The brute force reads tracks.parquet and feature_stats.parquet (whose numbers it first checks
against its own Polars computation), standardises every track, and measures every distance
directly: none of the service's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from builders import get_json as get
from test_api_neighbours import pairs

import contract as c

pytestmark = pytest.mark.realdata
APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"
FEATURES = list(c.SIMILARITY_FEATURES)
SQRT = ("speechiness", "instrumentalness")


@pytest.fixture(scope="module")
def client(real_app: Any) -> Any:
    return real_app.test_client()


@pytest.fixture(scope="module")
def tracks(real_curated_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(real_curated_dir / c.TRACKS).sort("id")


@pytest.fixture(scope="module")
def members(real_curated_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(real_curated_dir / c.TRACK_GENRES)


@pytest.fixture(scope="module")
def z(tracks: pl.DataFrame, real_curated_dir: Path) -> dict[str, np.ndarray]:
    """Every track's z-scores, from the published statistics (checked here first)."""
    stats = pl.read_parquet(real_curated_dir / c.FEATURE_STATS)
    assert stats["feature"].to_list() == FEATURES
    out = {}
    for feature, transform, mean, std in stats.iter_rows():
        values = tracks[feature].to_numpy()
        values = np.sqrt(values) if feature in SQRT else values
        assert transform == ("sqrt" if feature in SQRT else "identity")
        assert mean == pytest.approx(values.mean(), rel=1e-12)
        assert std == pytest.approx(values.std(), rel=1e-12)  # population: ddof 0
        out[feature] = (values - mean) / std
    return out


def brute_force(
    tracks: pl.DataFrame,
    z: dict[str, np.ndarray],
    point: dict[str, float],
    left_out: list[str],
    keep: np.ndarray | None = None,
) -> list[tuple[str, float]]:
    """(id, distance) of every candidate, nearest first, ties (to 9 decimals) by id."""
    d = np.sqrt(sum((z[f] - value) ** 2 for f, value in point.items()))
    same = tracks.filter(pl.col("id").is_in(left_out)).select("name", "artists").rows()
    recording = list(zip(tracks["name"].to_list(), tracks["artists"].to_list(), strict=True))
    ids = tracks["id"].to_list()
    rows = [i for i in range(len(ids)) if recording[i] not in same and (keep is None or keep[i])]
    rows.sort(key=lambda i: (round(float(d[i]) * 1e9), ids[i]))
    return [(ids[i], round(float(d[i]), 4)) for i in rows]


def row(tracks: pl.DataFrame, track_id: str) -> int:
    return tracks["id"].to_list().index(track_id)


@pytest.mark.parametrize(
    ("track", "query", "features", "condition"),
    [
        (APOCALYPSE, "", FEATURES, None),
        (APOCALYPSE, "&features=energy,valence,acousticness", ["energy", "valence", "acousticness"], None),
        (APOCALYPSE, "&max_energy=0.3", FEATURES, pl.col("energy") <= 0.3),
        ("3FVy3aVs0TFzLv6FEiLqC2", "&features=tempo&mood=calm,happy", ["tempo"],
         pl.col("mood").is_in(["calm", "happy"])),
        ("3FVy3aVs0TFzLv6FEiLqC2", "&offset=40", FEATURES, None),
    ],
)  # fmt: skip
def test_similar_equals_the_brute_force(
    client: Any, tracks: pl.DataFrame, z: dict, track: str, query: str,
    features: list[str], condition: pl.Expr | None,
) -> None:  # fmt: skip
    seed = row(tracks, track)
    keep = None if condition is None else tracks.select(condition).to_series().to_numpy()
    expected = brute_force(tracks, z, {f: z[f][seed] for f in features}, [track], keep)
    body = get(client, f"/tracks/{track}/similar?limit=25{query}")
    offset = body["meta"]["offset"]
    assert pairs(body) == expected[offset : offset + 25]
    assert body["meta"]["total"] == len(expected)


def test_similar_within_a_genre(
    client: Any, tracks: pl.DataFrame, members: pl.DataFrame, z: dict
) -> None:
    ambient = set(members.filter(pl.col("genre_id") == "ambient")["track_id"].to_list())
    keep = np.array([track_id in ambient for track_id in tracks["id"].to_list()])
    seed = row(tracks, APOCALYPSE)
    expected = brute_force(tracks, z, {f: z[f][seed] for f in FEATURES}, [APOCALYPSE], keep)
    body = get(client, f"/tracks/{APOCALYPSE}/similar?genre=ambient&limit=30")
    assert pairs(body) == expected[:30]
    assert body["data"][0]["name"] == "Crush"  # the README's example


def test_similar_leaves_out_every_release_of_the_same_recording(
    client: Any, tracks: pl.DataFrame
) -> None:
    repeated = (
        tracks.group_by("name", "artists").agg(pl.col("id"), pl.len().alias("n"))
        .filter(pl.col("n") > 1).sort("name", "artists").head(5)
    )  # fmt: skip
    assert repeated.height == 5
    for releases in repeated["id"].to_list():
        body = get(client, f"/tracks/{releases[0]}/similar?limit=100")
        assert not set(releases) & {track["id"] for track in body["data"]}


def test_recommendations_with_seeds_and_targets(
    client: Any, tracks: pl.DataFrame, members: pl.DataFrame, z: dict, real_curated_dir: Path
) -> None:
    seeds = [APOCALYPSE, "3FVy3aVs0TFzLv6FEiLqC2"]
    sleep = members.filter(pl.col("genre_id") == "sleep")["track_id"].to_list()
    sleep_rows = [row(tracks, track_id) for track_id in sleep]
    vectors = [{f: z[f][row(tracks, s)] for f in FEATURES} for s in seeds]
    vectors.append({f: float(np.mean(z[f][sleep_rows])) for f in FEATURES})
    point = {f: float(np.mean([v[f] for v in vectors])) for f in FEATURES}
    stats = {r[0]: r[2:] for r in pl.read_parquet(real_curated_dir / c.FEATURE_STATS).rows()}
    point["energy"] = (0.6 - stats["energy"][0]) / stats["energy"][1]  # target_energy=0.6
    point["tempo"] = (128 - stats["tempo"][0]) / stats["tempo"][1]  # target_tempo=128
    keep = tracks.select(pl.col("valence") >= 0.2).to_series().to_numpy()
    expected = brute_force(tracks, z, point, seeds, keep)
    url = (f"/recommendations?seed_tracks={','.join(seeds)}&seed_genres=sleep&target_energy=0.6"
           "&target_tempo=128&min_valence=0.2&limit=50")  # fmt: skip
    body = get(client, url)
    assert pairs(body) == expected[:50]
    meta = body["meta"]
    assert meta["seeds"]["tracks"][0] == {"id": APOCALYPSE, "name": "Apocalypse",
                                          "artists": "Cigarettes After Sex"}  # fmt: skip
    assert meta["seeds"]["genres"] == [{"id": "sleep", "name": "Sleep"}]
    assert (meta["target"]["energy"], meta["target"]["tempo"]) == (0.6, 128.0)
    valence = float(np.mean([v["valence"] for v in vectors])) * stats["valence"][1]
    assert meta["target"]["valence"] == round(valence + stats["valence"][0], 4)


def test_recommendations_from_targets_alone(client: Any, tracks: pl.DataFrame, z: dict) -> None:
    body = get(client, "/recommendations?target_energy=0.2&target_acousticness=0.9&limit=20")
    energy, acoustic = tracks["energy"].to_numpy(), tracks["acousticness"].to_numpy()
    stats_energy = (energy.mean(), energy.std())
    stats_acoustic = (acoustic.mean(), acoustic.std())
    point = {
        "energy": (0.2 - stats_energy[0]) / stats_energy[1],
        "acousticness": (0.9 - stats_acoustic[0]) / stats_acoustic[1],
    }
    assert pairs(body) == brute_force(tracks, z, point, [])[:20]
    assert body["meta"]["features"] == ["energy", "acousticness"]
    assert body["meta"]["target"] == {"energy": 0.2, "acousticness": 0.9}
