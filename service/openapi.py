"""The OpenAPI 3.1 document of /api/v1, generated from the parameter declarations.

Query parameters come from the same `Param` tuples that parse requests (service/params.py and
the filter table in service/filters.py), and payloads from service/schemas.py, so the document
cannot drift from what the service accepts and sends.
"""

from __future__ import annotations

import functools

from contract.fields import TRACK_FIELDS
from service import neighbours, params, track_query
from service.dataset import to_json
from service.endpoint import Endpoint
from service.exports import EXPORT_PARAMS
from service.openapi_discovery import DISCOVERY_ENDPOINTS, LINK_HEADER, NEXT
from service.schemas import (
    DISPOSITION_HEADER,
    INTEGER,
    PERCENTILE_TEXT,
    PRIMARY_GENRE_TEXT,
    STRING,
    Schema,
    file_content,
    obj,
    ref,
    schemas,
)

ERRORS_TEXT = (
    'Every error has the body {"error": "<what is wrong and what is allowed>", "status": N} with '
    "N the HTTP status: 400 for a missing, repeated, unknown or invalid query parameter (or min "
    "above max), 404 for an unknown genre, track, artist or route, 405 (with Allow) for a method "
    "other than GET, HEAD or OPTIONS, 422 for a mix path no track can continue, 500 for an "
    "unexpected failure."
)
CACHING_TEXT = (
    "Successful GET responses carry an ETag (per dataset version and URL) and Cache-Control: "
    "public, max-age={max_age}; a request with a matching If-None-Match gets 304. Every response "
    "carries Access-Control-Allow-Origin: *."
)
FILES_TEXT = (
    "Track listings also come as files: format=csv (a header row with every track field in "
    "the API's order, RFC 4180 quoting, genres joined by ';', booleans as true/false, null as "
    "an empty cell) or format=ndjson (one track object per line), with a Content-Disposition "
    "file name; /tracks/export streams every matching track that way, with no page limit."
)
LIST_TEXT = (
    "Lists (key, mood, camelot, facets, ids, features, fields, avoid_tracks, seed_tracks, "
    "seed_genres, …) are comma-separated in one parameter, e.g. mood=calm,happy, or the "
    "parameter repeated, mood=calm&mood=happy (as generated clients send arrays), or both; a "
    "list matches any of its values. Listings page by offset or by the cursor of meta.next "
    "(also the Link header's rel=next)."
)


def value_schema(spec: params.Param) -> Schema:
    """The schema of one value of a parameter."""
    schema: Schema = {"type": spec.kind}
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    if spec.pattern is not None:  # JSON Schema patterns are unanchored; parsing matches in full
        schema["pattern"] = f"^{spec.pattern.removeprefix('^').removesuffix('$')}$"
    if spec.choices:
        schema["enum"] = list(spec.choices)
    if spec.kind == "string" and not spec.choices and not spec.pattern:
        schema["minLength"] = 1
    return schema


def query_parameter(spec: params.Param) -> Schema:
    """An OpenAPI query parameter from a params.Param declaration."""
    schema = value_schema(spec)
    if spec.many:
        schema = {"type": "array", "items": schema, "minItems": 1}
        if spec.max_items is not None:
            schema["maxItems"] = spec.max_items
        if spec.distinct:
            schema["uniqueItems"] = True
    if spec.default is not None:
        schema["default"] = spec.default
    parameter = {"name": spec.name, "in": "query", "required": spec.required, "schema": schema}
    if spec.example is not None:
        parameter["example"] = list(spec.example) if spec.many else spec.example
    if spec.many:
        parameter |= {"style": "form", "explode": False}
    return {**parameter, "description": spec.description}


