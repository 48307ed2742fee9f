"""Case-insensitive substring search over many short strings (the `artist` filter), in numpy.

The pipeline lowercases the strings once (Python's str.lower, the same function used for the
needle) and joins them by NUL bytes into one UTF-8 byte array (contract/serving.py:
artist_text, artist_starts), which workers map. A search anchors on the needle's rarest byte, checks
the other bytes only at those candidate positions, and maps each hit back to its string. A UTF-8
needle can only match at character boundaries, so byte matches are exactly substring matches.
About 1 ms for 31,000 artist strings, where Polars' str.contains took 1.7 ms and a loop 2.4 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEPARATOR = "\x00"


@dataclass(frozen=True)
class Haystack:
    """Lowercased strings joined into one byte array, with each string's start offset."""

    strings: tuple[str, ...]  # lowercased, decoded once for the loop of contains_mask_of
    data: np.ndarray  # uint8: strings joined by NUL (mapped from the serving arrays)
    starts: np.ndarray  # byte offset of each string in data
    byte_counts: np.ndarray  # occurrences of each byte value in data


def haystack_of(data: np.ndarray, starts: np.ndarray) -> Haystack:
    """The haystack of NUL-joined lowercased strings (data) starting at `starts`.

    Each string is cut at its own start, not split at NULs, so a string holding a NUL (the
    pipeline does not refuse control characters in names) keeps every later string in place.
    """
    blob = bytes(data)
    firsts = starts.tolist()
    ends = [start - 1 for start in firsts[1:]] + [len(blob)] * bool(firsts)  # each separator
    strings = tuple(blob[start:end].decode() for start, end in zip(firsts, ends, strict=True))
    return Haystack(strings, data, starts, np.bincount(data, minlength=256))


def contains_mask(haystack: Haystack, needle: str) -> np.ndarray:
    """Boolean mask of the strings that contain needle, ignoring case."""
    mask = np.zeros(len(haystack.strings), dtype=bool)
    target = needle.lower()
    if SEPARATOR in target or not target:
        mask[:] = [target in s for s in haystack.strings]
        return mask
    pattern = np.frombuffer(target.encode(), dtype=np.uint8)
    if len(pattern) > len(haystack.data):
        return mask
    anchor = int(np.argmin(haystack.byte_counts[pattern]))
    data = haystack.data
    limit = len(data) - len(pattern) + anchor + 1
    hits = np.flatnonzero(data[anchor:limit] == pattern[anchor])  # candidate match starts
    for offset, value in enumerate(pattern):
        if offset != anchor and len(hits):
            hits = hits[data[hits + offset] == value]
    mask[np.searchsorted(haystack.starts, hits, side="right") - 1] = True
    return mask


def contains_mask_of(haystack: Haystack, needle: str, codes: np.ndarray) -> np.ndarray:
    """contains_mask for the strings at codes, by a plain loop (cheaper for a few thousand)."""
    target = needle.lower()
    strings = haystack.strings
    return np.fromiter((target in strings[c] for c in codes.tolist()), dtype=bool, count=len(codes))
