"""The gate: genuine codes once, forged/altered/revoked/wrong-fixture codes never."""

from __future__ import annotations

import base64
import stat
import struct
from datetime import timedelta
from pathlib import Path

from core.clock import utcnow
from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.gate import Scan, check_in, check_in_many, revoked_set, validate_code
from ticketing.holds import create_hold
from ticketing.keys import KeyRing
from ticketing.paying import pay_order
from ticketing.policies import current_policies
from ticketing.qr import ticket_qr_png, ticket_qr_svg
from ticketing.refunds import confirm_refund, quote_refund
from ticketing.signing import decode_code, sign_ticket, verify_code


def test_first_scan_admits_second_scan_is_refused(club: Club) -> None:
    ticket = buy(club, "tg:1", 1).tickets[0]
    first = check_in(club.db, ticket.code, "A", fixture_id=club.fixture, keys=club.keys)
    assert first.result == "ok" and first.seat == ticket.seat.label
    second = check_in(club.db, ticket.code, "C", keys=club.keys, now=club.now + timedelta(1))
    assert second.result == "already_used"
    assert second.gate == "A" and second.used_at == first.used_at


def test_same_nonce_twice_is_one_check_in(club: Club) -> None:
    ticket = buy(club, "tg:1", 1).tickets[0]
    first = check_in(club.db, ticket.code, "B", nonce="n-1", keys=club.keys)
    again = check_in(club.db, ticket.code, "B", nonce="n-1", keys=club.keys)
    other = check_in(club.db, ticket.code, "B", nonce="n-2", keys=club.keys)
    assert (first.result, again.result, other.result) == ("ok", "ok", "already_used")
    assert again.replayed


def test_a_repeated_nonce_is_a_retry_only_from_the_same_gate_shortly_after(club: Club) -> None:
    """A copied code with a sniffed nonce must not open a second gate, nor the same one
    later: only the scanner that lost its answer gets `ok` again."""
    ticket = buy(club, "tg:1", 1).tickets[0]
    now = utcnow()
    first = check_in(club.db, ticket.code, "B", nonce="n-1", keys=club.keys, now=now)
    other_gate = check_in(club.db, ticket.code, "C", nonce="n-1", keys=club.keys, now=now)
    soon = now + timedelta(seconds=119)
    retry = check_in(club.db, ticket.code, "B", nonce="n-1", keys=club.keys, now=soon)
    later = now + timedelta(seconds=121)
    too_late = check_in(club.db, ticket.code, "B", nonce="n-1", keys=club.keys, now=later)
    assert (first.result, other_gate.result, retry.result, too_late.result) == (
        "ok",
        "already_used",
        "ok",
        "already_used",
    )
    assert retry.replayed and (too_late.gate, too_late.used_at) == ("B", first.used_at)
    shorter = current_policies().replace(gate={"nonce_window_seconds": 10})
    late_for_this_club = check_in(
        club.db, ticket.code, "B", nonce="n-1", keys=club.keys, now=soon, policies=shorter
    )
    assert late_for_this_club.result == "already_used"


def test_a_batch_of_scans_answers_each_in_order(club: Club) -> None:
    a, b = buy(club, "tg:1", 2).tickets
    gone = buy(club, "tg:2", 1)
    quote = quote_refund(club.db, "tg:2", gone.ref, None)
    confirm_refund(club.db, "tg:2", gone.ref, quote.id)
    scans = [
        Scan(a.code, "A", nonce="n-a"),
        Scan("garbage", "A"),
        Scan(b.code, "B", fixture_id=club.fixtures[1]),
        Scan(a.code, "A", nonce="n-a"),  # the scanner retried: same check-in
        Scan(a.code, "D"),  # another gate, same ticket, same batch
        Scan(gone.tickets[0].code, "A"),
        Scan(b.code, "B", fixture_id=club.fixture),
        Scan(a.code, "C", nonce="n-a"),  # the same nonce from another gate: a copy
    ]
    results = check_in_many(club.db, scans, keys=club.keys)
    assert [r.result for r in results] == [
        "ok",
        "invalid",
        "wrong_fixture",
        "ok",
        "already_used",
        "revoked",
        "ok",
        "already_used",
    ]
    assert results[0].seat == a.seat.label and results[6].seat == b.seat.label
    assert results[3].replayed and results[3].gate == "A"
    assert results[4].gate == "A" and results[4].used_at == results[0].used_at
    # The batch wrote what single scans would have: both tickets used, once each.
    again = check_in_many(club.db, [Scan(a.code, "E"), Scan(b.code, "E")], keys=club.keys)
    assert [(r.result, r.gate) for r in again] == [("already_used", "A"), ("already_used", "B")]


def test_forged_altered_garbage_and_wrong_fixture_codes(lite: Club, tmp_path: Path) -> None:
    ticket = buy(lite, "tg:1", 1).tickets[0]
    chars = list(ticket.code)
    chars[40] = "A" if chars[40] != "A" else "B"
    altered = "".join(chars)
    forger = KeyRing(tmp_path / "forger")
    forged, _kid = sign_ticket(
        forger, ticket_id=ticket.id, fixture_id=lite.fixture, seat_id=1, holder_id=1, version=1
    )
    for code in (altered, forged, "garbage", "", "A" * 146, ticket.code[:-4]):
        assert check_in(lite.db, code, "A", keys=lite.keys).result == "invalid"
        assert validate_code(code, keys=lite.keys).result == "invalid"
    wrong = check_in(lite.db, ticket.code, "A", fixture_id=lite.fixtures[1], keys=lite.keys)
    assert wrong.result == "wrong_fixture"
    assert (
        check_in(lite.db, ticket.code, "A", fixture_id=lite.fixture, keys=lite.keys).result == "ok"
    )


