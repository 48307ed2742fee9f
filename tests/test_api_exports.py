"""Track listings as CSV and NDJSON files, and /tracks/export streaming every matching track.

The hand-built tracks below have names with commas, quotes, newlines and other characters that
break naive CSV; each file must give them back exactly through Python's csv module and pandas.
Expected values come from the tracks written here, the JSON listing of the same request, or
Polars over the curated Parquet, never from the service's export code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from conftest import TINY_VERSION, assert_canonical_error, write_curated
from servers import gunicorn

from service import create_app

API = "/api/v1"
VERSION = "20260322T000000Z-tiny0001"  # conftest.write_curated's version
TRICKY_NAMES = {
    1: 'Hello, "World"',
    2: "Two\nlines",
    3: "CR\r\nLF, and a trailing space ",
    4: "=SUM(A1:A2)",
    5: "Tab\tand ;semicolon",
    6: "Ωmega Ólafur",
}
TRACKS = {
    1: (("ambient",), dict(track_name=TRICKY_NAMES[1], artists='Comma, Inc.;"Quoted" Artist',
                            album_name="Album, with comma", popularity=90)),
    2: (("ambient", "sleep"), dict(track_name=TRICKY_NAMES[2], artists="Sigur Rós",
                                   album_name='"', popularity=80, explicit=True)),
    3: (("sleep",), dict(track_name=TRICKY_NAMES[3], popularity=70, key=-1)),
    4: (("sleep", "piano"), dict(track_name=TRICKY_NAMES[4], popularity=60, tempo=0.0)),
    5: (("piano",), dict(track_name=TRICKY_NAMES[5], popularity=50, energy=0.00144)),
    6: (("ambient", "piano"), dict(track_name=TRICKY_NAMES[6], popularity=40, energy=0.9,
                                   valence=0.9)),
}  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = write_curated(tmp_path_factory.mktemp("tricky") / "v", TRACKS)
    app = create_app({"CURATED_DIR": str(directory), "TESTING": True, "WARM_CACHES": False})
    return app.test_client()


def get_ok(client: Any, url: str, **kwargs: Any) -> Any:
    response = client.get(API + url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def json_tracks(client: Any, url: str) -> list[dict[str, Any]]:
    """Every track of a JSON listing, page by page."""
    tracks: list[dict[str, Any]] = []
    separator = "&" if "?" in url else "?"
    while True:
        body = get_ok(client, f"{url}{separator}limit=100&offset={len(tracks)}").get_json()
        tracks += body["data"]
        if len(tracks) >= body["meta"]["total"]:
            return tracks


def cell(value: Any) -> str:
    """How the docs say a JSON value is written in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def assert_row_equals(row: dict[str, str], track: dict[str, Any]) -> None:
    """A CSV row (text) holds exactly the values of a JSON track."""
    assert list(row) == list(track)  # every field, in the API's order
    for name, value in track.items():
        if isinstance(value, float):
            assert float(row[name]) == value, name
        else:
            assert row[name] == cell(value), name


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    "url",
    ["/tracks?sort=name", "/tracks?genre=sleep", "/genres/piano/tracks?sort=energy_asc"],
)
def test_a_csv_page_round_trips_through_the_csv_module(client: Any, url: str) -> None:
    expected = get_ok(client, url).get_json()["data"]
    response = get_ok(client, f"{url}&format=csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.endswith(b"\r\n")  # RFC 4180 line ends
    rows = csv_rows(response.data)
    assert [row["id"] for row in rows] == [track["id"] for track in expected]
    for row, track in zip(rows, expected, strict=True):
        assert_row_equals(row, track)


def test_names_with_commas_quotes_and_newlines_survive_csv_and_pandas(client: Any) -> None:
    body = get_ok(client, "/tracks?format=csv&sort=popularity").data
    by_csv = {row["name"]: row for row in csv_rows(body)}
    assert set(by_csv) == set(TRICKY_NAMES.values())
    assert by_csv[TRICKY_NAMES[1]]["artists"] == 'Comma, Inc.;"Quoted" Artist'
    assert by_csv[TRICKY_NAMES[2]]["album"] == '"'
    frame = pd.read_csv(io.BytesIO(body), keep_default_na=False)
    assert frame["name"].tolist() == [TRICKY_NAMES[n] for n in range(1, 7)]  # popularity order
    assert frame["artists"].tolist()[0] == 'Comma, Inc.;"Quoted" Artist'
    assert frame["album"].tolist()[:2] == ["Album, with comma", '"']
    assert frame["genres"].tolist()[:2] == ["ambient", "ambient;sleep"]
    assert frame["explicit"].tolist() == [False, True, False, False, False, False]
    assert frame["energy"].tolist()[4] == 0.00144
    assert frame["tempo"].tolist()[3] == 0.0
    assert frame["camelot"].tolist()[2] == "" and frame["key"].tolist()[2] == -1  # no key


def test_an_ndjson_page_is_one_track_object_per_line(client: Any) -> None:
    expected = get_ok(client, "/tracks?genre=ambient&sort=name").get_json()["data"]
    response = get_ok(client, "/tracks?genre=ambient&sort=name&format=ndjson")
    assert response.headers["Content-Type"] == "application/x-ndjson"
    text = response.get_data(as_text=True)
    assert text.endswith("\n") and "\n\n" not in text
    assert [json.loads(line) for line in text.splitlines()] == expected


def test_a_file_page_is_the_same_page_as_the_json(client: Any) -> None:
    url = "/tracks?sort=name&limit=2&offset=3"
    expected = [t["id"] for t in get_ok(client, url).get_json()["data"]]
    assert [r["id"] for r in csv_rows(get_ok(client, f"{url}&format=csv").data)] == expected
    ndjson = get_ok(client, f"{url}&format=ndjson").get_data(as_text=True).splitlines()
    assert [json.loads(line)["id"] for line in ndjson] == expected
    assert len(expected) == 2


def digest(asked: dict[str, Any]) -> str:
    """A query's part of a file name as documented: the first 8 hex digits of the sha256 of
    its parsed values beyond their defaults, as compact JSON with sorted keys."""
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("url", "filename"),
    [
        ("/tracks?format=csv", f"kapiko-tracks-page-{VERSION}.csv"),
        (
            "/tracks?format=ndjson&mood=sad",
            f"kapiko-tracks-page-q{digest({'filters': {'mood': ['sad']}})}-{VERSION}.ndjson",
        ),
        ("/genres/sleep/tracks?format=csv", f"kapiko-sleep-tracks-page-{VERSION}.csv"),
        ("/tracks/export", f"kapiko-tracks-{VERSION}.csv"),
        ("/tracks/export?sort=popularity", f"kapiko-tracks-{VERSION}.csv"),  # the default sort
        ("/tracks/export?format=ndjson&genre=piano", f"kapiko-tracks-piano-{VERSION}.ndjson"),
        (
            "/tracks/export?genre=sleep&mood=calm&sort=energy",
            f"kapiko-tracks-sleep-q{digest({'filters': {'mood': ['calm']}, 'sort': 'energy'})}"
            f"-{VERSION}.csv",
        ),
    ],
)
def test_files_are_attachments_named_after_the_listing_and_version(
    client: Any, url: str, filename: str
) -> None:
    response = get_ok(client, url)
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Disposition" in response.headers["Access-Control-Expose-Headers"]