def path_parameter(name: str, description: str, example: str) -> Schema:
    """A required string path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": description,
        "example": example,
    }


LISTING_MEDIA = params.FORMATS


GENRE_PATH = path_parameter("genre", "Genre id, e.g. ambient (see /genres).", "ambient")
TRACK_PATH = path_parameter(
    "track_id", f"Spotify track id, e.g. {params.EXAMPLE_TRACK}.", params.EXAMPLE_TRACK
)
# With fields=…, a listing's tracks hold only the fields asked for (and id).
TRACKS = {"type": "array", "items": {"anyOf": [ref("Track"), ref("TrackFields")]}}
NEIGHBOURS = {
    "type": "array",
    "items": {"anyOf": [ref("NeighbourTrack"), ref("NeighbourTrackFields")]},
}
LISTING_META = obj(
    {"total": INTEGER, "limit": INTEGER, "offset": INTEGER, "facets": ref("Facets"), "next": NEXT},
    "facets is present only when the facets parameter is given. offset is the page's place "
    "among the matches (with a cursor too).",
    optional=("facets",),
)
BATCH_META = obj(
    {"requested": INTEGER, "found": INTEGER},
    "The answer to ids=…: data holds the tracks in the order asked, null for an id not in the "
    "dataset.",
)
# /tracks answers a listing or a batch: one envelope whose meta tells them apart (each meta
# requires keys the other does not allow, so exactly one matches; a oneOf of two envelopes
# that both have `data` and `meta` is not mutually exclusive to a linter).
TRACKS_OR_BATCH = obj(
    {
        "data": {
            "type": "array",
            "items": {"anyOf": [ref("Track"), ref("TrackFields"), {"type": "null"}]},
            "description": "The tracks (only the fields asked for, with fields=…); null only in "
            "a batch, for an id not in the dataset.",
        },
        "meta": {"oneOf": [LISTING_META, BATCH_META]},
    }
)
# The document itself, as served: every top-level key it has.
DOCUMENT = obj(
    {
        "openapi": {"const": "3.1.0"},
        "info": {"type": "object"},
        "servers": {"type": "array", "items": {"type": "object"}},
        "security": {
            "type": "array",
            "items": {"type": "object"},
            "maxItems": 0,
            "description": "Empty: no operation needs a key.",
        },
        "paths": {"type": "object"},
        "components": {"type": "object"},
    },
    "An OpenAPI 3.1 document.",
)
# The licence of the API and its code (pyproject.toml's); the data's is in the description.
LICENSE = {"name": "MIT", "identifier": "MIT"}
DATA_TEXT = (
    "The data: the Spotify Tracks Dataset by Maharshi Pandya (Kaggle, DOI "
    "10.34740/KAGGLE/DSV/4372070; ODbL 1.0 on Kaggle, BSD on Hugging Face), with audio features "
    "from the Spotify Web API; attribute the author when you redistribute it."
)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/stats", "getStats", "Totals, global averages and genre counts.", ref("Stats")),
    Endpoint(
        "/genres",
        "listGenres",
        "Every genre with its average audio features, in catalogue order.",
        {"type": "array", "items": ref("Genre")},
    ),
    Endpoint(
        "/genres/{genre}",
        "getGenre",
        "A genre with its feature distributions, top artists, mood counts and mood grid.",
        ref("GenreDetail"),
        path_params=(GENRE_PATH,),
        not_found="Unknown genre.",
    ),
    Endpoint(
        "/genres/{genre}/tracks",
        "listGenreTracks",
        "The tracks that belong to a genre (primary or not), filtered like /tracks, paged.",
        TRACKS,
        track_query.GENRE_TRACKS_PARAMS,
        (GENRE_PATH,),
        paged=True,
        not_found="Unknown genre, or unknown harmonic_to track.",
        media=LISTING_MEDIA,
    ),
    Endpoint(
        "/tracks",
        "listTracks",
        "Tracks filtered by genre, artist and every audio feature, sorted and paged, with facet "
        "counts on request; a track is listed once even if it belongs to several genres. With "
        "ids=… (and nothing else): a batch of up to 100 tracks by id.",
        TRACKS,
        (*track_query.TRACKS_PARAMS, track_query.IDS_PARAM),
        paged=True,
        not_found="Unknown genre in the genre filter, or unknown harmonic_to track.",
        media=LISTING_MEDIA,
    ),
    Endpoint(
        "/tracks/export",
        "exportTracks",
        "Every track matching the /tracks filters, in the sort order, as one CSV or NDJSON file "
        "streamed as it is written: no limit, no offset (the whole catalogue in a few seconds).",
        {},
        EXPORT_PARAMS,
        not_found="Unknown genre in the genre filter, or unknown harmonic_to track.",
        media=params.FORMATS[1:],
    ),
    Endpoint(
        "/tracks/{track_id}",
        "getTrack",
        "One track with all its audio features and genres.",
        ref("Track"),
        path_params=(TRACK_PATH,),
        not_found="Unknown track.",
    ),
    Endpoint(
        "/tracks/{track_id}/similar",
        "listSimilarTracks",
        "The tracks nearest to one track in the feature space, nearest first (ties by id), each "
        "with its distance; leaves out the track and its other releases; takes every /tracks "
        "filter as a hard limit.",
        NEIGHBOURS,
        neighbours.SIMILAR_PARAMS,
        (TRACK_PATH,),
        not_found="Unknown track, genre or harmonic_to track.",
        meta=ref("SimilarMeta"),
        media=LISTING_MEDIA,
        extra_columns=("distance",),
    ),
    Endpoint(
        "/recommendations",
        "getRecommendations",
        "Tracks nearest to a target point: the mean of the seeds' points (a genre's is its "
        "centroid), each target_<feature> replacing its coordinate; filters are hard limits; "
        "the seeds are left out. Needs a seed or a target.",
        NEIGHBOURS,
        neighbours.RECOMMEND_PARAMS,
        not_found="Unknown seed track or genre, genre or harmonic_to track.",
        meta=ref("RecommendationMeta"),
        media=LISTING_MEDIA,
        extra_columns=("distance",),
    ),
    Endpoint(
        "/compare",
        "compareTrack",
        "A track's audio features against a genre: average, delta, percentile and label.",
        ref("Comparison"),
        params.COMPARE_PARAMS,
        not_found="Unknown track or genre.",
    ),
    Endpoint(
        "/fields",
        "listFields",
        "The field catalogue: every track field in response order, with its type, unit, "
        "allowed values and description, and the filters, sorts, facets, histogram and "
        "similarity space it takes part in. meta.harmonic maps each Camelot code to the codes "
        "it mixes with (the harmonic_to rule).",
        {"type": "array", "items": ref("Field")},
        meta=obj(
            {
                "total": INTEGER,
                "harmonic": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": STRING},
                },
            }
        ),
    ),
    *DISCOVERY_ENDPOINTS,
    Endpoint("/health", "getHealth", "Dataset version and counts (never cached).", ref("Health")),
    Endpoint(
        "/openapi.json",
        "getOpenAPI",
        "This OpenAPI 3.1 document (the body is the document itself, with no envelope).",
        DOCUMENT,
    ),
)


def _error(description: str) -> Schema:
    content = {"application/json": {"schema": ref("Error")}}
    return {"description": description, "content": content}


def success_schema(endpoint: Endpoint) -> Schema:
    """The schema of an endpoint's 200 body: the envelope around its data."""
    if endpoint.path == "/openapi.json":  # the document itself, not an envelope
        return endpoint.data
    envelope = {"data": endpoint.data}
    if endpoint.meta is not None:
        envelope["meta"] = endpoint.meta
    elif endpoint.paged:
        envelope["meta"] = LISTING_META
    elif endpoint.path == "/genres":
        envelope["meta"] = obj({"total": INTEGER})
    if endpoint.path == "/tracks":
        return TRACKS_OR_BATCH
    return obj(envelope)


