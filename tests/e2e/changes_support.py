"""Helpers for the end-to-end tests of exchanges, transfers and verification."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack
from tests.support.orders import buy

ROOT = Path(__file__).resolve().parents[2]


def buy_by_api(stack: Stack, customer: str, quantity: int = 1) -> dict[str, Any]:
    """Buy tickets for `customer` through the REST API (as the club's website would)."""
    with stack.client() as client:
        fixtures = client.get("/api/v1/fixtures").json()
        fixture = next(f for f in fixtures if f["sale"] == "on_sale" and f["available"] > 10)
        return buy(client, customer, fixture["id"], quantity)


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
