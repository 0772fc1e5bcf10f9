"""Passing a ticket to another fan in the chat, for a quoted fee.

Flow: `transfer_form` asks which ticket (`transfer_ticket`, only tickets the fan
bought and still holds) and who gets it (`transfer_to`: an e-mail address or
another fan's channel id such as `tg:12345`); `action_quote_transfer` shows the
fee; on "yes" `action_confirm_transfer` issues the new holder's ticket in an order
of their own and revokes the old code. The seller is told the seat, never the new
code: a holder named by e-mail gets it by mail, one on a chat channel with the
order confirmation notice of their new order (`bot/notifications`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import customer_of, language_of, money, qr_url
from actions.database import club, sessions
from actions.exchanges import reset_exchange
from actions.matches import match_name, match_summary
from actions.orders import change_form_slots, changeable_orders, owns_order
from actions.verification import offer_verification
from core.clock import utcnow
from core.db import write_session
from core.texts import text
from knowledge.language import LANGUAGES, Language
from ticketing.customers import EMAIL, EXTERNAL_ID, email_in
from ticketing.errors import (
    InvalidRequest,
    PaymentDeclined,
    PaymentTimeout,
    QuoteExpired,
    TicketingError,
)
from ticketing.exchanges import exchange_quote_of
from ticketing.holds import release_hold
from ticketing.mail import MailMessage, bilingual_mail, deliver
from ticketing.tickets import TicketView
from ticketing.transfers import quote_transfer, transfer_ticket

TRANSFER_SLOTS = (
    "change_request",
    "transfer_ticket",
    "transfer_to",
    "transfer_quote",
    "change_stage",
)
ANSWERS = ("inform", "affirm", "exchange_transfer")


def reset_transfer() -> list[EventType]:
    """Events that forget the transfer in progress."""
    return [SlotSet(name, None) for name in TRANSFER_SLOTS]


def _intent(tracker: Tracker) -> str | None:
    name = (tracker.latest_message.get("intent") or {}).get("name")
    return str(name) if name else None


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def transferable_tickets(tracker: Tracker) -> list[TicketView]:
    """Tickets the fan bought and still holds, for matches that can still be changed."""
    tickets = []
    for order in changeable_orders(tracker):
        tickets += [t for t in order.tickets if t.status == "valid"]
    return tickets


def recipient_of(text: str) -> str | None:
    """The recipient's external id from what the fan wrote: an address or a channel id."""
    address = email_in(text)
    if address is not None and EMAIL.match(address.lower()):
        return f"email:{address.lower()}"
    for word in text.replace("，", " ").split():
        word = word.strip(".,;:!?()<>。")
        if word.lower().startswith("email:"):
            word = word[6:]
        if "@" in word and EMAIL.match(word.lower()):
            return f"email:{word.lower()}"
        if EXTERNAL_ID.match(word) and not word.startswith(("http:", "https:")):
            return word
    return None


