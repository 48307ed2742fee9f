"""pipeline/extract.py: finding and downloading the upstream file, writing and reading raw CSVs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl
import pytest

from pipeline import extract
from pipeline.catalogue import Genre
from pipeline.errors import RawFileError, UpstreamError

HEADER = ",track_id,artists,track_genre\n"


def upstream_text() -> str:
    return HEADER + '0,a,x,ambient\n1,b,"y, z",sleep\n2,c,1.01e-06,ambient\n'


def test_explicit_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(upstream_text())
    monkeypatch.setenv(extract.UPSTREAM_ENV, str(path))
    assert extract.find_upstream(tmp_path) == path


def test_explicit_setting_to_a_missing_file_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(extract.UPSTREAM_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(UpstreamError, match="is not a file"):
        extract.find_upstream(tmp_path)


def test_without_setting_or_mirror_it_downloads_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "remote.csv"
    source.write_text(upstream_text())
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.delenv(extract.UPSTREAM_ENV, raising=False)
    monkeypatch.setattr(extract, "MIRROR_PATH", tmp_path / "no-mirror.csv")
    found = extract.find_upstream(tmp_path / "dl", url=source.as_uri(), sha256=digest)
    assert found == tmp_path / "dl" / "dataset.csv"
    assert found.read_bytes() == source.read_bytes()


def test_without_setting_the_local_mirror_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror.csv"
    mirror.write_text(upstream_text())
    monkeypatch.delenv(extract.UPSTREAM_ENV, raising=False)
    monkeypatch.setattr(extract, "MIRROR_PATH", mirror)
    assert extract.find_upstream(tmp_path / "dl", url="file:///nowhere") == mirror


def test_download_with_wrong_checksum_is_discarded(tmp_path: Path) -> None:
    source = tmp_path / "remote.csv"
    source.write_text(upstream_text())
    target = tmp_path / "dl" / "dataset.csv"
    with pytest.raises(UpstreamError, match="expected 0000"):
        extract.download_upstream(target, url=source.as_uri(), sha256="0000")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_failed_download_names_the_setting_to_use(tmp_path: Path) -> None:
    with pytest.raises(UpstreamError, match=extract.UPSTREAM_ENV):
        extract.download_upstream(tmp_path / "d.csv", url=(tmp_path / "nothing").as_uri())


def test_raw_files_keep_upstream_text_and_never_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "up.csv"
    source.write_text(upstream_text())
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sleep.csv").write_text("hand-made\n")
    genres = [Genre("ambient", "A", "d", "ambient.csv"), Genre("sleep", "S", "d", "sleep.csv")]
    written, rows = extract.write_raw_files(source, genres, raw)
    assert written == [raw / "ambient.csv"] and rows == 3
    assert (
        raw / "ambient.csv"
    ).read_text() == '"",track_id,artists,track_genre\n0,a,x,ambient\n2,c,1.01e-06,ambient\n'
    assert (raw / "sleep.csv").read_text() == "hand-made\n"


def test_genre_missing_upstream_without_a_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "up.csv"
    source.write_text(upstream_text())
    with pytest.raises(UpstreamError, match="'jazz' is not in the upstream"):
        extract.write_raw_files(source, [Genre("jazz", "J", "d", "jazz.csv")], tmp_path)
    assert list(tmp_path.glob("*.part")) == [] and not (tmp_path / "jazz.csv").exists()


def test_upstream_genres_in_order_of_appearance(tmp_path: Path) -> None:
    source = tmp_path / "up.csv"
    source.write_text(upstream_text())
    assert extract.upstream_genres(source) == ["ambient", "sleep"]


def test_the_upstream_is_split_in_batches_with_each_genre_s_rows_in_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of many genres, interleaved, read two at a time: every file has its rows in the
    upstream's order, under one header, and the same bytes as one read of the whole file."""
    monkeypatch.setattr(extract, "UPSTREAM_BATCH_ROWS", 2)
    lines = [f'{n},id{n},"Artist, {n}",{("a", "b", "c")[n % 3]}' for n in range(20)]
    source = tmp_path / "up.csv"
    source.write_text(",track_id,artists,track_genre\n" + "\n".join(lines) + "\n")
    genres = [Genre(g, g, "d", f"{g}.csv") for g in ("c", "a", "b")]
    written, rows = extract.write_raw_files(source, genres, tmp_path / "raw")
    assert rows == 20 and [p.name for p in written] == ["c.csv", "a.csv", "b.csv"]
    whole = pl.read_csv(source, infer_schema=False)
    for genre in ("a", "b", "c"):
        expected = whole.filter(pl.col("track_genre") == genre).write_csv()
        assert (tmp_path / "raw" / f"{genre}.csv").read_text() == expected


