"""Write a SYNTHETIC upstream-format CSV from the real upstream rows, for benchmarks only.

Every output row starts as a real upstream row drawn with replacement (fixed seed) and gets a
new unique 22-character base62 `track_id` (all start "Synth", which no real id does) and a
renumbered index column. Two modes:

- `perturbed` (the default, and the scale benchmark's): each numeric feature that parses and
  lies in its valid range (contract/fields.py) moves by seeded Gaussian noise of 1% of that
  range, added where the similarity space measures it (the square root for instrumentalness and
  speechiness), reflected back into the range and rounded to the upstream's precision;
  popularity moves by about one point, duration by about 1%, a tempo of 0 (no beat) stays 0.
  Text, categorical cells (key, mode, time signature, explicit, genre) and every cell that does
  not parse stay byte for byte, so the file is as messy as the real one, in the same places, but
  ten million rows are ten million distinct points rather than 114,000 points with 90 twins each.
- `resample`: every other cell copies the sampled row byte for byte (the landed benchmarks).

The file is written in chunks, so memory stays flat at any size. Its name says "synthetic" and a
sidecar JSON records how it was made; it is never published.

    python -m bench.synth --rows 10000000            # -> bench/out/synthetic-perturbed-10m.csv
    python -m bench.synth --rows 1000000 --mode resample   # -> bench/out/synthetic-upstream-1m.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.paths import OUT, upstream_csv
from contract.fields import RAW_FIELDS, SIMILARITY_TRANSFORMS

DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20_241_125
MODES = ("perturbed", "resample")
DEFAULT_MODE = "perturbed"
CHUNK_ROWS = 500_000
BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "S1")
ID_LENGTH = 22
ID_PREFIX = "Synth"  # no real upstream id starts so: synthetic ids are easy to spot
COUNTER_DIGITS = 5  # base62 digits of the row number: unique ids up to 62**5 = 916M rows
NOISE_SHARE = 0.01  # the noise's standard deviation, as a share of the feature's valid range
# Upstream cells carry three significant digits (features) or three decimals (dB, BPM).
UNIT_SIG_FIGS, DECIMALS = 3, 3
MOVED = (*SIMILARITY_TRANSFORMS, "popularity", "duration_ms")
NOISY = {field.raw: field for field in RAW_FIELDS if field.name in MOVED}  # by upstream column


def rows_label(rows: int) -> str:
    """Short size label for file names: 1000000 -> '1m', 20000 -> '20k'."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def synthetic_path(rows: int, mode: str = DEFAULT_MODE) -> Path:
    """Where the synthetic file of `rows` rows lives (name marked synthetic)."""
    stem = "synthetic-upstream" if mode == "resample" else f"synthetic-{mode}"
    return OUT / f"{stem}-{rows_label(rows)}.csv"


