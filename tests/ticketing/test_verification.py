"""Verifying an order bought elsewhere: reference + e-mail, a mailed code, then the link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.ticketing.conftest import Club
from tests.ticketing.helpers import buy
from ticketing.errors import InvalidRequest, NotFound
from ticketing.mail import outbox
from ticketing.models import SeatClaim
from ticketing.orders import get_order, orders_of
from ticketing.refunds import quote_refund
from ticketing.transfers import transfer_ticket
from ticketing.verification import (
    CodeExpired,
    OrderVerification,
    TooManyAttempts,
    VerificationRateLimited,
    VerificationRules,
    WrongCode,
    check_code,
    check_order_ref,
    confirm_verification,
    start_verification,
)

BUYER = "email:lee@example.com"
CHAT = "tg:4242"


def code_in_mail(club: Club, address: str) -> str:
    with club.db() as session:
        (mail,) = outbox(session, to_address=address, limit=1)
    found = re.search(r"\b(\d{6})\b", mail.body)
    assert found, mail.body
    return found.group(1)


def mails(club: Club) -> int:
    with club.db() as session:
        return len(outbox(session, limit=100))


def test_the_right_reference_and_address_get_a_code_that_links_the_order(club: Club) -> None:
    order = buy(club, BUYER, 2)
    with club.db() as session:
        assert orders_of(session, CHAT) == []
    challenge = start_verification(club.db, CHAT, order.ref.lower(), " Lee@Example.com ")
    assert challenge.email == "lee@example.com" and challenge.attempts_left == 5
    code = code_in_mail(club, "lee@example.com")

    done = confirm_verification(club.db, CHAT, challenge.id, code)

    assert done.order_ref == order.ref
    with club.db() as session:
        mine = get_order(session, CHAT, order.ref)
        assert [t.status for t in mine.tickets] == ["valid", "valid"]
        assert all(t.holder_id == done.customer_id for t in mine.tickets)
        with pytest.raises(NotFound):
            get_order(session, BUYER, order.ref)
        claims = session.scalars(
            select(SeatClaim.customer_id).where(SeatClaim.fixture_id == order.fixture_id)
        ).all()
        assert set(claims) == {done.customer_id}
    # The linked order is serviced like any of the fan's own: a refund can be quoted.
    assert quote_refund(club.db, CHAT, order.ref).order_ref == order.ref


def test_the_code_is_stored_only_as_a_hash(club: Club) -> None:
    order = buy(club, BUYER, 1)
    start_verification(club.db, CHAT, order.ref, "lee@example.com")
    code = code_in_mail(club, "lee@example.com")
    with club.db() as session:
        (row,) = session.scalars(select(OrderVerification)).all()
    assert row.code_hash and code not in row.code_hash and code not in row.code_salt
    assert "lee@example.com" not in row.email_digest


@pytest.mark.parametrize("ref_ok", [True, False])
def test_a_wrong_reference_or_address_answers_the_same_and_mails_nothing(
    club: Club, ref_ok: bool
) -> None:
    order = buy(club, BUYER, 1)
    ref = order.ref if ref_ok else "RA-ZZZZZZ"
    address = "someone@else.com" if ref_ok else "lee@example.com"
    challenge = start_verification(club.db, CHAT, ref, address)
    assert challenge.attempts_left == 5 and challenge.email == address
    assert mails(club) == 0
    with pytest.raises(WrongCode) as wrong:
        confirm_verification(club.db, CHAT, challenge.id, "123456")
    assert wrong.value.attempts_left == 4
    with club.db() as session:
        assert orders_of(session, CHAT) == []


def test_wrong_codes_count_and_then_lock_the_challenge(club: Club) -> None:
    order = buy(club, BUYER, 1)
    rules = VerificationRules(max_attempts=3)
    challenge = start_verification(club.db, CHAT, order.ref, "lee@example.com", rules=rules)
    code = code_in_mail(club, "lee@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    lefts = []
    for _ in range(2):
        with pytest.raises(WrongCode) as refused:
            confirm_verification(club.db, CHAT, challenge.id, wrong, rules=rules)
        lefts.append(refused.value.attempts_left)
    assert lefts == [2, 1]
    with pytest.raises(TooManyAttempts):
        confirm_verification(club.db, CHAT, challenge.id, wrong, rules=rules)
    with pytest.raises(TooManyAttempts):  # even the right code is too late now
        confirm_verification(club.db, CHAT, challenge.id, code, rules=rules)
    with club.db() as session:
        assert orders_of(session, CHAT) == []


def test_matching_and_not_matching_starts_do_the_same_work(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slow hash and the same queries either way: the time taken says nothing."""
    import ticketing.verification as verification

    order = buy(club, BUYER, 1)
    hashed: list[str] = []
    real = verification._hash_code

    def counting(code: str, salt: str) -> str:
        hashed.append(code)
        return real(code, salt)

    monkeypatch.setattr(verification, "_hash_code", counting)
    start_verification(club.db, CHAT, order.ref, "lee@example.com")
    start_verification(club.db, "tg:2", order.ref, "someone@else.com")
    start_verification(club.db, "tg:3", "RA-ZZZZZZ", "lee@example.com")
    assert len(hashed) == 3  # one each: matched, wrong address, unknown order
    assert mails(club) == 1


