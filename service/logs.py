"""The log's formatter: what a log line quotes from a request is shown with controls escaped."""

from __future__ import annotations

import logging

from contract.text import shown


class EscapingFormatter(logging.Formatter):
    """logging.Formatter whose messages (the access log's request line too) show control
    characters as escapes, so a request cannot forge log lines or drive a terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = shown(record.message)
        return super().formatMessage(record)
