"""Typed errors of the ticketing engine; adapters turn them into replies or 4xx bodies."""

from __future__ import annotations


class TicketingError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "ticketing_error"


class DemoDataError(TicketingError):
    """The demo data file is malformed; the message names the file and entry."""

    code = "invalid_demo_data"


class NotFound(TicketingError):
    """An id that does not exist (or belongs to someone else)."""

    code = "not_found"
