"""/artists and /artists/related (issue 18) against plain Python and numpy over the Parquet.

An artist is one name of a track's ';'-separated list (trimmed). /artists lists them most
tracks first (ties by name) with their genres and averages; related artists count, for each of
the artist's tracks, the artists of its 20 nearest tracks that do not credit it.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from builders import API
from builders import get_json as get
from conftest import assert_canonical_error, write_curated
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import Catalogue, artist_names, discovery_tracks, load

from service import create_app


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_curated(tmp_path_factory.mktemp("artists") / "v", discovery_tracks())


@pytest.fixture(scope="module")
def cat(curated: Path) -> Catalogue:
    return load(curated)


@pytest.fixture(scope="module")
def client(curated: Path) -> Any:
    return create_app({"CURATED_DIR": str(curated), "TESTING": True}).test_client()


def credits(cat: Catalogue) -> dict[str, list[str]]:
    """Each artist's tracks."""
    found: dict[str, list[str]] = {}
    for track_id in cat.ids:
        for name in artist_names(cat.tracks[track_id]):
            found.setdefault(name, []).append(track_id)
    return found


def artist_object(cat: Catalogue, name: str, tracks: list[str]) -> dict[str, Any]:
    catalogue = ("ambient", "sleep", "piano")
    genres = {g for t in tracks for g in cat.genres[t]}
    return {
        "name": name,
        "track_count": len(tracks),
        "genres": [g for g in catalogue if g in genres],
        **{f"avg_{f}": math.fsum(cat.tracks[t][f] for t in tracks) / len(tracks)
           for f in ("tempo", "energy", "valence", "loudness", "acousticness", "danceability",
                     "instrumentalness", "speechiness", "liveness")},
    }  # fmt: skip


def same_artist(served: dict[str, Any], expected: dict[str, Any]) -> None:
    assert list(served) == list(expected)
    for key, value in expected.items():
        if key.startswith("avg_"):
            assert served[key] == pytest.approx(value, abs=5.1e-5)  # 4 decimals
        else:
            assert served[key] == value, key


@settings(max_examples=20, deadline=None)
@given(q=st.none() | st.sampled_from(["a", "E", "y", "ana", "zz", " "]), limit=st.integers(1, 4))
def test_artists_are_listed_most_tracks_first_and_page_by_cursor(
    client: Any, cat: Catalogue, q: str | None, limit: int
) -> None:
    everyone = credits(cat)
    names = [n for n in everyone if q is None or q.lower() in n.lower()]
    names.sort(key=lambda n: (-len(everyone[n]), n))
    url = f"{API}/artists?limit={limit}" + (f"&q={quote(q)}" if q is not None else "")
    pages = []
    while url:
        body = get(client, url.removeprefix(API))
        assert body["meta"]["offset"] == len(pages) and body["meta"]["total"] == len(names)
        pages += body["data"]
        url = body["meta"]["next"]
    assert [a["name"] for a in pages] == names
    for served in pages:
        same_artist(served, artist_object(cat, served["name"], everyone[served["name"]]))


def test_names_are_trimmed_and_compared_exactly(client: Any, cat: Catalogue) -> None:
    spaced = [t for t in cat.ids if " ; " in cat.tracks[t]["artists"]]
    assert spaced  # the generated catalogue writes some lists with spaces
    names = {a["name"] for a in get(client, "/artists?limit=100")["data"]}
    assert names == set(credits(cat)) and not any(n != n.strip() for n in names)


def nearest_others(cat: Catalogue, z: np.ndarray, track: int, own: set[int], k: int) -> list[int]:
    """The k nearest rows to a row that are not `own`, ties (to 9 decimals) by id."""
    d = np.sqrt(((z - z[track]) ** 2).sum(axis=1))
    d[list(own)] = np.inf
    order = np.lexsort((np.arange(len(z)), np.rint(d * 1e9)))  # rows are in id order
    return [int(r) for r in order[:k] if np.isfinite(d[r])]


def related(cat: Catalogue, name: str) -> list[tuple[str, int]]:
    """(artist, votes), most votes first, ties by name: the documented rule, in numpy."""
    z = np.array([cat.z[t] for t in cat.ids])
    own = {cat.ids.index(t) for t in credits(cat)[name]}
    votes: Counter[str] = Counter()
    for track in sorted(own):
        for neighbour in nearest_others(cat, z, track, own, 20):
            votes.update(artist_names(cat.tracks[cat.ids[neighbour]]))
    return sorted(votes.items(), key=lambda pair: (-pair[1], pair[0]))


def test_related_artists_count_the_votes_of_the_nearest_tracks(client: Any, cat: Catalogue) -> None:
    everyone = credits(cat)
    for name in everyone:
        body = get(client, f"/artists/related?name={quote(name)}&limit=100")
        assert [(a["name"], a["votes"]) for a in body["data"]] == related(cat, name)
        assert body["meta"]["total"] == len(body["data"]) and body["meta"]["limit"] == 100
        same_artist(body["meta"]["artist"], artist_object(cat, name, everyone[name]))
        assert body["meta"]["neighbours_per_track"] == 20
        assert name not in {a["name"] for a in body["data"]}


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/artists/related?name=Nobody", 404, "Artist not found: 'Nobody'"),
        ("/artists/related?name=ana", 404, "Artist not found: 'ana'"),  # names are exact
        ("/artists/related?name=%20Ana", 404, "Artist not found"),
        ("/artists/related", 400, "query parameter 'name' is required"),
        ("/artists/related?name=Ana&limit=101", 400, "'limit' is out of range"),
        ("/artists?q=", 400, "'q' must not be empty"),
        ("/artists?sort=name", 400, "unknown query parameter 'sort'"),
        ("/artists?cursor=eyJzIjoicG9wdWxhcml0eSIsImsiOjEsImkiOiJhIn0", 400,
            "'cursor' continues the order 'popularity', not 'artists'"),
    ],
)  # fmt: skip
def test_bad_artist_requests(client: Any, url: str, status: int, message: str) -> None:
    assert message in assert_canonical_error(client.get(API + url), status)["error"]


# ---------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def real(real_curated_dir: Path) -> Catalogue:
    return load(real_curated_dir)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Cigarettes After Sex", ["Zero 7", "Bonobo", "Nusrat Fateh Ali Khan", "Michael Brook", "Portishead"]),
        ("Ludovico Einaudi", ["Yiruma", "Max Richter"]),
    ],
)  # fmt: skip
def test_the_issue_s_related_artists(
    real_app: Any, real: Catalogue, name: str, first: list[str]
) -> None:
    body = get(real_app.test_client(), f"/artists/related?name={quote(name)}&limit=100")
    served = [(a["name"], a["votes"]) for a in body["data"]]
    assert [n for n, _ in served[: len(first)]] == first
    assert served == related(real, name)[:100]


@pytest.mark.realdata
def test_real_artists_match_the_parquet(real_app: Any, real: Catalogue) -> None:
    everyone = credits(real)
    body = get(real_app.test_client(), "/artists?q=einaudi")
    assert [a["name"] for a in body["data"]] == ["Ludovico Einaudi"]
    same_artist(body["data"][0], {**artist_object(real, "Ludovico Einaudi", everyone["Ludovico Einaudi"]),
                                  "genres": ["ambient", "classical"]})  # fmt: skip
    top = get(real_app.test_client(), "/artists?limit=3")
    assert [a["name"] for a in top["data"]] == sorted(
        everyone, key=lambda n: (-len(everyone[n]), n)
    )[:3]
    assert top["meta"]["total"] == len(everyone)
