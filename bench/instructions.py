"""Instructions one purchase costs the engine's Python side: a figure that does not move
with the machine's load. Writes bench/results/instructions.json.

The same purchase as bench/ticketing.py (a new fan holds 2 best-available seats and pays
with the sandbox card, on PostgreSQL), counted by `valgrind --tool=callgrind` in the
client process: the loop runs once with `--small` and once with `--large` purchases (after
20 to warm up), in fresh copies of one database, and the difference of the two totals is
divided by the difference of the counts, so start-up and imports cancel out. The
PostgreSQL server is not counted (its SQL is the statements per purchase).

Usage: .venv/bin/python bench/instructions.py [--small 20] [--large 170]
To compare two versions, run it in a checkout of each (e.g. a `git worktree`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("MATCHDAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOTAL = re.compile(r"Collected : (\d+)")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql)


def template() -> str:
    """A migrated database with the demo club, every fixture on sale; returns its name."""
    from sqlalchemy import update

    from bot.database import migrate
    from core.clock import utcnow
    from core.db import engine_for, make_sessionmaker, write_session
    from ticketing.demo import load_demo_data
    from ticketing.models import Fixture

    name = f"bench_instr_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rpartition("/")[0] + f"/{name}"
    migrate(url)
    with write_session(make_sessionmaker(engine_for(url))) as session:
        load_demo_data(session)
        opened = utcnow() - timedelta(days=30)
        session.execute(
            update(Fixture).values(presale_opens_at=opened, general_sale_opens_at=opened)
        )
    engine_for(url).dispose()
    return name


def loop(url: str, purchases: int, keys_dir: str) -> None:
    """The measured process: 20 purchases to warm up, then `purchases` more."""
    from sqlalchemy import select

    from core.db import make_engine, make_sessionmaker
    from ticketing.holds import create_hold
    from ticketing.keys import keyring_at
    from ticketing.models import Fixture
    from ticketing.paying import pay_order

    db = make_sessionmaker(make_engine(url, pool_size=4))
    keys = keyring_at(Path(keys_dir))
    with db() as session:
        fixture = session.scalars(select(Fixture.id).order_by(Fixture.kickoff)).first()
    assert fixture is not None
    for n in range(20 + purchases):
        hold = create_hold(db, f"api:i{n}", fixture, 2)
        pay_order(db, f"api:i{n}", hold.id, token="tok_ok", idempotency_key=f"i{n}", keys=keys)


def counted(source: str, purchases: int) -> int:
    """Instructions of one run of `loop` on a fresh copy of `source`."""
    copy = f"bench_instr_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    try:
        url = PG_ADMIN.rpartition("/")[0] + f"/{copy}"
        with tempfile.TemporaryDirectory() as keys:
            run = subprocess.run(
                [
                    "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                    sys.executable, __file__, "--loop", url, str(purchases), keys,
                ],
                cwd=ROOT, env={**os.environ, "MATCHDAY_KEYS_DIR": keys},
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        found = TOTAL.search(run.stderr)
        if found is None:
            raise RuntimeError(f"callgrind printed no total:\n{run.stderr[-2000:]}")
        return int(found.group(1))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=170)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "instructions.json"))
    parser.add_argument("--loop", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        url, purchases, keys = args.loop
        loop(url, int(purchases), keys)
        return
    source = template()
    try:
        small, large = counted(source, args.small), counted(source, args.large)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)')
    per_purchase = (large - small) / (args.large - args.small)
    result = {
        "workload": "hold + pay of 2 seats, best available, a new fan, sandbox tok_ok, PostgreSQL",
        "purchases": [args.small, args.large],
        "instructions": [small, large],
        "instructions_per_purchase": round(per_purchase),
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
