"""Keyset paging (issue 18): meta.next, the Link header and cursors, against plain Python.

Following `next` from a first page must visit every match exactly once, in the documented order
(tests/reference.py: sort keys with ties by id; distances in ticks with ties by id), with each
page's meta.offset its place among the matches; a cursor must go on after its key when a new
version is published between two pages; anything that is not a cursor of the listing's order
is a 400. The catalogue is generated with many ties (tests/reference.py).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import API, frame, row
from builders import get_json as get
from conftest import TINY_GENRES, assert_canonical_error, write_curated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import FEATURES, Catalogue, discovery_tracks, distance, load, tick

from contract.store import FolderStore
from pipeline import publish
from pipeline.catalogue import Genre
from pipeline.transform import curated_tables
from service import create_app

TRACKS = discovery_tracks()
SORTS = {  # sort -> (column, descending), as docs/api.md says
    "popularity": ("popularity", True), "energy_asc": ("energy", False), "tempo": ("tempo", True),
    "name": ("name", False), "name_desc": ("name", True), "duration_ms_asc": ("duration_ms", False),
    "loudness": ("loudness", True),
}  # fmt: skip
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_curated(tmp_path_factory.mktemp("paging") / "v", TRACKS)


@pytest.fixture(scope="module")
def cat(curated: Path) -> Catalogue:
    return load(curated)


@pytest.fixture(scope="module")
def client(curated: Path) -> Any:
    return create_app({"CURATED_DIR": str(curated), "TESTING": True}).test_client()


def sort_key(track: dict[str, Any], sort: str) -> tuple[Any, str]:
    """The documented order: the column (names lowercased), highest first unless _asc (names
    A-Z unless _desc), ties by id ascending."""
    column, descending = SORTS[sort]
    value = track[column].lower() if column == "name" else track[column]
    if column == "name":
        return (value, track["id"])
    return (-value if descending else value, track["id"])


def listed(cat: Catalogue, sort: str, genre: str | None, mode: int | None) -> list[str]:
    chosen = [t for t in cat.tracks.values()
              if (genre is None or genre in cat.genres[t["id"]]) and mode in (None, t["mode"])]  # fmt: skip
    if SORTS[sort][0] == "name" and SORTS[sort][1]:  # Z-A by name, ties still by id ascending
        chosen.sort(key=lambda t: t["id"])
        chosen.sort(key=lambda t: t["name"].lower(), reverse=True)
        return [t["id"] for t in chosen]
    return [t["id"] for t in sorted(chosen, key=lambda t: sort_key(t, sort))]


def walk(client: Any, url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Every track id a listing's pages hold, following meta.next; and each page's meta."""
    ids: list[str] = []
    metas = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        meta = body["meta"]
        assert meta["offset"] == len(ids)  # the page's place among the matches
        link = response.headers.get("Link")
        assert link == (None if meta["next"] is None else f'<{meta["next"]}>; rel="next"')
        ids += [track["id"] for track in body["data"]]
        metas.append(meta)
        url = meta["next"]
    return ids, metas


@SETTINGS
@given(sort=st.sampled_from(sorted(SORTS)), genre=st.none() | st.sampled_from([g[0] for g in TINY_GENRES]),
       mode=st.none() | st.integers(0, 1), limit=st.integers(1, 9))  # fmt: skip
