"""Compare a track's audio features with a genre: average, delta and the track's percentile.

The percentile is the mid-rank percentile of the track's value within the genre's own distribution
of that feature (all tracks that belong to the genre):

    percentile = 100 * (count below + count equal / 2) / n, rounded to 1 decimal

and the label reads it: below 25 is "below average", above 75 "above average", anything else
(25 to 75 inclusive) "near average". Because it comes from the genre's distribution, the label means
the same for tempo (BPM) or loudness (dB) as for energy. This module never imports Flask.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from contract import FEATURES
from service.index import TrackIndex, genre_values, row_of, track_texts
from service.params import genre_not_found, track_not_found

BELOW_AVERAGE_UNDER = 25.0
ABOVE_AVERAGE_OVER = 75.0


def percentile(sorted_values: np.ndarray, value: float) -> float | None:
    """Mid-rank percentile (0-100, 1 decimal) of value within sorted values; None if empty."""
    n = len(sorted_values)
    if n == 0:
        return None
    below = int(np.searchsorted(sorted_values, value, side="left"))
    equal = int(np.searchsorted(sorted_values, value, side="right")) - below
    return round(100.0 * (below + equal / 2) / n, 1)


def percentile_label(value: float | None) -> str | None:
    """The label of a percentile: below 25 below average, above 75 above average, else near."""
    if value is None:
        return None
    if value < BELOW_AVERAGE_UNDER:
        return "below average"
    if value > ABOVE_AVERAGE_OVER:
        return "above average"
    return "near average"


def comparison(
    index: TrackIndex, genre: dict[str, Any] | None, genre_id: str, track_id: str
) -> dict[str, Any]:
    """The /compare payload for a track against a genre object (None if unknown: NotFoundError)."""
    values = None if genre is None else genre_values(index, genre["id"])
    if genre is None or values is None:
        raise genre_not_found(genre_id)
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id)
    features = {}
    for feature in FEATURES:
        track_value = index.values[feature].item(row)
        genre_avg = genre[f"avg_{feature}"]
        rank = percentile(values[feature], track_value)
        features[feature] = {
            "track_value": track_value,
            "genre_avg": genre_avg,
            # delta of the values as shown, so track_value - genre_avg == delta to 4 decimals
            "delta": None if genre_avg is None else round(track_value - genre_avg, 4),
            "percentile": rank,
            "percentile_label": percentile_label(rank),
        }
    track = json.loads(track_texts(index, [row])[0])
    return {"track": track, "genre": genre, "comparison": features}
