"""A fan's own orders in the chat: status, and refunds quoted before they are confirmed.

Only orders of the conversation's customer (the channel identity the gateway
passes) are ever looked at or changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import customer_of, language_of, money
from actions.database import club, sessions
from actions.groups import private_only
from actions.matches import match_name, match_summary
from actions.verification import offer_verification, order_ref_of
from core.clock import utcnow
from core.texts import catalogue, text
from knowledge.language import Language
from ticketing.errors import (
    AlreadyRefunded,
    NotFound,
    NotRefundable,
    OrderNotPaid,
    QuoteExpired,
    TicketingError,
    TicketUsed,
)
from ticketing.orders import OrderView, orders_of
from ticketing.refunds import confirm_refund, quote_refund

REFUNDABLE = ("paid", "partially_refunded")


def reset_refund() -> list[EventType]:
    """Events that forget the refund in progress."""
    return [SlotSet(name, None) for name in ("order_ref", "refund_quote", "refund_stage")]


def _orders(tracker: Tracker) -> list[OrderView]:
    with sessions()() as session:
        return orders_of(session, customer_of(tracker))


def names_order(tracker: Tracker) -> bool:
    """Whether the fan's latest message names an order reference."""
    return next(tracker.get_latest_entity_values("order_ref"), None) is not None


def change_form_slots(
    tracker: Tracker, domain_slots: list[str], has_candidates: Callable[[Tracker], object]
) -> list[str]:
    """The slots an exchange or transfer form asks for: none while a verification is
    offered, or when the fan names no order and has nothing the form could act on."""
    if tracker.get_slot("verification") == "offered":
        return []
    if names_order(tracker) or has_candidates(tracker):
        return list(domain_slots)
    return []


def owns_order(tracker: Tracker, ref: str) -> bool:
    """Whether `ref` is an order of the conversation's own customer."""
    return str(ref).strip().upper() in {o.ref for o in _orders(tracker)}


def changeable_orders(tracker: Tracker) -> list[OrderView]:
    """The fan's orders with tickets that can still be exchanged or passed on, for matches
    to come (a ticket received from another fan can only be refunded)."""
    now = utcnow()
    with sessions()() as session:
        orders = orders_of(session, customer_of(tracker))
        upcoming = {
            o.fixture_id for o in orders if match_summary(session, o.fixture_id).kickoff > now
        }
    return [
        o for o in orders
        if o.status in REFUNDABLE and o.fixture_id in upcoming and o.origin != "transfer"
        and any(t.status == "valid" for t in o.tickets)
    ]  # fmt: skip


def order_buttons(tracker: Tracker, orders: list[OrderView]) -> list[dict[str, str]]:
    """One button per order (at most five), answering with its reference."""
    language = language_of(tracker)
    return [
        {"title": _order_line(o, language).lstrip("• "),
         "payload": f'/inform{{"order_ref":"{o.ref}"}}'}
        for o in orders
    ][:5]  # fmt: skip


def _match(fixture_id: int, language: Language) -> str:
    with sessions()() as session:
        return match_name(match_summary(session, fixture_id), language, "day")


def _order_line(order: OrderView, language: Language) -> str:
    live = [t for t in order.tickets if t.status in ("valid", "used")]
    status = f"orders.status.{order.status}"  # one text per status of ticketing.models.Order
    return text(
        "orders.line",
        language,
        order_ref=order.ref,
        match=_match(order.fixture_id, language),
        count=len(live),
        status=text(status, language) if status in catalogue() else order.status.replace("_", " "),
    )


class ActionOrderStatus(Action):
    """Lists the fan's orders (newest first) with their status."""

    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (ended := private_only(dispatcher, tracker)) is not None:
            return ended  # a group chat: no order detail there
        language = language_of(tracker)
        orders = _orders(tracker)
        wanted = next(tracker.get_latest_entity_values("order_ref"), None)
        if wanted:
            text = tracker.latest_message.get("text") or ""
            wanted = order_ref_of(str(wanted), text, club().order_prefix)
            orders = [o for o in orders if o.ref == wanted]
            if not orders:  # bought elsewhere, or not theirs: the same offer either way
                offered = offer_verification(dispatcher, tracker, str(wanted))
                return [SlotSet(name, value) for name, value in offered.items()]
        if not orders:
            dispatcher.utter_message(response="utter_no_orders")
            return []
        lines = "\n".join(_order_line(o, language) for o in orders[:5])
        dispatcher.utter_message(response="utter_order_list", orders=lines)
        return []