def test_wrong_codes_are_capped_per_order_across_chats(club: Club) -> None:
    """Guessing from many chats at once is no faster than from one."""
    order = buy(club, BUYER, 1)
    rules = VerificationRules(max_attempts=5, mails_per_hour=10, failures_per_order_per_hour=4)
    wrongs = 0
    for chat in ("tg:1", "tg:2"):
        challenge = start_verification(club.db, chat, order.ref, "lee@example.com", rules=rules)
        for _ in range(2):
            code = code_in_mail(club, "lee@example.com")
            with pytest.raises(WrongCode):
                confirm_verification(
                    club.db, chat, challenge.id, f"{(int(code) + 1) % 10**6:06d}", rules=rules
                )
            wrongs += 1
    assert wrongs == 4
    challenge = start_verification(club.db, "tg:3", order.ref, "lee@example.com", rules=rules)
    right = code_in_mail(club, "lee@example.com")
    with pytest.raises(TooManyAttempts):  # even the right code, until the hour has passed
        confirm_verification(club.db, "tg:3", challenge.id, right, rules=rules)
    later = club.now + timedelta(hours=1, minutes=1)
    challenge = start_verification(
        club.db, "tg:3", order.ref, "lee@example.com", rules=rules, now=later
    )
    right = code_in_mail(club, "lee@example.com")
    confirm_verification(club.db, "tg:3", challenge.id, right, rules=rules, now=later)


def test_wrong_codes_are_capped_per_address_across_orders(club: Club) -> None:
    first, second = buy(club, BUYER, 1), buy(club, BUYER, 1)
    rules = VerificationRules(mails_per_hour=10, failures_per_email_per_hour=3)
    for n, order in enumerate((first, second, first)):
        challenge = start_verification(
            club.db, f"tg:{n}", order.ref, "lee@example.com", rules=rules
        )
        code = code_in_mail(club, "lee@example.com")
        with pytest.raises(WrongCode):
            confirm_verification(
                club.db, f"tg:{n}", challenge.id, f"{(int(code) + 1) % 10**6:06d}", rules=rules
            )
    challenge = start_verification(club.db, "tg:9", second.ref, "lee@example.com", rules=rules)
    with pytest.raises(TooManyAttempts):
        confirm_verification(
            club.db, "tg:9", challenge.id, code_in_mail(club, "lee@example.com"), rules=rules
        )


def test_an_expired_code_is_refused(club: Club) -> None:
    order = buy(club, BUYER, 1)
    challenge = start_verification(club.db, CHAT, order.ref, "lee@example.com")
    code = code_in_mail(club, "lee@example.com")
    with pytest.raises(CodeExpired):
        confirm_verification(
            club.db, CHAT, challenge.id, code, now=challenge.expires_at + timedelta(seconds=1)
        )


