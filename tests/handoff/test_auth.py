"""Signing in is throttled per (username, address), per address and per username, with
counts that parallel attempts cannot race past; deactivating an agent or changing a
password ends sessions at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bot.handoff import auth
from bot.handoff.agents import create_agent, set_active
from bot.handoff.errors import HandoffError, NotAuthenticated, RateLimited
from bot.handoff.models import AuditEntry, SignInFailure
from core.clock import utcnow
from core.db import engine_for, make_sessionmaker, read_session
from tests.handoff.conftest import PASSWORD, Desk, bearer, ws_url
from ticketing.risk import refusal_counts

WRONG = "not the password at all"
A, B = "203.0.113.5", "198.51.100.7"


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    """The database of the test (SQLite, then PostgreSQL) with the agent `gina`."""
    made = make_sessionmaker(engine_for(database_url))
    create_agent(made, "gina", PASSWORD, "agent", languages=["en"])
    return made


class Checks(list[str]):
    """The passwords verified, by a fast stand-in for argon2 that still tells right from
    wrong and takes `delay` seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.append(password)
        time.sleep(self.delay)
        return password == PASSWORD


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Checks]:
    """Count the password checks (`auth.verify_password`)."""
    found = Checks()
    monkeypatch.setattr(auth, "verify_password", found.verify)
    yield found


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Freeze the sign-in clock at `moment`."""
    monkeypatch.setattr(auth, "utcnow", lambda: moment)


def minute_start() -> datetime:
    """A moment 10 s into a minute, so a test's burst stays in one minute's bucket."""
    return utcnow().replace(second=10, microsecond=0)


def fail(sessions: sessionmaker[Session], username: str, address: str) -> None:
    with pytest.raises(NotAuthenticated):
        auth.login(sessions, username, WRONG, address)


def test_failures_from_one_address_do_not_lock_the_agent_out_elsewhere(
    sessions: sessionmaker[Session],
) -> None:
    for _ in range(auth.MAX_FAILURES_PER_PAIR):
        fail(sessions, "gina", A)
    with pytest.raises(RateLimited) as locked:
        auth.login(sessions, "gina", PASSWORD, A)
    assert 0 < locked.value.retry_after_s <= auth.THROTTLE_WINDOW.total_seconds()

    signed_in = auth.login(sessions, "gina", PASSWORD, B)
    assert signed_in.principal.username == "gina"
    with pytest.raises(RateLimited):  # still locked for the pair, after B's success
        auth.login(sessions, "gina", PASSWORD, A)
    fail(sessions, "hana", A)  # the address itself is not locked
    with read_session(sessions) as session:
        assert refusal_counts(session)["sign_in_locked"] == 2
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("login_failed") == auth.MAX_FAILURES_PER_PAIR + 1
    assert actions.count("login") == 1


def test_the_pair_lock_ends_with_its_window(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = minute_start()
    at(monkeypatch, start)
    for _ in range(auth.MAX_FAILURES_PER_PAIR):
        fail(sessions, "gina", A)
    with pytest.raises(RateLimited) as locked:
        auth.login(sessions, "gina", PASSWORD, A)
    assert locked.value.retry_after_s == 290  # the bucket of 10 s ago leaves in 4 min 50 s
    at(monkeypatch, start + timedelta(seconds=289))
    with pytest.raises(RateLimited):  # refused attempts did not prolong the lock
        auth.login(sessions, "gina", PASSWORD, A)
    at(monkeypatch, start + timedelta(seconds=290))
    assert auth.login(sessions, "gina", PASSWORD, A).principal.username == "gina"


def test_one_address_trying_many_usernames_is_stopped(sessions: sessionmaker[Session]) -> None:
    for number in range(auth.MAX_FAILURES_PER_ADDRESS):
        fail(sessions, f"guess{number}", A)
    with pytest.raises(RateLimited):
        auth.login(sessions, "gina", PASSWORD, A)
    assert auth.login(sessions, "gina", PASSWORD, B).principal.username == "gina"


def test_many_addresses_put_the_username_into_a_backoff(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, checks: Checks
) -> None:
    start = minute_start()
    at(monkeypatch, start)
    for number in range(auth.MAX_FAILURES_PER_USERNAME):
        fail(sessions, "gina", f"10.0.{number // 250}.{number % 250}")
    with pytest.raises(RateLimited) as backoff:
        auth.login(sessions, "gina", PASSWORD, B)  # from an address never seen before
    assert backoff.value.retry_after_s == 50  # the next minute
    assert len(checks) == auth.MAX_FAILURES_PER_USERNAME

    # Each minute, one password check for the username, from wherever it comes.
    at(monkeypatch, start + timedelta(minutes=1))
    assert auth.login(sessions, "gina", PASSWORD, B).principal.username == "gina"
    fail(sessions, "gina", "10.9.9.9")
    with pytest.raises(RateLimited):
        auth.login(sessions, "gina", PASSWORD, B)
    at(monkeypatch, start + auth.USERNAME_WINDOW)
    assert auth.login(sessions, "gina", PASSWORD, B).principal.username == "gina"


def test_parallel_wrong_passwords_from_one_address_verify_at_most_the_limit(
    sessions: sessionmaker[Session], checks: Checks
) -> None:
    checks.delay = 0.05  # a window for the attempts to overlap in
    attempts = 20
    start = threading.Barrier(attempts)
    outcomes: list[str] = []
    guard = threading.Lock()

    def attempt(number: int) -> None:
        start.wait()
        try:
            auth.login(sessions, "gina", f"{WRONG} {number}", A)
            outcome = "signed in"
        except HandoffError as exc:
            outcome = type(exc).__name__
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(checks) == auth.MAX_FAILURES_PER_PAIR, "no attempt raced past the count"
    assert sorted(outcomes) == sorted(
        ["NotAuthenticated"] * auth.MAX_FAILURES_PER_PAIR
        + ["RateLimited"] * (attempts - auth.MAX_FAILURES_PER_PAIR)
    )
    with read_session(sessions) as session:
        counted = session.scalar(select(func.sum(SignInFailure.count)))
    assert counted == auth.MAX_FAILURES_PER_PAIR


def test_unknown_usernames_are_counted_like_known_ones(
    sessions: sessionmaker[Session], checks: Checks
) -> None:
    for _ in range(auth.MAX_FAILURES_PER_PAIR):
        fail(sessions, "nobody", A)
    with pytest.raises(RateLimited):
        auth.login(sessions, "nobody", WRONG, A)
    assert len(checks) == auth.MAX_FAILURES_PER_PAIR  # each one verified a (dummy) hash


def test_a_deactivated_agent_cannot_sign_in_until_activated(
    sessions: sessionmaker[Session],
) -> None:
    token = auth.login(sessions, "gina", PASSWORD, A).token
    assert set_active(sessions, "gina", False) == 1
    with pytest.raises(NotAuthenticated):
        auth.authenticate(sessions, token)
    with pytest.raises(NotAuthenticated):
        auth.login(sessions, "gina", PASSWORD, A)
    set_active(sessions, "gina", True)
    with pytest.raises(NotAuthenticated):  # ended sessions stay ended
        auth.authenticate(sessions, token)
    assert auth.login(sessions, "gina", PASSWORD, A).principal.username == "gina"
    with read_session(sessions) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"agent_deactivated", "agent_activated"} <= actions


# --- over HTTP ---------------------------------------------------------------------------


def from_address(desk: Desk, address: str) -> httpx.Client:
    """A client whose requests come from `address` (any 127.x.y.z reaches the gateway)."""
    return httpx.Client(
        base_url=f"{desk.base_url}/api/v1/agent",
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def sign_in(client: httpx.Client, password: str = PASSWORD, user: str = "ivy") -> httpx.Response:
    return client.post("/session", json={"username": user, "password": password})


def test_a_locked_out_address_does_not_stop_the_agent_elsewhere(desk: Desk) -> None:
    desk.add_agent("ivy")
    with from_address(desk, "127.0.0.2") as attacker, from_address(desk, "127.0.0.3") as ivy:
        for _ in range(auth.MAX_FAILURES_PER_PAIR):
            assert sign_in(attacker, WRONG).status_code == 401
        locked = sign_in(attacker)
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"
        assert 0 < int(locked.headers["retry-after"]) <= 300
        assert sign_in(ivy).status_code == 200


def test_deactivating_ends_the_agents_sessions_and_socket(desk: Desk) -> None:
    client = desk.agent("jude")
    assert client.get("/me").status_code == 200
    sessions = make_sessionmaker(engine_for(desk.database_url))
    with connect(ws_url(desk.base_url), additional_headers=bearer(client)) as socket:
        assert socket.recv(10)
        set_active(sessions, "jude", False)
        assert client.get("/me").status_code == 401
        socket.send('{"type": "ping"}')
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    refused = httpx.post(
        f"{desk.base_url}/api/v1/agent/session", json={"username": "jude", "password": PASSWORD}
    )
    assert refused.status_code == 401


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    desk: Desk,
) -> None:
    desk.add_agent("kit")
    with from_address(desk, "127.0.0.4") as here, from_address(desk, "127.0.0.5") as there:
        token = sign_in(here, user="kit").json()["token"]
        other = sign_in(there, user="kit").json()["token"]
        mine, theirs = {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {other}"}
        new = "a brand new passphrase"

        wrong = here.post(
            "/password",
            json={"current_password": WRONG, "new_password": new},
            headers=mine,
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
        short = here.post(
            "/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=mine,
        )
        assert short.status_code == 422 and short.json()["error"]["field"] == "new_password"
        changed = here.post(
            "/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers=mine,
        )
        assert changed.status_code == 200 and changed.json() == {"sessions_ended": 1}

        assert here.get("/me", headers=mine).status_code == 200
        assert there.get("/me", headers=theirs).status_code == 401
        assert sign_in(there, user="kit").status_code == 401
        assert sign_in(there, new, user="kit").status_code == 200

        for _ in range(auth.MAX_FAILURES_PER_PAIR - 1):  # one wrong current password above
            assert (
                here.post(
                    "/password",
                    json={"current_password": WRONG, "new_password": new},
                    headers=mine,
                ).status_code
                == 403
            )
        limited = here.post(
            "/password", json={"current_password": new, "new_password": new}, headers=mine
        )
        assert limited.status_code == 429 and limited.headers["retry-after"]
    sessions = make_sessionmaker(engine_for(desk.database_url))
    with read_session(sessions) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("password_changed") == 1
    assert actions.count("password_change_failed") == auth.MAX_FAILURES_PER_PAIR


def test_a_cookie_password_change_needs_the_csrf_token(desk: Desk) -> None:
    desk.add_agent("lou")
    with httpx.Client(base_url=desk.base_url) as browser:
        browser.post("/api/v1/agent/session", json={"username": "lou", "password": PASSWORD})
        body = {"current_password": PASSWORD, "new_password": "another long passphrase"}
        refused = browser.post("/api/v1/agent/password", json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        csrf = browser.get("/api/v1/agent/me").json()["csrf_token"]
        done = browser.post("/api/v1/agent/password", json=body, headers={"X-CSRF-Token": csrf})
        assert done.status_code == 200 and done.json() == {"sessions_ended": 0}
