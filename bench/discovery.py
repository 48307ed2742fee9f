"""Issue 18's groups of the in-process benchmark: pages reached by cursor beside first pages,
mix paths, related artists and the artist search.

A cursor is opaque, so the pages reached by one are found through the API itself: for each
drawn listing, its first page (no offset) goes in `<kind>_first`; the same listing at a depth
drawn uniformly among its matches goes in `<kind>_cursor`, as the `next` URL of the page that
ends just before it (asked with offset and limit=1, its limit then put back). Mix paths join
two random tracks in 10 steps; only pairs with a path are kept (the others answer a 422, which
costs less), and the share that had one is reported. Related artists are drawn two ways: a
random track's first artist (prolific artists more often, as users would meet them) and a
random artist name.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from bench import mix

KINDS = ("tracks", "genre_tracks", "similar", "recommendations")
GROUPS = (
    *(f"{kind}_{page}" for kind in KINDS for page in ("first", "cursor")),
    "mix",
    "related",
    "related_uniform",
    "artists",
)
MIX_LENGTH = 10
MAX_DRAWS = 50  # per wanted URL: a listing too short for a deep page, or a pair with no path


def query_mix(app: Any, cat: mix.Catalogue, size: int, seed: int = mix.DEFAULT_SEED) -> dict:
    """Per group, `size` (API URL, None) pairs, drawn with `seed` and checked against `app`."""
    client = app.test_client()
    rng = random.Random(seed + 18)  # its own stream: the older groups' URLs stay as they were
    found: dict[str, list[tuple[str, None]]] = {group: [] for group in GROUPS}
    bases: dict[str, Callable[[], str]] = {
        "tracks": lambda: mix.api_url("/tracks", _unpaged(mix.track_query(rng, cat))),
        "genre_tracks": lambda: _strip_offset(mix.genre_tracks_url(rng, cat)),
        "similar": lambda: mix.similar_url(rng, cat),
        "recommendations": lambda: mix.recommendations_url(rng, cat),
    }
    for kind, draw in bases.items():
        for _ in range(size * MAX_DRAWS):
            if len(found[f"{kind}_first"]) == size:
                break
            first = draw()
            deep = _deep_page(client, first, rng)
            if deep is not None:
                found[f"{kind}_first"].append((first, None))
                found[f"{kind}_cursor"].append((deep, None))
    found["mix"] = [(url, None) for url in _mix_paths(client, cat, rng, size)]
    names = sorted({n.strip() for a in cat.artists for n in a.split(";") if n.strip()})
    found["related"] = [(_related(_first_artist(client, rng, cat)), None) for _ in range(size)]
    found["related_uniform"] = [(_related(rng.choice(names)), None) for _ in range(size)]
    found["artists"] = [
        (mix.api_url("/artists", {"q": mix.artist_fragment(rng, cat.artists)}), None)
        for _ in range(size)
    ]
    return found


def _unpaged(params: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in params.items() if name != "offset"}


def _strip_offset(url: str) -> str:
    path, _, query = url.partition("?")
    return mix.api_url(path.removeprefix(mix.API), _unpaged(dict(parse_qsl(query))))


def _deep_page(client: Any, url: str, rng: random.Random) -> str | None:
    """The URL of a page of the listing at a random depth, reached by cursor (None when the
    listing has no second page)."""
    first = client.get(url).get_json()
    limit, total = first["meta"]["limit"], first["meta"]["total"]
    if total <= limit:
        return None
    depth = rng.randrange(limit, total)
    before = client.get(_with(url, offset=str(depth - 1), limit="1")).get_json()
    following: str | None = before["meta"]["next"]
    if following is None:  # a thinned list (max_per_artist) can end before `total`
        return None
    return _with(following, limit=str(limit))


def _with(url: str, **changes: str) -> str:
    """The URL with some parameters set (in place, or added at the end)."""
    path, _, query = url.partition("?")
    params = dict(parse_qsl(query)) | changes
    return mix.api_url(path.removeprefix(mix.API), params)


def _mix_paths(client: Any, cat: mix.Catalogue, rng: random.Random, size: int) -> list[str]:
    """`size` mix URLs of random pairs that have a path; prints the share that had one."""
    urls: list[str] = []
    tried = 0
    while len(urls) < size and tried < size * MAX_DRAWS:
        tried += 1
        start, end = rng.sample(cat.track_ids, 2)
        url = mix.api_url("/mix", {"from": start, "to": end, "length": str(MIX_LENGTH)})
        if client.get(url).status_code == 200:
            urls.append(url)
    print(f"  mix: {len(urls)} of {tried} random pairs have a path of {MIX_LENGTH}", flush=True)
    return urls


def _first_artist(client: Any, rng: random.Random, cat: mix.Catalogue) -> str:
    """A random track's first artist name (asked of the API: the catalogue of bench/mix.py
    keeps the distinct artists strings, not each track's)."""
    while True:
        track = client.get(f"{mix.API}/tracks/{rng.choice(cat.track_ids)}").get_json()["data"]
        name = track["artists"].split(";")[0].strip()
        if name:
            return str(name)


def _related(name: str) -> str:
    return mix.api_url("/artists/related", {"name": name})


def cursor_ratios(rows: list[dict]) -> list[dict]:
    """Per dataset and listing kind: p50 of pages reached by cursor over first pages."""
    by = {(row["dataset"], row["group"]): row["p50_ms"] for row in rows}
    ratios = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        for kind in KINDS:
            first, deep = by.get((dataset, f"{kind}_first")), by.get((dataset, f"{kind}_cursor"))
            if first and deep:
                ratios.append({"dataset": dataset, "kind": kind, "first_p50_ms": first,
                               "cursor_p50_ms": deep, "ratio": round(deep / first, 2)})  # fmt: skip
    return ratios