def disposition(client: Any, url: str) -> str:
    return str(get_ok(client, url).headers["Content-Disposition"])


def test_files_of_different_queries_have_different_names_and_a_query_one_name(
    client: Any,
) -> None:
    urls = [
        "/tracks/export", "/tracks/export?genre=sleep", "/tracks/export?genre=piano",
        "/tracks/export?genre=sleep&mood=sad", "/tracks/export?genre=sleep&sort=energy",
        "/tracks/export?mood=sad", "/tracks/export?min_energy=0.5", "/tracks/export?format=ndjson",
        "/tracks?format=csv", "/tracks?format=csv&offset=2", "/tracks?format=csv&limit=2",
    ]  # fmt: skip
    names = [disposition(client, url) for url in urls]
    assert len(set(names)) == len(urls)
    # The same query written otherwise is the same file, with the same name.
    for same in (
        ["/tracks/export?min_energy=0.5", "/tracks/export?min_energy=.50"],
        ["/tracks/export?mood=sad,calm", "/tracks/export?mood=sad&mood=calm"],
    ):
        assert disposition(client, same[0]) == disposition(client, same[1])


def test_curl_saves_two_exports_side_by_side(tiny_curated_dir: Path, tmp_path: Path) -> None:
    """`curl -OJ` refuses to overwrite a file: exports of two genres must not share a name."""
    assert shutil.which("curl"), "curl is not installed: make test installs it (make curl-deps)"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with gunicorn(tiny_curated_dir, tmp_path / "server") as server:
        for genre in ("ambient", "sleep"):
            url = f"{server.base}/api/v1/tracks/export?genre={genre}"
            subprocess.run(["curl", "-sSfOJ", url], cwd=downloads, check=True, timeout=30)
    assert sorted(path.name for path in downloads.iterdir()) == [
        f"kapiko-tracks-ambient-{TINY_VERSION}.csv",
        f"kapiko-tracks-sleep-{TINY_VERSION}.csv",
    ]


