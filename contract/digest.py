"""A dataset's identity: a digest of its curated content, independent of how files are encoded.

Two runs that produce the same tables produce the same digest, whatever code or library version
wrote them: each column is hashed as its name, its type and its values in a fixed binary form
(numbers little-endian at their curated width, strings as UTF-8 with their byte lengths, a
validity byte per row), never as Parquet bytes, whose encoding and metadata vary between
writers. The version's name is the start of this digest (contract.version_name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import polars as pl

NAME_LENGTH = 16  # hex digits of the digest that name a version


def column_digest(series: pl.Series) -> bytes:
    """The sha256 of one column: name, type, validity and values."""
    digest = hashlib.sha256(f"{series.name}\x00{series.dtype}\x00{len(series)}\x00".encode())
    digest.update(series.is_null().to_numpy().astype(np.uint8).tobytes())
    dtype = series.dtype
    if dtype == pl.String:
        filled = series.fill_null("")
        digest.update(filled.str.len_bytes().to_numpy().astype("<u8").tobytes())
        for start in range(0, len(filled), 1 << 20):  # a million strings at a time
            digest.update(filled.slice(start, 1 << 20).str.join("").item().encode())
    elif dtype == pl.Boolean:
        digest.update(series.fill_null(False).to_numpy().astype(np.uint8).tobytes())
    elif dtype.is_temporal():
        digest.update(series.dt.epoch("us").fill_null(0).to_numpy().astype("<i8").tobytes())
    elif dtype.is_numeric():
        values = series.fill_null(0).to_numpy()
        digest.update(values.astype(values.dtype.newbyteorder("<")).tobytes())
    else:
        raise TypeError(f"cannot digest column {series.name!r} of type {dtype}")
    return digest.digest()


def data_digest(tables: Mapping[str, pl.DataFrame]) -> str:
    """Hex sha256 of every table's content, tables in name order, columns in schema order."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(f"{name}\x00{tables[name].height}\x00".encode())
        for series in tables[name].get_columns():
            digest.update(column_digest(series))
    return digest.hexdigest()


def version_name(data_sha256: str) -> str:
    """The name of the version holding data with this digest: its first 16 hex digits."""
    return data_sha256[:NAME_LENGTH]
