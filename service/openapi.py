"""The OpenAPI 3.1 document of /api/v1, generated from the parameter declarations in params.py."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from contract import FEATURES, RANGES, TRACK_ID_PATTERN
from service import params
from service.compare import ABOVE_AVERAGE_OVER, BELOW_AVERAGE_UNDER
from service.dataset import to_json
from service.summaries import DISTRIBUTION_ORDER

Schema = dict[str, Any]
ERRORS_TEXT = (
    'Every error has the body {"error": "<what is wrong and what is allowed>", "status": N} with '
    "N the HTTP status: 400 for a missing, repeated, unknown or invalid query parameter (or min "
    "above max), 404 for an unknown genre, track or route, 405 (with Allow) for a method other "
    "than GET, HEAD or OPTIONS, 500 for an unexpected failure."
)
CACHING_TEXT = (
    "Successful GET responses carry an ETag (per dataset version and URL) and Cache-Control: "
    "public, max-age=300; a request with a matching If-None-Match gets 304. Every response "
    "carries Access-Control-Allow-Origin: *."
)
PERCENTILE_TEXT = (
    "Mid-rank percentile of the track's value within the genre's distribution of the feature: "
    "100 * (tracks below + tracks equal / 2) / tracks in genre, rounded to 1 decimal. "
    f'percentile_label is "below average" under {BELOW_AVERAGE_UNDER:g}, "above average" over '
    f'{ABOVE_AVERAGE_OVER:g}, else "near average", so it means the same for every feature.'
)
PRIMARY_GENRE_TEXT = (
    "genre_id/genre_name is the track's primary genre: the first genre of the catalogue order "
    "(the order of /genres) that the track belongs to; genres lists all of them in that order."
)


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], description: str = "") -> Schema:
    """A closed object schema whose properties are all required."""
    schema: Schema = {"type": "object", "properties": properties, "required": list(properties)}
    return {**schema, "description": description} if description else schema


def number(decimals: str = "", nullable: bool = False) -> Schema:
    """A number schema (nullable when a genre has no tracks)."""
    schema: Schema = {"type": ["number", "null"] if nullable else "number"}
    return {**schema, "description": decimals} if decimals else schema


INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
ENVELOPE_META = obj({"total": INTEGER, "limit": INTEGER, "offset": INTEGER})


def _range(name: str) -> Schema:
    low, high = RANGES[name]
    return {"minimum": low, "maximum": high}


def schemas() -> dict[str, Schema]:
    """Component schemas of every payload."""
    averages = {f"avg_{f}": number("Rounded to 4 decimals.", True) for f in FEATURES}
    track = obj(
        {
            "id": {"type": "string", "pattern": TRACK_ID_PATTERN},
            "name": NULLABLE_STRING,
            "artists": NULLABLE_STRING,
            "album": NULLABLE_STRING,
            "genre_id": STRING,
            "genre_name": STRING,
            "genres": {"type": "array", "items": STRING},
            "popularity": {**INTEGER, **_range("popularity")},
            "duration_ms": INTEGER,
            **{f: {**number(), **_range(f)} for f in FEATURES},
            "key": {**INTEGER, **_range("key")},
            "mode": {**INTEGER, **_range("mode")},
            "time_signature": INTEGER,
            "explicit": {"type": "boolean"},
            "source": {"const": "spotify"},
        },
        PRIMARY_GENRE_TEXT,
    )
    genre = obj(
        {
            "id": STRING,
            "name": STRING,
            "description": STRING,
            "track_count": INTEGER,
            **averages,
            "updated_at": {**STRING, "description": "UTC, e.g. 2026-03-22T00:00:00"},
        }
    )
    feature_comparison = obj(
        {
            "track_value": number(),
            "genre_avg": number("The genre average, 4 decimals.", True),
            "delta": number("track_value - genre_avg, 4 decimals.", True),
            "percentile": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
            "percentile_label": {"enum": ["below average", "near average", "above average", None]},
        },
        PERCENTILE_TEXT,
    )
    buckets = {"type": "array", "items": obj({"bucket": INTEGER, "count": INTEGER})}
    return {
        "Error": obj({"error": STRING, "status": INTEGER}),
        "Track": track,
        "Genre": genre,
        "Stats": obj(
            {
                "totals": obj({"tracks": INTEGER, "genres": INTEGER}),
                "global_averages": obj(
                    {f"avg_{f}": number(nullable=True) for f in FEATURES},
                    "Over unique tracks; tempo and loudness to 2 decimals, the rest to 3.",
                ),
                "genres": {
                    "type": "array",
                    "items": obj({"id": STRING, "name": STRING, "track_count": INTEGER}),
                },
            }
        ),
        "GenreDetail": obj(
            {
                "genre": ref("Genre"),
                "distributions": {
                    "type": "object",
                    "properties": {f: buckets for f in DISTRIBUTION_ORDER},
                    "description": "Buckets are labelled by their lower edge: per cent for 0-1 "
                    "features (0, 10, ... 90), BPM for tempo (10 wide), dB for loudness (5 wide).",
                },
                "top_artists": {
                    "type": "array",
                    "items": obj({"artists": STRING, "track_count": INTEGER}),
                },
            }
        ),
        "Comparison": obj(
            {
                "track": ref("Track"),
                "genre": ref("Genre"),
                "comparison": obj({f: ref("FeatureComparison") for f in FEATURES}),
            }
        ),
        "FeatureComparison": feature_comparison,
        "Health": obj(
            {
                "status": {"const": "ok"},
                "dataset": obj(
                    {"version": STRING, "created_at": NULLABLE_STRING, "schema_version": INTEGER}
                ),
                "counts": obj({"tracks": INTEGER, "genres": INTEGER, "track_genres": INTEGER}),
            }
        ),
    }


def query_parameter(spec: params.Param) -> Schema:
    """An OpenAPI query parameter from a params.Param declaration."""
    schema: Schema = {"type": spec.kind}
    for key, value in (
        ("minimum", spec.minimum),
        ("maximum", spec.maximum),
        ("default", spec.default),
        ("pattern", spec.pattern),
    ):
        if value is not None:
            schema[key] = value
    if spec.choices:
        schema["enum"] = list(spec.choices)
    if spec.kind == "string" and not spec.choices and not spec.pattern:
        schema["minLength"] = 1
    parameter = {"name": spec.name, "in": "query", "required": spec.required, "schema": schema}
    return {**parameter, "description": spec.description}


def path_parameter(name: str, description: str) -> Schema:
    """A required string path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": description,
    }


