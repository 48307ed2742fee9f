"""The OpenAPI parts of issue 18's discovery: the mix path, artists, and paging by cursor.

service/openapi.py lists these endpoints with the others; their payload schemas are in
service/schemas_discovery.py.
"""

from __future__ import annotations

from service.artists import ARTISTS_PARAMS
from service.endpoint import Endpoint
from service.mix import MIX_PARAMS
from service.related import RELATED_PARAMS
from service.schemas import INTEGER, Schema, obj, ref

NEXT: Schema = {
    "type": ["string", "null"],
    "description": "The URL of the next page: this request's query without offset, with a "
    "cursor (also in the Link header, rel=next); null on the last page.",
}
LINK_HEADER: Schema = {
    "Link": {
        "description": 'When there is a next page: <URL of the next page>; rel="next" (RFC 8288), '
        "the URL of meta.next.",
        "schema": {"type": "string"},
    }
}
DISCOVERY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/mix",
        "getMixPath",
        "A mix path: `length` tracks from `from` to `to`, each step the track nearest to its "
        "aim (the point i/(length-1) of the way) that is not used yet, mixes harmonically with "
        "the track before it and is within 6 % of its BPM (or its half or double); the last "
        "step before `to` must also mix into `to`. Takes every /tracks filter for the steps in "
        "between. Deterministic (ties by id).",
        {"type": "array", "items": ref("MixStep")},
        MIX_PARAMS,
        not_found="Unknown from, to, genre, harmonic_to or bpm_of track.",
        meta=ref("MixMeta"),
        unprocessable="No track fits a step of the path: the message names the step and why.",
    ),
    Endpoint(
        "/artists",
        "listArtists",
        "Artists (each name of a track's ';'-separated artists) whose name contains q, most "
        "tracks first (ties by name), with their genres and average features; paged.",
        {"type": "array", "items": ref("Artist")},
        ARTISTS_PARAMS,
        meta=obj({"total": INTEGER, "limit": INTEGER, "offset": INTEGER, "next": NEXT}),
    ),
    Endpoint(
        "/artists/related",
        "listRelatedArtists",
        "Artists related to one: for each of its tracks, the 20 nearest tracks in the "
        "similarity space that do not credit it; each artist of those tracks gets a vote per "
        "appearance; most votes first, ties by name.",
        {"type": "array", "items": ref("RelatedArtist")},
        RELATED_PARAMS,
        not_found="Unknown artist.",
        meta=ref("RelatedMeta"),
    ),
)
