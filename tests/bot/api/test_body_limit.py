"""The request body limit over real HTTP: declared or chunked, on every route, before auth."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.api.app import MAX_BODY_BYTES
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.databases import migrated
from tests.support.server import live_gateway

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = migrated(f"sqlite:///{tmp_path_factory.mktemp('limits') / 'desk.db'}")
    with live_gateway(make_settings(url)) as base:
        yield base


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """`total` bytes sent without Content-Length (Transfer-Encoding: chunked)."""
    piece = b"x" * size
    for start in range(0, total, size):
        yield piece[: total - start]


def _chunks_of(body: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/holds",  # the API key is checked after the body is read: 413, not 401
        "/api/v1/agent/session",
        "/api/v1/widget/sessions",  # reads its body itself
        "/telegram/webhook",
    ],
)
def test_a_chunked_megabyte_is_refused_with_413_in_the_error_shape(gateway: str, path: str) -> None:
    response = httpx.post(
        f"{gateway}{path}",
        content=_chunks(MIB),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    if path == "/telegram/webhook":  # not enabled here: refused before any body is read
        assert response.status_code == 404, response.text
        return
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in error["message"]


def test_a_declared_length_over_the_limit_is_refused_before_the_body(gateway: str) -> None:
    response = httpx.post(
        f"{gateway}/api/v1/holds",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_small_chunked_body_is_read_as_usual(gateway: str) -> None:
    response = httpx.post(
        f"{gateway}/api/v1/holds",
        content=iter([b'{"customer": "tg:1", ', b'"fixture_id": 1, "quantity": 1}']),
        headers={"Authorization": f"Bearer {TEST_API_KEY}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 404, response.text  # no such fixture: the body was read
    assert response.json()["error"]["code"] == "not_found"


def test_a_body_just_at_the_limit_is_accepted(gateway: str) -> None:
    body = b'{"text": "' + b"a" * (MAX_BODY_BYTES - 12) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    response = httpx.post(
        f"{gateway}/api/v1/holds",
        content=_chunks_of(body),
        headers={"Authorization": f"Bearer {TEST_API_KEY}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text  # read whole, then found wanting
