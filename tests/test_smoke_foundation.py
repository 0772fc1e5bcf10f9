"""The foundation: migrations apply on both databases and the gateway answers."""

from __future__ import annotations

import httpx
from sqlalchemy import inspect

from core.db import engine_for
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.server import live_gateway


def test_migrations_create_the_tables(database_url: str) -> None:
    tables = set(inspect(engine_for(database_url)).get_table_names())
    assert {"fixtures", "teams", "venues", "conversations", "messages"} <= tables


def test_wrong_api_key_is_refused(sqlite_url: str) -> None:
    with live_gateway(make_settings(sqlite_url)) as base:
        wrong = httpx.post(
            f"{base}/api/v1/triage", json={"text": "hi"}, headers={"Authorization": "Bearer nope"}
        )
        missing = httpx.post(f"{base}/api/v1/triage", json={"text": "hi"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "unauthorized"
        assert missing.status_code == 401
        ok_auth = httpx.get(
            f"{base}/api/v1/conversations/nobody/messages",
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        )
        assert ok_auth.status_code == 404
        assert ok_auth.json()["error"]["code"] == "not_found"
