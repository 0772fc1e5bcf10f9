"""Benchmark of the ticketing engine; writes bench/results/ticketing.json.

Measures, on SQLite and on PostgreSQL (a fresh database each, with the demo club):
- the cost of one purchase (hold + pay of 2 seats, a new fan, the sandbox provider,
  ledger entry, signed tickets), run one after another: client CPU ms, database
  server CPU ms (PostgreSQL backends, read from /proc), SQL statements and
  transactions. These do not depend on how busy the shared machine is.
- purchases per second and p50/p95 latency of the same purchase with 8, 32 and 128
  concurrent buyers, in-process (buyer threads whose purchases the engine runs as a
  library, in one thread per pooled connection as in the gateway, buyers served in
  order of arrival; spread over several buyer processes on PostgreSQL so that the
  client's GIL is not what is measured; one process on SQLite, whose writers are
  serialized anyway) and through
  the HTTP API (the real gateway, one process, and an asyncio client in this process);
- online check-ins per second through the HTTP API (32 concurrent scanners);
- offline gate validations per second (signature + fixture + revocation list).

Usage: .venv/bin/python bench/ticketing.py [--purchases N] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import psycopg  # noqa: E402
import uvloop  # noqa: E402
from sqlalchemy import Engine, event, select, update  # noqa: E402

from bot.database import migrate  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.db import (  # noqa: E402
    engine_for,
    make_engine,
    make_sessionmaker,
    write_session,
)
from ticketing.demo import load_demo_data  # noqa: E402
from ticketing.gate import revoked_set, validate_code  # noqa: E402
from ticketing.holds import create_hold  # noqa: E402
from ticketing.keys import keyring_at  # noqa: E402
from ticketing.models import Fixture, Ticket  # noqa: E402
from ticketing.paying import pay_order  # noqa: E402

PG_ADMIN = os.environ.get("MATCHDAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API_KEY = "bench-key-0123456789"
CONCURRENCY = (8, 32, 128)
BUYER_POOL = 4  # connections per buyer process on PostgreSQL (see buyer_engine)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float], wall: float, errors: int) -> dict[str, Any]:
    return {
        "purchases": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
    }


class Database:
    """A fresh, migrated database with the demo club, every fixture on general sale."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.name = ""
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'bench.db'}"
        else:
            self.name = f"bench_ticketing_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.url = PG_ADMIN.rpartition("/")[0] + f"/{self.name}"
        migrate(self.url)
        engine_for(self.url).dispose()
        self.engine = buyer_engine(self.url, 8)
        self.db = make_sessionmaker(self.engine)
        with write_session(self.db) as session:
            load_demo_data(session)
            session.execute(
                update(Fixture).values(
                    presale_opens_at=utcnow() - timedelta(days=30),
                    general_sale_opens_at=utcnow() - timedelta(days=30),
                )
            )
        with self.db() as session:
            self.fixtures = list(session.scalars(select(Fixture.id).order_by(Fixture.kickoff)))

    def drop(self) -> None:
        self.engine.dispose()
        engine_for(self.url).dispose()
        if self.name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def buyer_engine(url: str, threads: int) -> Engine:
    """The engine of one buyer process; buyers beyond the pool queue for a connection.

    A pool of at most `BUYER_POOL` connections per process: PostgreSQL on 2 cores does
    its best work with a few busy backends, not with one per waiting buyer (the runs
    that chose 4 are in docs/ticketing.md).
    """
    if url.startswith("sqlite"):
        return make_engine(url, pool_size=max(5, threads), pool_timeout=600)
    return make_engine(url, pool_size=min(BUYER_POOL, threads), max_overflow=0, pool_timeout=600)


def purchase(db: Any, keys: Any, fixture_id: int, customer: str, key: str) -> None:
    """The benchmarked unit of work: hold 2 best-available seats, pay with tok_ok."""
    hold = create_hold(db, customer, fixture_id, 2)
    pay_order(db, customer, hold.id, token="tok_ok", idempotency_key=key, keys=keys)


def _backend_cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def round_trip(n: int = 2000) -> dict[str, float]:
    """What one PostgreSQL round trip costs right now: an autocommit `SELECT 1`, prepared.

    The machine's speed for this drifts (its VM's network path and wake-ups, not its
    CPU): the rates below follow it, so the JSON records it before and after.
    """
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for _ in range(50):
            conn.execute("SELECT 1", prepare=True)
        pid = conn.info.backend_pid
        server0, client0, wall0 = _backend_cpu_s([pid]), time.process_time(), time.perf_counter()
        for _ in range(n):
            conn.execute("SELECT 1", prepare=True)
        wall = time.perf_counter() - wall0
        client, server = time.process_time() - client0, _backend_cpu_s([pid]) - server0
    return {
        "client_cpu_us": round(1e6 * client / n, 1),
        "server_cpu_us": round(1e6 * server / n, 1),
        "wall_us": round(1e6 * wall / n, 1),
    }


