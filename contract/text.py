"""Untrusted text, shown safely: control characters written as escapes, and what counts as blank.

Every message, log line and report that quotes input (a raw value, a request's path) passes it
through `shown`, so a value holding ESC [2J cannot clear an operator's terminal, a NUL cannot cut
a report, and a right-to-left override cannot reorder the text around it. The same character
classes define the names a raw row may not have (pipeline/expectations.py).
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, and the bidirectional embeddings, overrides and isolates.
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F),
             *range(0x2066, 0x206A)]  # fmt: skip
_UNSAFE = re.compile("[" + "".join(re.escape(chr(code)) for code in _CONTROLS) + "]")
# For Polars (Rust's regex): a name holding a control character, or nothing visible at all.
CONTROL_PATTERN = r"[\p{Cc}]"
INVISIBLE_PATTERN = r"^[\s\p{Z}\p{Cf}]*$"


def escape_code(code: int) -> str:
    """One character as an escape: \\x1b, \\u202e."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """text with every control and bidirectional-control character written as an escape."""
    return _UNSAFE.sub(lambda match: escape_code(ord(match.group())), text)


UNSAFE_CODES: tuple[int, ...] = tuple(_CONTROLS)
