"""service/params.py: every query parameter parsed explicitly, bad input named in the error."""

from __future__ import annotations

from typing import Any

import pytest

from service.filters import FILTER_PARAMS
from service.params import COMPARE_PARAMS, NO_PARAMS, SORTS, ParamError, parse
from service.track_query import TrackQuery, batch_ids, track_query


def q(**values: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def f(**filters: object) -> TrackQuery:
    """A TrackQuery with just these filters."""
    return TrackQuery(filters=filters)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, TrackQuery()),
        (q(limit="100", offset="0"), TrackQuery(limit=100)),
        (q(limit="1", offset="12345"), TrackQuery(limit=1, offset=12345)),
        (q(min_energy="0", max_energy="1"), f(min_energy=0.0, max_energy=1.0)),
        (q(min_energy=".5", max_energy="0.50"), f(min_energy=0.5, max_energy=0.5)),
        (q(min_energy="5e-1"), f(min_energy=0.5)),
        (q(min_tempo="0", max_tempo="250"), f(min_tempo=0.0, max_tempo=250.0)),
        (q(key="-1"), f(key=(-1,))),
        (q(key="+11", mode="0"), f(key=(11,), mode=0)),
        (q(key="0,5,-1"), f(key=(0, 5, -1))),
        (
            q(genre="ambient", artist="Brian Eno"),
            TrackQuery(genre="ambient", filters={"artist": "Brian Eno"}),
        ),
        (q(sort="energy_asc"), TrackQuery(sort="energy_asc")),
        (q(sort="name"), TrackQuery(sort="name")),
        (q(sort="name_desc"), TrackQuery(sort="name_desc")),
        (q(sort="duration_ms_asc"), TrackQuery(sort="duration_ms_asc")),
        (q(min_valence="0.5", max_acousticness="0.25"), f(min_valence=0.5, max_acousticness=0.25)),
        (q(min_loudness="-60", max_loudness="5"), f(min_loudness=-60.0, max_loudness=5.0)),
        (
            q(min_popularity="10", max_duration_ms="300000"),
            f(min_popularity=10, max_duration_ms=300000),
        ),
        (q(explicit="true"), f(explicit=True)),
        (q(explicit="false"), f(explicit=False)),
        (q(time_signature="3"), f(time_signature=3)),
        (q(mood="calm,happy"), f(mood=("calm", "happy"))),
        (q(mood=["calm", "happy"]), f(mood=("calm", "happy"))),  # repeated: a generated client's
        (q(mood=["calm,happy", "sad"]), f(mood=("calm", "happy", "sad"))),  # both forms at once
        (q(key=["0", "5,-1"]), f(key=(0, 5, -1))),
        (q(facets=["mood", "genre"]), TrackQuery(facets=("mood", "genre"))),
        (q(camelot="8A,12B,1A"), f(camelot=("8A", "12B", "1A"))),
        (q(harmonic_to="0yc6Gst2xkRu0eMLeRMGCX"), f(harmonic_to="0yc6Gst2xkRu0eMLeRMGCX")),
        (q(facets="mood,genre"), TrackQuery(facets=("mood", "genre"))),
    ],
)
def test_track_query_accepts(query: dict[str, list[str]], expected: TrackQuery) -> None:
    assert track_query(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (q(limit="0"), "'limit' is out of range, got 0; expected an integer from 1 to 100"),
        (q(limit="101"), "'limit' is out of range"),
        (q(limit="abc"), "'limit' must be an integer, got 'abc'"),
        (q(limit="1.0"), "'limit' must be an integer"),
        (q(limit="1_0"), "'limit' must be an integer"),
        (q(limit=" 5"), "'limit' must be an integer"),
        (q(limit="\u0665"), "'limit' must be an integer"),  # Arabic-Indic digit five
        (q(limit=""), "'limit' must not be empty"),
        (q(offset="-1"), "'offset' is out of range, got -1; expected an integer >= 0"),
        (q(min_energy="1.5"), "'min_energy' is out of range, got 1.5; expected a number from 0"),
        (q(max_energy="-0.1"), "'max_energy' is out of range"),
        (q(min_energy="nan"), "'min_energy' must be a number, got 'nan'"),
        (q(min_energy="inf"), "'min_energy' must be a number"),
        (q(min_energy="1e999"), "'min_energy' must be a number"),
        (q(min_energy="0x1"), "'min_energy' must be a number"),
        (q(max_tempo="251"), "'max_tempo' is out of range, got 251; expected a number from 0 to 250"),
        (q(min_tempo="-5"), "'min_tempo' is out of range"),
        (q(key="12"), "'key' is out of range, got 12; expected a comma-separated list of distinct "
            "values, each an integer from -1 to 11"),
        (q(key="-2"), "'key' is out of range"),
        (q(key="C"), "'key' must be an integer, got 'C'"),
        (q(mode="2"), "'mode' is out of range, got 2; expected an integer from 0 to 1"),
        (q(mode="major"), "'mode' must be an integer"),
        (q(sort="loud"), "'sort' is not a known value, got 'loud'; allowed values: "
            "popularity, energy, energy_asc, tempo, tempo_asc, valence, name, name_desc, "
            "popularity_asc, duration_ms, duration_ms_asc, valence_asc, loudness, loudness_asc, "
            "acousticness, acousticness_asc,"),
        (q(sort="key"), "'sort' is not a known value"),
        (q(min_valence="1.01"), "'min_valence' is out of range, got 1.01; expected a number from 0 to 1"),
        (q(min_loudness="-61"), "'min_loudness' is out of range, got -61; expected a number from -60 to 5"),
        (q(min_popularity="0.5"), "'min_popularity' must be an integer, got '0.5'"),
        (q(max_duration_ms="-1"), "'max_duration_ms' is out of range, got -1; expected an integer >= 0"),
        (q(min_danceability="0.9", max_danceability="0.1"), "'min_danceability' (0.9) is greater "
            "than 'max_danceability' (0.1)"),
        (q(min_popularity="90", max_popularity="10"), "'min_popularity' (90) is greater than "
            "'max_popularity' (10)"),
        (q(explicit="yes"), "'explicit' must be true or false, got 'yes'"),
        (q(explicit="True"), "'explicit' must be true or false"),
        (q(time_signature="8"), "'time_signature' is out of range, got 8; expected an integer from 0 to 7"),
        (q(time_signature="3,4"), "'time_signature' must be an integer, got '3,4'"),
        (q(mode="0,1"), "'mode' must be an integer, got '0,1'"),
        (q(key="0,,5"), "'key' has an empty item in '0,,5'"),
        (q(key="0,"), "'key' has an empty item"),
        (q(key="5,5"), "'key' repeats 5; give each value once"),
        (q(key="0,12"), "'key' is out of range, got 12"),
        (q(mood="angry"), "'mood' is not a known value, got 'angry'; expected a comma-separated "
            "list of distinct values from: happy, tense, sad, calm"),
        (q(mood="Calm"), "'mood' is not a known value, got 'Calm'"),
        (q(mood="calm,calm"), "'mood' repeats calm"),
        (q(camelot="13A"), "'camelot' is malformed, got '13A'; expected a comma-separated list of "
            "distinct values, each a Camelot code: 1A-12A (minor) or 1B-12B (major)"),
        (q(camelot="8a"), "'camelot' is malformed, got '8a'"),
        (q(camelot="0B"), "'camelot' is malformed"),
        (q(camelot="08A"), "'camelot' is malformed"),
        (q(harmonic_to="nope"), "'harmonic_to' is malformed, got 'nope'; expected a 22-character"),
        (q(facets="artist"), "'facets' is not a known value, got 'artist'; expected a "
            "comma-separated list of distinct values from: mood, key, mode, camelot, "
            "time_signature, explicit, genre"),
        (q(facets="mood,mood"), "'facets' repeats mood"),
        (q(mood=["calm", "calm"]), "'mood' repeats calm; give each value once"),
        (q(mood=["calm,sad", "calm"]), "'mood' repeats calm; give each value once"),
        (q(mood=["calm", ""]), "'mood' has an empty item in 'calm,'"),
        (q(key=["1", "x"]), "'key' must be an integer, got 'x'"),
        (q(sort=["energy", "energy"]), "'sort' is given 2 times; give it once"),
        (q(min_energy=["0.1", "0.2"]), "'min_energy' is given 2 times; give it once"),
        (q(ids="0yc6Gst2xkRu0eMLeRMGCX"), "unknown query parameter 'ids'"),
        (q(sort="Energy"), "'sort' is not a known value"),
        (q(genre=""), "'genre' must not be empty"),
        (q(artist=""), "'artist' must not be empty"),
        (q(min_energy="0.8", max_energy="0.2"), "'min_energy' (0.8) is greater than 'max_energy' "
            "(0.2); 'min_energy' must be at most 'max_energy'"),
        (q(min_tempo="120", max_tempo="60"), "'min_tempo' (120) is greater than 'max_tempo' (60)"),
        (q(limit=["1", "2"]), "query parameter 'limit' is given 2 times; give it once"),
        (q(genre=["a", "a"]), "'genre' is given 2 times"),
        (q(page="2"), "unknown query parameter 'page'; allowed parameters: genre, artist, "
            "min_popularity, max_popularity, min_duration_ms, max_duration_ms, min_tempo, "
            "max_tempo, min_energy, max_energy,"),
        (q(Limit="5"), "unknown query parameter 'Limit'"),
    ],
)  # fmt: skip
def test_track_query_rejects(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ParamError) as error:
        track_query(query)
    assert message in str(error.value)