def cost(database: Database, fixture_id: int, keys_dir: Path, n: int = 200) -> dict[str, Any]:
    """CPU and SQL per purchase, one purchase after another (load-independent figures)."""
    keys = keyring_at(keys_dir)
    statements: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1

    def commit(_conn: Any) -> None:
        statements["COMMIT"] += 1

    for n_ in range(20):  # warm caches, prepared statements, the pool
        purchase(database.db, keys, fixture_id, f"api:cw{n_}", f"cw{n_}")
    pids: list[int] = []
    if database.backend == "postgres":
        with psycopg.connect(PG_ADMIN) as admin:
            pids = [
                row[0]
                for row in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database.name,)
                )
            ]
    event.listen(database.engine, "before_cursor_execute", count)
    event.listen(database.engine, "commit", commit)
    server0, client0, wall0 = _backend_cpu_s(pids), time.process_time(), time.perf_counter()
    for n_ in range(n):
        purchase(database.db, keys, fixture_id, f"api:c{n_}", f"c{n_}")
    wall = time.perf_counter() - wall0
    client, server = time.process_time() - client0, _backend_cpu_s(pids) - server0
    event.remove(database.engine, "before_cursor_execute", count)
    event.remove(database.engine, "commit", commit)
    total = sum(v for k, v in statements.items() if k != "COMMIT")
    return {
        "purchases": n,
        "client_cpu_ms": round(1000 * client / n, 2),
        "server_cpu_ms": round(1000 * server / n, 2) if pids else None,
        "sequential_wall_ms": round(1000 * wall / n, 2),
        "sql_statements": round(total / n, 2),
        "commits": round(statements["COMMIT"] / n, 2),
        "by_kind": {k: round(v / n, 2) for k, v in sorted(statements.items())},
        "note": "client CPU is the engine's Python side (SQLAlchemy, psycopg, signing); "
        "server CPU is PostgreSQL's backends; SQLite runs inside the client",
    }


