"""A dataset's identity: a digest of its curated content, independent of how files are encoded.

Two runs that produce the same tables produce the same digest, whatever code or library version
wrote them: each column is hashed as its name, its type and its values in a fixed binary form
(numbers little-endian at their curated width, strings as UTF-8 with their byte lengths, a
validity byte per row), never as Parquet bytes, whose encoding and metadata vary between
writers. The version's name is the start of this digest (contract.version_name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

NAME_LENGTH = 16  # hex digits of the digest that name a version


def column_digest(series: pl.Series) -> bytes:
    """The sha256 of one column: name, type, validity and values."""
    return _column_digest(series.name, series.dtype, len(series), lambda: iter([series]))


def _column_digest(
    name: str, dtype: pl.DataType, length: int, chunks: Callable[[], Iterator[pl.Series]]
) -> bytes:
    """column_digest of a column given as consecutive chunks (read afresh for each pass)."""
    digest = hashlib.sha256(f"{name}\x00{dtype}\x00{length}\x00".encode())
    for chunk in chunks():
        digest.update(chunk.is_null().to_numpy().astype(np.uint8).tobytes())
    if dtype == pl.String:
        for chunk in chunks():
            digest.update(chunk.fill_null("").str.len_bytes().to_numpy().astype("<u8").tobytes())
        for chunk in chunks():
            filled = chunk.fill_null("")
            for start in range(0, len(filled), 1 << 20):  # a million strings at a time
                digest.update(filled.slice(start, 1 << 20).str.join("").item().encode())
        return digest.digest()
    for chunk in chunks():
        if dtype == pl.Boolean:
            digest.update(chunk.fill_null(False).to_numpy().astype(np.uint8).tobytes())
        elif dtype.is_temporal():
            digest.update(chunk.dt.epoch("us").fill_null(0).to_numpy().astype("<i8").tobytes())
        elif dtype.is_numeric():
            values = chunk.fill_null(0).to_numpy()
            digest.update(values.astype(values.dtype.newbyteorder("<")).tobytes())
        else:
            raise TypeError(f"cannot digest column {name!r} of type {dtype}")
    return digest.digest()


def data_digest(tables: Mapping[str, pl.DataFrame | Path]) -> str:
    """Hex sha256 of every table's content, tables in name order, columns in schema order.

    A table is a frame or a Parquet file; a file is read a column and a million rows at a time,
    and gives the same digest as the frame it holds.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        if isinstance(table, pl.DataFrame):
            digest.update(f"{name}\x00{table.height}\x00".encode())
            for series in table.get_columns():
                digest.update(column_digest(series))
            continue
        height = pq.ParquetFile(table).metadata.num_rows
        digest.update(f"{name}\x00{height}\x00".encode())
        for column, dtype in pl.read_parquet_schema(table).items():
            digest.update(_column_digest(column, dtype, height, _chunks(table, column)))
    return digest.hexdigest()


def _chunks(path: Path, column: str) -> Callable[[], Iterator[pl.Series]]:
    def chunks() -> Iterator[pl.Series]:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1 << 20, columns=[column]):
            yield pl.Series(column, batch.column(0))

    return chunks


def version_name(data_sha256: str) -> str:
    """The name of the version holding data with this digest: its first 16 hex digits."""
    return data_sha256[:NAME_LENGTH]
