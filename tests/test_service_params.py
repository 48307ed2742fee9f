"""service/params.py: every query parameter parsed explicitly, bad input named in the error."""

from __future__ import annotations

from typing import Any

import pytest

from service.params import (
    COMPARE_PARAMS,
    NO_PARAMS,
    ParamError,
    TrackQuery,
    parse,
    track_query,
)


def q(**values: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, TrackQuery()),
        (q(limit="100", offset="0"), TrackQuery(limit=100)),
        (q(limit="1", offset="12345"), TrackQuery(limit=1, offset=12345)),
        (q(min_energy="0", max_energy="1"), TrackQuery(min_energy=0.0, max_energy=1.0)),
        (q(min_energy=".5", max_energy="0.50"), TrackQuery(min_energy=0.5, max_energy=0.5)),
        (q(min_energy="5e-1"), TrackQuery(min_energy=0.5)),
        (q(min_tempo="0", max_tempo="250"), TrackQuery(min_tempo=0.0, max_tempo=250.0)),
        (q(key="-1"), TrackQuery(key=-1)),
        (q(key="+11", mode="0"), TrackQuery(key=11, mode=0)),
        (q(genre="ambient", artist="Brian Eno"), TrackQuery(genre="ambient", artist="Brian Eno")),
        (q(sort="energy_asc"), TrackQuery(sort="energy_asc")),
        (q(sort="name"), TrackQuery(sort="name")),
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
        (q(key="12"), "'key' is out of range, got 12; expected an integer from -1 to 11"),
        (q(key="-2"), "'key' is out of range"),
        (q(key="C"), "'key' must be an integer, got 'C'"),
        (q(mode="2"), "'mode' is out of range, got 2; expected an integer from 0 to 1"),
        (q(mode="major"), "'mode' must be an integer"),
        (q(sort="loudness"), "'sort' is not a known value, got 'loudness'; allowed values: "
            "popularity, energy, energy_asc, tempo, tempo_asc, valence, name"),
        (q(sort="Energy"), "'sort' is not a known value"),
        (q(genre=""), "'genre' must not be empty"),
        (q(artist=""), "'artist' must not be empty"),
        (q(min_energy="0.8", max_energy="0.2"), "'min_energy' (0.8) is greater than 'max_energy' "
            "(0.2); 'min_energy' must be at most 'max_energy'"),
        (q(min_tempo="120", max_tempo="60"), "'min_tempo' (120) is greater than 'max_tempo' (60)"),
        (q(limit=["1", "2"]), "query parameter 'limit' is given 2 times; give it once"),
        (q(genre=["a", "a"]), "'genre' is given 2 times"),
        (q(page="2"), "unknown query parameter 'page'; allowed parameters: genre, artist, "
            "min_energy, max_energy, min_tempo, max_tempo, key, mode, sort, limit, offset"),
        (q(Limit="5"), "unknown query parameter 'Limit'"),
    ],
)  # fmt: skip
def test_track_query_rejects(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ParamError) as error:
        track_query(query)
    assert message in str(error.value)


def test_genre_tracks_take_only_sort_limit_offset() -> None:
    assert track_query(q(sort="tempo"), genre="sleep") == TrackQuery(genre="sleep", sort="tempo")
    with pytest.raises(ParamError, match="allowed parameters: sort, limit, offset"):
        track_query(q(genre="ambient"), genre="sleep")
    with pytest.raises(ParamError, match="'min_energy'"):
        track_query(q(min_energy="0.2"), genre="sleep")


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
