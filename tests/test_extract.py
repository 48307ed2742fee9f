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
    written = extract.write_raw_files(extract.read_upstream(source), genres, raw)
    assert written == [raw / "ambient.csv"]
    assert (
        raw / "ambient.csv"
    ).read_text() == '"",track_id,artists,track_genre\n0,a,x,ambient\n2,c,1.01e-06,ambient\n'
    assert (raw / "sleep.csv").read_text() == "hand-made\n"


def test_genre_missing_upstream_without_a_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "up.csv"
    source.write_text(upstream_text())
    with pytest.raises(UpstreamError, match="'jazz' is not in the upstream"):
        extract.write_raw_files(
            extract.read_upstream(source), [Genre("jazz", "J", "d", "jazz.csv")], tmp_path
        )


def test_upstream_genres_in_order_of_appearance(tmp_path: Path) -> None:
    source = tmp_path / "up.csv"
    source.write_text(upstream_text())
    assert extract.upstream_genres(extract.read_upstream(source)) == ["ambient", "sleep"]


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
    with pytest.raises(RawFileError, match="not a readable CSV"):
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