class ValidateTransferForm(FormValidationAction):
    """Fills and checks the transfer form."""

    def name(self) -> str:
        return "validate_transfer_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing to ask without a ticket to pass on, or when a verification is offered."""
        return change_form_slots(tracker, domain_slots, transferable_tickets)

    async def extract_transfer_ticket(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        tickets = transferable_tickets(tracker)
        ref = next(tracker.get_latest_entity_values("order_ref"), None)
        if ref and not owns_order(tracker, str(ref)):
            return {"transfer_ticket": f"order:{str(ref).strip().upper()}"}
        if len(tickets) == 1 and not tracker.get_slot("transfer_ticket"):
            return {"transfer_ticket": str(tickets[0].id)}
        if tracker.get_slot("requested_slot") != "transfer_ticket" or _intent(tracker) == "stop":
            return {}
        value = next(tracker.get_latest_entity_values("ticket"), None)
        text = str(value) if value else _text(tracker)
        lowered = text.casefold()
        chosen = [t for t in tickets if str(t.id) == text or t.seat.label.casefold() in lowered]
        if len(chosen) == 1:
            return {"transfer_ticket": str(chosen[0].id)}
        if _intent(tracker) in ANSWERS or len(text.split()) <= 3:
            dispatcher.utter_message(response="utter_tickets_unclear")
        return {}

    async def validate_transfer_ticket(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value)
        if text.startswith("order:"):  # an order this chat cannot see
            return {"transfer_ticket": None, **offer_verification(dispatcher, tracker, text[6:])}
        if text not in {str(t.id) for t in transferable_tickets(tracker)}:
            dispatcher.utter_message(response="utter_tickets_unclear")
            return {"transfer_ticket": None}
        return {"transfer_ticket": text}

    async def extract_transfer_to(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _text(tracker)
        found = recipient_of(text)
        if found and (tracker.get_slot("requested_slot") == "transfer_to" or "@" in text):
            return {"transfer_to": found}
        if tracker.get_slot("requested_slot") != "transfer_to" or _intent(tracker) == "stop":
            return {}
        if _intent(tracker) in ANSWERS or len(text.split()) <= 4:
            return {"transfer_to": text}  # not a recipient: validation re-asks
        return {}

    async def validate_transfer_to(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        recipient = recipient_of(str(value))
        if recipient is None:
            dispatcher.utter_message(response="utter_recipient_invalid")
            return {"transfer_to": None}
        if recipient == customer_of(tracker):
            dispatcher.utter_message(response="utter_recipient_yourself")
            return {"transfer_to": None}
        return {"transfer_to": recipient}


class ActionAskTransferTicket(Action):
    """Asks which ticket to pass on, with a button per ticket."""

    def name(self) -> str:
        return "action_ask_transfer_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        tickets = transferable_tickets(tracker)
        with sessions()() as session:
            names = {
                f: match_name(match_summary(session, f), language, "day")
                for f in {t.fixture_id for t in tickets}
            }
        buttons = [
            {"title": f"{t.seat.label} · {names[t.fixture_id]}",
             "payload": f'/inform{{"ticket":"{t.id}"}}'}
            for t in tickets
        ][:6]  # fmt: skip
        dispatcher.utter_message(response="utter_ask_transfer_ticket", buttons=buttons)
        return []


class ActionQuoteTransfer(Action):
    """Quotes the transfer fee; nothing changes until the fan confirms."""

    def name(self) -> str:
        return "action_quote_transfer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        if tracker.get_slot("verification") == "offered":
            return [SlotSet(name, None) for name in TRANSFER_SLOTS if name != "change_stage"]
        ticket, recipient = tracker.get_slot("transfer_ticket"), tracker.get_slot("transfer_to")
        if not ticket or not recipient:
            dispatcher.utter_message(response="utter_nothing_to_change")
            return reset_transfer()
        try:
            quote = quote_transfer(sessions(), customer_of(tracker), int(ticket), str(recipient))
        except InvalidRequest as exc:
            dispatcher.utter_message(response="utter_change_refused", detail=exc.message)
            return [SlotSet("transfer_to", None), SlotSet("change_stage", None)]
        except TicketingError as exc:
            dispatcher.utter_message(response="utter_change_refused", detail=exc.message)
            return reset_transfer()
        seat = next(
            (t.seat.label for t in transferable_tickets(tracker) if t.id == quote.ticket_id), ""
        )
        dispatcher.utter_message(
            response="utter_transfer_quote",
            seat=seat,
            recipient=_shown(str(recipient)),
            fee=money(quote.fee, quote.currency),
            buttons=_buttons(language),
        )
        return [SlotSet("transfer_quote", quote.id), SlotSet("change_stage", "transfer_quoted")]


def _shown(recipient: str) -> str:
    return recipient.removeprefix("email:")


def _buttons(language: Language) -> list[dict[str, str]]:
    return [
        {"title": text("transfers.confirm", language), "payload": "/affirm"},
        {"title": text("transfers.keep", language), "payload": "/deny"},
    ]


class ActionConfirmTransfer(Action):
    """Transfers the ticket: the new holder's ticket is issued, the old code revoked."""

    def name(self) -> str:
        return "action_confirm_transfer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ticket, recipient = tracker.get_slot("transfer_ticket"), tracker.get_slot("transfer_to")
        quote = tracker.get_slot("transfer_quote")
        reset = reset_transfer()
        if not ticket or not recipient or not quote:
            return reset
        try:
            result = transfer_ticket(
                sessions(), customer_of(tracker), int(ticket), str(recipient), quote_id=str(quote)
            )
        except QuoteExpired:
            dispatcher.utter_message(response="utter_change_quote_expired")
            return reset
        except PaymentDeclined:
            dispatcher.utter_message(response="utter_payment_declined_change")
            return reset
        except PaymentTimeout:
            dispatcher.utter_message(response="utter_payment_pending")
            return reset
        except TicketingError as exc:
            dispatcher.utter_message(response="utter_change_refused", detail=exc.message)
            return reset
        new = result.ticket
        link = qr_url(new.id, new.version)
        mailed = str(recipient).startswith("email:")
        if mailed:
            with sessions()() as session:
                summary = match_summary(session, new.fixture_id)
            matches: dict[str, str] = {lang: match_name(summary, lang) for lang in LANGUAGES}
            with write_session(sessions()) as session:
                deliver(session, _ticket_mail(str(recipient)[6:], new, matches, link), utcnow())
        dispatcher.utter_message(
            response="utter_transfer_done_mailed" if mailed else "utter_transfer_done",
            seat=new.seat.label,
            recipient=_shown(str(recipient)),
            fee=money(result.fee, result.currency),
        )
        return reset


def _ticket_mail(
    address: str, ticket: TicketView, matches: dict[str, str], link: str
) -> MailMessage:
    return bilingual_mail(
        address,
        subject_key="transfers.mail_subject",
        body_key="transfers.mail_body",
        values=lambda language: {
            "club": club().name(language),
            "match": matches.get(language, matches["en"]),
            "seat": ticket.seat.label,
            "order_ref": ticket.order_ref,
            "link": link,
        },
    )


class ActionKeepTickets(Action):
    """The fan stopped an exchange or a transfer: held seats go back, tickets stay."""

    def name(self) -> str:
        return "action_keep_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        quote_id = tracker.get_slot("exchange_quote")
        if quote_id:
            with sessions()() as session:
                quote = exchange_quote_of(session, str(quote_id))
                hold_id = quote.hold_id if quote is not None and quote.used_at is None else None
            if hold_id:
                with contextlib.suppress(TicketingError):  # expired already: nothing held
                    release_hold(sessions(), customer_of(tracker), hold_id)
        dispatcher.utter_message(response="utter_change_kept")
        return [*reset_exchange(), *reset_transfer()]
