"""texts.arrow: every track's JSON text and its CRC-32, built in record batches of TEXT_BATCH
tracks, so a build holds one batch of texts at a time whatever the version's size.

A text is the track's public fields (contract.fields.TRACK_FIELDS) encoded by Polars, with its
primary genre's name and all its genres (catalogue order) added. Every batch but the last holds
exactly TEXT_BATCH tracks, so a worker finds row r's text in batch r // TEXT_BATCH
(service/index.py). A version of up to TEXT_BATCH tracks (every real catalogue) has one batch.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import polars as pl
import pyarrow as pa

from contract.fields import TRACK_FIELDS

TEXT_BATCH = 262_144  # tracks per record batch of texts.arrow
TEXT_BLOCK = 65_536  # tracks encoded to JSON at a time: Polars' strings exist for one block
STORED_FIELDS = tuple(f for f in TRACK_FIELDS if f not in ("genre_name", "genres"))

Rows = Callable[[tuple[str, ...], int, int], pl.DataFrame]  # (columns, start, length) -> frame


def text_batches(
    rows: Rows, height: int, genre_csr: tuple[np.ndarray, np.ndarray], catalogue: pl.DataFrame
) -> Iterator[pa.RecordBatch]:
    """Each record batch of texts.arrow (`json`, `crc32`), in row order. `genre_csr` is each
    row's genre codes (catalogue positions, ascending) as offsets and codes."""
    for start in range(0, height, TEXT_BATCH):
        length = min(TEXT_BATCH, height - start)
        texts = pl.concat(
            [
                block_texts(rows, start + at, min(TEXT_BLOCK, length - at), genre_csr, catalogue)
                for at in range(0, length, TEXT_BLOCK)
            ]
        )
        yield text_batch(texts)
    if height == 0:
        yield text_batch(pl.Series("json", [], dtype=pl.String))


def text_batch(texts: pl.Series) -> pa.RecordBatch:
    """One record batch of texts.arrow: the texts (large_string) and their CRC-32s."""
    arrow = texts.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    crcs = pa.array(text_checksums(arrow), pa.uint32())
    return pa.RecordBatch.from_arrays([arrow, crcs], names=["json", "crc32"])


def block_texts(
    rows: Rows,
    start: int,
    length: int,
    genre_csr: tuple[np.ndarray, np.ndarray],
    catalogue: pl.DataFrame,
) -> pl.Series:
    """The JSON texts of rows start..start+length."""
    genre_ids, genre_names = catalogue["id"].to_list(), catalogue["name"].to_list()
    offsets, codes = genre_csr
    low, high = int(offsets[start]), int(offsets[start + length])
    counts = np.diff(offsets[start : start + length + 1])
    if counts.size and int(counts.min()) == 0:
        raise ValueError("every track must be in a genre, and every member a track")
    # One row per track in id order, like the block of tracks: the lists line up by position.
    genres_of = (
        pl.DataFrame(
            {
                "row": np.repeat(np.arange(length, dtype=np.int64), counts),
                "genre_id": pl.Series(genre_ids, dtype=pl.String).gather(codes[low:high]),
            }
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col("genre_id").alias("genres"))
    )
    return (
        rows(STORED_FIELDS, start, length)
        .with_columns(
            pl.col("genre_id").replace_strict(genre_ids, genre_names).alias("genre_name"),
            genres_of["genres"],
        )
        .select(pl.struct(TRACK_FIELDS).struct.json_encode().alias("json"))
        .get_column("json")
    )


def text_checksums(texts: pa.Array | pl.Series) -> np.ndarray:
    """The CRC-32 of each text's UTF-8 bytes: a worker checks it on every text it sends, so a
    byte changed in the mapped file after it was verified is never sent (service/index.py)."""
    arrow = (
        texts.to_arrow(compat_level=pl.CompatLevel.oldest())
        if isinstance(texts, pl.Series)
        else texts
    )
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    _, offsets_buffer, data = arrow.buffers()
    width = 8 if pa.types.is_large_string(arrow.type) else 4
    dtype = np.int64 if width == 8 else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype)[arrow.offset : arrow.offset + len(arrow) + 1]
    view = memoryview(data) if data is not None else memoryview(b"")
    crcs = (zlib.crc32(view[a:b]) for a, b in itertools.pairwise(offsets.tolist()))
    return np.fromiter(crcs, dtype=np.uint32, count=len(arrow))