def success_response(endpoint: Endpoint) -> Schema:
    """The 200 response: JSON, and the file formats of a track listing."""
    content: Schema = {}
    if "json" in endpoint.media:
        content["application/json"] = {"schema": success_schema(endpoint)}
    files = tuple(fmt for fmt in endpoint.media if fmt != "json")
    content |= file_content(files, (*TRACK_FIELDS, *endpoint.extra_columns))
    ok: Schema = {"description": "OK", "content": content}
    headers = {**(DISPOSITION_HEADER if files else {}), **(LINK_HEADER if endpoint.linked else {})}
    if headers:
        ok["headers"] = headers
    return ok


def operation(endpoint: Endpoint) -> Schema:
    """The GET operation of one endpoint."""
    ok = success_response(endpoint)
    responses: Schema = {
        "200": ok,
        "304": {"description": "Not modified: If-None-Match matched the ETag."},
        "400": _error("A query parameter is missing, repeated, unknown or invalid."),
        "414": _error("The request line (method, path and query) is over 4,094 bytes."),
        "431": _error("The request has more than 100 headers, or one over 8,190 bytes."),
        "500": _error("Unexpected failure; the body has no internals."),
        "503": _error(
            "Nothing can be served now (no version verifies), or a check of the served files "
            "failed while answering; see Retry-After."
        ),
    }
    if endpoint.not_found:
        responses["404"] = _error(endpoint.not_found)
    if endpoint.unprocessable:
        responses["422"] = _error(endpoint.unprocessable)
    return {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "parameters": [*endpoint.path_params, *map(query_parameter, endpoint.specs)],
        "responses": dict(sorted(responses.items())),
    }


@functools.cache
def openapi_document(max_age: int) -> bytes:
    """The serialised OpenAPI 3.1 document (max_age: the Cache-Control max-age served)."""
    texts = (ERRORS_TEXT, CACHING_TEXT.format(max_age=max_age), LIST_TEXT, FILES_TEXT,
             PRIMARY_GENRE_TEXT, PERCENTILE_TEXT, DATA_TEXT)  # fmt: skip
    info = {"title": "kapiko API", "version": "1.2.0", "description": " ".join(texts)}
    document = {
        "openapi": "3.1.0",
        "info": {**info, "license": LICENSE},
        "servers": [{"url": "/api/v1"}],
        "security": [],  # open: no operation needs a key (said once, for every operation)
        "paths": {endpoint.path: {"get": operation(endpoint)} for endpoint in ENDPOINTS},
        "components": {"schemas": schemas()},
    }
    return to_json(document)