@dataclass(frozen=True)
class Endpoint:
    """One GET endpoint as documented: path, summary, parameters and the payload schema."""

    path: str
    operation_id: str
    summary: str
    data: Schema
    specs: tuple[params.Param, ...] = params.NO_PARAMS
    path_params: tuple[Schema, ...] = ()
    paged: bool = False
    not_found: str = ""


GENRE_PATH = path_parameter("genre", "Genre id, e.g. ambient (see /genres).")
TRACK_PATH = path_parameter("track_id", "Spotify track id, e.g. 0yc6Gst2xkRu0eMLeRMGCX.")
TRACKS = {"type": "array", "items": ref("Track")}
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
        "A genre with its feature distributions and top artists.",
        ref("GenreDetail"),
        path_params=(GENRE_PATH,),
        not_found="Unknown genre.",
    ),
    Endpoint(
        "/genres/{genre}/tracks",
        "listGenreTracks",
        "The tracks that belong to a genre (primary or not), paged.",
        TRACKS,
        params.GENRE_TRACKS_PARAMS,
        (GENRE_PATH,),
        paged=True,
        not_found="Unknown genre.",
    ),
    Endpoint(
        "/tracks",
        "listTracks",
        "Tracks filtered by genre, artist and audio features, paged; a track is listed once "
        "even if it belongs to several genres.",
        TRACKS,
        params.TRACKS_PARAMS,
        paged=True,
        not_found="Unknown genre in the genre filter.",
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
        "/compare",
        "compareTrack",
        "A track's audio features against a genre: average, delta, percentile and label.",
        ref("Comparison"),
        params.COMPARE_PARAMS,
        not_found="Unknown track or genre.",
    ),
    Endpoint("/health", "getHealth", "Dataset version and counts (never cached).", ref("Health")),
    Endpoint("/openapi.json", "getOpenAPI", "This OpenAPI 3.1 document.", {"type": "object"}),
)


def _error(description: str) -> Schema:
    content = {"application/json": {"schema": ref("Error")}}
    return {"description": description, "content": content}


def operation(endpoint: Endpoint) -> Schema:
    """The GET operation of one endpoint."""
    envelope = {"data": endpoint.data}
    if endpoint.paged:
        envelope["meta"] = ENVELOPE_META
    elif endpoint.path == "/genres":
        envelope["meta"] = obj({"total": INTEGER})
    responses: Schema = {
        "200": {"description": "OK", "content": {"application/json": {"schema": obj(envelope)}}},
        "304": {"description": "Not modified: If-None-Match matched the ETag."},
        "400": _error("A query parameter is missing, repeated, unknown or invalid."),
        "500": _error("Unexpected failure; the body has no internals."),
    }
    if endpoint.not_found:
        responses["404"] = _error(endpoint.not_found)
    return {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "parameters": [*endpoint.path_params, *map(query_parameter, endpoint.specs)],
        "responses": dict(sorted(responses.items())),
    }


@functools.cache
def openapi_document() -> bytes:
    """The serialised OpenAPI 3.1 document."""
    description = " ".join((ERRORS_TEXT, CACHING_TEXT, PRIMARY_GENRE_TEXT, PERCENTILE_TEXT))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "kapiko API", "version": "1.0.0", "description": description},
        "servers": [{"url": "/api/v1"}],
        "paths": {endpoint.path: {"get": operation(endpoint)} for endpoint in ENDPOINTS},
        "components": {
            "schemas": schemas(),
            "responses": {
                "MethodNotAllowed": _error("Only GET, HEAD and OPTIONS; see the Allow header.")
            },
        },
    }
    return to_json(document)