def _buyer_process(
    url: str,
    keys_dir: str,
    fixture_id: int,
    numbers: list[int],
    threads: int,
    tag: str,
    start: Any,
    results: Any,
) -> None:
    """One buyer process: `threads` buyers sharing the engine, started together."""
    engine = buyer_engine(url, threads)
    # The engine runs in one thread per pooled connection, as the gateway runs it (one
    # request thread per connection); buyers wait their turn in order of arrival, and
    # their latency counts the wait. (Buyer threads calling the engine directly each
    # queued for the pool at every checkout of a purchase, and SQLAlchemy's pool queue
    # is not first come, first served: see docs/ticketing.md for the p95 it cost.)
    serving = ThreadPoolExecutor(max_workers=engine.pool.size())
    db = make_sessionmaker(engine)
    keys = keyring_at(Path(keys_dir))
    with db() as session:  # connect and load modules before the clock starts
        session.execute(select(Fixture.id).limit(1))
    queue = iter(numbers)
    lock = threading.Lock()
    latencies: list[float] = []
    kinds: dict[str, int] = {}

    def buyer() -> None:
        while True:
            with lock:
                n = next(queue, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                customer, key = f"api:{tag}-{n}", f"{tag}-{n}"
                serving.submit(purchase, db, keys, fixture_id, customer, key).result()
            except Exception as exc:  # counted by kind and reported, never hidden
                with lock:
                    name = str(getattr(exc, "code", "") or type(exc).__name__)
                    kinds[name] = kinds.get(name, 0) + 1
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    workers = [threading.Thread(target=buyer) for _ in range(threads)]
    start.wait()
    cpu0 = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((latencies, kinds, time.process_time() - cpu0))
    serving.shutdown()
    engine.dispose()


def in_process(
    database: Database, fixture_id: int, buyers: int, total: int, tag: str, keys_dir: Path
) -> dict[str, Any]:
    """`buyers` concurrent buyers calling the engine directly, in one or more processes."""
    processes = 1 if database.backend == "sqlite" else min(buyers, max(2, os.cpu_count() or 2))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes + 1)
    results = context.Queue()
    share = [list(range(total))[p::processes] for p in range(processes)]
    threads = [buyers // processes + (1 if p < buyers % processes else 0) for p in range(processes)]
    children = [
        context.Process(
            target=_buyer_process,
            args=(
                database.url,
                str(keys_dir),
                fixture_id,
                share[p],
                threads[p],
                tag,
                start,
                results,
            ),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    start.wait(timeout=120)
    started = time.perf_counter()
    latencies: list[float] = []
    kinds: dict[str, int] = {}
    cpu = 0.0
    for _ in children:
        got, got_kinds, got_cpu = results.get(timeout=1800)
        latencies.extend(got)
        cpu += got_cpu
        for name, n in got_kinds.items():
            kinds[name] = kinds.get(name, 0) + n
    wall = time.perf_counter() - started
    for child in children:
        child.join(30)
    result = summary(latencies, wall, sum(kinds.values()))
    result.update(
        {
            "buyer_processes": processes,
            "threads_per_process": threads[0],
            "client_cpu_ms_per_purchase": round(1000 * cpu / max(1, len(latencies)), 2),
        }
    )
    if kinds:
        result["error_kinds"] = kinds
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Gateway:
    """The real gateway in its own process (so the client does not share its GIL)."""

    def __init__(self, url: str, keys_dir: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MATCHDAY_API_KEY": API_KEY,
            "MATCHDAY_RASA_TOKEN": "bench",
            "MATCHDAY_KEYS_DIR": str(keys_dir),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bot.api.app:create_app",
                "--factory",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                # As `desk serve`: the app applies MATCHDAY_TRUSTED_PROXIES itself.
                "--no-proxy-headers",
                # Each client keeps one connection per buyer; when the saturated gateway
                # answers a buyer only every few seconds, uvicorn's default 5 s keep-alive
                # closed idle connections just as the client reused them (a read error).
                "--timeout-keep-alive",
                "60",
            ],
            cwd=ROOT,
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("gateway did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def _kind(response: aiohttp.ClientResponse) -> str:
    try:
        code = (await response.json(content_type=None))["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    return f"{response.status} {code}".strip()


async def _pool(
    concurrency: int,
    total: int,
    work: Callable[[aiohttp.ClientSession, int], Any],
    kinds: dict[str, int] | None = None,
) -> tuple[list[float], int, float, float]:
    """Run `work` for 0..total-1 with `concurrency` clients; `work` returns True or why not.

    The load generator is aiohttp on uvloop, one keep-alive connection per client: it
    shares the 2 cores with the gateway and the database, so it must be light (httpx
    cost 4.6 ms of CPU per request here, twice the gateway's own cost per gate scan,
    and the figures measured the client). Returns the client's CPU seconds too.
    """
    latencies: list[float] = []
    errors = 0
    kinds = {} if kinds is None else kinds
    queue = iter(range(total))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=timeout
    ) as client:

        async def worker() -> None:
            nonlocal errors
            for n in queue:
                started = time.perf_counter()
                try:
                    ok = await work(client, n)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    ok = type(exc).__name__
                if ok is True:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                    kinds[str(ok)] = kinds.get(str(ok), 0) + 1

        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started, time.process_time() - cpu0


def _client_cpu(cpu_s: float, requests: int) -> float:
    return round(1000 * cpu_s / max(1, requests), 2)


def over_http(base: str, fixture_id: int, buyers: int, total: int, tag: str) -> dict[str, Any]:
    async def purchase(client: aiohttp.ClientSession, n: int) -> bool | str:
        customer = f"web:{tag}-{n}"
        async with client.post(
            f"{base}/api/v1/holds",
            json={"customer": customer, "fixture_id": fixture_id, "quantity": 2},
        ) as hold:
            if hold.status != 201:
                return f"hold {await _kind(hold)}"
            hold_id = (await hold.json())["hold_id"]
        async with client.post(
            f"{base}/api/v1/orders",
            json={
                "customer": customer,
                "hold_id": hold_id,
                "payment": {"method": "sandbox", "token": "tok_ok"},
            },
            headers={"Idempotency-Key": f"{tag}-{n}"},
        ) as order:
            if order.status != 201:
                return f"order {await _kind(order)}"
            await order.read()
            return True

    kinds: dict[str, int] = {}
    latencies, errors, wall, cpu = uvloop.run(_pool(buyers, total, purchase, kinds))
    result = summary(latencies, wall, errors)
    result["client_cpu_ms_per_purchase"] = _client_cpu(cpu, total)
    if kinds:
        result["error_kinds"] = kinds
    return result


def check_ins(base: str, codes: list[str], concurrency: int = 32) -> dict[str, Any]:
    async def scan(client: aiohttp.ClientSession, n: int) -> bool | str:
        async with client.post(
            f"{base}/api/v1/gate/scan", json={"code": codes[n], "gate": "A", "nonce": f"n{n}"}
        ) as response:
            if response.status == 200 and (await response.json())["result"] == "ok":
                return True
            return await _kind(response)

    latencies, errors, wall, cpu = uvloop.run(_pool(concurrency, len(codes), scan))
    return {
        "scans": len(latencies),
        "errors": errors,
        "concurrency": concurrency,
        "per_second": round(len(latencies) / wall, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "client_cpu_ms_per_scan": _client_cpu(cpu, len(codes)),
    }


def offline(database: Database, keys_dir: Path, seconds: float = 3.0) -> dict[str, Any]:
    keys = keyring_at(keys_dir)
    with database.db() as session:
        codes = list(session.scalars(select(Ticket.code).limit(2000)))
        revoked = revoked_set(session)
    validated = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for code in codes:
            assert validate_code(code, revoked=revoked, keys=keys).result == "ok"
        validated += len(codes)
    return {
        "validations": validated,
        "per_second": round(validated / (time.perf_counter() - started), 1),
        "threads": 1,
    }


def run_backend(backend: str, purchases: int, folder: Path) -> dict[str, Any]:
    keys_dir = folder / f"keys-{backend}"
    database = Database(backend, folder)
    result: dict[str, Any] = {"in_process": {}, "http": {}}
    try:
        fixtures = iter(database.fixtures)
        result["cost_per_purchase"] = cost(database, next(fixtures), keys_dir)
        print(backend, "cost", result["cost_per_purchase"], flush=True)
        for buyers in CONCURRENCY:
            result["in_process"][str(buyers)] = in_process(
                database, next(fixtures), buyers, purchases, f"ip{buyers}", keys_dir
            )
            print(backend, "in-process", buyers, result["in_process"][str(buyers)], flush=True)
        gateway = Gateway(database.url, keys_dir)
        try:
            for buyers in CONCURRENCY:
                result["http"][str(buyers)] = over_http(
                    gateway.base, next(fixtures), buyers, purchases, f"h{buyers}"
                )
                print(backend, "http", buyers, result["http"][str(buyers)], flush=True)
            with database.db() as session:
                codes = list(
                    session.scalars(select(Ticket.code).where(Ticket.status == "valid").limit(3000))
                )
            result["checkins_http"] = check_ins(gateway.base, codes)
            print(backend, "check-ins", result["checkins_http"], flush=True)
        finally:
            gateway.stop()
        result["offline_validations"] = offline(database, keys_dir)
        print(backend, "offline", result["offline_validations"], flush=True)
    finally:
        database.drop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1000, help="purchases per run")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "ticketing.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "when": utcnow().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "workload": "hold + pay of 2 seats, best available, a new fan per purchase, sandbox tok_ok",
        "load_average_start": list(os.getloadavg()),
        "pg_round_trip_start": round_trip(),
        "meaning": {
            "pg_round_trip_start": "one autocommit SELECT 1 to PostgreSQL before the run "
            "(and pg_round_trip_end after): CPU and wall time per round trip, for reading "
            "the rates on a machine whose speed for this drifts",
            "cost_per_purchase": "one purchase after another in this process: CPU and SQL "
            "per purchase (independent of other work on the machine)",
            "in_process": "N concurrent buyers (threads) whose purchases the engine runs as "
            "a library in one thread per pooled connection, in order of arrival; latency "
            "includes the wait. On PostgreSQL spread over buyer_processes processes with a "
            "pool of at most 4 connections each; on SQLite one process",
            "http": "N concurrent HTTP clients (aiohttp on uvloop, one keep-alive connection "
            "each) against the real gateway: one uvicorn process",
            "checkins_http": "32 concurrent scanners POSTing /api/v1/gate/scan",
        },
        "purchases_per_run": args.purchases,
        "targets": {
            "in_process_postgres_per_second": 300,
            "http_postgres_per_second": 100,
            "checkins_http_per_second": 500,
            "offline_validations_per_second": 5000,
        },
        "pretix_reference": {
            "rest_two_ticket_orders_per_second": 15,
            "p50_s_at_8_clients": 0.54,
            "cpu_ms_per_order": 136,
            "sql_queries_per_order": 89,
            "checkins_per_second_8_clients": 40,
        },
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            results["backends"][backend] = run_backend(backend, args.purchases, Path(folder))
    results["load_average_end"] = list(os.getloadavg())
    results["pg_round_trip_end"] = round_trip()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
