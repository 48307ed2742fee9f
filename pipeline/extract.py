"""Find the upstream Spotify tracks file, split it into raw genre CSVs, and read raw CSVs."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contract import file_sha256
from pipeline.catalogue import Genre
from pipeline.errors import RawFileError, UpstreamError
from pipeline.raw_lines import Header, Lines, line_problems, read_header, read_lines, utf8_problem

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


@dataclass(frozen=True)
class RawFile:
    """One genre's raw CSV: every column as text plus a 1-based `source_row`, and what is wrong
    with the file itself (validation adds its columns and rows, and refuses the file for all)."""

    genre_id: str
    path: Path
    frame: pl.DataFrame
    header_problems: tuple[str, ...] = ()  # delimiter, names given twice, not UTF-8
    line_problems: tuple[str, ...] = ()  # lines with more fields, header lines again, bytes
    unreadable: str | None = None  # why nothing could be read (then the frame is empty)


def read_raw(path: Path, genre_id: str) -> pl.DataFrame:
    """Read a raw genre CSV (see read_raw_file); refuse it naming every problem reading found."""
    file = read_raw_file(path, genre_id)
    if file.unreadable is not None:
        raise RawFileError(file.unreadable)
    problems = [*file.header_problems, *file.line_problems]
    if problems:
        raise RawFileError("\n".join(f"{path}: {problem}" for problem in problems))
    return file.frame


def read_raw_file(path: Path, genre_id: str) -> RawFile:
    """Read a raw genre CSV with every column as text plus a 1-based `source_row`, and note
    what is wrong with the file without stopping at the first problem.

    A file with another delimiter is read with it; bytes that are not UTF-8 are replaced; a line
    with more fields than the header, and a header line again, are left out of the rows (and
    reported), so that validation can check every other row as if the file were fixed. Blank
    lines are not rows: they are skipped (row numbers still count them). A line of empty fields
    (`,,,`) is a row, of nulls.
    """
    try:
        return _read_raw_file(path, genre_id)
    except FileNotFoundError:
        unreadable = f"{path}: file not found (genre {genre_id!r} in the catalogue)"
    except OSError as error:  # a folder, no permission: the system's reason says it
        unreadable = f"{path}: not a readable file: {error.strerror or error}"
    except RawFileError as error:
        unreadable = str(error)
    return RawFile(genre_id, path, pl.DataFrame(), unreadable=unreadable)


def _read_raw_file(path: Path, genre_id: str) -> RawFile:
    header = read_header(path)
    lines: Lines | None = None
    problems: list[str] = []
    try:
        frame = _polars_read(path, header.delimiter)
    except pl.exceptions.PolarsError as error:
        # Polars does not say where: find the lines (on this rare path) and read around them.
        lines = read_lines(path, header)
        utf8 = None if _header_not_utf8(header) else utf8_problem(path)
        problems += [utf8] if utf8 else []
        if not utf8 and not lines.long:
            raise _unreadable(path, error) from None
        try:
            frame = _polars_read(path, header.delimiter, lossy=True, ragged=bool(lines.long))
        except pl.exceptions.PolarsError as again:
            raise _unreadable(path, again) from None
    frame = _without_copies(frame, header).with_row_index("source_row", offset=1)
    frame = frame.with_columns(pl.col("source_row").cast(pl.Int64))
    if lines is None and _has_odd_rows(frame, header):
        lines = read_lines(path, header)
    if lines is None:
        return RawFile(genre_id, path, frame, tuple(header.problems))
    problems = line_problems(lines, header, genre_id) + problems
    frame = frame.filter(~pl.col("source_row").is_in(lines.rows()))
    return RawFile(genre_id, path, frame, tuple(header.problems), tuple(problems))


def _polars_read(
    path: Path, delimiter: str, *, lossy: bool = False, ragged: bool = False
) -> pl.DataFrame:
    """The file as text columns; `lossy` replaces bytes that are not UTF-8 and `ragged` cuts
    lines with too many fields, once both are found and told."""
    return pl.read_csv(
        path,
        infer_schema=False,
        raise_if_empty=False,
        separator=delimiter,
        encoding="utf8-lossy" if lossy else "utf8",
        truncate_ragged_lines=ragged,
    )


def _unreadable(path: Path, error: Exception) -> RawFileError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return RawFileError(f"{path}: not a readable CSV file: {first}")


def _header_not_utf8(header: Header) -> bool:
    return any("is not valid UTF-8" in problem for problem in header.problems)


def _without_copies(frame: pl.DataFrame, header: Header) -> pl.DataFrame:
    """Drop the copies Polars makes of a column named twice (`<name>_duplicated_<n>`): the
    header problem is told, and the first column of the name is the one checked."""
    twice = {name for name in header.names if header.names.count(name) > 1}
    copies = [c for c in frame.columns if c.rpartition("_duplicated_")[0] in twice]
    return frame.drop(copies)


def _has_odd_rows(frame: pl.DataFrame, header: Header) -> bool:
    """Whether any row may be a blank line or a header line again (read_lines tells which)."""
    columns = [column for column in frame.columns if column != "source_row"]
    if not columns or frame.height == 0:
        return False
    names = list(dict.fromkeys(header.names))
    empty = pl.all_horizontal(pl.col(columns).is_null())
    named = pl.all_horizontal(pl.col(c).is_null() | pl.col(c).is_in(names) for c in columns)
    return bool(frame.select((empty | named).any()).item())
