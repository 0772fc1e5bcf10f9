"""Buying through the REST API, as the club's website would (tests and benches)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def _created(response: httpx.Response) -> httpx.Response:
    """`response` if it is a 201; else an HTTPStatusError that carries the error body."""
    if response.status_code != 201:
        raise httpx.HTTPStatusError(
            f"{response.request.method} {response.request.url.path}: expected 201, got "
            f"{response.status_code}: {response.text}",
            request=response.request,
            response=response,
        )
    return response


def buy(client: httpx.Client, customer: str, fixture_id: int, quantity: int) -> dict[str, Any]:
    """Hold `quantity` seats of `fixture_id` for `customer` and pay (sandbox card);
    the paid order as the API returns it. `client` carries the desk's API key.

    Raises httpx.HTTPStatusError (with the error body) when either step is refused."""
    hold = _created(
        client.post(
            "/api/v1/holds",
            json={"customer": customer, "fixture_id": fixture_id, "quantity": quantity},
        )
    )
    order = _created(
        client.post(
            "/api/v1/orders",
            json={
                "customer": customer,
                "hold_id": hold.json()["hold_id"],
                "payment": {"method": "sandbox", "token": "tok_ok"},
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    )
    body: dict[str, Any] = order.json()
    return body