def test_json_stays_the_default_with_no_file_name(client: Any) -> None:
    for url in ("/tracks", "/tracks?format=json"):
        response = get_ok(client, url)
        assert response.headers["Content-Type"] == "application/json"
        assert "Content-Disposition" not in response.headers


def test_no_match_gives_a_header_row_or_an_empty_file(client: Any) -> None:
    url = "/tracks?min_energy=1"
    header = get_ok(client, f"{url}&format=csv").get_data(as_text=True)
    assert header == ",".join(get_ok(client, "/tracks?limit=1").get_json()["data"][0]) + "\r\n"
    assert get_ok(client, f"{url}&format=ndjson").data == b""
    assert get_ok(client, f"/tracks/export?{url[8:]}").get_data(as_text=True) == header


@pytest.mark.parametrize(
    "query",
    ["", "genre=sleep&sort=name", "mood=sad,calm&min_valence=0.3&sort=energy_asc",
     "harmonic_to=0000000000000000000001&sort=name_desc", "artist=sigur"],
)  # fmt: skip
def test_the_export_holds_every_matching_track_in_order(client: Any, query: str) -> None:
    expected = json_tracks(client, f"/tracks?{query}")
    rows = csv_rows(get_ok(client, f"/tracks/export?{query}").data)
    assert [row["id"] for row in rows] == [track["id"] for track in expected]
    for row, track in zip(rows, expected, strict=True):
        assert_row_equals(row, track)
    lines = get_ok(client, f"/tracks/export?{query}&format=ndjson").get_data(as_text=True)
    assert [json.loads(line) for line in lines.splitlines()] == expected


NEIGHBOUR_LISTINGS = [
    ("/tracks/0000000000000000000001/similar?limit=4", "similar-0000000000000000000001"),
    ("/tracks/0000000000000000000002/similar?genre=piano&features=energy,valence", "similar-0000000000000000000002"),
    ("/recommendations?seed_tracks=0000000000000000000003&offset=1", "recommendations"),
    ("/recommendations?target_energy=0.5&target_valence=0.5&mood=calm,happy", "recommendations"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "stem"), NEIGHBOUR_LISTINGS)
def test_similar_and_recommendations_pages_come_as_files_with_their_distance(
    client: Any, url: str, stem: str
) -> None:
    expected = get_ok(client, url).get_json()["data"]
    assert expected and all("distance" in track for track in expected)
    response = get_ok(client, f"{url}&format=csv")
    named = rf'attachment; filename="kapiko-{stem}-q[0-9a-f]{{8}}-{VERSION}\.csv"'
    assert re.fullmatch(named, response.headers["Content-Disposition"])
    rows = csv_rows(response.data)
    assert list(rows[0])[-1] == "distance"
    for row, track in zip(rows, expected, strict=True):
        assert_row_equals(row, track)
    assert len(rows) == len(expected)
    ndjson = get_ok(client, f"{url}&format=ndjson").get_data(as_text=True)
    assert [json.loads(line) for line in ndjson.splitlines()] == expected
    frame = pd.read_csv(io.BytesIO(response.data), keep_default_na=False)
    assert frame["distance"].tolist() == [track["distance"] for track in expected]
    assert frame["name"].tolist() == [track["name"] for track in expected]