def test_a_code_works_once_and_only_for_the_chat_that_asked(club: Club) -> None:
    order = buy(club, BUYER, 1)
    challenge = start_verification(club.db, CHAT, order.ref, "lee@example.com")
    code = code_in_mail(club, "lee@example.com")
    buy(club, "tg:9999", 1)  # another fan who exists in the engine
    with pytest.raises(NotFound):
        confirm_verification(club.db, "tg:9999", challenge.id, code)
    confirm_verification(club.db, CHAT, challenge.id, code)
    with pytest.raises(CodeExpired):
        confirm_verification(club.db, CHAT, challenge.id, code)


def test_a_chat_may_start_only_so_many_verifications_an_hour(club: Club) -> None:
    order = buy(club, BUYER, 1)
    rules = VerificationRules(starts_per_hour=2)
    for _ in range(2):
        start_verification(club.db, CHAT, order.ref, "x@example.com", rules=rules)
    with pytest.raises(VerificationRateLimited) as limited:
        start_verification(club.db, CHAT, order.ref, "lee@example.com", rules=rules)
    assert 0 < limited.value.retry_after_s <= 3600
    later = club.now + timedelta(hours=1, minutes=1)
    start_verification(club.db, CHAT, order.ref, "lee@example.com", rules=rules, now=later)


def test_an_address_gets_only_so_many_codes_an_hour_silently(club: Club) -> None:
    order = buy(club, BUYER, 1)
    rules = VerificationRules(mails_per_hour=2)
    for chat in ("tg:1", "tg:2", "tg:3"):
        start_verification(club.db, chat, order.ref, "lee@example.com", rules=rules)
    assert mails(club) == 2


def test_tickets_passed_on_stay_with_their_new_holder(club: Club) -> None:
    order = buy(club, BUYER, 2)
    given = transfer_ticket(club.db, BUYER, order.tickets[0].id, "tg:friend", keys=club.keys)
    challenge = start_verification(club.db, CHAT, order.ref, "lee@example.com")
    confirm_verification(club.db, CHAT, challenge.id, code_in_mail(club, "lee@example.com"))
    with club.db() as session:
        linked = get_order(session, CHAT, order.ref).tickets
        assert given.ticket.id not in {t.id for t in linked}  # in the friend's own order
        (friends,) = orders_of(session, "tg:friend")
        assert [(t.id, t.holder_id) for t in friends.tickets] == [
            (given.ticket.id, given.ticket.holder_id)
        ]
        assert session.scalar(select(func.count()).select_from(OrderVerification)) == 1


@pytest.mark.parametrize("text", ["", "RA-12", "RA-0OOOOO", "hello", "HX-7KX2QD"])
def test_bad_references_are_refused_with_the_field(text: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_order_ref(text, "RA")
    assert refused.value.field == "order_ref"


def test_references_and_codes_are_read_leniently() -> None:
    assert check_order_ref(" ra-7kx2qd ", "RA") == "RA-7KX2QD"
    assert check_order_ref("7KX2QD", "RA") == "RA-7KX2QD"
    assert check_order_ref("ra7kx2qd", "RA") == "RA-7KX2QD"
    assert check_order_ref("RABCDE", "RA") == "RA-RABCDE"  # six characters: no prefix in it
    assert check_order_ref("hx-7kx2qd", "HX") == "HX-7KX2QD"
    assert check_code("123 456") == "123456"
    for wrong in ("12345", "\u00b2" * 6, "\u0661\u0662\u0663\u0664\u0665\u0666"):
        with pytest.raises(InvalidRequest):  # "²".isdigit() holds: digits are ASCII ones
            check_code(wrong)


def test_a_malformed_address_is_refused(club: Club) -> None:
    order = buy(club, BUYER, 1)
    with pytest.raises(InvalidRequest) as refused:
        start_verification(club.db, CHAT, order.ref, "not an address")
    assert refused.value.field == "email"
