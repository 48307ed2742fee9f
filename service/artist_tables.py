"""The serving tables of a version's artists: who is credited on which track, and each artist's
summary, computed once per host with the other serving tables (service/serving.py).

An artist is one name of a track's `;`-separated `artists` list, with the spaces around it
trimmed; names are compared exactly (case matters), an empty name is no artist, and a name
listed twice on one track counts once. Names are sorted as strings (code point order, which
Polars and Python share): a name's code is its place in that order.

  names.arrow       one row per artist name: `name`, `lowered` (Python's str.lower, for the
                    search), `start`/`stop` (its tracks: rows of name_tracks.arrow), `order`/`rank`
                    (the /artists listing order: most tracks first, ties by name), `json` (the
                    artist object as the API sends it) and `json_crc32` (its CRC-32)
  name_tracks.arrow `row`: each name's tracks (row numbers, ascending), grouped by name
  credits.arrow     `name`: each track's artist codes in the order written, grouped by track in
                    row order; rows.arrow's `credit_start`/`credit_stop` bound a track's codes
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl

from contract.fields import FEATURES
from service.serving_texts import text_checksums

AVERAGE_DECIMALS = 4  # as the genres' averages (service/summaries.py)


def credits_of(artists: pl.Series) -> pl.DataFrame:
    """One row per (track row, artist name), in row order then the order the names are written:
    `row`, `name` and `code` (the name's place among the sorted distinct names)."""
    credited = (
        artists.to_frame("artists")
        .select(
            pl.int_range(pl.len(), dtype=pl.Int32).alias("row"),
            pl.col("artists").fill_null("").str.split(";").alias("name"),
        )
        .explode("name")
        .with_columns(pl.col("name").str.strip_chars())
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .unique(subset=["row", "name"], keep="first", maintain_order=True)
    )
    return credited.with_columns((pl.col("name").rank("dense") - 1).cast(pl.Int32).alias("code"))


def credit_bounds(credits: pl.DataFrame, tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track's first and last-plus-one position in credits.arrow (int32)."""
    counts = np.bincount(credits["row"].to_numpy(), minlength=tracks)
    stop = np.cumsum(counts).astype(np.int32)
    return stop - counts.astype(np.int32), stop


def artist_tables(
    features: Callable[[str], np.ndarray],
    members: tuple[np.ndarray, np.ndarray],
    catalogue: pl.DataFrame,
    credits: pl.DataFrame,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """names.arrow, name_tracks.arrow and credits.arrow of a version (module docstring), from
    each track's FEATURES, the memberships (each member's track row and genre code), the
    catalogue in its order, and the credits (credits_of); `features` reads one feature's values
    of every track (in row order) at a time."""
    by_name = credits.sort("code", "row")
    names = by_name.select("code", "name").unique("code", keep="first").sort("code")
    counts = np.bincount(by_name["code"].to_numpy(), minlength=names.height)
    stop = np.cumsum(counts)
    order = np.lexsort((np.arange(names.height), -counts)).astype(np.int32)  # codes: by name
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order), dtype=np.int32)
    texts = artist_texts(features, members, catalogue, by_name, names.height)
    yield (
        "names.arrow",
        pl.DataFrame(
            {
                "name": names["name"],
                "lowered": [name.lower() for name in names["name"].to_list()],
                "start": (stop - counts).astype(np.int32),
                "stop": stop.astype(np.int32),
                "order": order,
                "rank": rank,
                "json": texts,
                "json_crc32": text_checksums(texts),
            },
            schema_overrides={"lowered": pl.String},
        ),
    )
    yield "name_tracks.arrow", by_name.select("row")
    yield "credits.arrow", credits.select(pl.col("code").alias("name"))


def artist_texts(
    features: Callable[[str], np.ndarray],
    members: tuple[np.ndarray, np.ndarray],
    catalogue: pl.DataFrame,
    by_name: pl.DataFrame,
    count: int,
) -> pl.Series:
    """Each artist's JSON object, in code order: name, track count, every genre of its tracks
    (catalogue order) and the average of each feature over its tracks (4 decimals)."""
    rows, codes = members
    # Integers until the few (artist, genre) pairs are known; their names are added last.
    genres = (
        pl.DataFrame({"row": rows.astype(np.int32), "at": codes.astype(np.int32)})
        .join(by_name.select("row", "code"), on="row")
        .select("code", "at")
        .unique()
        .sort("code", "at")
        .with_columns(
            pl.col("at").replace_strict(dict(enumerate(catalogue["id"]))).alias("genre_id")
        )
        .group_by("code", maintain_order=True)
        .agg(pl.col("genre_id").alias("genres"))
    )
    # Each credit's feature values in by_name's order (what a join on row gives), one feature
    # at a time: a frame of every credit's nine features is most of a large build's memory.
    at, code = by_name["row"].to_numpy(), by_name["code"]
    summary = by_name.group_by("code").agg(
        pl.col("name").first(), pl.len().cast(pl.Int64).alias("track_count")
    )
    for feature in FEATURES:
        means = (
            pl.DataFrame({"code": code, feature: features(feature)[at]})
            .group_by("code")
            .agg(pl.col(feature).mean().round(AVERAGE_DECIMALS).alias(f"avg_{feature}"))
        )
        summary = summary.join(means, on="code")
    summary = summary.join(genres, on="code", how="left").sort("code")
    if summary.height != count:
        raise ValueError("every artist name must have a track")
    columns = ["name", "track_count", "genres", *(f"avg_{f}" for f in FEATURES)]
    return summary.select(pl.struct(columns).struct.json_encode().alias("json")).to_series()