def test_read_raw_keeps_text_and_numbers_rows_from_one(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("track_id,popularity\nabc,007\ndef,x\n")
    frame = extract.read_raw(path, "g")
    assert frame.schema == pl.Schema(
        {"source_row": pl.Int64, "track_id": pl.String, "popularity": pl.String}
    )
    assert frame.rows() == [(1, "abc", "007"), (2, "def", "x")]


def test_read_raw_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RawFileError, match="file not found"):
        extract.read_raw(tmp_path / "none.csv", "g")


def test_read_raw_refuses_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("a,b\n1,2,3,4\n")
    with pytest.raises(RawFileError, match="line 2 has 4 fields, the header has 2"):
        extract.read_raw(path, "g")


def test_read_raw_skips_blank_lines_but_keeps_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("track_id,popularity\nabc,7\n\ndef,8\n\n\n")
    assert extract.read_raw(path, "g").rows() == [(1, "abc", "7"), (3, "def", "8")]


@pytest.mark.parametrize("mark", [";", "\t", "|"])
def test_read_raw_names_a_wrong_delimiter(tmp_path: Path, mark: str) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        mark.join(["track_id", "artists"]) + "\n" + mark.join(["a", "Crosby, Nash"]) + "\n"
    )
    with pytest.raises(
        RawFileError, match="wrong delimiter: .* has no commas but " + re.escape(repr(mark))
    ):
        extract.read_raw(path, "g")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_read_raw_keeps_a_line_of_empty_fields_as_a_row_and_skips_a_blank_line(
    tmp_path: Path, newline: str
) -> None:
    path = tmp_path / "g.csv"
    lines = ["track_id,popularity", "abc,7", ",", "", "def,8", ",", ""]
    path.write_bytes(newline.join(lines).encode())
    assert extract.read_raw(path, "g").rows() == [
        (1, "abc", "7"),
        (2, None, None),
        (4, "def", "8"),
        (5, None, None),
    ]


def test_read_raw_tells_blank_lines_from_empty_fields_after_a_quoted_line_break(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.csv"
    path.write_text('track_id,name\nabc,"two\n\nlines"\n,\n\ndef,x\n')
    assert extract.read_raw(path, "g").rows() == [
        (1, "abc", "two\n\nlines"),
        (2, None, None),
        (4, "def", "x"),
    ]


def test_read_raw_names_the_line_with_too_many_fields_counting_quoted_line_breaks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.csv"
    path.write_text('a,b,c\n1,2,3\n"x\ny",5,6\n\n7,8,9,10\n')  # the header is line 1
    with pytest.raises(RawFileError) as refused:
        extract.read_raw(path, "g")
    message = str(refused.value)
    assert "line 6 has 4 fields, the header has 3" in message
    assert "quote" in message  # what to do


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a,energy,energy,b", "column 'energy' appears twice in the header (columns 2 and 3)"),
        (
            "energy,a,energy,energy",
            "column 'energy' appears 3 times in the header (columns 1, 3 and 4)",
        ),
    ],
)
def test_read_raw_names_a_column_that_appears_more_than_once(
    tmp_path: Path, header: str, expected: str
) -> None:
    path = tmp_path / "g.csv"
    path.write_text(header + "\n" + ",".join("1" * len(header.split(","))) + "\n")
    with pytest.raises(RawFileError) as refused:
        extract.read_raw(path, "g")
    assert expected in str(refused.value)
    assert "_duplicated_" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "offset", "line"),
    [
        ("a,b\nx,1\nCaf\xe9,2\n", 11, 3),  # 4 + 4 bytes of lines 1-2, then 'Caf'
        ("a,\xe9nergie\nx,1\n", 2, 1),  # in the header
    ],
)
def test_read_raw_names_the_byte_and_line_that_is_not_utf8(
    tmp_path: Path, text: str, offset: int, line: int
) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(RawFileError) as refused:
        extract.read_raw(path, "g")
    message = str(refused.value)
    assert f"byte {offset} (line {line}) is not valid UTF-8" in message
    assert "re-save the file as UTF-8" in message


