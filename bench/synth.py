"""Write a SYNTHETIC upstream-format CSV by resampling real upstream rows with new track ids.

Each output row is a copy of a real upstream row drawn with replacement (fixed seed), with a
new unique 22-character base62 `track_id` and a renumbered index column; every other cell,
`track_genre` included, keeps the sampled row's text byte for byte, so the real pipeline ingests
the file with no code changes. The output is for benchmarks only and is never published:
its name says "synthetic" and a sidecar JSON records how it was made.

    python -m bench.synth --rows 1000000            # -> bench/out/synthetic-upstream-1m.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.paths import OUT, upstream_csv

DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20_241_125
BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "S1")
ID_LENGTH = 22
# Synthetic ids start with this marker (no real upstream id does) so they are easy to spot.
ID_PREFIX = "Synth"


def rows_label(rows: int) -> str:
    """Short size label for file names: 1000000 -> '1m', 20000 -> '20k'."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def synthetic_path(rows: int) -> Path:
    """Where the synthetic file of `rows` rows lives (name marked synthetic)."""
    return OUT / f"synthetic-upstream-{rows_label(rows)}.csv"


def synthetic_ids(count: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    """`count` unique valid base62 ids of 22 characters, none of them in `taken`."""
    tail = ID_LENGTH - len(ID_PREFIX)
    ids: list[str] = []
    seen = set(taken)
    while len(ids) < count:
        need = count - len(ids)
        chars = BASE62[rng.integers(0, len(BASE62), size=(need, tail))]
        for raw in chars.view(f"S{tail}").ravel():
            candidate = ID_PREFIX + raw.decode()
            if candidate not in seen:
                seen.add(candidate)
                ids.append(candidate)
    return ids


def synthetic_frame(upstream: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """Resample `rows` upstream rows (as text) with new ids and a fresh index column."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, upstream.height, size=rows)
    ids = synthetic_ids(rows, rng, set(upstream["track_id"].to_list()))
    index_column = upstream.columns[0]
    return (
        upstream[picks]
        .with_columns(
            pl.Series("track_id", ids, dtype=pl.String),
            pl.int_range(0, rows, eager=True).cast(pl.String).alias(index_column),
        )
        .select(upstream.columns)
    )


def write_synthetic(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Write the synthetic CSV and its sidecar; return what was written and how long it took."""
    source = upstream_csv()
    started = time.perf_counter()
    header = source.open(encoding="utf-8").readline()
    upstream = pl.read_csv(source, infer_schema=False)  # all text: cells are copied verbatim
    frame = synthetic_frame(upstream, rows, seed)
    path = synthetic_path(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header)  # polars would quote the upstream's empty first header field
        frame.write_csv(handle, include_header=False)
    info: dict[str, object] = {
        "path": str(path),
        "synthetic": True,
        "rows": rows,
        "seed": seed,
        "source": str(source),
        "source_rows": upstream.height,
        "how": "rows resampled with replacement; new unique base62 track_id; index renumbered",
        "seconds": round(time.perf_counter() - started, 3),
        "bytes": path.stat().st_size,
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def ensure_synthetic(rows: int, seed: int = DEFAULT_SEED) -> Path:
    """Path of the synthetic file of `rows` rows, written first if missing or made differently."""
    path = synthetic_path(rows)
    sidecar = path.with_suffix(".json")
    if path.is_file() and sidecar.is_file():
        info = json.loads(sidecar.read_text())
        if info.get("rows") == rows and info.get("seed") == seed:
            return path
    write_synthetic(rows, seed)
    return path


def main(argv: list[str] | None = None) -> None:
    """CLI: write one synthetic upstream file and print its sidecar."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(json.dumps(write_synthetic(args.rows, args.seed), indent=2))


if __name__ == "__main__":
    main()
