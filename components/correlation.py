"""The correlation id of the fan message the Rasa process is handling, in its log lines.

The gateway sends each message's id in the metadata under `correlation_id`
(core/correlation.py describes the whole path). The gateway's input channel
(components/channel.py) binds it while Rasa handles the message, and `install`
(called by components/server.py once Rasa has set up its logging) makes every line of
the Rasa process show it as `[<id>]`, or `[-]` outside any message. Rasa passes the
metadata on to the action server in the tracker, where the id is read again.

Components import none of the desk's packages (they run in Rasa's environment), so
this is a small copy of what the desk's processes use.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

METADATA_KEY = "correlation_id"
NONE = "-"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The desk's own processes write the same (core/correlation.py): the three logs merge and
# sort by time.
FORMAT = "%(asctime)s %(levelname)-8s [%(correlation_id)s] %(name)s - %(message)s"

_current: ContextVar[Optional[str]] = ContextVar("matchday_correlation_id", default=None)


def sane(value: object) -> Optional[str]:
    """`value` when it is a usable id (at most 64 of A-Z a-z 0-9 . _ -), else None."""
    if isinstance(value, str) and _SANE.fullmatch(value):
        return value
    return None


def current() -> Optional[str]:
    """The id of the message being handled, None outside any."""
    return _current.get()


@contextmanager
def bind(value: Optional[str]) -> Iterator[Optional[str]]:
    """The block handles the message with id `value` (None: a message without one)."""
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


class CorrelationFilter(logging.Filter):
    """Adds `correlation_id` (the current id, or `-`) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = _current.get() or NONE
        return True


def install(fmt: str = FORMAT) -> None:
    """Show the id in every line the root logger's handlers write (Rasa's and ours)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, CorrelationFilter) for f in handler.filters):
            handler.addFilter(CorrelationFilter())
        handler.setFormatter(logging.Formatter(fmt))