def test_read_raw_keeps_a_line_of_empty_fields_beside_a_field_of_any_size(
    tmp_path: Path,
) -> None:
    """The CSV format has no limit on a field, and the check for blank lines reads it as CSV:
    a 200,000-character field (over Python's default limit of 131,072) is fine."""
    path = tmp_path / "g.csv"
    path.write_text("track_id,name\nabc," + "x" * 200_000 + "\n,\n\n")
    frame = extract.read_raw(path, "g")
    assert frame["name"].to_list() == ["x" * 200_000, None]  # the line of commas is a row
    assert frame["source_row"].to_list() == [1, 2]  # the blank line is not


# ---------------------------------------------------------------- every problem of a file at once
def test_a_header_line_again_is_told_by_its_line_and_left_out_of_the_rows(tmp_path: Path) -> None:
    """`cat a.csv b.csv`: b's header is line 4 of the result (a's header and two rows before)."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(",track_id,popularity\n0,abc,7\n1,def,8\n")
    second.write_text(",track_id,popularity\n0,ghi,9\n")
    joined = tmp_path / "g.csv"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    read = extract.read_raw_file(joined, "g")
    assert read.line_problems == (
        "line 4 repeats the header: two files joined into one (as `cat a.csv b.csv` does)? "
        "Delete it after checking that the rows after it belong to genre 'g'",
    )
    assert read.frame.collect().select("source_row", "track_id").rows() == [
        (1, "abc"),
        (2, "def"),
        (4, "ghi"),
    ]


def test_a_header_repeated_at_the_top_and_in_another_order_are_both_told(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("track_id,popularity\ntrack_id,popularity\nabc,7\npopularity,track_id\n")
    problems = extract.read_raw_file(path, "g").line_problems
    assert problems[0].startswith("line 2 repeats the header: ")
    assert problems[1].startswith("line 4 is a header again, with the columns in another order")
    assert extract.read_raw_file(path, "g").frame.collect().rows() == [(2, "abc", "7")]


def test_every_line_with_too_many_fields_is_named_and_the_other_rows_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.csv"
    rows = ["a,b", "1,2", "3,4,5", "6,7", *[f"{n},x,y" for n in range(8, 14)]]
    path.write_text("\n".join(rows) + "\n")
    read = extract.read_raw_file(path, "g")
    assert read.line_problems == (
        "7 lines have more fields than the header's 2: line 3 (3), line 5 (3), line 6 (3), "
        'line 7 (3), line 8 (3) and 2 more; quote values that contain commas ("a, b") or '
        "remove the extra fields",
    )
    assert read.frame.collect().rows() == [(1, "1", "2"), (3, "6", "7")]


def test_another_delimiter_is_told_and_the_file_read_with_it(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("track_id;artists\nabc;Crosby, Nash\n")
    read = extract.read_raw_file(path, "g")
    (problem,) = read.header_problems
    assert problem.startswith("wrong delimiter: the header line 'track_id;artists' has no commas")
    assert read.frame.collect().rows() == [(1, "abc", "Crosby, Nash")]


def test_a_column_named_twice_is_told_and_its_first_column_read(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("a,energy,energy\n1,0.5,9\n")
    read = extract.read_raw_file(path, "g")
    assert read.header_problems == (
        "column 'energy' appears twice in the header (columns 2 and 3): keep one, or rename the "
        "others",
    )
    assert read.frame.collect().rows() == [(1, "1", "0.5")]


def test_bytes_that_are_not_utf8_are_told_and_the_rows_read_all_the_same(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes("a,b\nCaf\xe9,2\nx,3,4\n".encode("latin-1"))
    read = extract.read_raw_file(path, "g")
    assert read.line_problems[0].startswith("line 3 has 3 fields")
    assert read.line_problems[1].startswith("byte 7 (line 2) is not valid UTF-8 (0xe9;")
    assert read.frame.collect().rows() == [(1, "Caf\ufffd", "2")]


def test_a_file_that_cannot_be_read_at_all_is_said_to_be_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text('a,b\n"x,1\n')  # a quote left open
    read = extract.read_raw_file(path, "g")
    assert read.unreadable is not None
    assert read.unreadable.startswith(f"{path}: not a readable CSV file: ")
    assert read.frame.lazy().collect().is_empty()