def test_a_childs_ticket_says_so_at_the_gate_online_and_offline(club: Club) -> None:
    """Stewards see which tickets need proof of a concession; the code itself says it."""
    hold = create_hold(club.db, "tg:1", club.fixture, 2, concessions=["adult", "child"])
    order = pay_order(
        club.db, "tg:1", hold.id, token="tok_ok", idempotency_key="c", keys=club.keys
    ).order
    by_concession = {t.concession: t for t in order.tickets}
    child, adult = by_concession["child"], by_concession["adult"]
    claims = verify_code(club.keys, child.code)
    assert claims is not None and claims.concession == "child"
    assert validate_code(child.code, keys=club.keys).concession == "child"  # offline
    scanned = check_in(club.db, child.code, "A", keys=club.keys)
    assert (scanned.result, scanned.concession) == ("ok", "child")
    again = check_in(club.db, child.code, "B", keys=club.keys)
    assert (again.result, again.concession) == ("already_used", "child")
    assert check_in(club.db, adult.code, "A", keys=club.keys).concession == "adult"


def test_codes_of_the_first_format_still_scan(lite: Club) -> None:
    """Tickets sold before codes named their concession keep opening the gate."""
    hold = create_hold(lite.db, "tg:1", lite.fixture, 1, concessions=["senior"])
    ticket = pay_order(
        lite.db, "tg:1", hold.id, token="tok_ok", idempotency_key="s", keys=lite.keys
    ).order.tickets[0]
    key = lite.keys.current()
    body = struct.pack(
        ">B4sQIIIH", 1, bytes.fromhex(key.kid), ticket.id, lite.fixture, ticket.seat.id,
        ticket.holder_id, ticket.version,
    )  # fmt: skip
    old = base64.b32encode(body + key.private.sign(body)).decode().rstrip("=")
    claims = verify_code(lite.keys, old)
    assert claims is not None and claims.concession is None and claims.ticket_id == ticket.id
    assert validate_code(old, keys=lite.keys).result == "ok"
    scanned = check_in(lite.db, old, "A", keys=lite.keys)
    assert (scanned.result, scanned.concession) == ("ok", "senior")  # from the ticket's row


def test_revoked_codes_are_refused_online_and_offline(club: Club) -> None:
    order = buy(club, "tg:1", 2)
    quote = quote_refund(club.db, "tg:1", order.ref, [order.tickets[0].id])
    confirm_refund(club.db, "tg:1", order.ref, quote.id)
    gone, kept = order.tickets
    with club.db() as session:
        revoked = revoked_set(session, fixture_id=club.fixture)
    assert validate_code(gone.code, revoked=revoked, keys=club.keys).result == "revoked"
    assert validate_code(kept.code, revoked=revoked, keys=club.keys).result == "ok"
    assert check_in(club.db, gone.code, "A", keys=club.keys).result == "revoked"
    assert check_in(club.db, kept.code, "A", keys=club.keys).result == "ok"


def test_rotation_keeps_old_codes_valid_and_keys_private(lite: Club) -> None:
    old = buy(lite, "tg:1", 1).tickets[0]
    old_kid = lite.keys.current().kid
    new_kid = lite.keys.rotate()
    assert new_kid != old_kid
    new = buy(lite, "tg:2", 1).tickets[0]
    decoded_old, decoded_new = decode_code(old.code), decode_code(new.code)
    assert decoded_old and decoded_new
    assert (decoded_old[0].kid, decoded_new[0].kid) == (old_kid, new_kid)
    assert validate_code(old.code, keys=lite.keys).result == "ok"
    assert validate_code(new.code, keys=lite.keys).result == "ok"
    private = lite.keys.directory / f"{new_kid}.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert not (lite.keys.directory / f"{old_kid}.key").exists()
    assert lite.keys.prune(keep=set()) == [old_kid]
    assert validate_code(old.code, keys=lite.keys).result == "invalid"


def test_qr_images(lite: Club) -> None:
    ticket = buy(lite, "tg:1", 1).tickets[0]
    assert ticket_qr_png(ticket).startswith(b"\x89PNG")
    assert ticket_qr_svg(ticket).startswith("<svg")
    assert base64.b32decode(ticket.code + "=" * (-len(ticket.code) % 8))


def test_a_batch_names_every_admitted_seat_with_one_query(club: Club) -> None:
    from sqlalchemy import event

    from core.db import engine_of

    tickets = [*buy(club, "tg:1", 3).tickets, *buy(club, "tg:2", 2, section="B").tickets]
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = engine_of(club.db)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        results = check_in_many(club.db, [Scan(t.code, "A") for t in tickets], keys=club.keys)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [r.seat for r in results] == [t.seat.label for t in tickets]
    assert len({r.seat for r in results}) == 5
    assert sum("FROM seats" in s for s in statements) <= 1
