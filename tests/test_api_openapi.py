"""GET /api/v1/openapi.json: an OpenAPI 3.1 document of every route, parameter and response."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import jsonschema
import pytest
from conftest import PROJECT_ROOT

from service import params, track_query
from service.artists import ARTISTS_PARAMS
from service.exports import EXPORT_PARAMS
from service.mix import MIX_PARAMS
from service.neighbour_query import RECOMMEND_PARAMS, SIMILAR_PARAMS
from service.openapi import ENDPOINTS
from service.related import RELATED_PARAMS

API = "/api/v1"


@pytest.fixture(scope="module")
def document(tiny_app: Any) -> dict[str, Any]:
    response = tiny_app.test_client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return dict(response.get_json())


def test_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": API}]
    for text in ("percentile", "primary genre", "ETag", "Access-Control-Allow-Origin", "405"):
        assert text in document["info"]["description"]
    assert "max-age=300;" in document["info"]["description"]


def test_document_states_the_configured_cache_max_age(tiny_curated_dir: Any) -> None:
    from service import create_app

    app = create_app({"CURATED_DIR": str(tiny_curated_dir), "CACHE_MAX_AGE": 60})
    client = app.test_client()
    description = client.get(f"{API}/openapi.json").get_json()["info"]["description"]
    assert "max-age=60;" in description and "max-age=300" not in description
    assert client.get(f"{API}/stats").headers["Cache-Control"] == "public, max-age=60"


def test_every_route_is_documented(tiny_app: Any, document: dict[str, Any]) -> None:
    api_rules = [rule for rule in tiny_app.url_map.iter_rules() if rule.rule.startswith(API)]
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule.removeprefix(API)) for r in api_rules}
    assert routes == set(document["paths"])
    for rule in api_rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API))
        documented = {method.upper() for method in document["paths"][path]}
        assert documented == rule.methods - {"HEAD", "OPTIONS"}  # type: ignore[operator]
        for name in rule.arguments:
            assert name in {p["name"] for p in document["paths"][path]["get"]["parameters"]}


@pytest.mark.parametrize(
    ("path", "specs"),
    [
        ("/tracks", (*track_query.TRACKS_PARAMS, track_query.IDS_PARAM)),
        ("/genres/{genre}/tracks", track_query.GENRE_TRACKS_PARAMS),
        ("/tracks/export", EXPORT_PARAMS),
        ("/compare", params.COMPARE_PARAMS),
        ("/stats", params.NO_PARAMS),
        ("/mix", MIX_PARAMS),
        ("/artists", ARTISTS_PARAMS),
        ("/artists/related", RELATED_PARAMS),
        ("/tracks/{track_id}/similar", SIMILAR_PARAMS),
        ("/recommendations", RECOMMEND_PARAMS),
    ],
)
def test_every_query_parameter_is_documented(
    document: dict[str, Any], path: str, specs: tuple[params.Param, ...]
) -> None:
    documented = {
        p["name"]: p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"
    }
    assert list(documented) == [spec.name for spec in specs]
    for spec in specs:
        parameter = documented[spec.name]
        schema = parameter["schema"]["items"] if spec.many else parameter["schema"]
        assert schema["type"] == spec.kind
        assert parameter["required"] == spec.required
        assert schema.get("minimum") == spec.minimum and schema.get("maximum") == spec.maximum
        if spec.many:  # a comma-separated list: form style, not exploded
            assert (parameter["style"], parameter["explode"]) == ("form", False)
            assert parameter["schema"]["type"] == "array"


FILE_TYPES = {"text/csv", "application/x-ndjson"}


@pytest.mark.parametrize(
    ("path", "last_columns"),
    [
        ("/tracks", "explicit,source"),
        ("/genres/{genre}/tracks", "explicit,source"),
        ("/tracks/{track_id}/similar", "source,distance"),
        ("/recommendations", "source,distance"),
    ],
)
def test_track_listings_document_their_file_formats(
    document: dict[str, Any], path: str, last_columns: str
) -> None:
    operation = document["paths"][path]["get"]
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == {"application/json", *FILE_TYPES}
    assert "Content-Disposition" in ok["headers"]
    assert f",{last_columns}. " in ok["content"]["text/csv"]["schema"]["description"]
    (format_param,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert format_param["schema"]["enum"] == ["json", "csv", "ndjson", "spreadsheet"]
    assert format_param["schema"]["default"] == "json"
    assert "format=csv" in document["info"]["description"]


def test_the_export_is_documented_as_files_without_a_page(document: dict[str, Any]) -> None:
    operation = document["paths"]["/tracks/export"]["get"]
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == FILE_TYPES
    assert "id,name,artists,album" in ok["content"]["text/csv"]["schema"]["description"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"genre", "mood", "min_energy", "sort", "format"} <= names
    assert not names & {"limit", "offset", "facets", "ids"}
    (format_param,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert format_param["schema"]["enum"] == ["csv", "ndjson", "spreadsheet"]


def test_every_operation_documents_its_errors(document: dict[str, Any]) -> None:
    for endpoint in ENDPOINTS:
        responses = document["paths"][endpoint.path]["get"]["responses"]
        assert {"200", "304", "400", "500"} <= set(responses)
        assert ("404" in responses) == bool(endpoint.not_found)
        for status in ("400", "500", *(["404"] if endpoint.not_found else [])):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}


RESPONSES = [
    ("/stats", "/stats"),
    ("/genres", "/genres"),
    ("/genres/{genre}", "/genres/ambient"),
    ("/genres/{genre}/tracks", "/genres/sleep/tracks?sort=name"),
    ("/tracks", "/tracks?artist=eno"),
    (
        "/tracks",
        "/tracks?mood=sad,tense&facets=mood,key,camelot,mode,time_signature,explicit,genre",
    ),
    ("/tracks", "/tracks?ids=0000000000000000000004,0000000000000000000099"),
    ("/genres/{genre}/tracks", "/genres/piano/tracks?harmonic_to=0000000000000000000005"),
    ("/tracks/{track_id}", "/tracks/0000000000000000000004"),
    ("/compare", "/compare?track_id=0000000000000000000006&genre=ambient"),
    ("/fields", "/fields"),
    ("/health", "/health"),
    ("/tracks", "/tracks?limit=2&fields=tempo,name&max_per_artist=1&bpm=60"),
    ("/genres/{genre}/tracks", "/genres/ambient/tracks?limit=1&sort=energy"),
    ("/tracks/{track_id}/similar", "/tracks/0000000000000000000001/similar?limit=2"),
    ("/tracks/{track_id}/similar",
     "/tracks/0000000000000000000001/similar?fields=name&avoid_tracks=0000000000000000000005"),
    ("/recommendations", "/recommendations?seed_tracks=0000000000000000000001&limit=1"),
    ("/artists", "/artists?q=e&limit=2"),
    ("/artists/related", "/artists/related?name=Nils%20Frahm"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "url"), RESPONSES)
def test_responses_match_their_documented_schema(
    tiny_app: Any, document: dict[str, Any], path: str, url: str
) -> None:
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    root = {**schema["schema"], "components": document["components"]}
    response = tiny_app.test_client().get(API + url)
    assert response.status_code == 200, response.get_data(as_text=True)
    jsonschema.Draft202012Validator(root).validate(response.get_json())


def test_listings_document_the_link_header_and_the_mix_its_422(document: dict[str, Any]) -> None:
    for path in ("/tracks", "/genres/{genre}/tracks", "/tracks/{track_id}/similar",
                 "/recommendations", "/artists"):  # fmt: skip
        assert "Link" in document["paths"][path]["get"]["responses"]["200"]["headers"]
    assert "422" in document["paths"]["/mix"]["get"]["responses"]
    assert "422" not in document["paths"]["/tracks"]["get"]["responses"]


def test_errors_match_the_documented_error_schema(tiny_app: Any, document: dict[str, Any]) -> None:
    root = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    for url in ("/tracks?limit=0", "/genres/jazz", "/nope"):
        jsonschema.Draft202012Validator(root).validate(tiny_app.test_client().get(API + url).json)


def test_schemas_are_closed_enough_to_catch_a_missing_field(
    tiny_app: Any, document: dict[str, Any]
) -> None:
    root = {"$ref": "#/components/schemas/Track", "components": document["components"]}
    validator = jsonschema.Draft202012Validator(root)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"id": "0" * 22})
    track = tiny_app.test_client().get(f"{API}/tracks/0000000000000000000004").get_json()["data"]
    validator.validate(track)
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        validator.validate({**track, "camelott": "8A"})  # a misspelt or undocumented field


def test_every_object_schema_is_closed(document: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["components"]["schemas"])
    walk({path: item["get"]["responses"]["200"] for path, item in document["paths"].items()})


# ---------------------------------------------------------------- what a linter asks of it
# (`make lint` runs Redocly CLI's recommended rules, warnings as errors, on this document.)
def test_the_api_is_keyless_once_for_every_operation(document: dict[str, Any]) -> None:
    assert document["security"] == []
    assert all("security" not in item["get"] for item in document["paths"].values())


def test_the_licence_is_the_project_s(document: dict[str, Any]) -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert document["info"]["license"] == {"name": project["license"], "identifier": "MIT"}
    assert "Maharshi Pandya" in document["info"]["description"]  # the data's author


def nodes(node: Any) -> Any:
    """Every dict and list inside a JSON document, the node itself first."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from nodes(child)


def test_every_component_is_used_and_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = {n["$ref"] for n in nodes(document) if isinstance(n, dict) and "$ref" in n}
    defined = {
        f"#/components/{kind}/{name}"
        for kind, members in document["components"].items()
        for name in members
    }
    assert refs == defined


def test_every_required_property_is_defined(document: dict[str, Any]) -> None:
    for node in nodes(document):
        if isinstance(node, dict) and isinstance(node.get("required"), list):
            assert set(node["required"]) <= set(node.get("properties", {})), node


def test_the_document_is_what_its_own_endpoint_says_it_is(document: dict[str, Any]) -> None:
    ok = document["paths"]["/openapi.json"]["get"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(schema).validate(document)
