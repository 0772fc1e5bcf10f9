"""Errors of the handoff domain; the agent API turns each into its HTTP status."""

from __future__ import annotations


class HandoffError(Exception):
    """Base class: `code` is the machine-readable error code of the API body."""

    code = "handoff_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotAuthenticated(HandoffError):
    """No valid agent session (missing, wrong, expired or revoked token)."""

    code = "unauthorized"


class Forbidden(HandoffError):
    """The agent is known but may not do this (role, ownership, CSRF, language)."""

    code = "forbidden"


class RateLimited(HandoffError):
    """Too many failed logins; `retry_after_s` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotFound(HandoffError):
    """No such conversation, agent, callback or draft."""

    code = "not_found"


class Conflict(HandoffError):
    """The conversation is not in a state that allows this (e.g. someone else claimed it)."""

    code = "conflict"


class InvalidInput(HandoffError):
    """A value the domain refuses (unknown topic, role, language ...)."""

    code = "invalid_value"
