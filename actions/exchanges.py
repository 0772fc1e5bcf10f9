"""Exchanging tickets in the chat: other seats, or another match, for a quoted fee.

Flow: `exchange_form` asks for the order (`change_order`), which of its tickets
(`change_tickets`, all by default), the match (`exchange_fixture`, this one or
another on sale) and the area (`exchange_seating`); `action_quote_exchange` holds
the new seats and shows the fee and the difference before anything changes; on
"yes" `action_confirm_exchange` swaps them: new QR e-tickets, the old codes revoked.
Only the conversation's own orders are offered or accepted.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import customer_of, language_of, money, qr_url
from actions.database import club, sessions
from actions.fixture_choice import candidate_fixtures
from actions.matches import match_name, match_summary
from actions.orders import change_form_slots, changeable_orders, order_buttons, owns_order
from actions.purchase import means_any, seating_buttons, seating_of
from actions.verification import offer_verification, order_ref_of
from core.clock import utcnow
from core.texts import text
from knowledge.language import Language
from ticketing.club import current_club
from ticketing.errors import (
    PaymentDeclined,
    PaymentTimeout,
    QuoteExpired,
    SeatUnavailable,
    SoldOut,
    TicketingError,
)
from ticketing.exchanges import confirm_exchange, quote_exchange
from ticketing.fixtures import section_availability
from ticketing.orders import OrderView, get_order
from ticketing.recommendations import recommend_seats

EXCHANGE_SLOTS = (
    "change_request", "change_order", "change_tickets", "exchange_fixture", "exchange_seating",
    "exchange_quote", "change_stage",
)  # fmt: skip
ANSWERS = ("inform", "affirm", "exchange_transfer", "buy_tickets", "match_availability")


def reset_exchange() -> list[EventType]:
    """Events that forget the exchange in progress."""
    return [SlotSet(name, None) for name in EXCHANGE_SLOTS]


def _intent(tracker: Tracker) -> str | None:
    name = (tracker.latest_message.get("intent") or {}).get("name")
    return str(name) if name else None


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _answers(tracker: Tracker) -> bool:
    """A form answer: an answer-like intent, a button, or a short reply."""
    text = _text(tracker)
    if _intent(tracker) == "stop":
        return False
    short = len(text.split()) <= 4 and len(text) <= 20 and not text.endswith(("?", "？"))
    return _intent(tracker) in ANSWERS or text.startswith("/") or short


def live_tickets(order: OrderView) -> list[Any]:
    """The order's tickets that can still be exchanged or passed on."""
    return [t for t in order.tickets if t.status == "valid"]


def _order(tracker: Tracker) -> OrderView | None:
    ref = tracker.get_slot("change_order")
    if not ref:
        return None
    with sessions()() as session:
        try:
            return get_order(session, customer_of(tracker), str(ref))
        except TicketingError:
            return None


def pick_tickets(text: str, tickets: list[Any]) -> list[int] | None:
    """Which tickets the fan means: all, a seat label, a ticket id; None if unclear."""
    lowered = text.strip().casefold()
    if lowered in ("all", "both", "all of them", "everything", "全部", "都换", "全都", "所有"):
        return [t.id for t in tickets]
    if means_any(lowered) or "all" in lowered.split():
        return [t.id for t in tickets]
    chosen = [
        t.id for t in tickets if t.seat.label.casefold() in lowered or str(t.id) == lowered.strip()
    ]
    return chosen or None