def synthetic_ids(start: int, count: int, rng: np.random.Generator) -> pl.Series:
    """Ids of rows start..start+count: 'Synth', the row number in 5 base62 digits (unique by
    construction), 12 random base62 characters."""
    if start + count > len(BASE62) ** COUNTER_DIGITS:
        raise ValueError(f"at most {len(BASE62) ** COUNTER_DIGITS} synthetic rows")
    numbers = np.arange(start, start + count, dtype=np.int64)
    counter = [(numbers // len(BASE62) ** place) % len(BASE62) for place in range(COUNTER_DIGITS)]
    tail = ID_LENGTH - len(ID_PREFIX) - COUNTER_DIGITS
    digits = np.column_stack([*reversed(counter), rng.integers(0, len(BASE62), (count, tail))])
    raw = BASE62[digits].view(f"S{ID_LENGTH - len(ID_PREFIX)}").ravel()
    return (ID_PREFIX + pl.Series("track_id", raw).cast(pl.String)).alias("track_id")


def reflected(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values folded back into [low, high] at its edges, as a mirror would."""
    width = high - low
    folded = np.mod(values - low, 2 * width)
    return low + width - np.abs(folded - width)


def perturbed(text: pl.Series, rng: np.random.Generator) -> pl.Series:
    """One upstream column (as text) with its valid numeric cells moved by seeded noise."""
    field = NOISY.get(text.name)
    if field is None:
        return text
    numbers = text.cast(pl.Float64, strict=False).to_numpy()
    low = float(field.minimum if field.minimum is not None else -np.inf)
    high = float(field.maximum if field.maximum is not None else np.inf)  # duration: none
    valid = ~np.isnan(numbers) & (numbers >= low) & (numbers <= high)
    noise = rng.standard_normal(len(numbers))
    if field.name == "duration_ms":  # no upper bound: about 1% of the track's own length
        moved = np.maximum(np.rint(numbers * (1 + NOISE_SHARE * noise)), 1)
    elif field.name == "popularity":
        moved = np.clip(np.rint(numbers + 100 * NOISE_SHARE * noise), low, high)
    elif SIMILARITY_TRANSFORMS[field.name] == "sqrt":
        moved = reflected(np.sqrt(np.maximum(numbers, 0)) + NOISE_SHARE * noise, 0.0, 1.0) ** 2
    else:
        moved = reflected(numbers + NOISE_SHARE * (high - low) * noise, low, high)
    if field.name == "tempo":
        valid &= numbers != 0  # 0 means no beat was detected: keep it
    series = pl.Series(text.name, moved)
    if field.type == "integer":
        rendered = series.cast(pl.Int64, strict=False).cast(pl.String)
    elif high == 1.0:
        rendered = series.round_sig_figs(UNIT_SIG_FIGS).cast(pl.String)
    else:
        rendered = series.round(DECIMALS).cast(pl.String)
    return pl.select(pl.when(pl.Series(valid)).then(rendered).otherwise(text)).to_series()


def synthetic_frame(
    upstream: pl.DataFrame,
    rows: int,
    seed: int,
    mode: str = DEFAULT_MODE,
    start: int = 0,
) -> pl.DataFrame:
    """Rows start..start+rows of the synthetic file: resampled upstream rows (all text) with new
    ids, a fresh index column and, in the perturbed mode, noisy features."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    rng = np.random.default_rng([seed, start])  # each chunk its own stream, whatever the chunking
    picks = rng.integers(0, upstream.height, size=rows)
    sample = upstream[picks]
    if mode == "perturbed":
        sample = sample.with_columns(perturbed(sample[name], rng) for name in sample.columns)
    index_column = upstream.columns[0]
    return sample.with_columns(
        synthetic_ids(start, rows, rng),
        pl.int_range(start, start + rows, eager=True).cast(pl.String).alias(index_column),
    ).select(upstream.columns)


def write_synthetic(
    rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, mode: str = DEFAULT_MODE
) -> dict[str, object]:
    """Write the synthetic CSV chunk by chunk and its sidecar; what was written, how long it took."""
    source = upstream_csv()
    started = time.perf_counter()
    header = source.open(encoding="utf-8").readline()
    upstream = pl.read_csv(source, infer_schema=False)  # all text: cells are copied verbatim
    path = synthetic_path(rows, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header)  # polars would quote the upstream's empty first header field
        for start in range(0, rows, CHUNK_ROWS):
            chunk = synthetic_frame(upstream, min(CHUNK_ROWS, rows - start), seed, mode, start)
            chunk.write_csv(handle, include_header=False)
    partial.replace(path)
    info: dict[str, object] = {
        "path": str(path),
        "synthetic": True,
        "mode": mode,
        "rows": rows,
        "seed": seed,
        "source": str(source),
        "source_rows": upstream.height,
        "how": MODE_WORDS[mode],
        "seconds": round(time.perf_counter() - started, 3),
        "bytes": path.stat().st_size,
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


MODE_WORDS = {
    "resample": "rows resampled with replacement; new unique base62 track_id; index renumbered",
    "perturbed": "rows resampled with replacement; numeric features in range moved by seeded "
    f"Gaussian noise (sd {NOISE_SHARE:.0%} of the range, sqrt space for sqrt features, "
    "reflected at the edges; popularity +-1 point, duration 1%; tempo 0 kept); categorical and "
    "unparsable cells verbatim; new unique base62 track_id; index renumbered",
}


def ensure_synthetic(rows: int, seed: int = DEFAULT_SEED, mode: str = DEFAULT_MODE) -> Path:
    """Path of the synthetic file of `rows` rows, written first if missing or made differently."""
    path = synthetic_path(rows, mode)
    sidecar = path.with_suffix(".json")
    if path.is_file() and sidecar.is_file():
        info = json.loads(sidecar.read_text())
        if (info.get("rows"), info.get("seed"), info.get("mode", "resample")) == (rows, seed, mode):
            return path
    write_synthetic(rows, seed, mode)
    return path


def main(argv: list[str] | None = None) -> None:
    """CLI: write one synthetic upstream file and print its sidecar."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
    args = parser.parse_args(argv)
    print(json.dumps(write_synthetic(args.rows, args.seed, args.mode), indent=2))


if __name__ == "__main__":
    main()
