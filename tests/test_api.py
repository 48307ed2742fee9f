"""The API contract over HTTP (Flask test client) on the hand-built dataset of conftest.TINY_TRACKS.

Every endpoint with exact, hand-computed values; every bad request as a canonical error.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TINY_VERSION, assert_canonical_error

API = "/api/v1"


def tid(n: int) -> str:
    return f"{n:0>22}"


def ids(body: dict[str, Any]) -> list[int]:
    return [int(track["id"]) for track in body["data"]]


def get(client: Any, url: str) -> dict[str, Any]:
    response = client.get(API + url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return dict(response.get_json())


def test_stats(client: Any) -> None:
    data = get(client, "/stats")["data"]
    assert data["totals"] == {"tracks": 6, "genres": 3}
    averages = data["global_averages"]
    assert list(averages) == [
        "avg_tempo", "avg_energy", "avg_valence", "avg_loudness", "avg_acousticness",
        "avg_danceability", "avg_instrumentalness", "avg_speechiness", "avg_liveness",
    ]  # fmt: skip
    assert averages["avg_tempo"] == 88.33  # 530 / 6, 2 decimals
    assert averages["avg_energy"] == 0.467  # 2.8 / 6, 3 decimals
    assert averages["avg_valence"] == 0.4  # 2.4 / 6
    assert data["genres"] == [
        {"id": "ambient", "name": "Ambient", "track_count": 3},
        {"id": "sleep", "name": "Sleep", "track_count": 3},
        {"id": "piano", "name": "Piano", "track_count": 3},
    ]


def test_genres(client: Any) -> None:
    body = get(client, "/genres")
    assert body["meta"] == {"total": 3}
    assert [g["id"] for g in body["data"]] == ["ambient", "sleep", "piano"]
    ambient = body["data"][0]
    assert list(ambient) == [
        "id", "name", "description", "track_count", "avg_tempo", "avg_energy", "avg_valence",
        "avg_loudness", "avg_acousticness", "avg_danceability", "avg_instrumentalness",
        "avg_speechiness", "avg_liveness", "updated_at",
    ]  # fmt: skip
    assert ambient["track_count"] == 3
    assert (ambient["avg_energy"], ambient["avg_tempo"]) == (0.3667, 40.0)
    assert ambient["updated_at"] == "2026-03-22T00:00:00Z"  # RFC 3339: a browser reads it as UTC
    assert [g["avg_energy"] for g in body["data"]] == [0.3667, 0.5, 0.7]


def test_genre_detail(client: Any) -> None:
    data = get(client, "/genres/ambient")["data"]
    assert data["genre"] == get(client, "/genres")["data"][0]
    energy = data["distributions"]["energy"]
    assert [b["bucket"] for b in energy] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert {b["bucket"]: b["count"] for b in energy if b["count"]} == {10: 1, 30: 1, 70: 1}
    assert list(data["distributions"])[:3] == ["energy", "tempo", "valence"]
    tempo = {b["bucket"]: b["count"] for b in data["distributions"]["tempo"] if b["count"]}
    assert tempo == {0: 1, 60: 2}
    assert data["top_artists"] == [  # one track each: ties by artists, byte order
        {"artists": "Brian Eno", "track_count": 1},
        {"artists": "CIGARETTES after sex", "track_count": 1},
        {"artists": "Cigarettes After Sex", "track_count": 1},
    ]
    # valence, energy: track 1 (0.2, 0.1) sad, 2 (0.4, 0.3) sad, 6 (0.3, 0.7) tense
    assert data["moods"] == {"happy": 0, "tense": 1, "sad": 2, "calm": 0}
    grid = data["mood_grid"]
    assert grid["energy_buckets"] == grid["valence_buckets"] == list(range(0, 100, 10))
    cells = {(i, j): n for i, row in enumerate(grid["counts"]) for j, n in enumerate(row) if n}
    assert cells == {(1, 2): 1, (3, 4): 1, (7, 3): 1}  # (energy bucket, valence bucket)
    assert len(grid["counts"]) == 10 and {len(row) for row in grid["counts"]} == {10}


def test_genre_detail_moods_of_every_genre(client: Any) -> None:
    # sleep: 2 (0.4, 0.3) sad, 3 (0.6, 0.3) calm, 4 (0.8, 0.9) happy;
    # piano: 4 happy, 5 (0.1, 0.5) tense (0.5 counts as high energy), 6 (0.3, 0.7) tense
    assert get(client, "/genres/sleep")["data"]["moods"] == {
        "happy": 1, "tense": 0, "sad": 1, "calm": 1
    }  # fmt: skip
    assert get(client, "/genres/piano")["data"]["moods"] == {
        "happy": 1, "tense": 2, "sad": 0, "calm": 0
    }  # fmt: skip


TRACK_4 = {
    "id": tid(4),
    "name": "delta",
    "artists": "Ólafur Arnalds",
    "album": "Album 4",
    "genre_id": "sleep",
    "genre_name": "Sleep",
    "genres": ["sleep", "piano"],
    "popularity": 60,
    "duration_ms": 200000,
    "tempo": 90.0,
    "energy": 0.9,
    "valence": 0.8,
    "loudness": -10.0,
    "acousticness": 0.5,
    "danceability": 0.5,
    "instrumentalness": 0.5,
    "speechiness": 0.05,
    "liveness": 0.1,
    "mood": "happy",  # valence 0.8, energy 0.9
    "key": -1,
    "key_name": None,  # no key detected
    "mode": 0,
    "camelot": None,
    "time_signature": 4,
    "explicit": True,
    "source": "spotify",
}


def test_track_by_id(client: Any) -> None:
    data = get(client, f"/tracks/{tid(4)}")["data"]
    assert data == TRACK_4
    assert list(data) == list(TRACK_4)


@pytest.mark.parametrize(
    ("url", "expected", "total"),
    [
        ("/tracks", [1, 2, 6, 4, 3, 5], 6),
        ("/tracks?genre=ambient&max_energy=0.3&sort=energy_asc&limit=5", [1, 2], 2),
        ("/tracks?genre=sleep", [2, 4, 3], 3),  # track 2's primary genre is ambient
        ("/tracks?artist=BRIAN%20ENO", [2, 3], 2),
        ("/tracks?artist=%C3%B3lafur", [4], 1),
        ("/tracks?min_energy=0.3&max_energy=0.7&sort=name", [2, 3, 5, 6], 4),
        ("/tracks?min_tempo=60&max_tempo=90&sort=tempo", [4, 1, 6], 3),
        ("/tracks?key=5&mode=1", [1, 3], 2),
        ("/tracks?key=-1", [4], 1),
        ("/tracks?sort=tempo_asc&limit=2&offset=1", [1, 6], 6),
        ("/tracks?offset=6", [], 6),
        ("/tracks?artist=nobody", [], 0),
        ("/genres/sleep/tracks?sort=energy", [4, 2, 3], 3),
        ("/genres/piano/tracks", [6, 4, 5], 3),
        ("/genres/piano/tracks?sort=name&limit=1&offset=1", [5], 3),
        ("/genres/ambient/tracks?sort=valence", [2, 6, 1], 3),
        ("/genres/ambient/tracks?sort=energy_asc", [1, 2, 6], 3),
    ],
)
def test_track_listings(client: Any, url: str, expected: list[int], total: int) -> None:
    body = get(client, url)
    assert ids(body) == expected
    query = dict(part.split("=") for part in url.partition("?")[2].split("&") if part)
    limit, offset = int(query.get("limit", 20)), int(query.get("offset", 0))
    following = body["meta"].pop("next")  # keyset paging (tests/test_api_paging.py)
    assert (following is not None) == (offset + limit < total)
    assert body["meta"] == {"total": total, "limit": limit, "offset": offset}


def test_listed_tracks_are_full_track_objects(client: Any) -> None:
    listed = get(client, "/tracks?key=-1")["data"]
    assert listed == [TRACK_4]


def test_compare(client: Any) -> None:
    data = get(client, f"/compare?track_id={tid(6)}&genre=ambient")["data"]
    assert data["track"] == get(client, f"/tracks/{tid(6)}")["data"]
    assert data["genre"] == get(client, "/genres")["data"][0]
    assert list(data["comparison"]) == [
        "tempo", "energy", "valence", "loudness", "acousticness", "danceability",
        "instrumentalness", "speechiness", "liveness",
    ]  # fmt: skip
    assert data["comparison"]["energy"] == {
        "track_value": 0.7,
        "genre_avg": 0.3667,
        "delta": 0.3333,
        "percentile": 83.3,  # 0.1, 0.3 below, itself equal: (2 + 0.5) / 3
        "percentile_label": "above average",
    }
    assert data["comparison"]["valence"]["percentile_label"] == "near average"  # 0.2 0.3 0.4
    assert data["comparison"]["tempo"]["percentile"] == 66.7  # 0 below, 60 60 equal
    loudness = data["comparison"]["loudness"]  # every track -10 dB
    assert (loudness["delta"], loudness["percentile"]) == (0.0, 50.0)


def test_compare_with_a_genre_the_track_is_not_in(client: Any) -> None:
    energy = get(client, f"/compare?track_id={tid(5)}&genre=ambient")["data"]["comparison"]
    assert energy["energy"]["percentile"] == 66.7
    assert energy["tempo"]["percentile_label"] == "above average"  # 200 BPM vs 0, 60, 60


def test_health(client: Any) -> None:
    response = client.get(f"{API}/health")
    assert response.get_json()["data"] == {
        "status": "ok",
        "dataset": {
            "version": TINY_VERSION,
            "created_at": "2026-03-22T00:00:00Z",
            "schema_version": 2,
        },
        "counts": {"tracks": 6, "genres": 3, "track_genres": 9},
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


LIST_FORMS = [  # (the parameter repeated, as generated clients send lists; comma-separated)
    ("/tracks?mood=sad&mood=tense&sort=name", "/tracks?mood=sad,tense&sort=name"),
    ("/tracks?key=5&key=0&facets=mood&facets=genre", "/tracks?key=5,0&facets=mood,genre"),
    (f"/tracks?ids={tid(4)}&ids={tid(1)},{tid(4)}", f"/tracks?ids={tid(4)},{tid(1)},{tid(4)}"),
    ("/genres/sleep/tracks?camelot=8A&camelot=7B", "/genres/sleep/tracks?camelot=8A,7B"),
    (f"/tracks/{tid(1)}/similar?features=energy&features=tempo",
     f"/tracks/{tid(1)}/similar?features=energy,tempo"),
    ("/recommendations?seed_genres=ambient&seed_genres=piano&seed_tracks=" + tid(3),
     f"/recommendations?seed_genres=ambient,piano&seed_tracks={tid(3)}"),
]  # fmt: skip


@pytest.mark.parametrize(("repeated", "comma_separated"), LIST_FORMS)
def test_a_list_parameter_may_be_repeated_or_comma_separated(
    client: Any, repeated: str, comma_separated: str
) -> None:
    body = get(client, repeated)
    assert body == get(client, comma_separated)
    assert body["data"]


BAD_REQUESTS = [
    ("/tracks?limit=0", 400, "'limit' is out of range, got 0; expected an integer from 1 to 100"),
    ("/tracks?limit=101", 400, "'limit' is out of range"),
    ("/tracks?limit=ten", 400, "'limit' must be an integer, got 'ten'"),
    ("/tracks?limit=", 400, "'limit' must not be empty"),
    ("/tracks?limit=1&limit=2", 400, "'limit' is given 2 times; give it once"),
    ("/tracks?sort=name&sort=name", 400, "'sort' is given 2 times; give it once"),
    ("/tracks?mood=sad&mood=sad", 400, "'mood' repeats sad; give each value once"),
    ("/tracks?mood=sad&mood=", 400, "'mood' has an empty item in 'sad,'"),
    ("/tracks?offset=-1", 400, "'offset' is out of range"),
    ("/tracks?min_energy=2", 400, "'min_energy' is out of range, got 2; expected a number from 0 to 1"),
    ("/tracks?max_energy=high", 400, "'max_energy' must be a number, got 'high'"),
    ("/tracks?min_energy=0.9&max_energy=0.1", 400, "'min_energy' (0.9) is greater than 'max_energy'"),
    ("/tracks?min_tempo=100&max_tempo=90", 400, "'min_tempo' (100) is greater than 'max_tempo' (90)"),
    ("/tracks?max_tempo=300", 400, "'max_tempo' is out of range"),
    ("/tracks?key=12", 400, "'key' is out of range, got 12; expected a comma-separated list of "
        "distinct values, each an integer from -1 to 11"),
    ("/tracks?mode=3", 400, "'mode' is out of range"),
    ("/tracks?sort=loud", 400, "'sort' is not a known value, got 'loud'; allowed values: "
        "popularity, energy, energy_asc, tempo, tempo_asc, valence, name, name_desc, "
        "popularity_asc,"),
    ("/tracks?artist=", 400, "'artist' must not be empty"),
    ("/tracks?genres=ambient", 400, "unknown query parameter 'genres'; allowed parameters: genre,"),
    ("/tracks?genre=jazz", 404, "Genre not found: 'jazz'"),
    ("/genres/ambient/tracks?limit=500", 400, "'limit' is out of range"),
    ("/genres/ambient/tracks?sort=Energy", 400, "'sort' is not a known value"),
    ("/genres/ambient/tracks?genre=sleep", 400, "unknown query parameter 'genre'; allowed "
        "parameters: artist, min_popularity,"),
    ("/genres/jazz/tracks", 404, "Genre not found: 'jazz'"),
    ("/genres/jazz", 404, "Genre not found: 'jazz'"),
    ("/genres/Ambient", 404, "Genre not found: 'Ambient'"),
    ("/genres?limit=5", 400, "unknown query parameter 'limit'; allowed parameters: none"),
    ("/stats?x=1", 400, "unknown query parameter 'x'"),
    (f"/tracks/{tid(4)}?fields=name", 400, "unknown query parameter 'fields'"),
    ("/tracks/" + "9" * 22, 404, "Track not found: '9999999999999999999999'"),
    ("/tracks/nope", 404, "Track not found: 'nope'"),
    ("/compare?genre=ambient", 400, "query parameter 'track_id' is required"),
    (f"/compare?track_id={tid(1)}", 400, "query parameter 'genre' is required"),
    ("/compare?track_id=abc&genre=ambient", 400, "'track_id' is malformed, got 'abc'"),
    (f"/compare?track_id={tid(1)}&genre=jazz", 404, "Genre not found: 'jazz'"),
    (f"/compare?track_id={'8' * 22}&genre=ambient", 404, "Track not found"),
    (f"/compare?track_id={tid(1)}&genre=ambient&genre=sleep", 400, "'genre' is given 2 times"),
    ("/nope", 404, "Not found: no endpoint at /api/v1/nope; see /api/v1/openapi.json"),
    ("/tracks/", 404, "Not found: no endpoint at /api/v1/tracks/"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_canonical_errors(
    client: Any, url: str, status: int, message: str
) -> None:
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]


def test_unknown_route_outside_the_api_is_json_404(client: Any) -> None:
    assert_canonical_error(client.get("/nope"), 404)  # `/` itself is the explorer
    assert_canonical_error(client.get("/api/v2/stats"), 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_get_405_with_allow(client: Any, method: str) -> None:
    response = client.open(f"{API}/tracks", method=method)
    body = assert_canonical_error(response, 405)
    assert f"Method {method} is not allowed here" in body["error"]
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_head_has_headers_and_no_body(client: Any) -> None:
    get_response = client.get(f"{API}/genres")
    response = client.head(f"{API}/genres")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == get_response.headers["Content-Length"]
    assert response.headers["ETag"] == get_response.headers["ETag"]


def test_cors_preflight_is_answered(client: Any) -> None:
    response = client.options(
        f"{API}/tracks",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "If-None-Match"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_etag_and_304(client: Any) -> None:
    url = f"{API}/tracks?genre=ambient&limit=2"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith(f'"{TINY_VERSION}-') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Expose-Headers"] == "Content-Disposition, ETag, Link"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    weak = client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_differs_per_url_including_query(client: Any) -> None:
    urls = ["/tracks", "/tracks?limit=2", "/tracks?limit=3", "/stats", "/genres/ambient"]
    etags = {client.get(API + url).headers["ETag"] for url in urls}
    assert len(etags) == len(urls)


def test_errors_carry_no_cache_validators(client: Any) -> None:
    response = client.get(f"{API}/tracks?limit=0")
    assert "ETag" not in response.headers
    response = client.get(f"{API}/tracks?limit=0", headers={"If-None-Match": "*"})
    assert response.status_code == 400


def test_unexpected_exception_is_json_500_without_internals(
    tiny_curated_dir: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from service import create_app

    app = create_app({"CURATED_DIR": str(tiny_curated_dir)})

    def broken() -> None:
        raise RuntimeError("secret internals")

    app.add_url_rule(f"{API}/broken", view_func=broken)
    with caplog.at_level("ERROR", logger="service"):
        response = app.test_client().get(f"{API}/broken")
    body = assert_canonical_error(response, 500)
    assert body["error"] == "Internal server error"
    assert "secret" not in response.get_data(as_text=True)
    assert "unexpected error answering GET /api/v1/broken" in caplog.text
    assert "secret internals" in caplog.text  # the traceback goes to the log


def cors_headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("Access-Control-")}


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/stats",
        f"{API}/genres/ambient",
        f"{API}/tracks?genre=ambient&limit=2",
        f"{API}/tracks/{{track}}",
        f"{API}/compare?track_id={{track}}&genre=ambient",
    ],
)
def test_preset_cors_headers_equal_what_flask_cors_sets(client: Any, url: str) -> None:
    """Successful responses preset the CORS headers; errors get them from flask-cors itself."""
    track = client.get(f"{API}/tracks?limit=1").get_json()["data"][0]["id"]
    ok = client.get(url.format(track=track), headers={"Origin": "https://example.org"})
    error = client.get(f"{API}/no-such-endpoint", headers={"Origin": "https://example.org"})
    assert ok.status_code == 200 and error.status_code == 404
    assert (
        cors_headers(ok)
        == cors_headers(error)
        == {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "Content-Disposition, ETag, Link",
        }
    )
