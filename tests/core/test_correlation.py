"""The correlation id: sane ids only, bound for a block, and in every log line meanwhile,
from asyncio tasks and worker threads alike."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import anyio
import pytest

from core import correlation


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What a handler set up as the desk's processes set theirs up writes."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(correlation.FORMAT))
    logger = logging.getLogger("matchday.test.correlation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        correlation.install(logger)
        yield out
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


@pytest.mark.parametrize(
    "given",
    ["abc", "A-Z.a_z-0.9", "x" * 64, "5d0c1c7e9b2a4f7e8c3d2b1a0f9e8d7c"],
)
def test_a_short_token_is_a_sane_id(given: str) -> None:
    assert correlation.sane(given) == given


@pytest.mark.parametrize(
    "given",
    ["", "x" * 65, "has space", "line\nbreak", 'quote"d', "[brackets]", "中文", None, 42],
)
def test_anything_else_is_not(given: object) -> None:
    assert correlation.sane(given) is None


def test_a_new_id_is_sane_and_new() -> None:
    first, second = correlation.new_id(), correlation.new_id()
    assert correlation.sane(first) == first and len(first) == 32
    assert first != second


def test_bind_makes_an_id_current_for_the_block_only() -> None:
    assert correlation.current() is None
    with correlation.bind("outer") as outer:
        assert outer == "outer" == correlation.current()
        with correlation.bind() as inner:
            assert correlation.current() == inner != "outer"
            assert correlation.sane(inner) == inner
        assert correlation.current() == "outer"
    assert correlation.current() is None
    token = correlation.set_current("set")
    assert correlation.current() == "set"
    correlation.reset(token)
    assert correlation.current() is None


def test_every_line_shows_the_current_id_or_a_dash(lines: io.StringIO) -> None:
    log = logging.getLogger("matchday.test.correlation")
    log.info("before")
    with correlation.bind("msg-1"):
        log.info("during")
    written = lines.getvalue().splitlines()
    assert "[-] matchday.test.correlation - before" in written[0]
    assert "[msg-1] matchday.test.correlation - during" in written[1]


def test_the_id_follows_the_message_into_tasks_and_worker_threads(lines: io.StringIO) -> None:
    log = logging.getLogger("matchday.test.correlation")

    async def handle(cid: str) -> None:
        with correlation.bind(cid):
            await asyncio.sleep(0)
            await anyio.to_thread.run_sync(log.info, f"thread of {cid}")
            await asyncio.create_task(asyncio.to_thread(log.info, f"task of {cid}"))

    async def two_messages_at_once() -> None:
        await asyncio.gather(handle("m-a"), handle("m-b"))

    asyncio.run(two_messages_at_once())
    for line in lines.getvalue().splitlines():
        cid = line.rsplit(" ", 1)[1]
        assert f"[{cid}]" in line, line
    assert len(lines.getvalue().splitlines()) == 4


def test_install_adds_the_filter_once() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logger = logging.getLogger("matchday.test.install")
    logger.addHandler(handler)
    try:
        correlation.install(logger)
        correlation.install(logger)
        filters = [f for f in handler.filters if isinstance(f, correlation.CorrelationFilter)]
        assert len(filters) == 1
    finally:
        logger.removeHandler(handler)
