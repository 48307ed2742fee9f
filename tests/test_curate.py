"""pipeline/curate.py: curating in parts of a few rows gives the tables of curating all at once.

The in-memory build (pipeline/transform.py curated_tables, itself tested against hand-made
values in test_transform.py) is the reference. Feature values here are multiples of 1/8, whose
sums are exact in any order, so even the genre averages (merged from each part's sums) must be
equal bit for bit; test_run_scale.py checks the real data's tables are today's exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from builders import frame, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract as c
from contract.digest import data_digest
from pipeline.catalogue import Genre
from pipeline.curate import curate
from pipeline.transform import curated_tables

NOW = datetime(2026, 11, 25, tzinfo=UTC)
EIGHTHS = st.integers(0, 8).map(lambda n: n / 8)


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[list[Genre], pl.DataFrame]:
    """Two to four genres (some capped, with ties), rows repeating tracks within and across
    genres, in file order."""
    count = draw(st.integers(2, 4))
    genres = [Genre(f"g{n}", f"G{n}", "A genre.", f"g{n}.csv",
                    top_n=draw(st.none() | st.integers(1, 4))) for n in range(count)]  # fmt: skip
    rows = []
    for genre in genres:
        tracks = draw(st.lists(st.integers(1, 12), max_size=10))  # repeats: duplicates
        for place, track in enumerate(tracks, start=1):
            values = {
                "popularity": draw(st.integers(0, 3)),  # few values: ties for top_n
                "energy": draw(EIGHTHS),
                "valence": draw(EIGHTHS),
                "tempo": draw(st.integers(0, 240).map(float)),
                "artists": draw(st.sampled_from(["A", "B", "C;D"])),
                "speechiness": 0.125,  # the builder's 0.05 and 0.1 are not sums in any order
                "liveness": 0.25,
            }
            rows.append(row(genre.id, track, place, **values))
    return genres, frame(*rows)


def curated_in_parts(
    rows: pl.DataFrame, genres: list[Genre], folder: Path, rows_per_part: int
) -> dict[str, pl.DataFrame]:
    done = curate(rows.lazy(), genres, {g.id: NOW for g in genres}, folder, rows_per_part)
    return {name: pl.read_parquet(path) for name, path in done.files.items()} | {
        "duplicates": done.duplicates,
        "cut": pl.DataFrame(sorted(done.cut_by_top_n.items()), orient="row"),
        "members": pl.DataFrame(sorted(done.members.items()), orient="row"),
    }


def curated_at_once(rows: pl.DataFrame, genres: list[Genre]) -> dict[str, pl.DataFrame]:
    done = curated_tables(rows, genres, {g.id: NOW for g in genres})
    cut = done.over_top_n.group_by("genre_id").len().sort("genre_id").rows()
    members = done.tables[c.TRACK_GENRES].group_by("genre_id").len().sort("genre_id").rows()
    return done.tables | {
        "duplicates": done.duplicates,
        "cut": pl.DataFrame(cut, orient="row"),
        "members": pl.DataFrame(members, orient="row"),
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=catalogues(), rows_per_part=st.integers(1, 6))
def test_curating_in_parts_gives_the_tables_of_curating_at_once(
    data: tuple[list[Genre], pl.DataFrame],
    rows_per_part: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    genres, rows = data
    expected = curated_at_once(rows, genres)
    folder = tmp_path_factory.mktemp("parts") / "curated"
    found = curated_in_parts(rows, genres, folder, rows_per_part)
    assert found.keys() == expected.keys()
    for name, table in expected.items():
        assert found[name].equals(table), name
    assert not (folder / ".parts").exists()  # the scratch files are gone


def test_parts_are_ranges_of_ids_and_the_joined_files_keep_the_contract_order(
    tmp_path: Path,
) -> None:
    genres = [Genre("a", "A", "A genre.", "a.csv"), Genre("b", "B", "B genre.", "b.csv")]
    rows = frame(*(row(genre, n, n) for n in range(1, 41) for genre in ("b", "a")[: 1 + n % 2]))
    done = curate(rows.lazy(), genres, {"a": NOW, "b": NOW}, tmp_path / "out", rows_per_part=10)
    assert done.parts == 6  # 60 rows, 10 a part
    tracks = pl.read_parquet(done.files[c.TRACKS])
    assert tracks["id"].is_sorted() and tracks.height == 40
    members = pl.read_parquet(done.files[c.TRACK_GENRES])
    # genre a first (catalogue order), then b; ids ascending within each
    assert members["genre_id"].to_list() == ["a"] * 20 + ["b"] * 40
    assert members.filter(pl.col("genre_id") == "a")["track_id"].is_sorted()
    assert members.filter(pl.col("genre_id") == "b")["track_id"].is_sorted()
    # a track's primary genre is its first catalogue genre: a for odd numbers, b for even
    primary = dict(members.filter("is_primary").select("track_id", "genre_id").iter_rows())
    assert primary == dict(tracks.select("id", "genre_id").iter_rows())
    assert {g: n for g, n in primary.items()} and set(primary.values()) == {"a", "b"}
    assert data_digest(done.files) == data_digest(
        curated_tables(rows, genres, {"a": NOW, "b": NOW}).tables
    )


def test_no_valid_rows_give_empty_tables_of_the_contract(tmp_path: Path) -> None:
    genres = [Genre("a", "A", "A genre.", "a.csv")]
    done = curate(frame().lazy(), genres, {"a": NOW}, tmp_path / "out")
    for name, schema in c.CURATED_SCHEMAS.items():
        assert dict(pl.read_parquet_schema(done.files[name])) == schema
    assert pl.read_parquet(done.files[c.TRACKS]).height == 0
    assert pl.read_parquet(done.files[c.GENRES])["track_count"].to_list() == [0]
