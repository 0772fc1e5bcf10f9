"""uvicorn's access log without query strings.

Query strings carry what must not sit in log files: the signatures of QR links
(`/media/tickets/...?exp=...&sig=...`, good for a week to whoever reads the log) and
fans' customer ids. The access log keeps the method, path and status of every request;
its query string becomes `?[redacted]`.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"


class RedactQueryStrings(logging.Filter):
    """Replaces the query string of an access log record's path (its third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2:
            path = args[2]
            if isinstance(path, str) and "?" in path:
                route = path.partition("?")[0]
                record.args = (*args[:2], f"{route}?{REDACTED}", *args[3:])
        return True


def redact_query_strings() -> None:
    """Install the filter on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
        logger.addFilter(RedactQueryStrings())