def test_following_next_visits_every_match_once_in_order(
    client: Any, cat: Catalogue, sort: str, genre: str | None, mode: int | None, limit: int
) -> None:
    query = {"sort": sort, "limit": limit} | ({"mode": mode} if mode is not None else {})
    path = f"/genres/{genre}/tracks" if genre else "/tracks"
    ids, metas = walk(client, f"{API}{path}?{urlencode(query)}")
    expected = listed(cat, sort, genre, mode)
    assert ids == expected
    assert all(meta["total"] == len(expected) for meta in metas)
    assert metas[-1]["next"] is None and len(metas) == max(1, -(-len(expected) // limit))


def test_next_keeps_the_query_as_sent_and_drops_offset(client: Any) -> None:
    body = get(client, "/tracks?sort=energy_asc&min_energy=0.1&limit=3&offset=2&fields=name")
    following = body["meta"]["next"]
    assert following.startswith(
        f"{API}/tracks?sort=energy_asc&min_energy=0.1&limit=3&fields=name&cursor="
    )
    assert body["meta"]["offset"] == 2
    nxt = get(client, following.removeprefix(API))
    assert nxt["meta"]["offset"] == 5 and list(nxt["data"][0]) == ["id", "name"]


def test_a_cursor_works_as_a_file_page_too(client: Any) -> None:
    first = client.get(f"{API}/tracks?sort=tempo&limit=4&format=csv")
    link = first.headers["Link"]
    url = link[1 : link.index(">")]
    assert "format=csv" in url and "cursor=" in url
    second = client.get(url)
    assert second.status_code == 200 and second.headers["Content-Type"].startswith("text/csv")
    json_pages = walk(client, f"{API}/tracks?sort=tempo&limit=4")[0]
    rows = [line.split(",")[0] for line in second.get_data(as_text=True).splitlines()[1:]]
    assert rows == json_pages[4:8]


def neighbour_list(cat: Catalogue, seed: str) -> list[str]:
    """/similar's order: every other recording by distance in ticks, ties by id."""
    track = cat.tracks[seed]
    same = (track["name"], track["artists"])
    others = [t for t in cat.ids if (cat.tracks[t]["name"], cat.tracks[t]["artists"]) != same]
    return sorted(others, key=lambda t: (tick(distance(cat.z[t], cat.z[seed])), t))


@pytest.mark.parametrize("limit", [1, 4, 7])
def test_similar_and_recommendations_page_by_cursor(
    client: Any, cat: Catalogue, limit: int
) -> None:
    for seed in cat.ids[:6]:
        ids, _ = walk(client, f"{API}/tracks/{seed}/similar?limit={limit}")
        assert ids == neighbour_list(cat, seed)
        ids, _ = walk(client, f"{API}/recommendations?seed_tracks={seed}&limit={limit}")
        assert ids == neighbour_list(cat, seed)


def test_a_subset_of_features_pages_the_same(client: Any, cat: Catalogue) -> None:
    seed = cat.ids[3]
    chosen = [FEATURES.index("energy"), FEATURES.index("tempo")]
    ids, _ = walk(client, f"{API}/tracks/{seed}/similar?features=energy,tempo&limit=5")
    track = cat.tracks[seed]
    others = [t for t in cat.ids
              if (cat.tracks[t]["name"], cat.tracks[t]["artists"]) != (track["name"], track["artists"])]  # fmt: skip
    assert ids == sorted(others, key=lambda t: (tick(distance(cat.z[t], cat.z[seed], chosen)), t))


def cursor_of(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_CURSORS = [
    ("cursor=%%%", "'cursor' is malformed, got '%%%'"),
    ("cursor=" + "a" * 2001, "'cursor' is malformed"),
    ("cursor=bm90IGpzb24", "'cursor' is malformed: it is not base64url-encoded JSON"),
    ("cursor=" + cursor_of([1, 2]), "it does not hold an order, a key and an id"),
    ("cursor=" + cursor_of({"s": "popularity", "k": 1}), "it does not hold an order"),
    ("cursor=" + cursor_of({"s": "energy", "k": 0.5, "i": "0" * 22}), "'cursor' continues the "
        "order 'energy', not 'popularity'"),
    ("cursor=" + cursor_of({"s": "popularity", "k": "high", "i": "0" * 22}), "its key does not "
        "fit the order 'popularity'"),
    ("cursor=" + cursor_of({"s": "popularity", "k": 1.5, "i": "0" * 22}), "its key does not fit"),
    ("cursor=" + cursor_of({"s": "popularity", "k": True, "i": "0" * 22}), "its key does not fit"),
    ("cursor=" + cursor_of({"s": "popularity", "k": 1, "i": "nope"}), "its id is not one"),
    ("cursor=" + cursor_of({"s": "popularity", "k": 1, "i": "0" * 22}) + "&offset=3",
        "'cursor' cannot be combined with 'offset'"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "message"), BAD_CURSORS)
def test_a_bad_cursor_is_a_400_naming_it(client: Any, query: str, message: str) -> None:
    body = assert_canonical_error(client.get(f"{API}/tracks?{query}"), 400)
    assert message in body["error"]


def test_a_listing_cursor_is_no_cursor_of_similar_tracks(client: Any, cat: Catalogue) -> None:
    following = get(client, "/tracks?limit=1")["meta"]["next"]
    cursor = following.partition("cursor=")[2]
    response = client.get(f"{API}/tracks/{cat.ids[0]}/similar?cursor={cursor}")
    assert (
        "continues the order 'popularity', not 'distance'"
        in assert_canonical_error(response, 400)["error"]
    )
    tick_cursor = cursor_of({"s": "distance", "k": -1, "i": cat.ids[0]})
    response = client.get(f"{API}/tracks/{cat.ids[0]}/similar?cursor={tick_cursor}")
    assert (
        "its key does not fit the order 'distance'"
        in assert_canonical_error(response, 400)["error"]
    )


# ---------------------------------------------------------------- a publish between two pages

GENRE_OBJECTS = [Genre(id_, name, text, f"{id_}.csv") for id_, name, text in TINY_GENRES]


def version_tables(tracks: dict[int, tuple[tuple[str, ...], dict[str, Any]]]) -> dict:
    rows = [row(g, n, n, **values) for n, (gs, values) in tracks.items() for g in gs]
    updated = {genre.id: datetime(2026, 3, 22, tzinfo=UTC) for genre in GENRE_OBJECTS}
    return curated_tables(frame(*rows), GENRE_OBJECTS, updated).tables


def republished(tracks: dict, last: int, what: str) -> dict:
    """The next version: some tracks gone, some new, some with new sort keys; and the last
    track of the first page gone, moved (new keys) or left as it was."""
    changed = {n: v for n, v in tracks.items() if n % 5 != 0 or n == last}
    for n in (3, 7, 13, 17, 23, last):
        genres, values = changed[n]
        changed[n] = (genres, {**values, "popularity": 95 - n, "energy": 0.25,
                               "track_name": f"moved {n}"})  # fmt: skip
    changed[last] = tracks[last] if what == "kept" else changed[last]
    if what == "gone":
        del changed[last]
    for n in range(100, 110):  # new tracks
        changed[n] = (("ambient",), {"popularity": 40, "energy": 0.5, "track_name": f"new {n}"})
    return changed


@pytest.mark.parametrize("what", ["kept", "moved", "gone"])
@pytest.mark.parametrize("sort", ["popularity", "energy_asc", "name"])
def test_a_cursor_goes_on_after_its_key_across_a_publish(
    tmp_path: Path, sort: str, what: str
) -> None:
    store = FolderStore(tmp_path / "curated")
    v1 = {"version": "v1", "created_at": "2026-01-01T00:00:00Z"}
    publish.publish(version_tables(TRACKS), store, v1)
    app = create_app({"CURATED_DIR": str(tmp_path / "curated" / "current"), "RELOAD_INTERVAL": 0,
                      "TESTING": True})  # fmt: skip
    client = app.test_client()
    first = get(client, f"/tracks?sort={sort}&limit=13")
    last = first["data"][-1]  # v1's last track of the page
    v2 = republished(TRACKS, int(last["id"]), what)
    publish.publish(
        version_tables(v2), store, {"version": "v2", "created_at": "2026-01-02T00:00:00Z"}
    )
    assert app.extensions["kapiko"].check() is True  # the worker now serves v2
    rest, metas = walk_from(client, first["meta"]["next"])
    after = load(tmp_path / "curated" / "current")
    expected = [t for t in listed(after, sort, None, None)
                if sort_key(after.tracks[t], sort) > sort_key(last, sort)]  # fmt: skip
    assert rest == expected and rest  # every later track of v2, in order, once
    assert metas[0]["offset"] == len(after.ids) - len(expected)  # its place in v2
    assert get(client, "/health")["data"]["dataset"]["version"] == "v2"


def walk_from(client: Any, url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids of the pages from a next URL on, and their metas."""
    ids: list[str] = []
    metas = []
    while url:
        body = get(client, url.removeprefix(API))
        ids += [track["id"] for track in body["data"]]
        metas.append(body["meta"])
        url = body["meta"]["next"]
    return ids, metas
