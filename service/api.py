"""The /api/v1 blueprint: each view parses its arguments, calls a query and wraps the result."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from contract.fields import CATEGORIES, describe_fields
from contract.music import harmonic_matches
from service import params, track_query
from service.compare import comparison
from service.dataset import Dataset, to_json
from service.exports import export_file, export_query, file_name, listing_file
from service.headers import CORS_HEADERS
from service.neighbours import (
    RECOMMEND_PARAMS,
    SIMILAR_PARAMS,
    Answer,
    NeighbourQuery,
    neighbour_query,
    recommend,
    similar,
)
from service.openapi import openapi_document
from service.queries import Listing, list_tracks, track_by_id, tracks_by_ids
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


def listing(
    result: Listing, query: track_query.TrackQuery, stem: str, named: tuple[str, ...] = ()
) -> Response:
    """A track listing from the tracks' JSON texts, with its meta (and facets, if asked), or
    the page as a file named after `stem` (and the query) when a format other than JSON is
    asked for; `named`: the query's fields the stem already says."""
    if query.format != "json":
        name = file_name(stem, dataset().version, query.format, query, named)
        return listing_file(result.texts, query.format, name)
    meta = f'"total":{result.total},"limit":{query.limit},"offset":{query.offset}'
    if result.facets is not None:
        meta += f',"facets":{to_json(result.facets).decode()}'
    return body(f'{{"data":[{",".join(result.texts)}],"meta":{{{meta}}}}}'.encode())


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
    if query.format != "json":
        name = file_name(stem, dataset().version, query.format, query)
        return listing_file(answer.texts, query.format, name, extra=("distance",))
    return body(
        f'{{"data":[{",".join(answer.texts)}],"meta":{to_json(answer.meta).decode()}}}'.encode()
    )


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
    query_args(params.NO_PARAMS)
    return body(dataset().health_body)


@bp.get("/openapi.json")
def openapi() -> Response:
    query_args(params.NO_PARAMS)
    return body(openapi_document(current_app.config["CACHE_MAX_AGE"]))
