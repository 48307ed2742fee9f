"""fields= (issue 18): only the fields asked for, in that order, id always, in every format.

The projection cuts members out of the stored JSON texts (service/projection.py): a Hypothesis
property checks it against json.loads on objects with awkward strings, and the API answers are
checked against the full track objects of the same listing.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from builders import API
from builders import get_json as get
from conftest import assert_canonical_error, write_curated
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import discovery_tracks

from contract.fields import TRACK_FIELDS
from service import create_app
from service.projection import members, projected

SEED = "0000000000000000000001"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    curated = write_curated(tmp_path_factory.mktemp("fields") / "v", discovery_tracks())
    return create_app({"CURATED_DIR": str(Path(curated)), "TESTING": True}).test_client()


def full(client: Any, url: str) -> list[dict[str, Any]]:
    """The listing's tracks with every field (the same URL without fields)."""
    return list(get(client, url)["data"])


@pytest.mark.parametrize(
    ("url", "fields", "keys"),
    [
        ("/tracks?sort=tempo&limit=7", "name,tempo", ["id", "name", "tempo"]),
        ("/tracks?sort=tempo&limit=7", "tempo,id,genres", ["tempo", "id", "genres"]),
        ("/genres/sleep/tracks?limit=5", "camelot,explicit,key_name", ["id", "camelot", "explicit", "key_name"]),
        (f"/tracks/{SEED}/similar?limit=6", "artists", ["id", "artists", "distance"]),
        (f"/recommendations?seed_tracks={SEED}&limit=6", "energy,name", ["id", "energy", "name", "distance"]),
        ("/tracks?limit=3", ",".join(reversed(TRACK_FIELDS)), list(reversed(TRACK_FIELDS))),
    ],
)  # fmt: skip
def test_json_tracks_hold_only_the_fields_asked_for_in_order(
    client: Any, url: str, fields: str, keys: list[str]
) -> None:
    body = get(client, f"{url}&fields={fields}")
    whole = full(client, url)
    assert [t["id"] for t in body["data"]] == [t["id"] for t in whole]
    for track, complete in zip(body["data"], whole, strict=True):
        assert list(track) == keys
        assert track == {key: complete[key] for key in keys}
    assert body["meta"] == get(client, url)["meta"] | {"next": body["meta"]["next"]}


def test_csv_and_ndjson_pages_and_the_export_take_fields(client: Any) -> None:
    whole = full(client, "/tracks?genre=ambient&sort=name&limit=100")
    for url in (
        "/tracks?genre=ambient&sort=name&limit=100",
        "/tracks/export?genre=ambient&sort=name",
    ):
        response = client.get(f"{API}{url}&fields=name,genres,tempo&format=csv")
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0] == ["id", "name", "genres", "tempo"]
        assert rows[1:] == [[t["id"], t["name"], ";".join(t["genres"]), str(t["tempo"])]
                            for t in whole]  # fmt: skip
        lines = client.get(f"{API}{url}&fields=tempo,name&format=ndjson").get_data(as_text=True)
        assert [json.loads(line) for line in lines.splitlines()] == [
            {"id": t["id"], "tempo": t["tempo"], "name": t["name"]} for t in whole
        ]
    similar = client.get(f"{API}/tracks/{SEED}/similar?fields=name&format=csv&limit=3")
    assert similar.get_data(as_text=True).splitlines()[0] == "id,name,distance"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/tracks?fields=name,nope", "'fields' is not a known value, got 'nope'; expected a "
            "comma-separated list of distinct values from: id, name, artists"),
        ("/tracks?fields=name,name", "'fields' repeats name; give each value once"),
        ("/tracks?fields=", "'fields' must not be empty"),
        ("/tracks/export?fields=distance", "'fields' is not a known value, got 'distance'"),
        (f"/tracks/{SEED}/similar?fields=name,,tempo", "'fields' has an empty item"),
    ],
)  # fmt: skip
def test_an_unknown_field_is_a_400_naming_it(client: Any, url: str, message: str) -> None:
    body = assert_canonical_error(client.get(API + url), 400)
    assert message in body["error"]


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['a "quote"', "back\\slash", "comma, [bracket]", "brace}{", '":"', "", "\u2028é"]
)
VALUES = st.one_of(
    TEXT, st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none(), st.lists(TEXT, max_size=3),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(values=st.lists(VALUES, min_size=len(TRACK_FIELDS), max_size=len(TRACK_FIELDS)),
       chosen=st.lists(st.sampled_from(TRACK_FIELDS), unique=True, min_size=1))  # fmt: skip
def test_a_projection_is_the_object_cut_to_its_fields(values: list[Any], chosen: list[str]) -> None:
    track = dict(zip(TRACK_FIELDS, values, strict=True))
    text = json.dumps(track, ensure_ascii=False, separators=(",", ":"))
    assert list(members(text)) == list(TRACK_FIELDS)
    (cut,) = projected([text], tuple(chosen))
    assert json.loads(cut) == {name: track[name] for name in chosen}
    assert list(json.loads(cut)) == chosen
    assert projected([text], None) == [text]
