"""JSON Schemas of issue 18's payloads: artists, related artists, mix steps and their meta."""

from __future__ import annotations

from contract.fields import FEATURES, SIMILARITY_FEATURES
from service.schemas import DISTANCE, INTEGER, NULLABLE_STRING, STRING, Schema, number, obj, ref

TRACK_BRIEF = obj({"id": STRING, "name": STRING, "artists": STRING})


def discovery_schemas() -> dict[str, Schema]:
    """The component schemas of /artists, /artists/related and /mix."""
    artist = obj(
        {
            "name": STRING,
            "track_count": INTEGER,
            "genres": {"type": "array", "items": STRING},
            **{f"avg_{f}": number("Over the artist's tracks, 4 decimals.") for f in FEATURES},
        },
        "An artist: one name of a track's ';'-separated artists (spaces around it trimmed), "
        "its number of tracks, every genre of them in catalogue order, and their averages.",
    )
    votes = {"type": "integer", "minimum": 1, "description": "Appearances near its tracks."}
    return {
        "Artist": artist,
        "RelatedArtist": {
            **artist,
            "properties": {**artist["properties"], "votes": votes},
            "required": [*artist["required"], "votes"],
            "description": "An artist with its votes.",
        },
        "RelatedMeta": obj(
            {
                "artist": ref("Artist"),
                "neighbours_per_track": INTEGER,
                "total": INTEGER,
                "limit": INTEGER,
            },
            "total counts every artist with a vote.",
        ),
        "MixStep": obj(
            {
                "step": INTEGER,
                "track": ref("Track"),
                "aim": _point("The point this step aims at, in the features' own units."),
                "distance": {**DISTANCE, "description": "From the track to its aim, 4 decimals."},
                "key": {
                    "anyOf": [
                        obj(
                            {
                                "from": NULLABLE_STRING,
                                "to": NULLABLE_STRING,
                                "relation": NULLABLE_STRING,
                            }
                        ),
                        {"type": "null"},
                    ],
                    "description": "Camelot codes of the track before and this one, and how "
                    "they mix (same key, one step up or down the wheel, relative major or "
                    "minor); null for the first step.",
                },
                "tempo": {
                    "anyOf": [
                        obj(
                            {
                                "from": {"type": "number"},
                                "to": {"type": "number"},
                                "relation": NULLABLE_STRING,
                                "change_percent": {"type": ["number", "null"]},
                            }
                        ),
                        {"type": "null"},
                    ],
                    "description": "Tempos of the track before and this one, whether this is "
                    "the same tempo, half or double time, and its change from that in per "
                    "cent; null for the first step.",
                },
            },
            "One step of a mix path.",
        ),
        "MixMeta": obj(
            {
                "from": TRACK_BRIEF,
                "to": TRACK_BRIEF,
                "length": INTEGER,
                "features": {"type": "array", "items": {"enum": list(SIMILARITY_FEATURES)}},
                "bpm_tolerance": {"type": "number"},
            }
        ),
    }


def _point(description: str) -> Schema:
    return {
        "type": "object",
        "propertyNames": {"enum": list(SIMILARITY_FEATURES)},
        "additionalProperties": {"type": "number"},
        "description": description,
    }
