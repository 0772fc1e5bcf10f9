"""Gate scans that arrive together are checked in together.

On match day dozens of turnstiles scan at once. Each scan on its own would cost the
gateway a thread hand-off, a pooled connection and a commit; here a scan that
arrives while a batch is being written waits for the next batch, and a batch is one
`check_in_many()` transaction (on PostgreSQL one statement). Nothing waits on
purpose: an idle gate's single scan is written at once, alone; batches only form
under load, so latency never grows to make them.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from bot.database import run_engine
from ticketing.gate import Scan, ScanResult, check_in_many
from ticketing.keys import KeyRing

MAX_BATCH = 64


class ScanBatcher:
    """Queues scans and writes them a batch at a time (one writer per process)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_batch: int = MAX_BATCH,
        keys: KeyRing | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = keys  # None: the configured signing keys (MATCHDAY_KEYS_DIR)
        self._max_batch = max_batch
        self._waiting: list[tuple[Scan, asyncio.Future[ScanResult]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def check_in(self, scan: Scan) -> ScanResult:
        """Check `scan` in (with whatever other scans are waiting) and return its answer."""
        answer: asyncio.Future[ScanResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((scan, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await answer

    async def _write(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                scans = [scan for scan, _answer in batch]
                results = await run_engine(check_in_many, self._sessions, scans, keys=self._keys)
            except Exception as exc:  # every scan of the batch gets the error (a 5xx)
                for _scan, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            for (_scan, answer), result in zip(batch, results, strict=True):
                if not answer.done():  # the scanner may have hung up meanwhile
                    answer.set_result(result)
