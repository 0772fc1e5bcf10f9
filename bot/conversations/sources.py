"""Where a fan's message came from, as the gateway saw it: the client's address and the
web page's origin.

The gateway sets it on every turn (a caller's own metadata cannot), Rasa carries it in
the message's metadata under `source`, and the actions pass it to the engine, whose
budgets count holds by it (`ticketing.risk.HoldSource`): a fan's id is cheap to change,
where they connect from is not.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ticketing.risk import HoldSource

MAX_ADDRESS = 64
MAX_ORIGIN = 255


def connection_source(connection: HTTPConnection, *, origin: bool = False) -> HoldSource:
    """The source of a request or socket (its client after the trusted proxies);
    `origin`: also the page's `Origin` header (widget sessions)."""
    address = connection.client.host if connection.client else None
    page = connection.headers.get("origin") if origin else None
    return HoldSource(
        address=address[:MAX_ADDRESS] if address else None,
        origin=page[:MAX_ORIGIN] if page else None,
    )
