"""Buying through the REST API, as the club's website would (tests and benches)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def buy(client: httpx.Client, customer: str, fixture_id: int, quantity: int) -> dict[str, Any]:
    """Hold `quantity` seats of `fixture_id` for `customer` and pay (sandbox card);
    the paid order as the API returns it. `client` carries the desk's API key."""
    hold = client.post(
        "/api/v1/holds",
        json={"customer": customer, "fixture_id": fixture_id, "quantity": quantity},
    )
    assert hold.status_code == 201, hold.text
    order = client.post(
        "/api/v1/orders",
        json={
            "customer": customer,
            "hold_id": hold.json()["hold_id"],
            "payment": {"method": "sandbox", "token": "tok_ok"},
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    return body
