"""The /api/v1 blueprint: each view parses its arguments, calls a query and wraps the result."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from contract.fields import CATEGORIES, describe_fields
from contract.music import harmonic_matches
from service import params, track_query
from service.artists import ARTISTS_PARAMS, list_artists
from service.compare import comparison
from service.cursor import next_url, refuse_with_offset
from service.dataset import Dataset, to_json
from service.exports import export_file, export_query, file_name, listing_file
from service.headers import CORS_HEADERS
from service.mix import mix_path, mix_query
from service.neighbour_query import (
    RECOMMEND_PARAMS,
    SIMILAR_PARAMS,
    NeighbourQuery,
    neighbour_query,
)
from service.neighbours import Answer, recommend, similar
from service.openapi import openapi_document
from service.queries import Listing, list_tracks, track_by_id, tracks_by_ids
from service.related import RELATED_PARAMS, related_artists
from service.reload import request_dataset

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def dataset() -> Dataset:
    """The dataset this request is answered from, the same at every call (service/reload.py)."""
    return request_dataset()


def query_args(specs: tuple[params.Param, ...]) -> dict[str, Any]:
    """The request's query parsed against specs (ParamError -> 400)."""
    if not request.query_string and not any(spec.required for spec in specs):
        return params.parse(specs, {})
    return params.parse(specs, request.args.to_dict(flat=False))


def body(content: bytes) -> Response:
    """A 200 JSON response from bytes that are already serialised."""
    return Response(content, mimetype="application/json", headers=CORS_HEADERS)


def next_page(following: str | None) -> str | None:
    """The URL of the next page of this request's listing, from its cursor (None: none)."""
    if following is None:
        return None
    return next_url(request.path, request.query_string.decode("latin-1"), following)


def linked(response: Response, url: str | None) -> Response:
    """The response with a Link header to the next page, when there is one (RFC 8288)."""
    if url is not None:
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response


def listing(
    result: Listing, query: track_query.TrackQuery, stem: str, named: tuple[str, ...] = ()
) -> Response:
    """A track listing from the tracks' JSON texts, with its meta (and facets, if asked), or
    the page as a file named after `stem` (and the query) when a format other than JSON is
    asked for; `named`: the query's fields the stem already says."""
    url = next_page(result.next_cursor)
    if query.format != "json":
        name = file_name(stem, dataset().version, query.format, query, named)
        return linked(listing_file(result.texts, query.format, name, query.fields), url)
    meta = f'"total":{result.total},"limit":{query.limit},"offset":{result.offset}'
    if result.facets is not None:
        meta += f',"facets":{to_json(result.facets).decode()}'
    meta += f',"next":{to_json(url).decode()}'
    return linked(body(f'{{"data":[{",".join(result.texts)}],"meta":{{{meta}}}}}'.encode()), url)


@bp.get("/stats")
def stats() -> Response:
    query_args(params.NO_PARAMS)
    return body(dataset().stats_body)


@bp.get("/genres")
def genres() -> Response:
    query_args(params.NO_PARAMS)
    return body(dataset().genres_body)


@bp.get("/genres/<genre>")
def genre_detail(genre: str) -> Response:
    query_args(params.NO_PARAMS)
    detail = dataset().genre_bodies.get(genre)
    if detail is None:
        raise params.genre_not_found(genre)
    return body(detail)


@bp.get("/genres/<genre>/tracks")
def genre_tracks(genre: str) -> Response:
    query = track_query.track_query(request.args.to_dict(flat=False), genre=genre)
    return listing(list_tracks(dataset().index, query), query, f"{genre}-tracks-page", ("genre",))


@bp.get("/tracks")
def tracks() -> Response:
    args = request.args.to_dict(flat=False)
    if "ids" in args:
        ids = track_query.batch_ids(args)
        texts, found = tracks_by_ids(dataset().index, ids)
        data = ",".join("null" if text is None else text for text in texts)
        return body(
            f'{{"data":[{data}],"meta":{{"requested":{len(ids)},"found":{found}}}}}'.encode()
        )
    query = track_query.track_query(args)
    return listing(list_tracks(dataset().index, query), query, "tracks-page")


@bp.get("/tracks/export")
def tracks_export() -> Response:
    query = export_query(request.args.to_dict(flat=False))
    stem = f"tracks-{query.genre}" if query.genre else "tracks"
    name = file_name(stem, dataset().version, query.format, query, ("genre",))
    return export_file(dataset().index, query, name)


