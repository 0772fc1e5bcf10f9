"""The gateway's correlation ids: a client's sane `X-Request-ID` is kept, anything else
replaced; the id is current while the request is served, echoed in the answer and
written in the access log's line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from uvicorn.logging import AccessFormatter

from bot.api.access_log import ACCESS_LOGGER
from bot.api.app import create_app
from bot.api.log_config import ACCESS_FORMAT
from core import correlation
from tests.conftest import make_settings
from tests.support.databases import migrated
from tests.support.server import free_port, serving

HEADER = "X-Request-ID"


async def _current_id() -> dict[str, str | None]:
    return {"current": correlation.current()}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = migrated(f"sqlite:///{tmp_path_factory.mktemp('correlation') / 'desk.db'}")
    app: FastAPI = create_app(make_settings(url))
    app.add_api_route("/test-current-id", _current_id)
    with serving(app, free_port(), "/healthz", lifespan="on") as served:
        yield served


class _Lines(logging.Handler):
    """The access log's lines as `desk serve` formats them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.addFilter(correlation.CorrelationFilter())
        self.setFormatter(AccessFormatter(ACCESS_FORMAT, use_colors=False))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    logger = logging.getLogger(ACCESS_LOGGER)
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the tests' servers log warnings only
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_clients_sane_id_is_current_and_echoed(base: str) -> None:
    response = httpx.get(f"{base}/test-current-id", headers={HEADER: "shop-7.order_42"})
    assert response.json() == {"current": "shop-7.order_42"}
    assert response.headers[HEADER] == "shop-7.order_42"


@pytest.mark.parametrize("given", [None, "", "x" * 65, "two words", "a/b", "<script>"])
def test_without_a_sane_id_the_gateway_makes_one(base: str, given: str | None) -> None:
    headers = {HEADER: given} if given is not None else {}
    first = httpx.get(f"{base}/test-current-id", headers=headers)
    second = httpx.get(f"{base}/test-current-id", headers=headers)
    made = first.headers[HEADER]
    assert correlation.sane(made) == made and len(made) == 32 and made != given
    assert first.json() == {"current": made}
    assert second.headers[HEADER] != made  # one per request


def test_refusals_and_errors_carry_the_id_too(base: str) -> None:
    refused = httpx.get(f"{base}/api/v1/fixtures", headers={HEADER: "no-key-1"})
    assert refused.status_code == 401 and refused.headers[HEADER] == "no-key-1"
    missing = httpx.get(f"{base}/no-such-page", headers={HEADER: "lost-1"})
    assert missing.status_code == 404 and missing.headers[HEADER] == "lost-1"
    big = httpx.post(f"{base}/api/v1/triage", content=b"x" * 70_000, headers={HEADER: "big-1"})
    assert big.status_code == 413 and big.headers[HEADER] == "big-1"


def test_the_access_log_line_of_a_request_names_its_id(base: str, access_lines: list[str]) -> None:
    httpx.get(f"{base}/healthz", headers={HEADER: "probe-1"})
    httpx.get(f"{base}/api/v1/fixtures", headers={HEADER: "no-key-2"})
    assert any("[probe-1] uvicorn.access" in line and "/healthz" in line for line in access_lines)
    assert any("[no-key-2]" in line and "401" in line for line in access_lines), access_lines
