"""Find the upstream Spotify tracks file, split it into raw genre CSVs, and read raw CSVs."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from contract import file_sha256
from pipeline.catalogue import Genre
from pipeline.errors import RawFileError, UpstreamError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_ENV = "KAPIKO_UPSTREAM"
# The local mirror every developer and CI machine has beside the project.
MIRROR_PATH = PROJECT_ROOT.parent / "shared" / "data" / "spotify_tracks" / "dataset.csv"
DOWNLOAD_URL = (
    "https://huggingface.co/datasets/maharshipandya/spotify-tracks-dataset/resolve/main/dataset.csv"
)
UPSTREAM_SHA256 = "b202fa49909b2d5cef71a04b1d21243cfeb36414535f2ca9272aa646721177bd"
GENRE_COLUMN = "track_genre"


def find_upstream(
    download_dir: Path, *, url: str | None = None, sha256: str = UPSTREAM_SHA256
) -> Path:
    """Locate the upstream file: $KAPIKO_UPSTREAM, else the ../shared mirror, else download it."""
    explicit = os.environ.get(UPSTREAM_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UpstreamError(
                f"{UPSTREAM_ENV}={explicit} is not a file: point it at a copy of the upstream "
                "dataset.csv, or unset it"
            )
        return path
    if MIRROR_PATH.is_file():
        return MIRROR_PATH
    return download_upstream(download_dir / "dataset.csv", url=url, sha256=sha256)


def download_upstream(
    target: Path, *, url: str | None = None, sha256: str = UPSTREAM_SHA256
) -> Path:
    """Download the upstream file once (from DOWNLOAD_URL by default), check its sha256."""
    url = url or DOWNLOAD_URL
    if target.is_file() and file_sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, part)
        except OSError as error:
            Path(part.name).unlink(missing_ok=True)
            raise UpstreamError(
                f"could not download the upstream dataset from {url}: {error}. "
                f"Set {UPSTREAM_ENV} to a local copy of dataset.csv instead."
            ) from None
    actual = file_sha256(Path(part.name))
    if actual != sha256:
        Path(part.name).unlink()
        raise UpstreamError(f"downloaded {url} has sha256 {actual}, expected {sha256}; not used")
    os.replace(part.name, target)
    return target


def read_upstream(path: Path) -> pl.DataFrame:
    """Read the upstream file with every column as text, so raw CSVs keep its values verbatim."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise UpstreamError(f"cannot read upstream file {path}: {error}") from None
    if GENRE_COLUMN not in frame.columns:
        raise UpstreamError(f"upstream file {path} has no {GENRE_COLUMN!r} column")
    return frame


def upstream_genres(upstream: pl.DataFrame) -> list[str]:
    """Genre ids in the upstream file, in their order of first appearance."""
    return upstream.get_column(GENRE_COLUMN).unique(maintain_order=True).to_list()


def write_raw_files(upstream: pl.DataFrame, genres: list[Genre], raw_dir: Path) -> list[Path]:
    """Write raw_dir/<file> for each genre that has no file yet; never overwrite one."""
    written = []
    for genre in genres:
        target = raw_dir / genre.file
        if target.exists():
            continue
        rows = upstream.filter(pl.col(GENRE_COLUMN) == genre.id)
        if rows.height == 0:
            raise UpstreamError(
                f"genre {genre.id!r} is not in the upstream file and {target} does not exist: "
                "put a CSV there yourself, or fix the id in the catalogue"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".part")
        rows.write_csv(temporary)
        os.replace(temporary, target)
        written.append(target)
    return written