def test_genre_tracks_take_every_filter_but_genre() -> None:
    assert track_query(q(sort="tempo"), genre="sleep") == TrackQuery(genre="sleep", sort="tempo")
    assert track_query(q(min_energy="0.2", mood="sad"), genre="sleep") == TrackQuery(
        genre="sleep", filters={"min_energy": 0.2, "mood": ("sad",)}
    )
    with pytest.raises(ParamError, match="unknown query parameter 'genre'"):
        track_query(q(genre="ambient"), genre="sleep")


def test_every_numeric_column_has_a_range_and_both_sorts() -> None:
    names = {spec.name for spec in FILTER_PARAMS}
    columns = ["danceability", "energy", "valence", "acousticness", "instrumentalness",
               "speechiness", "liveness", "tempo", "loudness", "popularity", "duration_ms"]  # fmt: skip
    for column in columns:
        assert {f"min_{column}", f"max_{column}"} <= names
        assert SORTS[column] == (column, True) and SORTS[f"{column}_asc"] == (column, False)
    assert SORTS["name"] == ("name", False) and SORTS["name_desc"] == ("name", True)
    assert len(SORTS) == 2 * len(columns) + 2
    assert {"key", "mode", "time_signature", "explicit", "mood", "camelot", "harmonic_to"} <= names


