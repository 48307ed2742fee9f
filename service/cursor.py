"""Keyset paging: the opaque cursor of a listing's next page, and where a cursor continues.

A cursor is the URL-safe base64 (no padding) of compact JSON `{"s": order, "k": key, "i": id}`:
the order it was made for (a sort name of /tracks, "distance" for similar tracks and
recommendations, "artists" for /artists), the sort key of the last item of its page, and that
item's id (a track id; an artist's name). The next page holds the items that come after (key,
id) in the order: so it costs what a first page costs wherever it is, and a cursor made before
a new version was published goes on after its key in the new version (the item itself may be
gone). A cursor grants nothing a client could not ask for by itself, so it is not signed; it
is checked strictly, and anything that is not a cursor of the order asked for is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any
from urllib.parse import unquote_plus

from contract import TRACK_ID_PATTERN
from contract.fields import FIELD, SORTS
from service.params import Param, ParamError

MAX_CURSOR = 2000  # characters: the longest artist name in a cursor fits many times over
CURSOR_PARAM = Param(
    "cursor",
    "string",
    "Continue a listing after the last item of a page: the cursor of meta.next (or of the Link "
    "header's rel=next URL). Opaque; it holds that item's sort key and id, so the next page "
    "costs what the first does and goes on after that key even if a new dataset version was "
    "published meanwhile. Not with offset.",
    pattern=f"[A-Za-z0-9_-]{{1,{MAX_CURSOR}}}",
)
_TRACK_ID = re.compile(TRACK_ID_PATTERN)
Key = Any  # a number, a text, or [track count, name] for artists


def encode(order: str, key: Key, ident: str) -> str:
    """The cursor of the item with this sort key and id in `order`."""
    text = json.dumps({"s": order, "k": key, "i": ident}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(text: str, order: str) -> tuple[Key, str]:
    """The (sort key, id) a cursor of `order` holds, or a ParamError saying what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _malformed("it is not base64url-encoded JSON") from None
    if not isinstance(payload, dict) or set(payload) != {"s", "k", "i"}:
        raise _malformed("it does not hold an order, a key and an id")
    if payload["s"] != order:
        raise ParamError(
            f"'cursor' continues the order '{str(payload['s'])[:50]}', not '{order}': keep the "
            "other parameters of the page it came from (or start again without a cursor)"
        )
    key, ident = payload["k"], payload["i"]
    if not _valid_key(order, key):
        raise _malformed(f"its key does not fit the order '{order}'")
    if not isinstance(ident, str) or not (
        _TRACK_ID.fullmatch(ident) if order != "artists" else ident
    ):
        raise _malformed("its id is not one")
    return key, ident


def _malformed(why: str) -> ParamError:
    return ParamError(
        f"'cursor' is malformed: {why}; use the cursor of a page's meta.next as it is"
    )


def _valid_key(order: str, key: Key) -> bool:
    """Whether a key has the type of the order's sort key."""
    if order == "artists":  # [track count, name]
        return (
            isinstance(key, list) and len(key) == 2 and _is_int(key[0]) and isinstance(key[1], str)
        )
    if order == "distance":  # whole ticks of 1e-9 (service/similarity.py: TIE)
        return _is_int(key) and key >= 0
    column = SORTS[order][0]
    kind = FIELD[column].type
    if kind == "string":
        return isinstance(key, str)
    if kind == "integer":
        return _is_int(key)
    return _is_int(key) or (isinstance(key, float) and math.isfinite(key))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def refuse_with_offset(query: dict[str, list[str]]) -> None:
    """A cursor says where a page starts, so it cannot be combined with offset."""
    if "cursor" in query and "offset" in query:
        raise ParamError(
            "'cursor' cannot be combined with 'offset': a cursor already says where the page "
            "starts; give one or the other"
        )


def next_url(path: str, query_string: str, cursor: str) -> str:
    """The URL of the next page: this one's query as sent, without offset or cursor, plus the
    cursor (so the next page keeps every other parameter, in the client's own spelling)."""
    kept = [
        part
        for part in query_string.split("&")
        if part and unquote_plus(part.partition("=")[0]) not in ("offset", "cursor")
    ]
    return f"{path}?{'&'.join([*kept, f'cursor={cursor}'])}"
