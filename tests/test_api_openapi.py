"""GET /api/v1/openapi.json: an OpenAPI 3.1 document of every route, parameter and response."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service import params
from service.openapi import ENDPOINTS

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


def test_every_route_is_documented(tiny_app: Any, document: dict[str, Any]) -> None:
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API))
        for rule in tiny_app.url_map.iter_rules()
    }
    assert routes == set(document["paths"])
    for rule in tiny_app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API))
        documented = {method.upper() for method in document["paths"][path]}
        assert documented == rule.methods - {"HEAD", "OPTIONS"}  # type: ignore[operator]
        for name in rule.arguments:
            assert name in {p["name"] for p in document["paths"][path]["get"]["parameters"]}


@pytest.mark.parametrize(
    ("path", "specs"),
    [
        ("/tracks", params.TRACKS_PARAMS),
        ("/genres/{genre}/tracks", params.GENRE_TRACKS_PARAMS),
        ("/compare", params.COMPARE_PARAMS),
        ("/stats", params.NO_PARAMS),
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
        schema = documented[spec.name]["schema"]
        assert schema["type"] == spec.kind
        assert documented[spec.name]["required"] == spec.required
        assert schema.get("minimum") == spec.minimum and schema.get("maximum") == spec.maximum


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
    ("/tracks/{track_id}", "/tracks/0000000000000000000004"),
    ("/compare", "/compare?track_id=0000000000000000000006&genre=ambient"),
    ("/health", "/health"),
]


@pytest.mark.parametrize(("path", "url"), RESPONSES)
def test_responses_match_their_documented_schema(
    tiny_app: Any, document: dict[str, Any], path: str, url: str
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    root = {**schema["schema"], "components": document["components"]}
    body = tiny_app.test_client().get(API + url).get_json()
    jsonschema.Draft202012Validator(root).validate(body)


def test_errors_match_the_documented_error_schema(tiny_app: Any, document: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    for url in ("/tracks?limit=0", "/genres/jazz", "/nope"):
        jsonschema.Draft202012Validator(root).validate(tiny_app.test_client().get(API + url).json)


def test_schemas_are_closed_enough_to_catch_a_missing_field(document: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = {"$ref": "#/components/schemas/Track", "components": document["components"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(root).validate({"id": "0" * 22})
