"""uvicorn's access log of the gateway never holds a signed link's query string."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bot.api.access_log import ACCESS_LOGGER
from core.media import signed_path, ticket_qr_path
from tests.conftest import make_settings
from tests.support.server import live_gateway

SECRET = "access-log-test-media-secret"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def access_records() -> Iterator[list[logging.LogRecord]]:
    """The access log records written meanwhile, as uvicorn's handlers would get them."""
    logger = logging.getLogger(ACCESS_LOGGER)
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the tests' servers log warnings only
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_signed_qr_link_is_logged_without_its_signature(sqlite_url: str) -> None:
    link = signed_path(SECRET, ticket_qr_path(7, 1))
    signature = link.rpartition("sig=")[2]
    with (
        live_gateway(make_settings(sqlite_url, MATCHDAY_MEDIA_SECRET=SECRET)) as base,
        access_records() as records,
    ):
        response = httpx.get(f"{base}{link}")
        fixtures = httpx.get(f"{base}/api/v1/fixtures?team=home&limit=5")
    assert response.status_code == 410  # a real link to a ticket this database never had
    assert fixtures.status_code == 401
    lines = [record.getMessage() for record in records]
    assert any("/media/tickets/7-v1.png?[redacted]" in line and "410" in line for line in lines)
    assert any("/api/v1/fixtures?[redacted]" in line for line in lines), lines
    assert not any(signature in line or "sig=" in line or "team=" in line for line in lines)
