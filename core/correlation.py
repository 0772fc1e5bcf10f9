"""The correlation id: one per fan message, in every log line written about it.

A fan's message crosses three processes (gateway → Rasa → action server). Each process
keeps the id of the message it is working on in a context variable, so that every log
line written while handling it names it, and passes it on to the next process:

- the gateway takes a client's `X-Request-ID` when it is a sane token (`sane`: at most
  64 characters of A-Z, a-z, 0-9, `.`, `_`, `-`), otherwise makes one (`new_id`), and
  echoes it in the response's `X-Request-ID` (bot/api/correlation.py); the widget's
  socket frames and Telegram's updates get one each;
- the conversation service sends it to Rasa in the message's metadata under
  `correlation_id` (METADATA_KEY); Rasa's gateway channel binds it in the Rasa process
  (components/correlation.py, a copy for Rasa's own environment);
- the action server reads it from the tracker's latest message and binds it for that
  call (actions/server.py).

`CorrelationFilter` puts the id on every log record as `correlation_id` (`-` when none);
`install` adds it to a process's log handlers and `FORMAT` shows it as `[<id>]`.
A context variable follows asyncio tasks and anyio's worker threads, so a line logged
from a thread that works for the message carries the id too.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
METADATA_KEY = "correlation_id"
NONE = "-"  # what a log line shows outside any message
MAX_LENGTH = 64
_SANE = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_LENGTH}}}")
# asctime, level, [id], logger: message. The gateway and the action server use it.
FORMAT = "%(asctime)s %(levelname)-8s [%(correlation_id)s] %(name)s - %(message)s"

_current: ContextVar[str | None] = ContextVar("matchday_correlation_id", default=None)


def new_id() -> str:
    """A fresh id (32 hex digits)."""
    return uuid.uuid4().hex


def sane(value: object) -> str | None:
    """`value` when it is a usable id (a short token safe in logs and headers), else None."""
    if isinstance(value, str) and _SANE.fullmatch(value):
        return value
    return None


def current() -> str | None:
    """The id of the message being handled here, None outside any."""
    return _current.get()


def set_current(value: str | None) -> Token[str | None]:
    """Make `value` the current id (for code that cannot use `bind`); `reset` undoes it."""
    return _current.set(value)


def reset(token: Token[str | None]) -> None:
    """Restore the id that was current before `set_current` returned `token`."""
    _current.reset(token)


@contextmanager
def bind(value: str | None = None) -> Iterator[str]:
    """The block handles the message with id `value` (a new id when None); yields it."""
    chosen = value or new_id()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


class CorrelationFilter(logging.Filter):
    """Adds `correlation_id` (the current id, or `-`) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.__dict__["correlation_id"] = _current.get() or NONE
        return True


def install(*loggers: logging.Logger) -> None:
    """Add the filter to every handler of the root logger and of `loggers` (once each),
    so that any format may name `%(correlation_id)s`."""
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, CorrelationFilter) for f in handler.filters):
                handler.addFilter(CorrelationFilter())
