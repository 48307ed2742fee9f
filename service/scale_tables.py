"""The serving tables that keep queries fast at millions of tracks, computed with the others
(service/serving.py). Each answers exactly; what each buys is measured in docs/performance.md
("Serving ten million").

  projections.arrow  one record batch per range column (contract.fields.RANGE_FILTERS order),
                     its tracks in that column's ascending order (rows.arrow's order of its
                     `_asc` sort): for every range column the track's quantile (`q_<column>`,
                     uint8: its rank in that column's ascending order x 256 // tracks), and each
                     categorical code (`code_<field>`). A range filter is a slice of its
                     column's order; the other filters read that slice's bytes one after another
                     (service/projections.py) instead of gathering them track by track.
  cells.arrow        one row per cell of the similarity space: the tracks of a k-d tree's leaf
                     (at most CELL_ROWS, split at the median of the widest feature), `start`,
                     `stop` (positions in rows.arrow's `order_cells`) and the box of their
                     z-scores, `lo_<feature>` and `hi_<feature>` (float64).
  cell_space.arrow   as space.arrow, in cell order: one row per feature, `z32` (float32) of
                     every track, so a cell's points lie together (service/cells.py).
  genre_values.arrow for each feature (contract.fields.FEATURES) the values of each genre's
                     members, sorted within the genre, genres as in members.arrow: /compare's
                     percentiles are two binary searches (service/compare.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from contract.fields import CATEGORIES, FEATURES, RANGE_FILTERS, SIMILARITY_FEATURES, SORTS
from service.arrow_files import matrix, numeric

QUANTILES = 256  # a uint8 quantile per track and range column
CELL_ROWS = 2048  # tracks per cell at most
ASCENDING = {column: sort for sort, (column, descending) in SORTS.items() if not descending}


def quantiles(rank: np.ndarray) -> np.ndarray:
    """Each track's quantile of a column (uint8) from its rank in the ascending order: quantile
    b holds the ranks from ceil(b n / 256) up to ceil((b + 1) n / 256)."""
    return (rank.astype(np.int64) * QUANTILES // max(len(rank), 1)).astype(np.uint8)


def quantile_start(quantile: int, tracks: int) -> int:
    """The first rank of a quantile (tracks if it is past the last)."""
    return -(-quantile * tracks // QUANTILES)


def projection_batches(
    orders: Mapping[str, np.ndarray],
    ranks: Mapping[str, np.ndarray],
    codes: Mapping[str, np.ndarray],
) -> Iterator[pa.RecordBatch]:
    """projections.arrow's record batches, from each sort's order and rank (by sort name) and
    each categorical field's codes (by field)."""
    quantile = {column: quantiles(ranks[ASCENDING[column]]) for column in RANGE_FILTERS}
    for driver in RANGE_FILTERS:
        order = orders[ASCENDING[driver]]
        columns = {f"q_{column}": quantile[column][order] for column in RANGE_FILTERS}
        columns |= {f"code_{name}": codes[name][order] for name in CATEGORIES}
        yield pa.RecordBatch.from_arrays(
            [pa.array(values) for values in columns.values()], names=list(columns)
        )


def cell_order(z32: np.ndarray, leaf: int = CELL_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A k-d tree over the columns of `z32` (features x tracks): every track in cell order
    (int32), each cell's start in it (one more than the cells: the tracks), and `z32` in cell
    order. A part of more than `leaf` tracks is split at the median of its widest feature,
    until none is."""
    tracks = z32.shape[1]
    order = np.arange(tracks, dtype=np.int32)
    work = z32.copy()  # its columns follow `order`
    parts, leaves = [(0, tracks)], []
    while parts:
        split = []
        for start, stop in parts:
            if stop - start <= leaf:
                leaves.append(start)
                continue
            block = work[:, start:stop]
            widest = int(np.argmax(block.max(axis=1) - block.min(axis=1)))
            half = (stop - start) // 2
            moved = np.argpartition(block[widest], half)
            work[:, start:stop] = block[:, moved]
            order[start:stop] = order[start:stop][moved]
            split += [(start, start + half), (start + half, stop)]
        parts = split
    return order, np.array([*sorted(leaves), tracks], dtype=np.int64), work


def cell_tables(z: np.ndarray, order: np.ndarray, starts: np.ndarray) -> pa.RecordBatch:
    """cells.arrow: each cell's positions and the box of its tracks' z-scores (float64)."""
    columns: dict[str, np.ndarray] = {"start": starts[:-1], "stop": starts[1:]}
    nonempty = starts[:-1] < starts[1:]
    for feature, values in zip(SIMILARITY_FEATURES, z, strict=True):
        ordered = values[order]
        low = np.full(len(nonempty), np.inf)
        high = np.full(len(nonempty), -np.inf)
        if len(ordered):
            low[nonempty] = np.minimum.reduceat(ordered, starts[:-1][nonempty])
            high[nonempty] = np.maximum.reduceat(ordered, starts[:-1][nonempty])
        columns[f"lo_{feature}"], columns[f"hi_{feature}"] = low, high
    return pa.RecordBatch.from_arrays(
        [pa.array(values) for values in columns.values()], names=list(columns)
    )


def cell_space(ordered: np.ndarray) -> pa.RecordBatch:
    """cell_space.arrow: the float32 z-scores in cell order (cell_order), one row per feature."""
    tracks = ordered.shape[1]
    return pa.RecordBatch.from_arrays(
        [
            pa.array(list(SIMILARITY_FEATURES), pa.large_string()),
            pa.FixedSizeListArray.from_arrays(pa.array(ordered.ravel()), tracks),
        ],
        names=["feature", "z32"],
    )


def genre_values(
    values: Mapping[str, np.ndarray], rows: np.ndarray, bounds: np.ndarray
) -> pa.RecordBatch:
    """genre_values.arrow: each feature's values of each genre's members (`rows`, grouped by
    genre within `bounds`), sorted within the genre."""
    columns = {}
    for feature in FEATURES:
        member = values[feature][rows]
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            member[start:stop].sort()
        columns[feature] = member
    return pa.RecordBatch.from_arrays(
        [pa.array(values) for values in columns.values()], names=list(columns)
    )


@dataclass(frozen=True)
class Cells:
    """The cells of a version's similarity space, as a worker maps them (service/cells.py)."""

    rows: np.ndarray  # every track, in cell order
    starts: np.ndarray  # cell c's tracks: rows[starts[c]:starts[c + 1]]
    low: np.ndarray  # cells x SIMILARITY_FEATURES: the box's least z-score (inf: no track)
    high: np.ndarray  # and greatest
    z32: np.ndarray  # SIMILARITY_FEATURES x tracks, float32, in cell order
    by_recording: np.ndarray  # every track, by recording (rows.arrow's order_recording)


def cells_of(tables: Mapping[str, Any]) -> Cells:
    """The cells over a version's mapped serving tables."""
    cells = tables["cells.arrow"]
    starts = np.append(numeric(cells, "start"), numeric(cells, "stop")[-1:])
    return Cells(
        rows=numeric(tables["rows.arrow"], "order_cells"),
        starts=starts.astype(np.int64),
        low=np.column_stack([numeric(cells, f"lo_{f}") for f in SIMILARITY_FEATURES]),
        high=np.column_stack([numeric(cells, f"hi_{f}") for f in SIMILARITY_FEATURES]),
        z32=matrix(tables["cell_space.arrow"], "z32"),
        by_recording=numeric(tables["rows.arrow"], "order_recording"),
    )
