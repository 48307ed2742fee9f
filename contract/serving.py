"""The serving arrays: the numpy files each published version carries for the API to memory-map.

The pipeline computes everything the service's queries read (pipeline/serving.py) and writes it
as plain, uncompressed .npy files in the version's `index/` folder, listed in the manifest with
their sha256 like the Parquet files. Every API worker maps them read-only (np.load with
mmap_mode="r"), so a host's page cache holds one copy that all workers share instead of each
building a private one. Rows are the unique tracks in id order, the order of tracks.parquet.

This module is the layout both sides agree on: file names, dtypes and shapes, the sort keys, the
categorical fields and the public track fields.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from contract import (
    CAMELOT_CODES,
    FEATURES,
    MOODS,
    SIMILARITY_FEATURES,
    SIMILARITY_TRANSFORMS,
)

INDEX_DIR = "index"
ID_WIDTH = 22  # TRACK_ID_PATTERN: 22 letters and digits, stored as fixed-width bytes
# Numeric columns every listing can filter (min_/max_) and sort by.
NUMERIC_COLUMNS: tuple[str, ...] = (
    "popularity",
    "energy",
    "tempo",
    "valence",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
    "duration_ms",
)


def _sorts() -> dict[str, tuple[str, bool]]:
    """The API contract's seven names first (they keep their meaning), then every numeric
    column highest first as `<column>` and lowest first as `<column>_asc`, and name Z-A."""
    sorts = {
        "popularity": ("popularity", True),
        "energy": ("energy", True),
        "energy_asc": ("energy", False),
        "tempo": ("tempo", True),
        "tempo_asc": ("tempo", False),
        "valence": ("valence", True),
        "name": ("name", False),
    }
    for column in NUMERIC_COLUMNS:
        sorts.setdefault(column, (column, True))
        sorts.setdefault(f"{column}_asc", (column, False))
    sorts["name_desc"] = ("name", True)
    return sorts


# Sort keys: name -> (column, descending); `name` compares lowercased names. Ties are always
# broken by track id ascending. Row s of `orders` / `ranks` is the s-th key of SORTS.
SORTS: dict[str, tuple[str, bool]] = _sorts()
# Categorical fields and their values in facet order: a row's code is the position of its value.
# Row c of `codes` is the c-th field of CATEGORIES.
CATEGORIES: dict[str, tuple[object, ...]] = {
    "mood": MOODS,
    "key": tuple(range(-1, 12)),
    "camelot": (*CAMELOT_CODES, None),  # None: no key detected
    "mode": (0, 1),
    "time_signature": tuple(range(0, 8)),
    "explicit": (False, True),
}
# Public track fields in response order: a track's JSON text has exactly these keys.
TRACK_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "artists",
    "album",
    "genre_id",
    "genre_name",
    "genres",
    "popularity",
    "duration_ms",
    *FEATURES,
    "mood",
    "key",
    "key_name",
    "mode",
    "camelot",
    "time_signature",
    "explicit",
    "source",
)


@dataclass(frozen=True)
class Array:
    """One serving array: its dtype and its shape in terms of n (tracks), m (memberships),
    g (genres) and b (bytes of a blob); "" for a length not known in advance."""

    dtype: str
    shape: tuple[str, ...]
    meaning: str


ARRAYS: dict[str, Array] = {
    "ids": Array(f"S{ID_WIDTH}", ("n",), "track ids, sorted: the row order"),
    **{
        f"value_{column}": Array(
            {"popularity": "int16", "duration_ms": "int64"}.get(column, "float64"),
            ("n",),
            f"{column} of each row",
        )
        for column in NUMERIC_COLUMNS
    },
    "codes": Array("int8", (str(len(CATEGORIES)), "n"), "each row's code per categorical field"),
    "genre_rows": Array("int32", ("m",), "member rows grouped by genre (catalogue order)"),
    "genre_bounds": Array("int64", ("g+1",), "genre c's members: genre_rows[b[c]:b[c + 1]]"),
    "orders": Array("int32", (str(len(SORTS)), "n"), "every row in each sort's order"),
    "ranks": Array("int32", (str(len(SORTS)), "n"), "each row's position in each sort"),
    "artist_codes": Array("int32", ("n",), "each row's artists as a code into artist_text"),
    "artist_text": Array("uint8", ("",), "distinct artists, lowercased, UTF-8, NUL-separated"),
    "artist_starts": Array("int64", ("",), "byte offset of each distinct artists string"),
    "texts": Array("uint8", ("",), "every track's JSON text, UTF-8, one after another"),
    "text_offsets": Array("int64", ("n+1",), "track r's text: texts[o[r]:o[r + 1]]"),
    "similarity": Array(
        "float64", (str(len(SIMILARITY_FEATURES)), "n"), "z-scores in the similarity space"
    ),
    "similarity32": Array(
        "float32", (str(len(SIMILARITY_FEATURES)), "n"), "the same z-scores in float32"
    ),
    "norms32": Array("float32", ("n",), "each row's squared length in the space, float32"),
    "recording": Array("int32", ("n",), "a code shared by rows with the same name and artists"),
    "centroids": Array(
        "float64", ("g", str(len(SIMILARITY_FEATURES))), "each genre's mean z-scores"
    ),
}


# A digest of everything above: a version records the one it was built with (manifest.json
# "layout_sha256") and code with another layout refuses it rather than misread it (the array
# headers alone would not notice, say, two sorts swapping rows of `orders`).
LAYOUT_SHA256 = hashlib.sha256(
    json.dumps(
        {
            "id_width": ID_WIDTH,
            "numeric_columns": NUMERIC_COLUMNS,
            "sorts": SORTS,
            "categories": CATEGORIES,
            "track_fields": TRACK_FIELDS,
            "similarity": [SIMILARITY_FEATURES, SIMILARITY_TRANSFORMS],
            "arrays": {name: asdict(spec) for name, spec in ARRAYS.items()},
        },
        default=repr,
    ).encode()
).hexdigest()


def array_file(name: str) -> str:
    """An array's path inside a version folder, as the manifest lists it."""
    return f"{INDEX_DIR}/{name}.npy"


def array_path(directory: Path, name: str) -> Path:
    """An array's path in a version folder."""
    return directory / array_file(name)


def header_problem(path: Path, name: str, sizes: dict[str, int]) -> str | None:
    """What is wrong with an array file's header (dtype, shape), or None; reads no data."""
    spec = ARRAYS[name]
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(handle)
    expected = tuple(_length(part, sizes) for part in spec.shape)
    if dtype != np.dtype(spec.dtype) or fortran:
        return (
            f"{path.name} holds {dtype} (fortran order {fortran}), the contract says {spec.dtype}"
        )
    if len(shape) != len(expected) or any(
        want is not None and got != want for got, want in zip(shape, expected, strict=False)
    ):
        return f"{path.name} has shape {shape}, the contract says {spec.shape} with {sizes}"
    return None


def _length(part: str, sizes: dict[str, int]) -> int | None:
    if part == "":
        return None
    if part.isdigit():
        return int(part)
    name, _, plus = part.partition("+")
    return sizes[name] + (int(plus) if plus else 0)
