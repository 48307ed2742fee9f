"""The Datasette table-API URL equivalent to a kapiko /tracks query, for the HTTP benchmark.

Datasette serves the same curated tracks from SQLite (bench/sqlite_export.py). Every /tracks
filter has a Datasette counterpart: ranges become `<column>__gte` / `__lte`, lists `__in`,
`harmonic_to` the `camelot__in` list of the codes that track mixes with, facets `_facet`; a
`genre` filter means membership, so such a query reads the membership view.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from contract.fields import RANGE_FILTERS as NUMERIC_COLUMNS
from contract.fields import SORTS

DATASETTE_ALL = "/kapiko/tracks_api.json"
DATASETTE_BY_GENRE = "/kapiko/tracks_by_genre.json"
_EQUAL = {"genre": "member_genre", "mode": "mode", "time_signature": "time_signature"}
_LISTS = {"key": "key__in", "mood": "mood__in", "camelot": "camelot__in"}


def datasette_url(params: dict[str, str], harmonic_codes: dict[str, str]) -> str:
    """The Datasette URL for one /tracks query; `harmonic_codes` maps a harmonic_to id to the
    comma-separated Camelot codes it mixes with."""
    args: dict[str, str] = {}
    for name, value in params.items():
        if name in _EQUAL:
            args[_EQUAL[name]] = value
        elif name in _LISTS:
            args[_LISTS[name]] = value
        elif name == "artist":
            args["artists__contains"] = value
        elif name == "explicit":
            args["explicit"] = "1" if value == "true" else "0"
        elif name == "harmonic_to":
            args["camelot__in"] = harmonic_codes[value]
        elif name.removeprefix("min_") in NUMERIC_COLUMNS and name.startswith("min_"):
            args[f"{name.removeprefix('min_')}__gte"] = value
        elif name.removeprefix("max_") in NUMERIC_COLUMNS and name.startswith("max_"):
            args[f"{name.removeprefix('max_')}__lte"] = value
    column, descending = SORTS[params.get("sort", "popularity")]
    args["_sort_desc" if descending else "_sort"] = column
    args["_size"] = params.get("limit", "20")
    if "offset" in params:
        args["_next"] = params["offset"]  # on a view, _next is a row offset
    args["_shape"] = "objects"  # rows as objects; keeps filtered_table_rows_count (our total)
    query = urlencode(args, quote_via=quote)
    for field in params.get("facets", "").split(",") if params.get("facets") else ():
        query += f"&_facet={field}"
    table = DATASETTE_BY_GENRE if "genre" in params else DATASETTE_ALL
    return f"{table}?{query}"
