"""Fuzzing the gateway's API with schemathesis: a deep run over every operation.

Many more examples than the suite's bounded run (tests/bot/api/test_fuzz.py), random
rather than repeatable, and every operation, the ones that need Rasa included. By
default the gateway runs in-process on a throw-away database (SQLite, or PostgreSQL
with `--database postgres`) holding the demo club, with a stand-in Rasa; afterwards
the books are checked (no seat sold twice, money and tickets agree). With `--url` it
fuzzes a running desk instead, with the API key from .env (MATCHDAY_API_KEY); agent
routes then need `--agent USER:PASSWORD` to get past sign-in.

    .venv/bin/python bench/fuzz.py [--examples 100] [--database sqlite|postgres]
    .venv/bin/python bench/fuzz.py --url http://127.0.0.1:8000 [--agent USER:PASSWORD]

Writes bench/results/fuzz.json: requests generated, status codes, server errors (with
examples), error bodies not in the error shape, and the books check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.handoff.agents import create_agent
from core.db import engine_for, make_sessionmaker, write_session
from core.settings import get_settings
from tests.conftest import TEST_API_KEY, make_settings
from tests.support.databases import fresh_postgres_database, migrated
from tests.support.fake_rasa import fake_rasa
from tests.support.fuzz import fuzz
from tests.support.orders import buy
from tests.support.server import live_gateway
from ticketing.demo import load_demo_data
from ticketing.ledger import book_problems
from ticketing.models import Fixture
from ticketing.operations import reconcile
from ticketing.payments import SandboxProvider

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench fuzz password 0123"
SIGNS_OUT = "DELETE /api/v1/agent/session"  # would end the agent session of the run
# In-process, the stand-in Rasa parses no NLU and no action server runs: these answer 503.
NEEDS_THE_REAL_DESK = frozenset({"POST /api/v1/triage", "GET /readyz"})


@dataclass
class Target:
    """A gateway to fuzz and what the run may send it."""

    base_url: str
    api_key: str
    agent_token: str | None
    known: dict[str, object]
    database_url: str | None


def _first_sale(
    client: httpx.Client, fixtures: list[int], customer: str
) -> tuple[int, dict[str, Any]]:
    """The first fixture on sale, and an order of two tickets for it."""
    for fixture in fixtures:
        try:
            return fixture, buy(client, customer, fixture, 2)
        except httpx.HTTPStatusError:
            continue  # played already, or not on sale yet
    raise RuntimeError("no demo fixture is on sale")


def _sign_in(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/agent/session", json={"username": username, "password": password}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


@contextmanager
def in_process(database: str) -> Iterator[Target]:
    """The gateway in this process on a fresh database with the demo club and a few sales."""
    with ExitStack() as stack:
        if database == "postgres":
            url = migrated(stack.enter_context(fresh_postgres_database("matchday_fuzz")))
        else:
            url = migrated(f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-fuzz-')) / 'desk.db'}")
        sessions = make_sessionmaker(engine_for(url))
        with write_session(sessions) as session:
            load_demo_data(session)
        with sessions() as session:
            fixtures = list(session.scalars(select(Fixture.id).order_by(Fixture.kickoff)))
        create_agent(sessions, "fuzzer", PASSWORD, "supervisor", languages=["en", "zh"])
        rasa = stack.enter_context(fake_rasa())
        settings = make_settings(
            url, MATCHDAY_RASA_PORT=str(rasa.port), MATCHDAY_MEDIA_SECRET="bench-fuzz-secret"
        )
        base = stack.enter_context(live_gateway(settings))
        headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            fixture, order = _first_sale(client, fixtures, "tg:1")
            hold = client.post(
                "/api/v1/holds", json={"customer": "tg:1", "fixture_id": fixture, "quantity": 1}
            ).json()
        yield Target(
            base_url=base,
            api_key=TEST_API_KEY,
            agent_token=_sign_in(base, "fuzzer", PASSWORD),
            known={
                "customer": "tg:1",
                "order_id": order["order_id"],
                "ticket_id": order["tickets"][0]["id"],
                "hold_id": hold["hold_id"],
                "fixture_id": fixture,
            },
            database_url=url,
        )


def books(database_url: str) -> dict[str, Any]:
    """The invariants `desk tickets reconcile` checks, after the run."""
    sessions = make_sessionmaker(engine_for(database_url))
    with sessions() as session:
        problems = book_problems(session)
    report = reconcile(sessions, provider=SandboxProvider(sessions))
    return {"problems": problems, "after_reconcile": report.problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100, help="per operation and mode")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="fuzz a running desk (key from .env) instead")
    parser.add_argument("--agent", help="USER:PASSWORD of an agent of the running desk")
    args = parser.parse_args()

    with ExitStack() as stack:
        if args.url:
            token = _sign_in(args.url, *args.agent.split(":", 1)) if args.agent else None
            target = Target(args.url.rstrip("/"), get_settings().api_key, token, {}, None)
        else:
            target = stack.enter_context(in_process(args.database))
        api = {"Authorization": f"Bearer {target.api_key}"}
        agent = {"Authorization": f"Bearer {target.agent_token or 'none'}"}
        report = fuzz(
            target.base_url,
            lambda path: agent if path.startswith("/api/v1/agent") else api,
            examples=args.examples,
            known=target.known,
            skip=lambda label: (
                label == SIGNS_OUT or (not args.url and label in NEEDS_THE_REAL_DESK)
            ),
        )
        result = {
            "target": args.url or f"in-process gateway on {args.database}",
            "examples_per_operation_and_mode": args.examples,
            **report.as_json(),
        }
        if target.database_url:
            result["books"] = books(target.database_url)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{result['requests']} requests in {result['seconds']} s: "
        f"{result['server_errors']} server errors, {len(report.bad_error_shapes)} bad error bodies"
    )


if __name__ == "__main__":
    main()
