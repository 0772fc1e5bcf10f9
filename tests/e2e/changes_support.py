"""Helpers for the end-to-end tests of exchanges, transfers and verification."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]


def buy_by_api(stack: Stack, customer: str, quantity: int = 1) -> dict[str, Any]:
    """Buy tickets for `customer` through the REST API (as the club's website would)."""
    with stack.client() as client:
        fixtures = client.get("/api/v1/fixtures").json()
        fixture = next(f for f in fixtures if f["sale"] == "on_sale" and f["available"] > 10)
        hold = client.post(
            "/api/v1/holds",
            json={"customer": customer, "fixture_id": fixture["id"], "quantity": quantity},
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


def order_of(stack: Stack, customer: str, ref: str) -> int:
    """The HTTP status of reading order `ref` as `customer` (200 theirs, 404 not)."""
    with stack.client() as client:
        return client.get(f"/api/v1/orders/{ref}", params={"customer": customer}).status_code


def mail_to(stack: Stack, address: str) -> list[dict[str, Any]]:
    """The local outbox for `address`, newest first, read with `desk mail --json`."""
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "desk"), "mail", "--to", address, "--json"],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    mails: list[dict[str, Any]] = json.loads(result.stdout)
    return mails
