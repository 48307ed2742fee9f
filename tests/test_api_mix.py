"""GET /mix (issue 18): the documented rule recomputed by plain Python over the curated Parquet.

Step i aims at from + (to - from) * i / (length - 1) and takes the nearest unused track (no
other release of a used one) that mixes harmonically and within 6 % of the tempo (its half or
double) with the track before it; the track of step length - 2 must also go before `to`. The
reference (`path`) is written from docs/api.md with tests/reference.py's rules; on the real
data it also reproduces the issue's hand-worked example.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from builders import API
from builders import get_json as get
from conftest import assert_canonical_error, write_curated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Catalogue, discovery_tracks, distance, in_tempo, load, mixes, tick

from service import create_app

APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"
ALONE_WITH_YOU = "0W7brFokN6QtGRNp32RCQP"  # Arz, chill: 9B at 75.5 BPM


def follows(cat: Catalogue, before: str, after: str) -> bool:
    """`after` may follow `before`: harmonically, and within 6 % of its tempo, half or double."""
    one, two = cat.tracks[before], cat.tracks[after]
    return (
        mixes(one["camelot"], two["camelot"])
        and one["tempo"] > 0
        and in_tempo(two["tempo"], one["tempo"])
    )


def path(
    cat: Catalogue, start: str, end: str, length: int, allowed: set[str] | None = None
) -> list[str] | int:
    """The documented path, or the step no track fits."""
    recording = {t: (cat.tracks[t]["name"], cat.tracks[t]["artists"]) for t in cat.ids}
    used = {recording[start], recording[end]}
    steps = [start]
    for step in range(1, length - 1):
        aim = [
            a + (b - a) * step / (length - 1) for a, b in zip(cat.z[start], cat.z[end], strict=True)
        ]
        fits = [t for t in (allowed or cat.ids) if recording[t] not in used
                and follows(cat, steps[-1], t) and (step < length - 2 or follows(cat, t, end))]  # fmt: skip
        if not fits:
            return step
        best = min(fits, key=lambda t: (tick(distance(cat.z[t], aim)), t))
        steps.append(best)
        used.add(recording[best])
    return [*steps, end]


def answer(client: Any, query: dict[str, Any]) -> list[str] | int:
    """The API's path as ids, or the step its 422 names."""
    response = client.get(f"{API}/mix?{urlencode(query)}")
    if response.status_code == 422:
        body = assert_canonical_error(response, 422)
        found = re.search(r"no track fits step (\d+) of the path", body["error"])
        assert found, body["error"]
        return int(found.group(1))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [step["track"]["id"] for step in response.get_json()["data"]]


# ---------------------------------------------------------------- the generated catalogue


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_curated(tmp_path_factory.mktemp("mix") / "v", discovery_tracks(count=90, seed=7))


@pytest.fixture(scope="module")
def cat(curated: Path) -> Catalogue:
    return load(curated)


@pytest.fixture(scope="module")
def client(curated: Path) -> Any:
    return create_app({"CURATED_DIR": str(curated), "TESTING": True}).test_client()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.integers(0, 89), end=st.integers(0, 89), length=st.integers(3, 7),
       genre=st.none() | st.just("ambient"))  # fmt: skip
def test_the_path_is_the_documented_rule(
    client: Any, cat: Catalogue, start: int, end: int, length: int, genre: str | None
) -> None:
    allowed = {t for t in cat.ids if genre in cat.genres[t]} if genre else None
    query = {"from": cat.ids[start], "to": cat.ids[end], "length": length}
    expected = path(cat, cat.ids[start], cat.ids[end], length, allowed)
    assert answer(client, query | ({"genre": genre} if genre else {})) == expected


