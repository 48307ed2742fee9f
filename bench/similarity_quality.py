"""Does "similar" mean anything? Genre agreement @10 of the similarity space, against chance.

For every track, its 10 nearest neighbours in a feature space (exact Euclidean k-NN, leaving out
the track itself and every other release of the same recording, as /similar does) and the share
of them that share a genre with it. Per genre: the mean of that share over the genre's tracks,
beside the share expected by chance (the mean, over the same tracks, of the share of all other
tracks that share a genre with the track). Run on the full 114-genre dataset and on the default
catalogue, for the service's space and for alternative spaces, so the default is the one that
agrees best.

Same-artist neighbours inflate genre agreement (an artist's tracks tend to share its genres:
Flexer and Schnitzer's "artist filter" effect, ISMIR 2009), so the service's space is also
measured with an artist filter: a track's neighbours leave out every track that shares one of
its artists (the names of its ';'-separated list, as the API's artists are).

    python -m bench.similarity_quality --curated bench/out/scenarios/all-genres/curated/current
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from contract import SIMILARITY_FEATURES, SIMILARITY_TRANSFORMS

K = 10
EXTRA = 40  # neighbours fetched beyond K, to have K left after dropping repeat recordings
ARTIST_EXTRA = 150  # beyond K, to have K left after dropping the track's artists' tracks
Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Space:
    """A candidate feature space: features, a transform per feature, a weight per feature."""

    name: str
    features: tuple[str, ...] = SIMILARITY_FEATURES
    transforms: tuple[tuple[str, Transform], ...] = ()
    weights: tuple[tuple[str, float], ...] = ()


SERVICE = tuple((f, np.sqrt) for f, name in SIMILARITY_TRANSFORMS.items() if name == "sqrt")
SQRT_FOUR = ("instrumentalness", "speechiness", "liveness", "acousticness")
SPACES = (
    Space("the service's: sqrt of speechiness and instrumentalness", transforms=SERVICE),
    Space("raw values (the issue's first definition)"),
    Space("raw values, log1p(tempo)", transforms=(("tempo", np.log1p),)),
    Space("raw values, tempo and loudness at half weight",
          weights=(("tempo", 0.5), ("loudness", 0.5))),
    Space("sqrt of instrumentalness only", transforms=(("instrumentalness", np.sqrt),)),
    Space("sqrt of instr., speech., liveness, acousticness",
          transforms=tuple((f, np.sqrt) for f in SQRT_FOUR)),
    Space("the service's without liveness", transforms=SERVICE,
          features=tuple(f for f in SIMILARITY_FEATURES if f != "liveness")),
    Space("energy, valence, danceability, acousticness only",
          features=("energy", "valence", "danceability", "acousticness")),
)  # fmt: skip


def standardised(tracks: pl.DataFrame, space: Space) -> np.ndarray:
    """The tracks' coordinates in a space: each (transformed) feature as z-scores, weighted."""
    transforms, weights = dict(space.transforms), dict(space.weights)
    columns = []
    for feature in space.features:
        values = tracks[feature].to_numpy().astype(np.float64)
        values = transforms.get(feature, lambda x: x)(values)
        spread = values.std()
        z = (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
        columns.append(z * weights.get(feature, 1.0))
    return np.column_stack(columns)


def genre_bits(tracks: pl.DataFrame, members: pl.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each track's genres as a boolean matrix (tracks x genres), and the genre ids."""
    genres = members["genre_id"].unique(maintain_order=True).to_list()
    rows = tracks.with_row_index("row").select("id", "row")
    joined = members.join(rows, left_on="track_id", right_on="id")
    codes = joined["genre_id"].replace_strict(genres, list(range(len(genres))))
    matrix = np.zeros((tracks.height, len(genres)), dtype=bool)
    matrix[joined["row"].to_numpy(), codes.to_numpy()] = True
    return matrix, genres


def nearest(points: np.ndarray, recording: np.ndarray) -> np.ndarray:
    """Each row's K nearest other rows that are not the same recording (-1 where fewer)."""
    _, found = cKDTree(points).query(points, k=K + EXTRA + 1)
    keep = recording[found] != recording[:, None]
    rank = np.cumsum(keep, axis=1)
    out = np.full((len(points), K), -1, dtype=np.int64)
    rows, columns = np.nonzero(keep & (rank <= K))
    out[rows, rank[rows, columns] - 1] = found[rows, columns]
    return out


def artist_sets(tracks: pl.DataFrame) -> list[frozenset[str]]:
    """Each track's artists: the names of its ';'-separated list, trimmed."""
    return [
        frozenset(name.strip() for name in (artists or "").split(";") if name.strip())
        for artists in tracks["artists"].to_list()
    ]


def nearest_other_artists(points: np.ndarray, artists: list[frozenset[str]]) -> np.ndarray:
    """Each row's K nearest rows that share none of its artists (-1 where fewer are found
    among the K + ARTIST_EXTRA nearest)."""
    _, found = cKDTree(points).query(points, k=min(K + ARTIST_EXTRA + 1, len(points)))
    out = np.full((len(points), K), -1, dtype=np.int64)
    for row, candidates in enumerate(found.tolist()):
        own, kept = artists[row], 0
        for other in candidates:
            if other != row and not own & artists[other]:
                out[row, kept] = other
                kept += 1
                if kept == K:
                    break
    return out


def agreement(neighbours: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Per track, the share of its neighbours that share a genre with it (NaN if none found)."""
    shares = np.full(len(neighbours), np.nan)
    for start in range(0, len(neighbours), 4096):
        block = neighbours[start : start + 4096]
        valid = block >= 0
        shared = (bits[block] & bits[start : start + len(block), None, :]).any(axis=2) & valid
        counts = valid.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[start : start + len(block)] = shared.sum(axis=1) / counts
    return shares


def chance(bits: np.ndarray) -> np.ndarray:
    """Per track, the share of all other tracks that share at least one genre with it."""
    signatures, inverse = np.unique(bits, axis=0, return_inverse=True)
    sharing = np.array([(bits[:, sig].any(axis=1)).sum() for sig in signatures])
    return (sharing[inverse.ravel()] - 1) / (len(bits) - 1)


def per_genre(
    shares: np.ndarray, expected: np.ndarray, bits: np.ndarray, genres: list[str]
) -> list[dict]:
    """Mean agreement and chance over each genre's tracks."""
    return [
        {
            "genre": genre,
            "tracks": int(bits[:, g].sum()),
            "agreement_at_10": round(float(np.nanmean(shares[bits[:, g]])), 4),
            "chance": round(float(expected[bits[:, g]].mean()), 4),
        }
        for g, genre in enumerate(genres)
    ]


def evaluate(curated: Path, spaces: tuple[Space, ...] = SPACES) -> dict:
    """Genre agreement @10 of each space on one curated dataset."""
    tracks = pl.read_parquet(curated / "tracks.parquet").sort("id")
    members = pl.read_parquet(curated / "track_genres.parquet")
    bits, genres = genre_bits(tracks, members)
    recording = tracks.select(pl.struct("name", "artists").rank("dense")).to_series().to_numpy()
    expected = chance(bits)
    others = nearest_other_artists(standardised(tracks, spaces[0]), artist_sets(tracks))
    filtered = agreement(others, bits)
    results: list[dict[str, Any]] = []
    for space in spaces:
        started = time.perf_counter()
        shares = agreement(nearest(standardised(tracks, space), recording), bits)
        genres_rows = per_genre(shares, expected, bits, genres)
        if space is spaces[0]:  # the service's space: also with the artist filter
            for row, g in zip(genres_rows, range(len(genres)), strict=True):
                row["artist_filtered_at_10"] = round(float(np.nanmean(filtered[bits[:, g]])), 4)
        results.append(
            {
                "space": space.name,
                "mean_over_genres": round(
                    float(np.mean([r["agreement_at_10"] for r in genres_rows])), 4
                ),
                "mean_over_tracks": round(float(np.nanmean(shares)), 4),
                "chance_over_genres": round(float(np.mean([r["chance"] for r in genres_rows])), 4),
                "seconds": round(time.perf_counter() - started, 1),
                "genres": genres_rows,
            }
        )
        print(f"  similarity {curated.parent.parent.name:18} {space.name:48} "
              f"{results[-1]['mean_over_genres']:.4f} (chance {results[-1]['chance_over_genres']:.4f})",
              flush=True)  # fmt: skip
    artist_filter = {
        "space": spaces[0].name,
        "mean_over_genres": round(
            float(np.mean([r["artist_filtered_at_10"] for r in results[0]["genres"]])), 4
        ),
        "mean_over_tracks": round(float(np.nanmean(filtered)), 4),
        "tracks_with_fewer_than_k": int(np.count_nonzero((others < 0).any(axis=1))),
    }
    print(f"  similarity {curated.parent.parent.name:18} artist filter: "
          f"{artist_filter['mean_over_genres']:.4f}", flush=True)  # fmt: skip
    return {"dataset": curated.parent.parent.name, "tracks": tracks.height, "spaces": results,
            "artist_filter": artist_filter}  # fmt: skip


def markdown(runs: list[dict]) -> str:
    """docs/performance.md's tables from a results.json 'similarity' section: every space on
    every dataset, then the service's space per genre (highest agreement first)."""
    names = [space["space"] for space in runs[0]["spaces"]]
    lines = ["| space | " + " | ".join(f"{r['dataset']} @10 (chance)" for r in runs) + " |",
             "|---|" + "---|" * len(runs)]  # fmt: skip
    for i, name in enumerate(names):
        cells = [f"{r['spaces'][i]['mean_over_genres']:.4f} ({r['spaces'][i]['chance_over_genres']:.4f})"
                 for r in runs]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "The service's space with an artist filter (neighbours sharing an artist with the "
              "track left out):", "", "| dataset | @10 | @10, artist filter | chance |",
              "|---|---|---|---|"]  # fmt: skip
    for run in runs:
        if "artist_filter" in run:
            lines.append(f"| {run['dataset']} | {run['spaces'][0]['mean_over_genres']:.4f} | "
                         f"{run['artist_filter']['mean_over_genres']:.4f} | "
                         f"{run['spaces'][0]['chance_over_genres']:.4f} |")  # fmt: skip
    for run in runs:
        genres = sorted(run["spaces"][0]["genres"], key=lambda g: -g["agreement_at_10"])
        lines += ["", f"{run['dataset']}, the service's space:", "",
                  "| genre | tracks | agreement @10 | artist filter | chance | ratio | ratio, filtered |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {g['genre']} | {g['tracks']:,} | {g['agreement_at_10']:.3f} | "
            f"{g.get('artist_filtered_at_10', float('nan')):.3f} | {g['chance']:.3f} "
            f"| {g['agreement_at_10'] / g['chance']:.1f}x "
            f"| {g.get('artist_filtered_at_10', float('nan')) / g['chance']:.1f}x |"
            for g in genres
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI: evaluate every space on one curated folder (summary as JSON), or print the markdown
    tables of a finished run's results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", type=Path)
    parser.add_argument("--markdown", type=Path, help="a results.json to print as tables")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())["similarity"]))
        return
    if args.curated is None:
        parser.error("give --curated or --markdown")
    result = evaluate(args.curated)
    for space in result["spaces"]:
        space.pop("genres")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
