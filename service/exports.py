"""Track listings as files: CSV or NDJSON, for one page or streamed for every matching track.

Every track listing takes `format=csv|ndjson` (params.FORMAT_PARAM) and answers with the same
tracks as its JSON `data`, as a download (`Content-Disposition: attachment`). CSV has a header
row with every track field in the API's order (plus any extra columns, such as a distance),
RFC 4180 quoting by Python's csv module (CRLF line ends; a name with commas, quotes or newlines
survives), `genres` joined by ';', booleans as true/false and null as an empty cell. NDJSON has
one track object per line, the same JSON text as in `data`.

`/tracks/export` writes every matching track in blocks from a generator, so a request holds one
block of text at a time, never the whole body (the matching row numbers, 4 bytes a track, are
the only per-request array the size of the result).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import Response

from contract.fields import TRACK_FIELDS
from service.filters import FILTER_PARAMS, GENRE_PARAM, given_filters
from service.headers import CORS_HEADERS
from service.index import TrackIndex, track_texts
from service.params import EXPORT_FORMAT_PARAM, SORT_PARAM, Param, parse
from service.projection import FIELDS_PARAM, chosen_fields, projected
from service.queries import matching_rows
from service.schemas import MEDIA_TYPES
from service.track_query import TrackQuery

EXPORT_BLOCK = 2048  # tracks encoded per chunk of a streamed export
EXPORT_PARAMS: tuple[Param, ...] = (
    GENRE_PARAM,
    *FILTER_PARAMS,
    SORT_PARAM,
    EXPORT_FORMAT_PARAM,
    FIELDS_PARAM,
)


def export_query(query: Mapping[str, list[str]]) -> TrackQuery:
    """Parse /tracks/export: the filters and sort of /tracks, a format, fields, and no page."""
    values = parse(EXPORT_PARAMS, query)
    filters = given_filters(values)
    return TrackQuery(
        genre=values["genre"],
        filters=filters,
        sort=values["sort"],
        format=values["format"],
        fields=chosen_fields(values["fields"]),
    )


def file_name(
    stem: str, version: str, fmt: str, query: Any = None, named: tuple[str, ...] = ()
) -> str:
    """The download's file name: kapiko-<stem>[-q<digest>]-<dataset version>.<csv|ndjson>.

    `query` (a parsed query, a dataclass) adds a short digest of what it asks beyond its
    defaults, but for its format and the `named` fields the stem already says (a genre, say), so
    that two files of different content never share a name (`curl -OJ` refuses to overwrite)
    and the same request always gets the same one.
    """
    digest = query_digest(query, ("format", *named)) if query is not None else None
    extension = EXTENSIONS.get(fmt, fmt)
    return f"kapiko-{stem}{f'-q{digest}' if digest else ''}-{version}.{extension}"


EXTENSIONS = {"spreadsheet": "csv"}  # a CSV made for spreadsheets is still a .csv


def query_digest(query: Any, leave_out: tuple[str, ...] = ()) -> str | None:
    """The first 8 hex digits of a digest of the query's fields that are not their defaults
    (parsed values, so `mood=calm,happy` and `mood=calm&mood=happy` agree); None if none are."""
    asked = {
        spec.name: getattr(query, spec.name)
        for spec in dataclasses.fields(query)
        if spec.name not in leave_out and getattr(query, spec.name) != _default(spec)
    }
    if not asked:
        return None
    text = json.dumps(asked, sort_keys=True, default=dict, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _default(spec: dataclasses.Field[Any]) -> Any:
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def file_response(chunks: Iterable[bytes], fmt: str, filename: str) -> Response:
    """A 200 download of the chunks (a list is sent whole, a generator streamed)."""
    headers = {**CORS_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(chunks, content_type=MEDIA_TYPES[fmt], headers=headers)


def listing_file(
    texts: Sequence[str],
    fmt: str,
    filename: str,
    fields: tuple[str, ...] | None = None,
    extra: tuple[str, ...] = (),
) -> Response:
    """A page of tracks (their JSON texts, already holding only `fields` when given) as a CSV
    or NDJSON download; `extra` adds columns."""
    chunks = file_chunks([texts], fmt, (*(fields or TRACK_FIELDS), *extra))
    return file_response([b"".join(chunks)], fmt, filename)


def export_file(index: TrackIndex, query: TrackQuery, filename: str) -> Response:
    """Every track matching the query, streamed block by block as a download.

    The rows are found (and a bad genre or harmonic_to refused) before the response starts;
    only the encoding runs while the body is sent.
    """
    rows = matching_rows(index, query)
    blocks = (
        projected(track_texts(index, rows[start : start + EXPORT_BLOCK].tolist()), query.fields)
        for start in range(0, len(rows), EXPORT_BLOCK)
    )
    chunks = file_chunks(blocks, query.format, query.fields or TRACK_FIELDS)
    # The first chunk is made before the answer starts, so a failure there is an error
    # response (JSON, with its status); one later can only end the stream unfinished, which
    # a client sees as a broken download, never as a complete file.
    first = next(chunks, b"")
    return file_response(itertools.chain([first], chunks), query.format, filename)


def file_chunks(
    blocks: Iterable[Sequence[str]], fmt: str, columns: tuple[str, ...]
) -> Iterator[bytes]:
    """The file's bytes, one chunk per block of track JSON texts (CSV: a header of `columns`
    first, then those members of each track)."""
    if fmt == "ndjson":
        return (("\n".join(block) + "\n").encode() for block in blocks if block)
    cell = spreadsheet_cell if fmt == "spreadsheet" else csv_cell
    return csv_chunks(blocks, columns, cell)


def csv_chunks(
    blocks: Iterable[Sequence[str]], columns: tuple[str, ...], cell: Callable[[Any], Any]
) -> Iterator[bytes]:
    """CSV of the tracks: the header row, then one chunk of rows per block."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes only where needed
    writer.writerow(columns)
    for block in blocks:
        for text in block:
            track = json.loads(text)
            writer.writerow([cell(track[column]) for column in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no block at all: the header alone
        yield buffer.getvalue().encode()


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: lists joined by ';', booleans as in JSON, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(map(str, value))
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def spreadsheet_cell(value: Any) -> Any:
    """A cell for a spreadsheet: text that a spreadsheet would take for a formula (=cmd|' /C
    calc'!A0) gets a leading ' and is shown as it is; numbers and booleans are not text."""
    cell = csv_cell(value)
    if isinstance(value, str | list) and str(cell).startswith(FORMULA_STARTS):
        return "'" + str(cell)
    return cell
