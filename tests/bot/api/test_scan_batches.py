"""Gate scans arriving together are written together, each answered as if alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

import bot.api.scan_batches as scan_batches
from bot.api.scan_batches import ScanBatcher
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.gate import Scan, check_in_many


def _spy_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []

    def spy(*args: object, **kwargs: object) -> object:
        sizes.append(len(args[1]))  # type: ignore[arg-type]
        return check_in_many(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_batches, "check_in_many", spy)
    return sizes


def test_concurrent_scans_are_batched_and_each_ticket_admitted_once(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [t for n in range(5) for t in buy(club, f"tg:{n}", 4).tickets]  # 20 tickets
    sizes = _spy_batches(monkeypatch)
    batcher = ScanBatcher(club.db, max_batch=16, keys=club.keys)

    async def gates() -> list[tuple[int, str]]:
        # Every ticket scanned at two turnstiles at the same moment, plus a forgery.
        scans = [Scan(t.code, gate) for gate in ("N1", "S1") for t in tickets]
        scans.append(Scan("forged", "N1"))
        results = await asyncio.gather(*(batcher.check_in(s) for s in scans))
        return [(r.ticket_id or 0, r.result) for r in results]

    answers = asyncio.run(gates())
    assert answers[-1] == (0, "invalid")
    for ticket in tickets:
        outcomes = sorted(result for tid, result in answers if tid == ticket.id)
        assert outcomes == ["already_used", "ok"]
    assert sum(sizes) == 41 and max(sizes) == 16  # batches formed, none above the cap
    assert len(sizes) < 41


def test_a_lone_scan_is_written_at_once(lite: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = buy(lite, "tg:1", 1).tickets[0]
    sizes = _spy_batches(monkeypatch)
    batcher = ScanBatcher(lite.db, keys=lite.keys)
    result = asyncio.run(batcher.check_in(Scan(ticket.code, "A", nonce="n")))
    assert (result.result, result.seat, sizes) == ("ok", ticket.seat.label, [1])


def test_a_failed_batch_fails_its_scans_and_the_next_batch_works(
    lite: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = buy(lite, "tg:1", 1).tickets[0]
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE tickets", {}, Exception("database went away"))
        return check_in_many(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_batches, "check_in_many", flaky)
    batcher = ScanBatcher(lite.db, keys=lite.keys)

    async def scan_twice() -> str:
        with pytest.raises(OperationalError):
            await batcher.check_in(Scan(ticket.code, "A"))
        return (await batcher.check_in(Scan(ticket.code, "A"))).result

    assert asyncio.run(scan_twice()) == "ok"  # nothing was half-written by the failure
