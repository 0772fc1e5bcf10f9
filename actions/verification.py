"""Linking an order bought elsewhere to this chat: reference, e-mail, then a mailed code.

A fan who names an order this chat cannot see is offered verification
(`offer_verification`, the same words whether or not the order exists). "Yes"
starts `verify_form`: the order reference (known already), the order's e-mail
address (a code is mailed if it matches, `ticketing.verification`), the code.
Then `action_verification_done` shows the order and what can be done with it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import customer_of, language_of
from actions.database import club, sessions
from actions.matches import match_name, match_summary
from core.texts import text
from ticketing.customers import EMAIL, email_in
from ticketing.errors import InvalidRequest, NotFound
from ticketing.ids import REF_ALPHABET
from ticketing.orders import get_order
from ticketing.verification import (
    CodeExpired,
    TooManyAttempts,
    VerificationRateLimited,
    WrongCode,
    check_code,
    check_order_ref,
    confirm_verification,
    start_verification,
)

VERIFY_SLOTS = (
    "verification", "verify_order_ref", "verify_email", "verify_code", "verify_challenge",
)  # fmt: skip


def reset_verification() -> list[EventType]:
    """Events that forget the verification in progress."""
    return [SlotSet(name, None) for name in VERIFY_SLOTS]


@lru_cache(maxsize=4)
def _ref_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(prefix)}-?([{REF_ALPHABET}]{{6}})\b")


def order_ref_in(text: str, prefix: str) -> str | None:
    """The order reference with the club's `prefix` written in `text` ("is RA-7kx2qd
    confirmed?", the dash optional), or None."""
    found = _ref_pattern(prefix).search(text.upper())
    return f"{prefix}-{found.group(1)}" if found else None


def order_ref_of(value: str, text: str, prefix: str) -> str:
    """The order reference in an entity value, else in the message text (as typed if none)."""
    return order_ref_in(value, prefix) or order_ref_in(text, prefix) or value.strip().upper()


def offer_verification(
    dispatcher: CollectingDispatcher, tracker: Tracker, order_ref: str
) -> dict[str, Any]:
    """Say the order is not linked to this chat and offer to verify it; the slots to set.

    The reply is the same for an order that does not exist and for another fan's.
    """
    language = language_of(tracker)
    prefix = club().order_prefix
    try:
        said = tracker.latest_message.get("text") or ""
        ref = check_order_ref(order_ref_of(order_ref, said, prefix), prefix)
    except InvalidRequest:
        dispatcher.utter_message(response="utter_order_ref_invalid")
        return {}
    dispatcher.utter_message(
        response="utter_offer_verification",
        order_ref=ref,
        buttons=[
            {"title": text("verification.verify", language), "payload": "/affirm"},
            {"title": text("verification.no_thanks", language), "payload": "/deny"},
        ],
    )
    return {"verification": "offered", "verify_order_ref": ref}


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _intent(tracker: Tracker) -> str | None:
    name = (tracker.latest_message.get("intent") or {}).get("name")
    return str(name) if name else None