def test_the_export_streams_block_by_block(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.exports.EXPORT_BLOCK", 2)
    whole = get_ok(client, "/tracks/export").data
    response = client.get(f"{API}/tracks/export", buffered=False)
    assert response.is_streamed and "Content-Length" not in response.headers
    chunks = list(response.response)
    assert len(chunks) == 3  # six tracks, two a block (the header rides with the first)
    assert b"".join(chunks) == whole
    assert len(csv_rows(whole)) == 6


def test_a_file_or_an_export_gets_its_etag_and_304(client: Any) -> None:
    for url in ("/tracks?format=csv", "/tracks/export?format=ndjson", "/tracks/export"):
        first = get_ok(client, url)
        etag = first.headers["ETag"]
        assert etag.startswith(f'"{VERSION}-')
        assert first.headers["Cache-Control"] == "public, max-age=300"
        again = client.get(API + url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["Access-Control-Allow-Origin"] == "*"
    etags = {get_ok(client, u).headers["ETag"] for u in ("/tracks", "/tracks?format=csv")}
    assert len(etags) == 2


def test_head_of_an_export_has_its_headers_and_no_body(client: Any) -> None:
    response = client.head(f"{API}/tracks/export?format=ndjson")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.ndjson"')


BAD_REQUESTS = [
    ("/tracks?format=xml", 400,
     "'format' is not a known value, got 'xml'; allowed values: json, csv, ndjson"),
    ("/tracks?format=CSV", 400, "'format' is not a known value"),
    ("/tracks?format=csv&facets=mood", 400, "'facets' cannot be combined with format=csv"),
    ("/genres/sleep/tracks?format=ndjson&facets=key", 400,
     "'facets' cannot be combined with format=ndjson"),
    ("/tracks/export?format=json", 400,
     "'format' is not a known value, got 'json'; allowed values: csv, ndjson"),
    ("/tracks/export?limit=10", 400, "unknown query parameter 'limit'"),
    ("/tracks/export?offset=10", 400, "unknown query parameter 'offset'"),
    ("/tracks/export?facets=mood", 400, "unknown query parameter 'facets'"),
    ("/tracks/export?min_energy=0.8&max_energy=0.2", 400, "'min_energy' (0.8) is greater"),
    ("/tracks/export?sort=loud", 400, "'sort' is not a known value"),
    ("/tracks/export?format=csv&format=csv", 400, "'format' is given 2 times"),
    ("/tracks/export?genre=jazz", 404, "Genre not found: 'jazz'"),
    ("/tracks/export?harmonic_to=" + "9" * 22, 404, "Track not found"),
    ("/tracks/export?harmonic_to=0000000000000000000003", 400, "has no detected key"),
    ("/tracks?ids=0000000000000000000001&format=csv", 400, "'ids' cannot be combined"),
    ("/tracks/0000000000000000000001/similar?format=tsv", 400, "'format' is not a known value"),
    ("/recommendations?format=ndjson", 400, "give at least one seed"),
    ("/tracks/" + "9" * 22 + "/similar?format=csv", 404, "Track not found"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD_REQUESTS)
def test_bad_file_requests_get_canonical_json_errors(
    client: Any, url: str, status: int, message: str
) -> None:
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]


# ---------------------------------------------------------------- on the real dataset


def expected_catalogue(curated: Path) -> pl.DataFrame:
    """Every track with its genre name and genres (';'-joined), from the Parquet, by Polars."""
    genres = pl.read_parquet(curated / "genres.parquet")
    genres_of = (
        pl.read_parquet(curated / "track_genres.parquet")
        .join(genres.select(pl.col("id").alias("genre_id"), "position"), on="genre_id")
        .sort("track_id", "position")
        .group_by("track_id", maintain_order=True)
        .agg(pl.col("genre_id").str.join(";").alias("genres"))
    )
    names = genres.select(pl.col("id").alias("genre_id"), pl.col("name").alias("genre_name"))
    return (
        pl.read_parquet(curated / "tracks.parquet")
        .join(names, on="genre_id", how="left")
        .join(genres_of, left_on="id", right_on="track_id", how="left")
    )


def assert_rows_match_frame(rows: list[dict[str, str]], frame: pl.DataFrame) -> None:
    """Each CSV row equals the frame's row in the same place, column by column."""
    assert [row["id"] for row in rows] == frame["id"].to_list()
    for row, record in zip(rows, frame.iter_rows(named=True), strict=True):
        for name, text in row.items():
            value = record[name]
            if isinstance(value, float):
                assert float(text) == value, (record["id"], name)
            else:
                assert text == cell(value), (record["id"], name)


@pytest.mark.realdata
def test_the_whole_catalogue_exports_as_polars_reads_the_parquet(
    real_app: Any, real_curated_dir: Path
) -> None:
    expected = expected_catalogue(real_curated_dir).sort(
        ["popularity", "id"], descending=[True, False]
    )
    body = get_ok(real_app.test_client(), "/tracks/export").data
    rows = csv_rows(body)
    assert len(rows) == expected.height == 9431
    assert_rows_match_frame(rows, expected)
    frame = pd.read_csv(io.BytesIO(body), keep_default_na=False)
    assert frame["id"].tolist() == expected["id"].to_list()
    assert frame["name"].tolist() == expected["name"].to_list()


@pytest.mark.realdata
def test_a_filtered_export_matches_the_same_polars_query(
    real_app: Any, real_curated_dir: Path
) -> None:
    members = pl.read_parquet(real_curated_dir / "track_genres.parquet").filter(
        pl.col("genre_id") == "sleep"
    )
    expected = (
        expected_catalogue(real_curated_dir)
        .filter(
            pl.col("id").is_in(members["track_id"].implode()),
            pl.col("mood").is_in(["sad", "calm"]),
            pl.col("energy") >= 0.2,
            pl.col("tempo") <= 120,
        )
        .sort(["tempo", "id"])
    )
    url = "/tracks/export?genre=sleep&mood=sad,calm&min_energy=0.2&max_tempo=120&sort=tempo_asc"
    lines = get_ok(real_app.test_client(), f"{url}&format=ndjson").get_data(as_text=True)
    tracks = [json.loads(line) for line in lines.splitlines()]
    assert 100 < len(tracks) == expected.height
    assert_rows_match_frame([{k: cell(v) for k, v in t.items()} for t in tracks], expected)