class ValidateExchangeForm(FormValidationAction):
    """Fills and checks the exchange form from what the fan says or taps."""

    def name(self) -> str:
        return "validate_exchange_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing to ask when there is nothing to exchange or a verification is offered."""
        return change_form_slots(tracker, domain_slots, changeable_orders)

    async def extract_change_order(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        value = next(tracker.get_latest_entity_values("order_ref"), None)
        if value:
            prefix = club().order_prefix
            return {"change_order": order_ref_of(str(value), _text(tracker), prefix)}
        if tracker.get_slot("requested_slot") is None and not tracker.get_slot("change_order"):
            orders = changeable_orders(tracker)
            if len(orders) == 1:  # the only candidate: no need to ask
                return {"change_order": orders[0].ref}
        return {}

    async def validate_change_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        ref = str(value).strip().upper()
        if not owns_order(tracker, ref):
            return {"change_order": None, **offer_verification(dispatcher, tracker, ref)}
        if ref not in {o.ref for o in changeable_orders(tracker)}:
            dispatcher.utter_message(response="utter_order_not_changeable", order_ref=ref)
            return {"change_order": None}
        return {"change_order": ref}

    async def extract_change_tickets(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order = _order(tracker)
        if order is None:
            return {}
        tickets = live_tickets(order)
        if len(tickets) == 1 and not tracker.get_slot("change_tickets"):
            return {"change_tickets": [str(tickets[0].id)]}
        if tracker.get_slot("requested_slot") != "change_tickets" or not _answers(tracker):
            return {}
        buttons = [str(v) for v in tracker.get_latest_entity_values("ticket")]
        if buttons:
            picked = pick_tickets(buttons[0], tickets)
        else:
            picked = pick_tickets(_text(tracker), tickets)
        if picked is None:
            dispatcher.utter_message(response="utter_tickets_unclear")
            return {}
        return {"change_tickets": [str(i) for i in picked]}

    async def extract_exchange_fixture(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "exchange_fixture" or not _answers(tracker):
            return {}
        fixture_values = [str(v) for v in tracker.get_latest_entity_values("fixture")]
        text = _text(tracker)
        order = _order(tracker)
        if order is not None and not fixture_values and _means_same(text):
            return {"exchange_fixture": str(order.fixture_id)}
        with sessions()() as session:
            found = candidate_fixtures(
                session,
                fixture_values=fixture_values,
                team_values=[str(v) for v in tracker.get_latest_entity_values("team")],
                date_values=[str(v) for v in tracker.get_latest_entity_values("date")],
                text=text,
                now=utcnow(),
            )
        if len(found) == 1:
            return {"exchange_fixture": str(found[0].summary.id)}
        return {}

    async def validate_exchange_fixture(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        language = language_of(tracker)
        with sessions()() as session:
            found = candidate_fixtures(
                session, fixture_values=[str(value)], team_values=[], date_values=[], text="",
                now=utcnow(),
            )  # fmt: skip
        if not found:
            dispatcher.utter_message(response="utter_fixture_not_found")
            return {"exchange_fixture": None}
        if found[0].sale != "on_sale" or found[0].available == 0:
            dispatcher.utter_message(
                response="utter_exchange_fixture_unavailable",
                match=match_name(found[0].summary, language),
            )
            return {"exchange_fixture": None}
        return {"exchange_fixture": str(value)}

    async def extract_exchange_seating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "exchange_seating" or not _answers(tracker):
            return {}
        for value in [
            *tracker.get_latest_entity_values("section"),
            *tracker.get_latest_entity_values("category"),
        ]:
            if str(value) in ("best", "same"):
                return {"exchange_seating": str(value)}
            seating = seating_of(str(value))
            if seating:
                return {"exchange_seating": seating}
        text = _text(tracker)
        if _means_same(text):
            return {"exchange_seating": "same"}
        seating = seating_of(text) or ("best" if means_any(text) else None)
        if seating:
            return {"exchange_seating": seating}
        return {}

    async def validate_exchange_seating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        fixture_id = tracker.get_slot("exchange_fixture")
        if value in ("best", "same") or not fixture_id:
            return {"exchange_seating": value}
        with sessions()() as session:
            sections = section_availability(session, int(fixture_id))
        matching = [s for s in sections if value in (s.code, s.category, s.code[:1])]
        if not matching:
            dispatcher.utter_message(response="utter_seating_unknown", seating=str(value))
            return {"exchange_seating": None}
        if sum(s.available for s in matching) == 0:
            dispatcher.utter_message(response="utter_seating_sold_out", seating=str(value))
            return {"exchange_seating": None}
        return {"exchange_seating": value}


def _means_same(text: str) -> bool:
    lowered = text.casefold()
    return any(w in lowered for w in ("same", "this match", "this one", "同一场", "这场", "原来"))


class ActionAskChangeOrder(Action):
    """Asks which order, with a button for each one that can still be changed."""

    def name(self) -> str:
        return "action_ask_change_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = order_buttons(tracker, changeable_orders(tracker))
        dispatcher.utter_message(response="utter_ask_change_order", buttons=buttons)
        return []


class ActionAskChangeTickets(Action):
    """Asks which tickets of the order: all, or one seat."""

    def name(self) -> str:
        return "action_ask_change_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        order = _order(tracker)
        tickets = live_tickets(order) if order else []
        everything = text("exchanges.all_tickets", language, count=len(tickets))
        buttons = [{"title": everything, "payload": '/inform{"ticket":"all"}'}]
        buttons += [
            {"title": t.seat.label, "payload": f'/inform{{"ticket":"{t.id}"}}'} for t in tickets
        ][:5]
        dispatcher.utter_message(response="utter_ask_change_tickets", buttons=buttons)
        return []


class ActionAskExchangeFixture(Action):
    """Asks for the match: this one (other seats) or another on sale."""

    def name(self) -> str:
        return "action_ask_exchange_fixture"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        order = _order(tracker)
        with sessions()() as session:
            found = candidate_fixtures(
                session, fixture_values=[], team_values=[], date_values=[], text="",
                now=utcnow(),
            )  # fmt: skip
        on_sale = [f for f in found if f.sale == "on_sale" and f.available > 0]
        buttons = []
        if order is not None and any(f.summary.id == order.fixture_id for f in on_sale):
            buttons.append(
                {"title": text("exchanges.same_match", language),
                 "payload": f'/inform{{"fixture":"{order.fixture_id}"}}'}
            )  # fmt: skip
        buttons += [
            {"title": match_name(f.summary, language),
             "payload": f'/inform{{"fixture":"{f.summary.id}"}}'}
            for f in on_sale
            if order is None or f.summary.id != order.fixture_id
        ][:4]  # fmt: skip
        dispatcher.utter_message(response="utter_ask_exchange_fixture", buttons=buttons)
        return []


class ActionAskExchangeSeating(Action):
    """Asks where to sit at the new match: categories with their price, or best available."""

    def name(self) -> str:
        return "action_ask_exchange_seating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        fixture_id = tracker.get_slot("exchange_fixture")
        if not fixture_id:
            return []
        buttons = seating_buttons(int(fixture_id), language)
        dispatcher.utter_message(response="utter_ask_exchange_seating", buttons=buttons)
        return []


def _new_seats(tracker: Tracker, order: OrderView, count: int) -> dict[str, Any]:
    """Where to look for the new seats: `section_id`, `seat_ids`, or neither (best)."""
    fixture_id = int(tracker.get_slot("exchange_fixture"))
    seating = tracker.get_slot("exchange_seating") or "best"
    if seating == "best":
        return {}
    with sessions()() as session:
        sections = section_availability(session, fixture_id)
        if seating == "same":
            first = live_tickets(order)[0]
            same = [s for s in sections if s.id == first.seat.section_id]
            return {"section_id": same[0].id} if same else {}
        codes = {s.code: s.id for s in sections}
        if seating in codes:
            return {"section_id": codes[seating]}
        category = seating if seating in {s.category for s in sections} else None
        options = recommend_seats(
            session, fixture_id, count, category=category, customer=customer_of(tracker), limit=3
        )
        if category is None:  # a stand
            options = [o for o in options if o.section.startswith(seating)]
    return {"seat_ids": options[0].seat_ids} if options else {"seat_ids": []}


class ActionQuoteExchange(Action):
    """Holds the new seats and quotes the exchange; nothing changes until the fan confirms."""

    def name(self) -> str:
        return "action_quote_exchange"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        if tracker.get_slot("verification") == "offered":
            return [SlotSet(name, None) for name in EXCHANGE_SLOTS if name != "change_stage"]
        order = _order(tracker)
        ticket_ids = [int(i) for i in tracker.get_slot("change_tickets") or []]
        if order is None or not ticket_ids or not tracker.get_slot("exchange_fixture"):
            dispatcher.utter_message(response="utter_nothing_to_change")
            return reset_exchange()
        where = _new_seats(tracker, order, len(ticket_ids))
        if where.get("seat_ids") == []:
            dispatcher.utter_message(response="utter_no_seats_together", quantity=len(ticket_ids))
            return [SlotSet("exchange_seating", None), SlotSet("change_stage", None)]
        try:
            quote = quote_exchange(
                sessions(), customer_of(tracker), order.ref, ticket_ids,
                int(tracker.get_slot("exchange_fixture")), **where,
            )  # fmt: skip
        except (SoldOut, SeatUnavailable):
            dispatcher.utter_message(response="utter_no_seats_together", quantity=len(ticket_ids))
            return [SlotSet("exchange_seating", None), SlotSet("change_stage", None)]
        except TicketingError as exc:  # too close to kick-off, a used ticket, a limit
            dispatcher.utter_message(response="utter_change_refused", detail=exc.message)
            return reset_exchange()
        with sessions()() as session:
            match = match_name(match_summary(session, quote.fixture_id), language)
            local = quote.expires_at.astimezone(current_club(session).zone)
        dispatcher.utter_message(
            response="utter_exchange_quote",
            count=len(quote.ticket_ids),
            order_ref=quote.order_ref,
            match=match,
            seats=", ".join(s.label for s in quote.seats),
            fee=money(quote.fee, quote.currency),
            new_total=money(quote.new_total, quote.currency),
            old_total=money(quote.old_total, quote.currency),
            balance=_balance(quote.amount_due, quote.currency, language),
            until=f"{local:%H:%M}",
            buttons=_confirm_buttons(language),
        )
        return [SlotSet("exchange_quote", quote.id), SlotSet("change_stage", "exchange_quoted")]


def _balance(amount_due: int, currency: str, language: Language) -> str:
    if amount_due > 0:
        return text("exchanges.pay_more", language, amount=money(amount_due, currency))
    if amount_due < 0:
        return text("exchanges.money_back", language, amount=money(-amount_due, currency))
    return text("exchanges.nothing_to_pay", language)


def _confirm_buttons(language: Language) -> list[dict[str, str]]:
    return [
        {"title": text("exchanges.confirm", language), "payload": "/affirm"},
        {"title": text("exchanges.keep", language), "payload": "/deny"},
    ]


class ActionConfirmExchange(Action):
    """Carries out the quoted exchange and sends the new e-tickets."""

    def name(self) -> str:
        return "action_confirm_exchange"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ref, quote = tracker.get_slot("change_order"), tracker.get_slot("exchange_quote")
        reset = reset_exchange()
        if not ref or not quote:
            return reset
        try:
            result = confirm_exchange(sessions(), customer_of(tracker), ref, quote)
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
        order = result.order
        dispatcher.utter_message(
            response="utter_exchange_done",
            order_ref=order.ref,
            old_order_ref=result.old_order_ref,
            count=len(order.tickets),
        )
        for index, ticket in enumerate(order.tickets, start=1):
            dispatcher.utter_message(
                response="utter_ticket",
                number=index,
                count=len(order.tickets),
                seat=ticket.seat.label,
                order_ref=order.ref,
                image=qr_url(ticket.id, ticket.version),
            )
        return reset