def test_batch_ids_keep_order_and_repeats() -> None:
    one, two = "0yc6Gst2xkRu0eMLeRMGCX", "Z" * 22
    assert batch_ids(q(ids=f"{two},{one},{two}")) == (two, one, two)
    assert batch_ids(q(ids=[two, f"{one},{two}"])) == (two, one, two)  # repeated, and mixed
    assert len(batch_ids(q(ids=",".join([one] * 100)))) == 100
    with pytest.raises(ParamError, match="'ids' has 101 items"):
        batch_ids(q(ids=[one] * 101))  # the limit counts the items of every form


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (q(ids=""), "'ids' must not be empty"),
        (q(ids="0yc6Gst2xkRu0eMLeRMGCX,,0yc6Gst2xkRu0eMLeRMGCX"), "'ids' has an empty item"),
        (q(ids="0yc6Gst2xkRu0eMLeRMGCX,"), "'ids' has an empty item"),
        (q(ids="0yc6Gst2xkRu0eMLeRMGCX,short"), "'ids' is malformed, got 'short'; expected a "
            "comma-separated list of 1 to 100 values, each a 22-character Spotify id"),
        (q(ids=",".join(["0yc6Gst2xkRu0eMLeRMGCX"] * 101)), "'ids' has 101 items; expected a "
            "comma-separated list of 1 to 100 values"),
        (q(ids="0yc6Gst2xkRu0eMLeRMGCX", limit="5"), "'ids' cannot be combined with other "
            "parameters, got limit"),
    ],
)  # fmt: skip
def test_batch_ids_reject(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ParamError) as error:
        batch_ids(query)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("query", "result"),
    [
        (q(track_id="0yc6Gst2xkRu0eMLeRMGCX", genre="ambient"),
         {"track_id": "0yc6Gst2xkRu0eMLeRMGCX", "genre": "ambient"}),
        (q(track_id="0yc6Gst2xkRu0eMLeRMGCX"), "query parameter 'genre' is required"),
        (q(genre="ambient"), "query parameter 'track_id' is required"),
        ({}, "query parameter 'track_id' is required"),
        (q(track_id="short", genre="ambient"), "'track_id' is malformed, got 'short'; expected a "
            "22-character Spotify id"),
        (q(track_id="0yc6Gst2xkRu0eMLeRMGC!", genre="a"), "'track_id' is malformed"),
        (q(track_id="", genre="ambient"), "'track_id' must not be empty"),
        (q(track_id="0yc6Gst2xkRu0eMLeRMGCX", genre="ambient", limit="5"),
         "unknown query parameter 'limit'; allowed parameters: track_id, genre"),
    ],
)  # fmt: skip
def test_compare_params(query: dict[str, list[str]], result: Any) -> None:
    if isinstance(result, dict):
        assert parse(COMPARE_PARAMS, query) == result
    else:
        with pytest.raises(ParamError) as error:
            parse(COMPARE_PARAMS, query)
        assert result in str(error.value)


def test_endpoints_without_parameters_reject_any() -> None:
    assert parse(NO_PARAMS, {}) == {}
    with pytest.raises(ParamError, match="unknown query parameter 'x'; allowed parameters: none"):
        parse(NO_PARAMS, q(x="1"))
