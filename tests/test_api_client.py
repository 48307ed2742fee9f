"""A typed Python client generated from the served OpenAPI document, as an app developer would
(openapi-python-client), calling every endpoint of a real gunicorn, list parameters included.

Such clients send a list as the parameter repeated (mood=calm&mood=happy), whatever the
document's `explode: false` says; the service takes both forms (service/params.py).
"""

from __future__ import annotations

import importlib
import json
import keyword
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from servers import Served, gunicorn, request, wait_for

PACKAGE = "kapiko_generated_client"  # a name no other module of the suite has
TRACK = "0000000000000000000001"  # conftest.TINY_TRACKS' track 1 (the examples' is not there)


# What an operation needs beyond its required parameters (a rule across parameters).
NEEDS: dict[str, dict[str, Any]] = {
    "/recommendations": {"seed_genres": ["ambient"]},
    "/mix": {"from_": f"{1:0>22}", "to": f"{6:0>22}", "length": 3},
}
# The six tracks hold no mix path: the documented 422, which the client parses as an Error.
STATUS = {"/mix": 422}


def tid(n: int) -> str:
    return f"{n:0>22}"


@pytest.fixture(scope="module")
def served(tiny_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with gunicorn(tiny_curated_dir, tmp_path_factory.mktemp("client-server")) as server:
        yield server


@pytest.fixture(scope="module")
def document(served: Served) -> dict[str, Any]:
    status, _, body = request(f"{served.base}/api/v1/openapi.json")
    assert status == 200
    return dict(json.loads(body))


@pytest.fixture(scope="module")
def generated(
    served: Served, document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The client package generated from the served document, importable while the module runs."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(document))
    command = [
        Path(sys.executable).with_name("openapi-python-client"), "generate", "--path",
        "openapi.json", "--meta", "none", "--output-path", PACKAGE,
    ]  # fmt: skip
    # Its post-hooks format the code with ruff, found on the PATH beside this interpreter.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(
        command, cwd=folder, env={**os.environ, "PATH": path}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every schema and response was generated
    sys.path.insert(0, str(folder))
    try:
        yield folder / PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def client(generated: Path, served: Served) -> Any:
    package = importlib.import_module(PACKAGE)
    return package.Client(base_url=f"{served.base}/api/v1", raise_on_unexpected_status=True)


def operations(generated: Path) -> dict[str, ModuleType]:
    """Each generated operation module by the path it requests (its URL template)."""
    found = {}
    for path in sorted((generated / "api" / "default").glob("*.py")):
        url = re.search(r'"url": "([^"]+)"', path.read_text())
        if url:
            found[url.group(1)] = importlib.import_module(f"{PACKAGE}.api.default.{path.stem}")
    return found


def model(name: str) -> Any:
    """A generated model or enum class by its module's name."""
    module = importlib.import_module(f"{PACKAGE}.models.{name}")
    return next(
        v for k, v in vars(module).items() if k.replace("_", "").lower() == name.replace("_", "")
    )


def as_sent(parsed: Any) -> Any:
    """A parsed body back as JSON; the client writes a UTC time with +00:00 where the API
    writes Z (RFC 3339 both, the same instant)."""
    return json.loads(json.dumps(parsed.to_dict()).replace('+00:00"', 'Z"'))


def test_the_client_calls_every_endpoint_with_the_document_s_examples(
    generated: Path, client: Any, document: dict[str, Any]
) -> None:
    """Every operation, its required parameters from their examples: 200, and a parsed body."""
    modules = operations(generated)
    assert set(modules) == set(document["paths"])
    for path, item in document["paths"].items():
        parameters = item["get"]["parameters"]
        # the generated client names a parameter that is a Python keyword with a trailing _
        arguments = {
            p["name"] + ("_" if keyword.iskeyword(p["name"]) else ""): p["example"]
            for p in parameters
            if p["required"]
        }
        arguments |= {"track_id": TRACK} if "track_id" in arguments else {}
        arguments |= NEEDS.get(path, {})
        response = modules[path].sync_detailed(client=client, **arguments)
        assert response.status_code == STATUS.get(path, 200), (path, response.content)
        if path in STATUS:
            assert as_sent(response.parsed) == json.loads(response.content), path
            continue
        ok = item["get"]["responses"]["200"]["content"]
        if "application/json" in ok and path != "/openapi.json":
            assert as_sent(response.parsed) == json.loads(response.content), path
        else:  # a file, or the document itself: the body as served
            assert response.content


def test_list_parameters_go_out_repeated_and_come_back_as_the_comma_form(
    generated: Path, client: Any, served: Served
) -> None:
    calls = operations(generated)
    mood, facet = model("list_tracks_mood_item"), model("list_tracks_facets_item")
    features = model("list_similar_tracks_features_item")
    cases = [
        (
            calls["/tracks"].sync_detailed(
                client=client, mood=[mood.SAD, mood.TENSE], key=[5, 0], facets=[facet.MOOD]
            ),
            "/tracks?mood=sad,tense&key=5,0&facets=mood",
        ),
        (
            calls["/genres/{genre}/tracks"].sync_detailed(
                "piano", client=client, camelot=["8A", "7B", "1B"]
            ),
            "/genres/piano/tracks?camelot=8A,7B,1B",
        ),
        (
            calls["/tracks/{track_id}/similar"].sync_detailed(
                TRACK, client=client, features=[features.ENERGY, features.TEMPO]
            ),
            f"/tracks/{TRACK}/similar?features=energy,tempo",
        ),
        (
            calls["/recommendations"].sync_detailed(
                client=client, seed_genres=["ambient", "piano"], seed_tracks=[tid(3), tid(5)]
            ),
            f"/recommendations?seed_genres=ambient,piano&seed_tracks={tid(3)},{tid(5)}",
        ),
    ]
    for response, url in cases:
        assert response.status_code == 200, response.content
        expected = json.loads(request(f"{served.base}/api/v1{url}")[2])
        assert as_sent(response.parsed) == expected
        assert expected["data"]
    # The access log shows the lists went out as the parameter repeated.
    repeated = ("mood=sad&mood=tense", "key=5&key=0", "seed_genres=ambient&seed_genres=piano")
    assert wait_for(lambda: all(form in served.log.read_text() for form in repeated))


def test_a_batch_by_ids_from_the_generated_client(generated: Path, client: Any) -> None:
    """A batch takes `ids` alone, and the generated function fills in the listing's defaults
    (sort, limit, offset, format): a caller passes UNSET for them, as the README says."""
    types = importlib.import_module(f"{PACKAGE}.types")
    listing = operations(generated)["/tracks"]
    asked = [tid(4), tid(99), tid(1)]
    unset = dict.fromkeys(("sort", "limit", "offset", "format_"), types.UNSET)
    response = listing.sync_detailed(client=client, ids=asked, **unset)
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert [track and track["id"] for track in body["data"]] == [tid(4), None, tid(1)]
    assert body["meta"] == {"requested": 3, "found": 2}
    refused = listing.sync_detailed(client=client, ids=asked)  # the defaults sent as well
    assert refused.status_code == 400
    assert "'ids' cannot be combined with other parameters" in json.loads(refused.content)["error"]