class ValidateVerifyForm(FormValidationAction):
    """Takes the e-mail address (and sends the code), then checks the code."""

    def name(self) -> str:
        return "validate_verify_form"

    async def extract_verify_order_ref(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Only while the reference is asked for: an answer such as an e-mail address
        # must never replace the order being verified.
        if tracker.get_slot("requested_slot") != "verify_order_ref" or _intent(tracker) == "stop":
            return {}
        value = next(tracker.get_latest_entity_values("order_ref"), None)
        prefix = club().order_prefix
        return {"verify_order_ref": order_ref_of(str(value or ""), _text(tracker), prefix)}

    async def validate_verify_order_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {"verify_order_ref": check_order_ref(str(value), club().order_prefix)}
        except InvalidRequest:
            dispatcher.utter_message(response="utter_order_ref_invalid")
            return {"verify_order_ref": None}

    async def extract_verify_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "verify_email" or _intent(tracker) == "stop":
            return {}
        text = _text(tracker)
        found = email_in(text) or next(
            (w.strip(".,;:!?()<>，。") for w in text.split() if "@" in w), None
        )
        if found:
            return {"verify_email": found}
        if len(text.split()) <= 4 and _intent(tracker) not in ("deny",):
            return {"verify_email": text}  # not an address: validation says so
        return {}

    async def validate_verify_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        address = str(value).strip()
        if not EMAIL.match(address.lower()):
            dispatcher.utter_message(response="utter_email_invalid")
            return {"verify_email": None}
        ref = tracker.get_slot("verify_order_ref")
        try:
            challenge = start_verification(sessions(), customer_of(tracker), str(ref), address)
        except VerificationRateLimited:
            dispatcher.utter_message(response="utter_verification_rate_limited")
            return {"verify_email": address, "verify_code": "stopped", "verify_challenge": None}
        except InvalidRequest:
            dispatcher.utter_message(response="utter_email_invalid")
            return {"verify_email": None}
        dispatcher.utter_message(
            response="utter_verification_code_sent", order_ref=ref, email=challenge.email
        )
        return {"verify_email": challenge.email, "verify_challenge": challenge.id}

    async def extract_verify_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "verify_code" or _intent(tracker) == "stop":
            return {}
        text = _text(tracker)
        digits = "".join(c for c in text if c.isdigit())
        if digits or len(text.split()) <= 3:
            return {"verify_code": digits or text}
        return {}

    async def validate_verify_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == "stopped":
            return {"verify_code": value}
        challenge = tracker.get_slot("verify_challenge")
        try:
            code = check_code(str(value))
        except InvalidRequest:
            dispatcher.utter_message(response="utter_verification_code_invalid")
            return {"verify_code": None}
        try:
            done = confirm_verification(sessions(), customer_of(tracker), str(challenge), code)
        except WrongCode as exc:
            dispatcher.utter_message(
                response="utter_verification_code_wrong", attempts_left=exc.attempts_left
            )
            return {"verify_code": None}
        except (TooManyAttempts, CodeExpired, NotFound):
            dispatcher.utter_message(response="utter_verification_failed")
            return {"verify_code": "stopped"}
        return {"verify_code": "ok", "verify_order_ref": done.order_ref}


class ActionAskVerifyEmail(Action):
    """Asks for the order's e-mail address."""

    def name(self) -> str:
        return "action_ask_verify_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        dispatcher.utter_message(
            response="utter_ask_verify_email",
            order_ref=tracker.get_slot("verify_order_ref"),
            buttons=[{"title": text("common.cancel", language), "payload": "/stop"}],
        )
        return []


class ActionVerificationDone(Action):
    """The order is linked: show it, and offer what can be done with it now."""

    def name(self) -> str:
        return "action_verification_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        ref = tracker.get_slot("verify_order_ref")
        if tracker.get_slot("verify_code") != "ok" or not ref:
            return reset_verification()
        with sessions()() as session:
            order = get_order(session, customer_of(tracker), str(ref))
            match = match_name(match_summary(session, order.fixture_id), language, "day")
        live = sum(1 for t in order.tickets if t.status in ("valid", "used"))
        zh = language == "zh"
        dispatcher.utter_message(
            response="utter_verification_done",
            order_ref=order.ref,
            match=match,
            count=live,
            buttons=[
                {"title": "退票" if zh else "Refund it",
                 "payload": f'/refund{{"order_ref":"{order.ref}"}}'},
                {"title": "换票" if zh else "Exchange tickets",
                 "payload": f'/exchange_transfer{{"change_request":"exchange",'
                            f'"order_ref":"{order.ref}"}}'},
                {"title": "转让给朋友" if zh else "Transfer a ticket",
                 "payload": '/exchange_transfer{"change_request":"transfer"}'},
            ],
        )  # fmt: skip
        return reset_verification()


class ActionCancelVerification(Action):
    """The fan does not want to verify (or stopped half-way)."""

    def name(self) -> str:
        return "action_cancel_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_verification_cancelled")
        return reset_verification()
