"""The JSON Schemas of every API payload (OpenAPI 3.1 components), closed to unknown fields.

Every object schema lists all its properties as required and sets additionalProperties: false, so a
test that validates responses against them catches a missing, misspelt or undocumented field.
"""

from __future__ import annotations

from typing import Any

from contract.fields import FACETS as FACET_FIELDS
from contract.fields import FEATURES, FIELDS, SIMILARITY_FEATURES, Field
from contract.music import MOODS
from service.compare import ABOVE_AVERAGE_OVER, BELOW_AVERAGE_UNDER
from service.summaries import DISTRIBUTION_ORDER

Schema = dict[str, Any]
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


def obj(
    properties: dict[str, Schema], description: str = "", optional: tuple[str, ...] = ()
) -> Schema:
    """A closed object schema whose properties are all required except `optional` ones."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }
    return {**schema, "description": description} if description else schema


def number(decimals: str = "", nullable: bool = False) -> Schema:
    """A number schema (nullable when a genre has no tracks)."""
    schema: Schema = {"type": ["number", "null"] if nullable else "number"}
    return {**schema, "description": decimals} if decimals else schema


INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
TIMESTAMP: Schema = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."}
MOOD_TEXT = (
    "The quadrant of Russell's valence-arousal circumplex on Spotify's absolute 0-1 scales, with "
    "energy as arousal: happy (valence >= 0.5, energy >= 0.5), tense (valence < 0.5, energy >= "
    "0.5), sad (both < 0.5), calm (valence >= 0.5, energy < 0.5). Fixed thresholds: a track's "
    "mood never changes when the catalogue does."
)
PAGE_META: dict[str, Schema] = {"total": INTEGER, "limit": INTEGER, "offset": INTEGER}
DISTANCE: Schema = {
    "type": "number",
    "minimum": 0,
    "description": "Euclidean distance over the chosen features' z-scores, 4 decimals.",
}
FEATURE_LIST: Schema = {
    "type": "array",
    "items": {"enum": list(SIMILARITY_FEATURES)},
    "description": "The features the distance was measured over.",
}
NEXT_PAGE: Schema = {
    "type": ["string", "null"],
    "description": "The URL of the next page (a cursor after this page's last track; also in "
    "the Link header); null on the last page.",
}
CAMELOT_TEXT = (
    "Camelot wheel code: the circle of fifths numbered from C major = 8B (each fifth up adds 1); "
    "a minor key has its relative major's number and the letter A (A minor = 8A). Null when no "
    "key was detected (key -1)."
)


def field_schema() -> Schema:
    """The schema of one entry of GET /fields (contract.fields.describe_fields)."""
    numbers = {"type": "array", "items": {"type": "number"}}
    optional_number = {"type": ["number", "null"]}
    return obj(
        {
            "name": STRING,
            "type": {"enum": ["string", "integer", "number", "boolean", "array"]},
            "label": STRING,
            "unit": NULLABLE_STRING,
            "description": STRING,
            "constraints": {
                "type": "object",
                "properties": {
                    "minimum": {"type": "number"},
                    "exclusiveMinimum": {"type": "number"},
                    "maximum": {"type": "number"},
                    "enum": {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                    "pattern": {"type": "string", "description": "Matched in full."},
                },
                "additionalProperties": False,
                "description": "As in a Frictionless Table Schema: the allowed values.",
            },
            "nullable": {"type": "boolean"},
            "origin": {"enum": ["raw", "derived", "catalogue"]},
            "filter": {
                "type": "array",
                "items": STRING,
                "description": "The query parameters that filter on this field.",
            },
            "sorts": {"type": "array", "items": STRING, "description": "Its sort names."},
            "facet": {"type": "boolean"},
            "histogram": {
                "anyOf": [obj({"edges": numbers, "scale": {"type": "number"}}), {"type": "null"}],
                "description": "Bucket edges ([e_i, e_i+1), the last closed); a bucket's label "
                "is its lower edge times scale.",
            },
            "feature": {"type": "boolean", "description": "Averaged per genre, in /compare."},
            "similarity": {
                "anyOf": [
                    obj({"position": INTEGER, "transform": {"enum": ["identity", "sqrt"]}}),
                    {"type": "null"},
                ]
            },
            "display": obj(
                {
                    "step": optional_number,
                    "digits": {"type": ["integer", "null"]},
                    "slider_max": optional_number,
                },
                "How the explorer shows and slides the field.",
            ),
        },
        "One field of a track, as contract/fields.py declares it.",
    )


def track_property(field: Field) -> Schema:
    """The JSON Schema of one track field, from its catalogue entry."""
    if field.type == "array":
        schema: Schema = {"type": "array", "items": STRING}
    elif field.enum:
        schema = {"enum": [*field.enum, *([None] if field.nullable else [])]}
    else:
        schema = {"type": [field.type, "null"] if field.nullable else field.type}
    if field.pattern and not field.enum:
        schema["pattern"] = f"^{field.pattern.removeprefix('^').removesuffix('$')}$"
    if field.minimum is not None:
        schema["exclusiveMinimum" if field.exclusive_minimum else "minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    unit = f" Unit: {field.unit}." if field.unit else ""
    return {**schema, "description": field.description + unit}


# The files' media types: responses send these (exports.py), the OpenAPI document names them
# without the charset parameter, as media-type keys are written.
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "spreadsheet": "text/csv; charset=utf-8",
}
DISPOSITION_HEADER: Schema = {
    "Content-Disposition": {
        "description": 'With format=csv or ndjson: attachment; filename="kapiko-<what>'
        '[-q<digest of the other parameters>]-<dataset version>.<csv|ndjson>"',
        "schema": STRING,
    }
}


def file_content(formats: tuple[str, ...], columns: tuple[str, ...]) -> Schema:
    """The response content of a track listing's file formats (CSV with these columns)."""
    descriptions = {
        "csv": "A header row, then one row per track (RFC 4180, CRLF line ends; genres joined "
        "by ';', booleans true/false, null empty): " + ",".join(columns) + ".",
        "ndjson": "One track object (the JSON of data) per line.",
        "spreadsheet": "The same CSV, each text cell that a spreadsheet would run as a formula "
        "(starting with =, +, -, @, a tab or a carriage return) prefixed with '.",
    }
    content: Schema = {}
    for fmt in formats:  # csv and spreadsheet share a media type: one entry, both described
        entry = content.setdefault(
            MEDIA_TYPES[fmt].partition(";")[0], {"schema": {"type": "string"}}
        )
        described = entry["schema"].get("description")
        entry["schema"]["description"] = " ".join(filter(None, [described, descriptions[fmt]]))
    return content


