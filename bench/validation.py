"""Which engine checks the raw rows: Polars (what pipeline/validate.py does) or Great Expectations.

The same rules (pipeline/expectations.py), the same typed rows, three ways: Polars flags every
failing row of every rule (the pipeline's engine, which also names the rows to quarantine); GX
with result_format SUMMARY (counts only: it cannot say which rows to quarantine); GX with
COMPLETE and the row number as index column (it names the rows). Rows are copies of one valid
raw row with a share made bad (energy out of range), so the work grows with the rows and the
failures. Seconds per run, best of a few; GX's import (seconds) is not counted.

    python -m bench.validation --rows 100000,1000000 --bad 0,0.01,0.1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.expectations import RAW, RAW_COLUMNS, row_rules
from pipeline.validate import RawFile, validate_files

GOOD = {
    "track_id": "0a1B2c3D4e5F6g7H8i9J0k", "artists": "Ada Example", "album_name": "An Album",
    "track_name": "A Track", "popularity": "42", "duration_ms": "180000", "explicit": "False",
    "danceability": "0.5", "energy": "0.25", "key": "5", "loudness": "-8.5", "mode": "1",
    "speechiness": "0.04", "acousticness": "0.75", "instrumentalness": "0.01", "liveness": "0.1",
    "valence": "0.3", "tempo": "120.0", "time_signature": "4",
}  # fmt: skip


def raw_rows(rows: int, bad_share: float) -> pl.DataFrame:
    """`rows` copies of GOOD, the first `bad_share` of them with energy 1.5, as raw text."""
    bad = int(rows * bad_share)
    frame = pl.DataFrame({column: [GOOD[column]] * rows for column in RAW_COLUMNS})
    energy = pl.when(pl.int_range(pl.len()) < bad).then(pl.lit("1.5")).otherwise(pl.col("energy"))
    return frame.with_columns(energy.alias("energy"), pl.int_range(1, rows + 1).alias("source_row"))


def best(run: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


def polars_engine(frame: pl.DataFrame) -> None:
    validate_files([RawFile("bench", Path("bench.csv"), frame)], max_bad_share=1.0)


def gx_engine(gx: Any, frame: pl.DataFrame, result_format: dict[str, Any]) -> None:
    """Run the in-GX rules over the typed rows as GX's own engine."""
    from pipeline.expectations import typed_column

    rules = [rule for rule in row_rules() if rule.in_gx]
    kinds = {column: ("string" if dtype == pl.String else
                      "integer" if dtype == pl.Int64 else
                      "boolean" if dtype == pl.Boolean else "number")
             for column, dtype in RAW_COLUMNS.items()}  # fmt: skip
    texts = frame.select(pl.col("source_row"), *[pl.col(c).alias(RAW + c) for c in RAW_COLUMNS])
    typed = texts.select(
        pl.col("source_row"), *[typed_column(c, kinds[c]).alias(c) for c in RAW_COLUMNS]
    )
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from pipeline.gx_suite import expectation

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("raw").add_dataframe_asset("rows")
    batch = asset.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(
        gx.ExpectationSuite(name="bench", expectations=[expectation(gx, r) for r in rules])
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="bench", data=batch, suite=suite)
    )
    definition.run(batch_parameters={"dataframe": typed.to_pandas()}, result_format=result_format)


def measure(rows: int, bad_share: float, repeats: int = 3) -> dict[str, Any]:
    from pipeline.gx_suite import import_gx

    gx = import_gx()
    frame = raw_rows(rows, bad_share)
    complete = {"result_format": "COMPLETE", "unexpected_index_column_names": ["source_row"]}
    row = {
        "rows": rows,
        "bad_share": bad_share,
        "polars_s": best(lambda: polars_engine(frame), repeats),
        "gx_summary_s": best(lambda: gx_engine(gx, frame, {"result_format": "SUMMARY"}), repeats),
        "gx_complete_s": best(lambda: gx_engine(gx, frame, complete), 1),
    }
    print(
        f"  {rows:>9,} rows, {bad_share:5.0%} bad: polars {row['polars_s']:7.2f} s   "
        f"GX summary {row['gx_summary_s']:7.2f} s   GX complete {row['gx_complete_s']:7.2f} s",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> None:
    """CLI: time each engine at each size and share of bad rows; print JSON rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--bad", default="0,0.01,0.1")
    args = parser.parse_args(argv)
    results = [
        measure(int(rows), float(bad))
        for rows in args.rows.split(",")
        for bad in args.bad.split(",")
    ]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