@bp.get("/tracks/<track_id>")
def track(track_id: str) -> Response:
    query_args(params.NO_PARAMS)
    return body(f'{{"data":{track_by_id(dataset().index, track_id)}}}'.encode())


@bp.get("/tracks/<track_id>/similar")
def similar_tracks(track_id: str) -> Response:
    query = neighbour_query(SIMILAR_PARAMS, request.args.to_dict(flat=False))
    data = dataset()
    return neighbours(
        similar(data.index, data.space, track_id, query), query, f"similar-{track_id}"
    )


@bp.get("/recommendations")
def recommendations() -> Response:
    query = neighbour_query(RECOMMEND_PARAMS, request.args.to_dict(flat=False))
    data = dataset()
    names = {genre_id: genre["name"] for genre_id, genre in data.genres.items()}
    return neighbours(recommend(data.index, data.space, names, query), query, "recommendations")


def neighbours(answer: Answer, query: NeighbourQuery, stem: str) -> Response:
    """A listing of tracks with distances, and its meta; or the page as a file named after stem
    and the query."""
    url = next_page(answer.next_cursor)
    if query.format != "json":
        name = file_name(stem, dataset().version, query.format, query)
        texts = answer.texts
        return linked(listing_file(texts, query.format, name, query.fields, ("distance",)), url)
    meta = to_json({**answer.meta, "next": url}).decode()
    return linked(body(f'{{"data":[{",".join(answer.texts)}],"meta":{meta}}}'.encode()), url)


@bp.get("/mix")
def mix() -> Response:
    data = dataset()
    return body(
        to_json(mix_path(data.index, data.space, mix_query(request.args.to_dict(flat=False))))
    )


@bp.get("/artists")
def artists() -> Response:
    args = query_args(ARTISTS_PARAMS)
    refuse_with_offset(request.args.to_dict(flat=False))
    page = list_artists(dataset().artists, args)
    url = next_page(page.next_cursor)
    meta = to_json(
        {"total": page.total, "limit": args["limit"], "offset": page.offset, "next": url}
    )
    return linked(body(f'{{"data":[{",".join(page.texts)}],"meta":{meta.decode()}}}'.encode()), url)


@bp.get("/artists/related")
def related() -> Response:
    args = query_args(RELATED_PARAMS)
    data = dataset()
    texts, meta = related_artists(data.index, data.space, data.artists, args["name"], args["limit"])
    artist = meta.pop("artist")  # already JSON text
    rest = to_json(meta).decode()[1:]
    return body(f'{{"data":[{",".join(texts)}],"meta":{{"artist":{artist},{rest}}}'.encode())


@bp.get("/compare")
def compare() -> Response:
    args = query_args(params.COMPARE_PARAMS)
    data = dataset()
    payload = comparison(
        data.index, data.genres.get(args["genre"]), args["genre"], args["track_id"]
    )
    return body(to_json({"data": payload}))


def fields_payload() -> dict[str, Any]:
    """The field catalogue as /fields sends it, with the Camelot codes each code mixes with."""
    codes = [code for code in CATEGORIES["camelot"] if code is not None]
    harmonic = {code: list(harmonic_matches(code)) for code in codes}
    fields = describe_fields()
    return {"data": fields, "meta": {"total": len(fields), "harmonic": harmonic}}


FIELDS_BODY = to_json(fields_payload())


@bp.get("/fields")
def fields() -> Response:
    query_args(params.NO_PARAMS)
    return body(FIELDS_BODY)


@bp.get("/health")
def health() -> Response:
    """ok, or degraded with the reason and the version actually served; 503 when nothing is."""
    query_args(params.NO_PARAMS)
    served = dataset()  # Unavailable (503) when nothing can be served
    live = current_app.extensions["kapiko"]
    status = (
        {"status": "ok"}
        if live.current is served and live.status == "ok"
        else {
            "status": "degraded",
            "reason": live.problem or "another version is served than the pointer names",
        }
    )
    return body(to_json({"data": {**status, **served.health}}))


@bp.get("/openapi.json")
def openapi() -> Response:
    query_args(params.NO_PARAMS)
    return body(openapi_document(current_app.config["CACHE_MAX_AGE"]))
