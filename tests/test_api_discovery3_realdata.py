"""Issue 18 on the real curated data (default catalogue): paging through whole listings,
fields over every real track, variety and "mixable with", against Polars and numpy."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from builders import get_json as get
from reference import artist_names, varied
from reference import load as load_catalogue
from test_api_discovery_realdata import expected_ids
from test_api_neighbours_realdata import brute_force
from test_api_paging import walk

import contract as c
from contract.fields import TRACK_FIELDS
from service.projection import members, projected

pytestmark = pytest.mark.realdata
APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"


@pytest.fixture(scope="module")
def client(real_app: Any) -> Any:
    return real_app.test_client()


@pytest.fixture(scope="module")
def tracks(real_curated_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(real_curated_dir / c.TRACKS).sort("id")


@pytest.mark.parametrize(
    ("query", "condition", "sort", "descending"),
    [
        ("sort=name", None, "name", False),
        ("sort=name_desc&mood=sad", pl.col("mood") == "sad", "name", True),
        ("sort=tempo_asc&min_energy=0.5", pl.col("energy") >= 0.5, "tempo", False),
        ("sort=popularity&key=5", pl.col("key") == 5, "popularity", True),
    ],
)
def test_following_next_through_a_whole_real_listing(
    client: Any, tracks: pl.DataFrame, query: str, condition: Any, sort: str, descending: bool
) -> None:
    matching = tracks if condition is None else tracks.filter(condition)
    ids, metas = walk(client, f"/api/v1/tracks?{query}&limit=100")
    assert ids == expected_ids(matching, sort, descending)
    assert metas[-1]["next"] is None


def test_every_real_track_text_projects_to_itself(real_app: Any) -> None:
    index = real_app.extensions["kapiko"].current.index
    (data,), (offsets,) = index.texts, index.text_offsets  # one record batch at this size
    for start, stop in itertools.pairwise(offsets.tolist()):
        text = data[start:stop].tobytes().decode()
        assert list(members(text)) == list(TRACK_FIELDS)
        assert projected([text], TRACK_FIELDS) == [text]
        (cut,) = projected([text], ("name", "artists"))
        assert json.loads(cut) == {k: json.loads(text)[k] for k in ("name", "artists")}


def test_mixable_with_apocalypse_is_harmonic_and_tempo(client: Any, tracks: pl.DataFrame) -> None:
    ids, _ = walk(client, f"/api/v1/tracks?harmonic_to={APOCALYPSE}&bpm_of={APOCALYPSE}&limit=100")
    tempo = 94.485
    near = pl.lit(False)
    for x in (tempo * 0.5, tempo, tempo * 2.0):
        near = near | ((pl.col("tempo") - x).abs() <= x * 6.0 / 100)
    mixable = tracks.filter(pl.col("camelot").is_in(["6B", "7A", "7B", "8B"]), near)
    assert ids == expected_ids(mixable, "popularity", True) and len(ids) > 100


def test_more_like_apocalypse_but_not_the_same_band(
    client: Any, tracks: pl.DataFrame, real_curated_dir: Path
) -> None:
    plain = [t["id"] for t in get(client, f"/tracks/{APOCALYPSE}/similar?limit=10")["data"]]
    cat = load_catalogue(real_curated_dir)
    bands = [artist_names(cat.tracks[t]) for t in plain[:3]]
    assert bands == [["Cigarettes After Sex"]] * 3  # the complaint
    body = get(client, f"/tracks/{APOCALYPSE}/similar?limit=10&max_per_artist=1")
    varied_ids = [t["id"] for t in body["data"]]
    z = {f: np.array([cat.z[t][i] for t in cat.ids]) for i, f in enumerate(c.SIMILARITY_FEATURES)}
    seed = cat.ids.index(APOCALYPSE)
    everything = brute_force(tracks, z, {f: z[f][seed] for f in z}, [APOCALYPSE])
    assert varied_ids == varied([t for t, _ in everything], cat, 1)[:10]
    names = [n for t in varied_ids for n in artist_names(cat.tracks[t])]
    assert len(names) == len(set(names))  # no artist twice
    assert artist_names(cat.tracks[varied_ids[0]]) == ["Cigarettes After Sex"]  # the best stays