class ValidateRefundForm(FormValidationAction):
    """Checks that the order to refund is the fan's own and still refundable."""

    def name(self) -> str:
        return "validate_refund_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing to ask when the fan has nothing refundable (the quote step explains) or
        an order of theirs from elsewhere is to be verified first."""
        if tracker.get_slot("verification") == "offered":
            return []
        if names_order(tracker):  # checked (and offered for verification) by validation
            return list(domain_slots)
        if not any(o.status in REFUNDABLE for o in _orders(tracker)):
            return []
        return list(domain_slots)

    async def extract_order_ref(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        value = next(tracker.get_latest_entity_values("order_ref"), None)
        if value:
            text = tracker.latest_message.get("text") or ""
            return {"order_ref": order_ref_of(str(value), text, club().order_prefix)}
        if tracker.get_slot("requested_slot") is None and not tracker.get_slot("order_ref"):
            refundable = [o for o in _orders(tracker) if o.status in REFUNDABLE]
            if len(refundable) == 1:  # the only candidate: no need to ask
                return {"order_ref": refundable[0].ref}
        return {}

    async def validate_order_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        ref = str(value).strip().upper()
        orders = {o.ref: o for o in _orders(tracker)}
        if ref not in orders:
            return {"order_ref": None, **offer_verification(dispatcher, tracker, ref)}
        if orders[ref].status not in REFUNDABLE:
            dispatcher.utter_message(response="utter_order_not_refundable", order_ref=ref)
            return {"order_ref": None}
        return {"order_ref": ref}


class ActionAskOrderRef(Action):
    """Asks which order, with a button for each refundable one."""

    def name(self) -> str:
        return "action_ask_order_ref"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        refundable = [o for o in _orders(tracker) if o.status in REFUNDABLE]
        buttons = order_buttons(tracker, refundable)
        dispatcher.utter_message(response="utter_ask_order_ref", buttons=buttons)
        return []


class ActionQuoteRefund(Action):
    """Quotes the refund of the whole order; nothing changes until the fan confirms."""

    def name(self) -> str:
        return "action_quote_refund"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        ref = tracker.get_slot("order_ref")
        if tracker.get_slot("verification") == "offered":
            return reset_refund()  # the fan was just offered to verify the order first
        if not ref:
            dispatcher.utter_message(response="utter_refund")
            dispatcher.utter_message(response="utter_no_orders")
            return reset_refund()
        try:
            quote = quote_refund(sessions(), customer_of(tracker), ref)
        except (TicketUsed, AlreadyRefunded, NotRefundable, OrderNotPaid, NotFound):
            dispatcher.utter_message(response="utter_order_not_refundable", order_ref=ref)
            return reset_refund()
        except TicketingError as exc:  # e.g. too close to kick-off
            dispatcher.utter_message(response="utter_refund_refused", detail=str(exc))
            return reset_refund()
        dispatcher.utter_message(
            # A received ticket's money goes back to the fan who paid for it.
            response="utter_refund_quote_to_buyer"
            if quote.to_original_buyer
            else "utter_refund_quote",
            order_ref=ref,
            count=len(quote.ticket_ids),
            fee=money(quote.fee, quote.currency),
            amount=money(quote.refund_amount, quote.currency),
            buttons=[
                {"title": text("refunds.confirm", language), "payload": "/affirm"},
                {"title": text("refunds.keep", language), "payload": "/deny"},
            ],
        )
        return [SlotSet("refund_quote", quote.id), SlotSet("refund_stage", "quoted")]


class ActionConfirmRefund(Action):
    """Carries out the quoted refund: tickets revoked, money returned."""

    def name(self) -> str:
        return "action_confirm_refund"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ref, quote = tracker.get_slot("order_ref"), tracker.get_slot("refund_quote")
        reset = reset_refund()
        if not ref or not quote:
            return reset
        try:
            result = confirm_refund(sessions(), customer_of(tracker), ref, quote)
        except QuoteExpired:
            dispatcher.utter_message(response="utter_refund_quote_expired")
            return reset
        except TicketingError as exc:
            dispatcher.utter_message(response="utter_refund_refused", detail=str(exc))
            return reset
        dispatcher.utter_message(
            response="utter_refund_done_to_buyer"
            if result.to_original_buyer
            else "utter_refund_done",
            order_ref=result.order_ref,
            amount=money(result.refund_amount, result.currency),
        )
        return reset


class ActionKeepOrder(Action):
    """The fan decided not to refund after all."""

    def name(self) -> str:
        return "action_keep_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_refund_kept")
        return reset_refund()
