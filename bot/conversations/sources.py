"""Where a fan's message came from, as the gateway saw it: the client's address, the web
page's origin, the server-to-server key.

The gateway sets it on every turn (a caller's own metadata cannot), Rasa carries it in
the message's metadata under `source`, and the actions pass it to the engine, whose
budgets count holds by it (`ticketing.risk.HoldSource`): a fan's id is cheap to change,
where they connect from is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

MAX_ADDRESS = 64
MAX_ORIGIN = 255


@dataclass(frozen=True)
class MessageSource:
    """The source of one fan message (every field optional)."""

    address: str | None = None
    origin: str | None = None
    key_id: int | None = None
    key_budget: int | None = None

    @classmethod
    def of(
        cls,
        connection: HTTPConnection,
        *,
        origin: bool = False,
        key_id: int | None = None,
        key_budget: int | None = None,
    ) -> MessageSource:
        """The source of a request or socket (its client after the trusted proxies);
        `origin`: also the page's `Origin` header (widget sessions)."""
        address = connection.client.host if connection.client else None
        page = connection.headers.get("origin") if origin else None
        return cls(
            address=address[:MAX_ADDRESS] if address else None,
            origin=page[:MAX_ORIGIN] if page else None,
            key_id=key_id,
            key_budget=key_budget,
        )

    def as_metadata(self) -> dict[str, Any]:
        """The fields that are set, for the Rasa message's `metadata["source"]`."""
        fields = {
            "address": self.address,
            "origin": self.origin,
            "key_id": self.key_id,
            "key_budget": self.key_budget,
        }
        return {name: value for name, value in fields.items() if value is not None}
