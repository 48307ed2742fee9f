"""pipeline/derive.py: key names, Camelot codes and moods against tables written by hand."""

from __future__ import annotations

import polars as pl
import pytest
from builders import frame, row

import contract as c
from pipeline.aggregates import genre_moods, member_counts, mood_grid
from pipeline.derive import camelot_code, with_derived_fields

# The Camelot wheel, written out by hand from the circle of fifths (not from a published table):
# majors C G D A E B F# C# G# D# A# F are 8B..12B then 1B..7B; each minor shares its relative
# major's number (A minor with C major = 8A, E minor with G major = 9A, and so on).
CAMELOT_BY_HAND: dict[tuple[int, int], str] = {  # (pitch class, mode 1 = major) -> code
    (0, 1): "8B", (7, 1): "9B", (2, 1): "10B", (9, 1): "11B", (4, 1): "12B", (11, 1): "1B",
    (6, 1): "2B", (1, 1): "3B", (8, 1): "4B", (3, 1): "5B", (10, 1): "6B", (5, 1): "7B",
    (9, 0): "8A", (4, 0): "9A", (11, 0): "10A", (6, 0): "11A", (1, 0): "12A", (8, 0): "1A",
    (3, 0): "2A", (10, 0): "3A", (5, 0): "4A", (0, 0): "5A", (7, 0): "6A", (2, 0): "7A",
}  # fmt: skip
KEY_NAMES_BY_HAND = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def test_the_hand_table_covers_all_24_keys_once() -> None:
    assert len(CAMELOT_BY_HAND) == 24
    assert sorted(CAMELOT_BY_HAND.values()) == sorted(c.CAMELOT_CODES)


@pytest.mark.parametrize(("key", "mode"), sorted(CAMELOT_BY_HAND))
def test_camelot_code_of_every_key(key: int, mode: int) -> None:
    assert camelot_code(key, mode == 1) == CAMELOT_BY_HAND[(key, mode)]


def test_the_issue_examples() -> None:
    assert CAMELOT_BY_HAND[(0, 1)] == "8B"  # C major
    assert CAMELOT_BY_HAND[(9, 0)] == "8A"  # A minor
    assert CAMELOT_BY_HAND[(5, 1)] == "7B"  # F major


def test_derived_columns_for_every_key_mode_and_no_key() -> None:
    keys = [(key, mode) for key in range(-1, 12) for mode in (0, 1)]
    tracks = pl.DataFrame(
        {"key": [k for k, _ in keys], "mode": [m for _, m in keys], "valence": 0.5, "energy": 0.5},
        schema={"key": pl.Int8, "mode": pl.Int8, "valence": pl.Float64, "energy": pl.Float64},
    )
    derived = with_derived_fields(tracks)
    for key, mode, name, code in derived.select("key", "mode", "key_name", "camelot").rows():
        if key == -1:
            assert (name, code) == (None, None)
        else:
            assert name == KEY_NAMES_BY_HAND[key]
            assert code == CAMELOT_BY_HAND[(key, mode)]


@pytest.mark.parametrize(
    ("valence", "energy", "mood"),
    [
        (0.5, 0.5, "happy"),  # both thresholds are inclusive on the high side
        (1.0, 1.0, "happy"),
        (0.49999, 0.5, "tense"),
        (0.0, 1.0, "tense"),
        (0.0, 0.0, "sad"),
        (0.4999, 0.4999, "sad"),
        (0.5, 0.4999, "calm"),
        (1.0, 0.0, "calm"),
    ],
)
def test_mood_quadrants(valence: float, energy: float, mood: str) -> None:
    tracks = pl.DataFrame({"key": [0], "mode": [1], "valence": [valence], "energy": [energy]})
    assert with_derived_fields(tracks)["mood"].to_list() == [mood]


def members() -> pl.DataFrame:
    """Five member rows of two genres, with (energy, valence) chosen for known cells."""
    return frame(
        row("ambient", 1, 1, energy=0.05, valence=0.95),  # calm, cell (0, 9)
        row("ambient", 2, 2, energy=0.5, valence=0.5),  # happy, cell (5, 5)
        row("ambient", 3, 3, energy=0.59, valence=0.5),  # happy, cell (5, 5)
        row(
            "ambient", 4, 4, energy=1.0, valence=0.0
        ),  # tense, cell (9, 0): 1.0 is in the top bucket
        row("sleep", 1, 1, energy=0.05, valence=0.95),  # calm
    )


def counts() -> dict[str, pl.DataFrame]:
    return member_counts(members().with_columns(pl.lit(0).alias("position")))


def test_mood_grid_counts_every_cell_of_every_genre() -> None:
    grid = mood_grid(counts(), ["ambient", "sleep", "piano"])
    assert grid.height == 3 * 100
    assert grid.columns == ["genre_id", "energy_bucket", "valence_bucket", "count"]
    cells = {(g, e, v): n for g, e, v, n in grid.filter(pl.col("count") > 0).rows()}
    assert cells == {
        ("ambient", 0, 90): 1,
        ("ambient", 50, 50): 2,
        ("ambient", 90, 0): 1,
        ("sleep", 0, 90): 1,
    }
    first = grid.head(3).rows()
    assert first == [("ambient", 0, 0, 0), ("ambient", 0, 10, 0), ("ambient", 0, 20, 0)]


def test_genre_moods_in_fixed_order_with_zeros() -> None:
    moods = genre_moods(counts(), ["ambient", "sleep", "piano"])
    assert moods.rows() == [
        ("ambient", "happy", 2), ("ambient", "tense", 1), ("ambient", "sad", 0),
        ("ambient", "calm", 1), ("sleep", "happy", 0), ("sleep", "tense", 0),
        ("sleep", "sad", 0), ("sleep", "calm", 1), ("piano", "happy", 0),
        ("piano", "tense", 0), ("piano", "sad", 0), ("piano", "calm", 0),
    ]  # fmt: skip