def test_some_paths_are_found_and_each_step_says_why_it_fits(client: Any, cat: Catalogue) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    ok = document["paths"]["/mix"]["get"]["responses"]["200"]["content"]["application/json"]
    validator = jsonschema.Draft202012Validator(
        {**ok["schema"], "components": document["components"]}
    )
    found = 0
    for start in cat.ids[:30]:
        for end in cat.ids[30:60]:
            response = client.get(f"{API}/mix?from={start}&to={end}&length=4")
            if response.status_code != 200:
                continue
            found += 1
            body = response.get_json()
            steps = body["data"]
            assert [s["step"] for s in steps] == [0, 1, 2, 3]
            assert steps[0]["key"] is None and steps[0]["tempo"] is None
            assert steps[0]["distance"] == steps[-1]["distance"] == 0.0
            for before, after in itertools.pairwise(steps):
                assert follows(cat, before["track"]["id"], after["track"]["id"])
                assert after["key"]["from"] == before["track"]["camelot"]
                assert after["tempo"]["to"] == after["track"]["tempo"]
                assert after["tempo"]["relation"] in ("same tempo", "half time", "double time")
                assert after["key"]["relation"] in ("same key", "one step up the wheel (+1)",
                    "one step down the wheel (-1)", "relative major", "relative minor")  # fmt: skip
            assert body["meta"]["from"]["id"] == start and body["meta"]["length"] == 4
            validator.validate(body)  # the documented schema (a tiny catalogue has no path)
    assert found > 10


BAD = [
    ("/mix?to=0000000000000000000001", 400, "query parameter 'from' is required"),
    ("/mix?from=0000000000000000000001&to=0000000000000000000002&length=2", 400,
        "'length' is out of range, got 2; expected an integer from 3 to 30"),
    ("/mix?from=0000000000000000000001&to=0000000000000000000002&length=31", 400, "'length'"),
    ("/mix?from=0000000000000000000999&to=0000000000000000000002", 404,
        "Track not found: '0000000000000000000999' (from)"),
    ("/mix?from=0000000000000000000001&to=0000000000000000000999", 404, "(to)"),
    ("/mix?from=0000000000000000000001&to=0000000000000000000002&genre=jazz", 404,
        "Genre not found: 'jazz'"),
    ("/mix?from=0000000000000000000001&to=0000000000000000000002&sort=name", 400,
        "unknown query parameter 'sort'"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD)
def test_bad_mix_requests(client: Any, cat: Catalogue, url: str, status: int, message: str) -> None:
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]


def test_a_beatless_start_is_a_422_naming_step_1(client: Any, cat: Catalogue) -> None:
    beatless = next(t for t in cat.ids if cat.tracks[t]["tempo"] == 0)
    response = client.get(f"{API}/mix?from={beatless}&to={cat.ids[0]}&length=5")
    body = assert_canonical_error(response, 422)
    assert body["error"].startswith(
        "no track fits step 1 of the path (0 is 'from', 4 is 'to'): the track before it, "
        f"'{cat.tracks[beatless]['name']}', has tempo 0 (no beat), so no track can follow it"
    )


# ---------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def real(real_curated_dir: Path) -> Catalogue:
    return load(real_curated_dir)


@pytest.fixture(scope="module")
def real_client(real_app: Any) -> Any:
    return real_app.test_client()


@pytest.mark.realdata
def test_the_issue_s_example_apocalypse_to_a_far_chill_track(
    real_client: Any, real: Catalogue
) -> None:
    body = get(real_client, f"/mix?from={APOCALYPSE}&to={ALONE_WITH_YOU}&length=8")
    tracks = [step["track"] for step in body["data"]]
    assert [t["camelot"] for t in tracks] == ["7B", "8B", "8B", "9B", "10B", "9B", "9B", "9B"]
    assert round(tracks[0]["tempo"]) == 94 and round(tracks[-1]["tempo"]) == 76
    for before, after in itertools.pairwise(tracks):
        assert abs(after["tempo"] - before["tempo"]) <= before["tempo"] * 0.06
    assert [t["id"] for t in tracks] == path(real, APOCALYPSE, ALONE_WITH_YOU, 8)
    assert body == get(real_client, f"/mix?from={APOCALYPSE}&to={ALONE_WITH_YOU}&length=8")


@pytest.mark.realdata
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.integers(0, 9430), end=st.integers(0, 9430), length=st.integers(3, 12),
       filtered=st.booleans())  # fmt: skip
def test_real_paths_are_the_documented_rule(
    real_client: Any, real: Catalogue, start: int, end: int, length: int, filtered: bool
) -> None:
    allowed = {t for t in real.ids if real.tracks[t]["energy"] <= 0.5} if filtered else None
    query = {"from": real.ids[start], "to": real.ids[end], "length": length}
    query |= {"max_energy": 0.5} if filtered else {}
    assert answer(real_client, query) == path(real, real.ids[start], real.ids[end], length, allowed)