def read_raw(path: Path, genre_id: str) -> pl.DataFrame:
    """Read a raw genre CSV with every column as text plus a 1-based `source_row`.

    Blank lines are not rows: they are skipped (row numbers still count them). A line of empty
    fields (`,,,`) is a row, of nulls.
    """
    try:
        _check_header(path)
        frame = pl.read_csv(path, infer_schema=False, raise_if_empty=False)
    except FileNotFoundError:
        raise RawFileError(
            f"{path}: file not found (genre {genre_id!r} in the catalogue)"
        ) from None
    except (OSError, pl.exceptions.PolarsError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        # Polars does not say where; find the line on this (already failed, so rare) path.
        problem = _utf8_problem(path) or _field_count_problem(path) or first
        raise RawFileError(f"{path}: not a readable CSV file: {problem}") from None
    columns = frame.columns
    numbered = frame.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    if not columns:
        return numbered
    # Polars reads a blank line and a line of commas alike, as a row of nulls: look at the text.
    all_null = numbered.filter(pl.all_horizontal(pl.col(columns).is_null()))
    if all_null.height == 0:
        return numbered
    blank = _blank_lines(path, last_row=all_null.get_column("source_row").item(-1))
    return numbered.filter(~pl.col("source_row").is_in(blank))


@contextmanager
def _any_field_size(path: Path) -> Iterator[None]:
    """Let Python's csv reader take a field as large as the file (the format has no limit; the
    reader's default, 131,072 characters, refused a valid 200,000-character name)."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, path.stat().st_size + 1))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _blank_lines(path: Path, last_row: int) -> list[int]:
    """Row numbers of the truly empty lines up to `last_row`, read as CSV so quoted breaks count."""
    blank = []
    with _any_field_size(path), open(path, newline="", encoding="utf-8") as handle:
        records = csv.reader(handle)
        try:
            next((record for record in records if record), None)  # the header, after blank lines
            for number, record in enumerate(records, start=1):
                if number > last_row:
                    break
                if not record:
                    blank.append(number)
        except csv.Error as error:  # e.g. a field over csv.field_size_limit() characters
            raise RawFileError(
                f"{path}: line {records.line_num}: {error}; check the quotes on and before that "
                "line (a quote left open makes one huge field)"
            ) from None
    return blank


def _check_header(path: Path) -> None:
    """Refuse a header Polars would misread: not UTF-8, another delimiter, a column named twice."""
    with open(path, "rb") as handle:
        line = next((line for line in handle if line.strip()), b"")
    try:
        header = line.decode("utf-8")
    except UnicodeDecodeError:
        raise RawFileError(f"{path}: not a readable CSV file: {_utf8_problem(path)}") from None
    marks = [mark for mark in (";", "\t", "|") if mark in header]
    if "," not in header and marks:
        raise RawFileError(
            f"{path}: wrong delimiter: the header line {header.strip()[:80]!r} has no commas but "
            f"{marks[0]!r}; the file must be comma-separated, with the Spotify-feature columns"
        )
    names = next(csv.reader([header]), [])
    for name, count in Counter(names).items():
        if count > 1:
            where = [str(i) for i, other in enumerate(names, start=1) if other == name]
            times = "twice" if count == 2 else f"{count} times"
            raise RawFileError(
                f"{path}: column {name!r} appears {times} in the header (columns "
                f"{', '.join(where[:-1])} and {where[-1]}): keep one, or rename the others"
            )


def _utf8_problem(path: Path) -> str | None:
    """Where the file first stops being UTF-8, streamed line by line; None if it is UTF-8."""
    offset = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return (
                    f"byte {offset + error.start} (line {number}) is not valid UTF-8 "
                    f"({line[error.start]:#04x}; bytes count from 0): re-save the file as UTF-8 "
                    "(it may be Latin-1 or Windows-1252 text)"
                )
            offset += len(line)
    return None


def _field_count_problem(path: Path) -> str | None:
    """The first line holding more fields than the header, streamed as CSV; None if there is none."""
    with _any_field_size(path), open(path, newline="", encoding="utf-8") as handle:
        records = csv.reader(handle)
        try:
            header = next((record for record in records if record), [])
            line = records.line_num  # a record starts on the line after the previous one ended
            for record in records:
                if len(record) > len(header):
                    return (
                        f"line {line + 1} has {len(record)} fields, the header has {len(header)}: "
                        'quote values that contain commas ("a, b") or remove the extra fields'
                    )
                line = records.line_num
        except csv.Error as error:
            return f"line {records.line_num}: {error}; check the quotes on and before that line"
    return None
