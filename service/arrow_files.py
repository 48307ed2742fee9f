"""The serving cache's files: uncompressed Arrow IPC, written whole and mapped read-only, and
numpy views of their columns (nothing is copied out of the mapping).

service/cache.py decides which files an entry holds and when they are built; this module is how
one file is written and read, so Polars, pyarrow and DuckDB open them as they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from contract import CuratedDatasetError


def write_table(
    path: Path, table: pl.DataFrame | pa.RecordBatch | Iterator[pa.RecordBatch]
) -> None:
    """An uncompressed Arrow IPC file: of one record batch, so every column maps as one array
    (a frame or a batch), or of the batches an iterator gives, written as they come."""
    batches = record_batches(table)
    first = next(batches)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, first.schema) as writer:
        for batch in itertools.chain([first], batches):
            writer.write_batch(batch)


def record_batches(
    table: pl.DataFrame | pa.RecordBatch | Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """A serving table's record batches: a frame as one batch, with the oldest compatible
    Arrow types (large_string, no string views), which every Arrow reader knows."""
    if isinstance(table, pl.DataFrame):
        arrow = table.to_arrow(compat_level=pl.CompatLevel.oldest()).combine_chunks()
        table = arrow.to_batches(max_chunksize=max(arrow.num_rows, 1))[0]
    return iter([table]) if isinstance(table, pa.RecordBatch) else table


def map_batches(path: Path) -> list[pa.RecordBatch]:
    """Every record batch of a cache file, mapped read-only (nothing is copied)."""
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        return [reader.get_batch(at) for at in range(reader.num_record_batches)]
    except (OSError, pa.ArrowException) as error:
        raise CuratedDatasetError(f"{path} is unreadable: {error}") from None


def map_table(path: Path) -> pa.RecordBatch:
    """The one record batch of a cache file, mapped read-only (nothing is copied)."""
    batches = map_batches(path)
    if len(batches) != 1:
        raise CuratedDatasetError(f"{path} holds {len(batches)} record batches")
    return batches[0]


# The numpy type of each fixed-width Arrow type the cache holds. Views are made from the
# buffers directly: pyarrow's own to_numpy() imports pandas when it is installed.
_NUMPY = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
          "uint32": np.uint32, "float": np.float32, "double": np.float64}  # fmt: skip


def numeric(batch: pa.RecordBatch, name: str) -> np.ndarray:
    """A fixed-width column as a read-only numpy view of the mapped buffer."""
    column = batch.column(name)
    if column.null_count:
        raise CuratedDatasetError(f"serving column {name} has nulls")
    dtype = np.dtype(_NUMPY[str(column.type)])
    return np.frombuffer(column.buffers()[1], dtype, len(column), column.offset * dtype.itemsize)


def fixed_bytes(batch: pa.RecordBatch, name: str, width: int) -> np.ndarray:
    """A string column of `width`-byte values as a numpy S<width> view (binary search compares
    bytes, as Polars sorts strings)."""
    data, offsets = text_buffers(batch, name)
    if offsets[-1] - offsets[0] != width * len(batch):
        raise CuratedDatasetError(f"serving column {name} holds values other than {width} bytes")
    return np.frombuffer(data, dtype=f"S{width}", count=len(batch), offset=int(offsets[0]))


def text_buffers(batch: pa.RecordBatch, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A large_string column's bytes (uint8) and offsets (int64, one more than the rows)."""
    column = batch.column(name)
    _, offsets_buffer, data = column.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64, len(column) + 1, column.offset * 8)
    return (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets


def matrix(batch: pa.RecordBatch, name: str) -> np.ndarray:
    """A fixed_size_list column as a (rows, width) numpy view."""
    column = batch.column(name)
    width = column.type.list_size
    dtype = np.dtype(_NUMPY[str(column.type.value_type)])
    values = np.frombuffer(column.values.buffers()[1], dtype)
    start = column.offset * width
    return values[start : start + len(column) * width].reshape(len(column), width)
