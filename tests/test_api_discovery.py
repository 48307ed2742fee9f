"""Discovery I over HTTP on the hand-built six tracks (conftest.TINY_TRACKS): every new filter,
sort, facet and the batch, with the expected answers worked out by hand in the comments.

The six tracks: (popularity, energy, valence, key, mode) -> key name, Camelot, mood
  1: (80, 0.1, 0.2, 5, 1) F 7B sad      2: (80, 0.3, 0.4, 0, 0) C 5A sad
  3: (40, 0.3, 0.6, 5, 1) F 7B calm     4: (60, 0.9, 0.8, -1, 0) - - happy, explicit
  5: (20, 0.5, 0.1, 11, 1) B 1B tense   6: (80, 0.7, 0.3, 5, 0) F 4A tense
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import API
from builders import get_json as get
from conftest import assert_canonical_error
from test_queries import DERIVED


def tid(n: int) -> str:
    return f"{n:0>22}"


def ids(body: dict[str, Any]) -> list[int | None]:
    return [None if track is None else int(track["id"]) for track in body["data"]]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/tracks?mood=sad", [1, 2]),
        ("/tracks?mood=calm,happy", [4, 3]),  # popularity 60, 40
        ("/tracks?mood=happy,tense,sad,calm", [1, 2, 6, 4, 3, 5]),
        ("/tracks?camelot=7B", [1, 3]),
        ("/tracks?camelot=4A,1B", [6, 5]),
        ("/tracks?camelot=8B", []),
        ("/tracks?key=5,11&sort=tempo", [5, 3, 1, 6]),  # 200, 120, 60, 60 (tie by id)
        ("/tracks?key=-1,0", [2, 4]),
        ("/tracks?harmonic_to=0000000000000000000001", [1, 3]),  # 7B: 6B 7B 8B 7A
        ("/tracks?harmonic_to=0000000000000000000006", [2, 6]),  # 4A: 3A 4A 5A 4B
        ("/tracks?harmonic_to=0000000000000000000005", [5]),  # 1B: 12B 1B 2B 1A
        ("/tracks?harmonic_to=0000000000000000000001&mood=calm", [3]),
        ("/tracks?explicit=true", [4]),
        ("/tracks?explicit=false", [1, 2, 6, 3, 5]),
        ("/tracks?time_signature=4", [1, 2, 6, 4, 3, 5]),
        ("/tracks?time_signature=3", []),
        ("/tracks?mode=1&mood=sad", [1]),
        ("/tracks?min_valence=0.5", [4, 3]),
        ("/tracks?max_valence=0.2&sort=valence_asc", [5, 1]),
        ("/tracks?min_popularity=60&max_popularity=79", [4]),
        ("/tracks?max_duration_ms=100000", []),
        ("/tracks?min_duration_ms=200000&max_duration_ms=200000&limit=2", [1, 2]),
        ("/tracks?min_loudness=-10&max_loudness=-10&min_danceability=0.5&max_liveness=0.1",
         [1, 2, 6, 4, 3, 5]),
        ("/tracks?min_acousticness=0.51", []),
        ("/tracks?max_speechiness=0.05&min_instrumentalness=0.5&mood=tense", [6, 5]),
        ("/tracks?sort=popularity_asc", [5, 3, 4, 1, 2, 6]),
        ("/tracks?sort=name_desc", [6, 5, 4, 3, 1, 2]),  # foxtrot echo delta charlie bravo alpha
        ("/tracks?sort=valence_asc", [5, 1, 6, 2, 3, 4]),
        ("/tracks?sort=danceability", [1, 2, 3, 4, 5, 6]),  # all 0.5: ties by id
        ("/genres/ambient/tracks?mood=tense", [6]),
        ("/genres/sleep/tracks?harmonic_to=0000000000000000000003&sort=name", [3]),
        ("/genres/piano/tracks?explicit=false&sort=tempo_asc", [6, 5]),
        ("/genres/ambient/tracks?key=5&sort=popularity_asc", [1, 6]),
    ],
)  # fmt: skip
def test_new_filters_and_sorts(client: Any, url: str, expected: list[int]) -> None:
    body = get(client, url)
    assert ids(body) == expected
    assert body["meta"]["total"] == len(expected) or "limit=2" in url


def test_tracks_carry_key_name_camelot_and_mood(client: Any) -> None:
    derived = {
        int(t["id"]): (t["key_name"], t["camelot"], t["mood"])
        for t in get(client, "/tracks")["data"]
    }
    assert derived == DERIVED  # worked out by hand in test_queries


def facet(body: dict[str, Any], field: str) -> dict[Any, int]:
    return {entry["value"]: entry["count"] for entry in body["meta"]["facets"][field]}


def test_facets_count_every_value_of_every_match(client: Any) -> None:
    body = get(client, "/tracks?facets=mood,camelot,key,mode,time_signature,explicit,genre&limit=1")
    assert len(body["data"]) == 1 and body["meta"]["total"] == 6
    assert list(body["meta"]["facets"]) == [
        "mood", "camelot", "key", "mode", "time_signature", "explicit", "genre"
    ]  # fmt: skip
    assert facet(body, "mood") == {"happy": 1, "tense": 2, "sad": 2, "calm": 1}
    camelot = facet(body, "camelot")
    assert list(camelot)[:4] == ["1A", "1B", "2A", "2B"] and list(camelot)[-1] is None
    assert {k: n for k, n in camelot.items() if n} == {"1B": 1, "4A": 1, "5A": 1, "7B": 2, None: 1}
    assert {k: n for k, n in facet(body, "key").items() if n} == {-1: 1, 0: 1, 5: 3, 11: 1}
    assert list(facet(body, "key")) == list(range(-1, 12))
    assert facet(body, "mode") == {0: 3, 1: 3}
    assert facet(body, "time_signature") == {0: 0, 1: 0, 2: 0, 3: 0, 4: 6, 5: 0, 6: 0, 7: 0}
    assert facet(body, "explicit") == {False: 5, True: 1}
    assert facet(body, "genre") == {"ambient": 3, "sleep": 3, "piano": 3}


def test_facets_follow_the_filters_not_the_page(client: Any) -> None:
    body = get(client, "/tracks?mood=sad&facets=genre,mood&limit=1&offset=1")
    assert ids(body) == [2]
    assert facet(body, "genre") == {"ambient": 2, "sleep": 1, "piano": 0}  # 1: ambient; 2: both
    assert facet(body, "mood") == {"happy": 0, "tense": 0, "sad": 2, "calm": 0}
    in_genre = get(client, "/genres/piano/tracks?facets=mood")
    assert facet(in_genre, "mood") == {"happy": 1, "tense": 2, "sad": 0, "calm": 0}


def test_meta_has_facets_only_when_asked(client: Any) -> None:
    assert get(client, "/tracks")["meta"] == {"total": 6, "limit": 20, "offset": 0, "next": None}


def test_batch_keeps_the_order_asked_with_null_for_unknown_ids(client: Any) -> None:
    body = get(client, f"/tracks?ids={tid(6)},{tid(99)},{tid(1)},{tid(6)}")
    assert ids(body) == [6, None, 1, 6]
    assert body["meta"] == {"requested": 4, "found": 3}
    assert body["data"][0] == get(client, f"/tracks/{tid(6)}")["data"]
    none = get(client, f"/tracks?ids={'Z' * 22}")
    assert none == {"data": [None], "meta": {"requested": 1, "found": 0}}


def test_batch_of_a_hundred(client: Any) -> None:
    asked = [tid(n % 7 + 1) for n in range(100)]  # 1..7, where 7 is unknown
    body = get(client, "/tracks?ids=" + ",".join(asked))
    assert ids(body) == [None if n % 7 + 1 == 7 else n % 7 + 1 for n in range(100)]
    assert body["meta"] == {"requested": 100, "found": 100 - 14}


BAD_REQUESTS = [
    (f"/tracks?harmonic_to={tid(99)}", 404, "Track not found: '0000000000000000000099' (harmonic_to)"),
    (f"/tracks?harmonic_to={tid(4)}", 400, "'harmonic_to' track 0000000000000000000004 has no "
        "detected key (key -1)"),
    (f"/genres/piano/tracks?harmonic_to={tid(99)}", 404, "Track not found"),
    ("/tracks?mood=joyful", 400, "'mood' is not a known value, got 'joyful'; expected a "
        "comma-separated list of distinct values from: happy, tense, sad, calm"),
    ("/tracks?camelot=13B", 400, "'camelot' is malformed, got '13B'"),
    ("/tracks?camelot=8b", 400, "'camelot' is malformed"),
    ("/tracks?facets=artist", 400, "'facets' is not a known value, got 'artist'"),
    ("/tracks?facets=", 400, "'facets' must not be empty"),
    ("/tracks?min_valence=0.9&max_valence=0.1", 400, "'min_valence' (0.9) is greater than "
        "'max_valence' (0.1)"),
    ("/tracks?min_loudness=-80", 400, "'min_loudness' is out of range, got -80"),
    ("/tracks?explicit=1", 400, "'explicit' must be true or false, got '1'"),
    ("/tracks?key=1,1", 400, "'key' repeats 1"),
    ("/tracks?sort=key", 400, "'sort' is not a known value, got 'key'"),
    (f"/tracks?ids={tid(1)}&limit=5", 400, "'ids' cannot be combined with other parameters, "
        "got limit"),
    (f"/tracks?ids={tid(1)},", 400, "'ids' has an empty item"),
    ("/tracks?ids=abc", 400, "'ids' is malformed, got 'abc'"),
    ("/tracks?ids=" + ",".join([tid(1)] * 101), 400, "'ids' has 101 items; expected a "
        "comma-separated list of 1 to 100 values"),
    ("/tracks?ids=", 400, "'ids' must not be empty"),
    ("/genres/ambient/tracks?ids=" + tid(1), 400, "unknown query parameter 'ids'"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD_REQUESTS)
def test_discovery_errors(client: Any, url: str, status: int, message: str) -> None:
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]