def schemas() -> dict[str, Schema]:
    """Component schemas of every payload."""
    averages = {f"avg_{f}": number("Rounded to 4 decimals.", True) for f in FEATURES}
    track = obj({field.name: track_property(field) for field in FIELDS}, PRIMARY_GENRE_TEXT)
    genre = obj(
        {
            "id": STRING,
            "name": STRING,
            "description": STRING,
            "track_count": INTEGER,
            **averages,
            "updated_at": {
                **TIMESTAMP,
                "description": "When the genre's data last changed (RFC "
                "3339, UTC, e.g. 2026-03-22T00:00:00Z).",
            },
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
    from service.schemas_discovery import discovery_schemas  # it builds on this module's parts

    return {
        "Error": obj({"error": STRING, "status": INTEGER}),
        "Track": track,
        "NeighbourTrack": {
            **track,
            "properties": {**track["properties"], "distance": DISTANCE},
            "required": [*track["required"], "distance"],
            "description": "A track with its distance to the point asked about.",
        },
        "TrackFields": {
            **track,
            "required": ["id"],
            "description": "A track with only the fields asked for with fields=, in that order.",
        },
        "NeighbourTrackFields": {
            **track,
            "properties": {**track["properties"], "distance": DISTANCE},
            "required": ["id", "distance"],
            "description": "A track with only the fields asked for, and its distance.",
        },
        "SimilarMeta": obj(
            {**PAGE_META, "features": FEATURE_LIST, "next": NEXT_PAGE},
            "total counts every candidate: the tracks that pass the filters, without the track "
            "itself and its other releases (same name and artists).",
        ),
        "RecommendationMeta": obj(
            {
                **PAGE_META,
                "features": FEATURE_LIST,
                "seeds": obj(
                    {
                        "tracks": {
                            "type": "array",
                            "items": obj({"id": STRING, "name": STRING, "artists": STRING}),
                        },
                        "genres": {
                            "type": "array",
                            "items": obj({"id": STRING, "name": STRING}),
                        },
                    },
                    "The seeds as resolved.",
                ),
                "target": {
                    "type": "object",
                    "propertyNames": {"enum": list(SIMILARITY_FEATURES)},
                    "additionalProperties": {"type": "number"},
                    "description": "The target point, in the features' own units (4 decimals): "
                    "the mean of the seeds' points with each target_<feature> in its place.",
                },
                "next": NEXT_PAGE,
            },
        ),
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
                    "required": list(DISTRIBUTION_ORDER),
                    "additionalProperties": False,
                    "description": "Buckets are labelled by their lower edge: per cent for 0-1 "
                    "features (0, 10, ... 90), BPM for tempo (10 wide), dB for loudness (5 wide).",
                },
                "top_artists": {
                    "type": "array",
                    "items": obj({"artists": STRING, "track_count": INTEGER}),
                },
                "moods": obj(
                    {mood: INTEGER for mood in MOODS},
                    "Track count per mood (see Track.mood); they sum to the genre's track_count.",
                ),
                "mood_grid": obj(
                    {
                        "energy_buckets": {"type": "array", "items": INTEGER},
                        "valence_buckets": {"type": "array", "items": INTEGER},
                        "counts": {
                            "type": "array",
                            "items": {"type": "array", "items": INTEGER},
                        },
                    },
                    "Track counts on a 10 x 10 grid: counts[i][j] is the number of tracks with "
                    "energy in bucket energy_buckets[i] and valence in bucket valence_buckets[j] "
                    "(buckets labelled by their lower edge in per cent, 10 wide, the last one "
                    "closed).",
                ),
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
        "Facets": {
            "type": "object",
            "propertyNames": {"enum": list(FACET_FIELDS)},
            "additionalProperties": {
                "type": "array",
                "items": obj(
                    {"value": {"type": ["string", "integer", "boolean", "null"]}, "count": INTEGER}
                ),
            },
            "description": "Per requested field, every value with its count among all matching "
            "tracks (zeros included), in value order. A one-valued field's counts sum to "
            "meta.total; genre counts memberships, so a track in two genres counts in both.",
        },
        "Field": field_schema(),
        **discovery_schemas(),
        "Health": obj(
            {
                "status": {
                    "enum": ["ok", "degraded"],
                    "description": "ok: what the pointer names is served; degraded: another "
                    "version is (the reason says why). Nothing served: 503.",
                },
                "reason": STRING,
                "dataset": obj(
                    {
                        "version": STRING,
                        "created_at": {**TIMESTAMP, "type": ["string", "null"]},
                        "schema_version": INTEGER,
                    }
                ),
                "counts": obj({"tracks": INTEGER, "genres": INTEGER, "track_genres": INTEGER}),
            },
            optional=("reason",),
        ),
    }
