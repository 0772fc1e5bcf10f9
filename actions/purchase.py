"""Buying tickets in the chat: the buy form, a seat offer, a hold, payment, e-tickets.

Flow: `buy_form` collects the match, the seating and the quantity (with ticket
types when the fan names them); `action_offer_seats` recommends adjacent seats and
their price; on "yes" `action_hold_seats` holds them for the fan; on "pay"
`action_pay` charges the payment method and sends one e-ticket per seat.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.context import customer_of, language_of, money, qr_url, source_of
from actions.database import club, sessions
from actions.fixture_choice import candidate_fixtures
from actions.groups import private_only
from actions.matches import match_name
from core.clock import utcnow
from core.settings import get_settings
from core.texts import text
from knowledge.language import Language
from knowledge.quantities import parse_concessions, parse_number, quantity_in
from knowledge.typed import is_question
from knowledge.vocabulary import vocabulary
from ticketing.club import current_club
from ticketing.errors import (
    HoldExpired,
    PaymentDeclined,
    PaymentTimeout,
    PurchaseLimitReached,
    RateLimited,
    SaleClosed,
    SeatUnavailable,
    SoldOut,
    TicketingError,
)
from ticketing.fixtures import FixtureListing, currency_of, section_availability, teams_in
from ticketing.holds import create_hold, release_hold
from ticketing.paying import pay_order
from ticketing.policies import current_policies
from ticketing.pricing import category_names
from ticketing.recommendations import SeatOption, recommend_seats

PURCHASE_SLOTS = (
    "fixture_id", "seating", "quantity", "concessions", "offer", "hold_id", "purchase_stage",
)  # fmt: skip


def reset_purchase() -> list[EventType]:
    """Events that forget everything about the purchase in progress."""
    return [SlotSet(name, None) for name in PURCHASE_SLOTS]


def _on_sale(listing: FixtureListing) -> bool:
    return listing.sale == "on_sale" and listing.available > 0


# Only answers to the form (and the request that opened it) fill its slots: a question
# asked in between ("is the West Stand covered?") is answered, and the form goes on.
FORM_ANSWERS = ("inform", "buy_tickets", "affirm", "match_availability")


def _answers_the_form(tracker: Tracker) -> bool:
    """A form answer: an answer-like intent, a button, a short reply ("family", "两张"),
    or a message the NLU could not place that is not a question (most likely an answer
    in the fan's own words: "there's two of us", "doesn't matter where")."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = (tracker.latest_message.get("text") or "").strip()
    question = is_question(text)
    short = len(text.split()) <= 3 and len(text) <= 16 and not question
    unplaced = intent == "nlu_fallback" and not question
    return intent in FORM_ANSWERS or text.startswith("/") or short or unplaced


# Categories a sentence may name in passing ("my family and I"): taken from a whole
# sentence only with a seating word beside them.
_PASSING = ("family", "away", "accessible")
_SEATING_WORD = re.compile(r"zone|section|stand|area|seat|block|区|席|看台|座")


def named_category(text: str) -> str | None:
    """The seat category a whole sentence asks for ("2 tickets in cat 2", "要两张二类席")."""
    category = vocabulary().category(text)
    if category in _PASSING and not _SEATING_WORD.search(text.casefold()):
        return None
    return category


_BUY_WORD = re.compile(
    r"\b(tickets?|tix|tkts?|seats?|buy|book|get|want|need|after)\b|票|张|买|订|要|想",
    re.IGNORECASE,
)


_BUY_VERB = re.compile(r"\b(buy|book|purchase|order)\b|买|订|购", re.IGNORECASE)
# "tickets plz", "tix pls", "买票", "订票啊": asking for tickets and nothing else.
_JUST_TICKETS = re.compile(
    r"^(?:hi|hello|hey|ok)?[\s,]*(?:(?:i\s+)?(?:want|need|buy|get|book)\s+)?(?:some\s+)?"
    r"(?:tickets?|tix|tkts?)\s*(?:plz|pls|please|thanks|thx|now)?[\s!.]*$"
    r"|^[你您]?好?[，,\s]*(?:我)?(?:想|要)?(?:买|订|购)?[张]?(?:票|门票|飞)(?:啊|呀|吧|了|谢谢|唔该)?[！!。\s]*$",
    re.IGNORECASE,
)


def _names_an_opponent(session: Session, text: str) -> bool:
    home = current_club(session).home_team_id
    return any(t.id != home for t in teams_in(session, text))


def wants_to_buy(text: str) -> bool:
    """A sentence the NLU could not place that asks for tickets to a match: a team or a
    seat category, with a number of tickets or a buying word ("tickets plz" alone too).
    A question counts only with a buying verb ("can I buy 2 for Northgate?")."""
    if _JUST_TICKETS.match(text.strip()):
        return True
    if is_question(text) and not _BUY_VERB.search(text):
        return False
    with sessions()() as session:
        team = _names_an_opponent(session, text)
    category = named_category(text) is not None
    if not (team or category):
        return False
    return (team and category) or quantity_in(text) is not None or bool(_BUY_WORD.search(text))


class ValidateBuyForm(FormValidationAction):
    """Fills and checks the buy form's slots from what the fan says."""

    def name(self) -> str:
        return "validate_buy_form"

    async def extract_fixture_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answers_the_form(tracker):
            return {}
        fixture_values = [str(v) for v in tracker.get_latest_entity_values("fixture")]
        team_values = [str(v) for v in tracker.get_latest_entity_values("team")]
        date_values = [str(v) for v in tracker.get_latest_entity_values("date")]
        said_nothing = not (fixture_values or team_values or date_values)
        text = tracker.latest_message.get("text") or ""
        with sessions()() as session:
            if (
                said_nothing
                and tracker.get_slot("requested_slot") != "fixture_id"
                and vocabulary().fixture_team(text) is None
                and not _names_an_opponent(session, text)
            ):
                return {}
            found = candidate_fixtures(
                session,
                fixture_values=fixture_values,
                team_values=team_values,
                date_values=date_values,
                text=text,
                now=utcnow(),
            )
        if len(found) == 1:
            return {"fixture_id": str(found[0].summary.id)}
        return {}

    async def validate_fixture_id(
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
            return {"fixture_id": None}
        if not _on_sale(found[0]):
            response = {
                "not_yet": "utter_fixture_not_yet",
                "presale": "utter_fixture_presale",
            }.get(found[0].sale, "utter_fixture_closed")
            if found[0].available == 0:
                response = "utter_fixture_sold_out"
            dispatcher.utter_message(
                response=response, match=match_name(found[0].summary, language)
            )
            return {"fixture_id": None}
        return {"fixture_id": str(value)}

    async def extract_seating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answers_the_form(tracker):
            return {}
        text = tracker.latest_message.get("text") or ""
        for value in [
            *tracker.get_latest_entity_values("section"),
            *tracker.get_latest_entity_values("category"),
        ]:
            seating = seating_of(str(value))
            if seating:
                return {"seating": seating}
        if (
            not text.startswith("/")
            and not is_question(text)
            and (category := named_category(text))
        ):
            return {"seating": category}  # named in a sentence the extractor missed
        if tracker.get_slot("requested_slot") == "seating":
            seating = seating_of(text) or ("best" if means_any(text) else None)
            if seating:
                return {"seating": seating}
        return {}

    async def validate_seating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        fixture_id = tracker.get_slot("fixture_id")
        if value == "best" or not fixture_id:
            return {"seating": value}
        with sessions()() as session:
            sections = section_availability(session, int(fixture_id))
        matching = [s for s in sections if value in (s.code, s.category, s.code[:1])]
        if not matching:
            dispatcher.utter_message(response="utter_seating_unknown", seating=str(value))
            return {"seating": None}
        if sum(s.available for s in matching) == 0:
            dispatcher.utter_message(response="utter_seating_sold_out", seating=str(value))
            return {"seating": None}
        return {"seating": value}

    async def extract_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _answers_the_form(tracker):
            return {}
        text = tracker.latest_message.get("text") or ""
        counts = parse_concessions(text)
        if counts:
            kinds = [kind for kind, n in sorted(counts.items()) for _ in range(n)]
            return {"quantity": float(len(kinds)), "concessions": kinds}
        for value in tracker.get_latest_entity_values("quantity"):
            number = parse_number(str(value))
            if number is not None:
                return {"quantity": float(number), "concessions": None}
        number = quantity_in(text) if not text.startswith("/") else None
        if number is not None:  # "2 tickets", "两张" the extractor missed
            return {"quantity": float(number), "concessions": None}
        if tracker.get_slot("requested_slot") == "quantity":
            number = parse_number(text)
            if number is not None:
                return {"quantity": float(number), "concessions": None}
        return {}

    async def validate_quantity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        limit = current_policies().limits.per_order
        try:
            quantity = int(float(value))
        except (TypeError, ValueError):
            quantity = 0
        if not 1 <= quantity <= limit:
            dispatcher.utter_message(response="utter_quantity_invalid", limit=limit)
            return {"quantity": None}
        return {"quantity": float(quantity)}


def seating_of(text: str) -> str | None:
    words = vocabulary()
    code = text.strip().upper().replace(" ", "")
    if len(code) <= 5 and code[:1] in "WENS" and (code[1:].isdigit() or code[1:] == "-ACC"):
        return code
    return words.category(text) or words.stand(text)


def means_any(text: str) -> bool:
    lowered = text.casefold()
    return any(w in lowered for w in _ANY_SEATS)


# "Wherever": the best available seats.
_ANY_SEATS = (
    "any", "best", "don't mind", "dont mind", "doesn't matter", "doesnt matter", "whatever",
    "no preference", "wherever", "not fussed", "up to you", "you choose", "随便", "都行",
    "最好", "无所谓", "都可以", "哪里都行", "随意", "是但", "你决定", "你帮我选",
)  # fmt: skip


class ActionBareAnswer(Action):
    """An answer given when nothing was asked ("北门联 2张 家庭区", "cat 1 for the derby"):
    a match or seats named start buying; anything else, what the desk can do."""

    def name(self) -> str:
        return "action_bare_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        named = any(
            next(tracker.get_latest_entity_values(name), None)
            for name in ("team", "fixture", "category", "section")
        )
        if not text.startswith("/") and (named or wants_to_buy(text)):
            return [FollowupAction("buy_form")]
        dispatcher.utter_message(response="utter_how_can_i_help")
        return []


class ActionAskFixtureId(Action):
    """Asks which match, with buttons for the ones on sale (or matching what was said)."""

    def name(self) -> str:
        return "action_ask_fixture_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        with sessions()() as session:
            found = candidate_fixtures(
                session,
                fixture_values=[str(v) for v in tracker.get_latest_entity_values("fixture")],
                team_values=[str(v) for v in tracker.get_latest_entity_values("team")],
                date_values=[str(v) for v in tracker.get_latest_entity_values("date")],
                text=tracker.latest_message.get("text") or "",
                now=utcnow(),
            )
            if not found:
                found = candidate_fixtures(
                    session, fixture_values=[], team_values=[], date_values=[], text="",
                    now=utcnow(),
                )  # fmt: skip
        buttons = [
            {
                "title": match_name(f.summary, language),
                "payload": f'/inform{{"fixture":"{f.summary.id}"}}',
            }
            for f in found
            if _on_sale(f)
        ][:5]
        if not buttons:
            dispatcher.utter_message(response="utter_nothing_on_sale")
            return []
        dispatcher.utter_message(response="utter_ask_fixture_id", buttons=buttons)
        return []


class ActionAskSeating(Action):
    """Asks where to sit: categories with today's price and whether seats are left."""

    def name(self) -> str:
        return "action_ask_seating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = language_of(tracker)
        fixture_id = tracker.get_slot("fixture_id")
        if not fixture_id:
            return []
        buttons = seating_buttons(int(fixture_id), language)
        dispatcher.utter_message(response="utter_ask_seating", buttons=buttons)
        return []


def seating_buttons(fixture_id: int, language: Language) -> list[dict[str, str]]:
    """One button per category with seats left, dearest first, with its lowest price;
    then "best available". Shared by the buy and the exchange forms."""
    with sessions()() as session:
        sections = section_availability(session, fixture_id)
        names = category_names(session)
        currency = currency_of(session, fixture_id)
    by_category: dict[str, tuple[int, int]] = {}
    for section in sections:
        if section.category == "away":
            continue  # away tickets are sold to the visiting club's fans
        price, left = by_category.get(section.category, (section.price, 0))
        by_category[section.category] = (min(price, section.price), left + section.available)
    buttons = [
        {
            "title": f"{names[category].name(language) if category in names else category}"
            f" {money(price, currency)}",
            "payload": f'/inform{{"category":"{category}"}}',
        }
        for category, (price, left) in sorted(by_category.items(), key=lambda kv: -kv[1][0])
        if left > 0
    ]
    buttons.append(
        {"title": text("purchase.best_available", language),
         "payload": '/inform{"category":"best"}'}
    )  # fmt: skip
    return buttons


def _offer(tracker: Tracker) -> tuple[list[SeatOption], int]:
    fixture_id = int(tracker.get_slot("fixture_id"))
    quantity = int(float(tracker.get_slot("quantity") or 1))
    seating = tracker.get_slot("seating") or "best"
    category = section_id = None
    with sessions()() as session:
        if seating != "best":
            sections = section_availability(session, fixture_id)
            codes = {s.code: s.id for s in sections}
            if seating in codes:
                section_id = codes[seating]
            elif seating in {s.category for s in sections}:
                category = seating
            else:  # a stand: the best section of that stand is chosen below
                category = None
        options = recommend_seats(
            session, fixture_id, quantity, category=category,
            customer=customer_of(tracker), section_id=section_id, limit=3,
        )  # fmt: skip
        if seating not in ("best", None) and section_id is None and category is None:
            options = [o for o in options if o.section.startswith(seating)] or options
    return options, quantity


class ActionOfferSeats(Action):
    """Recommends the best block of adjacent seats and asks the fan to confirm."""

    def name(self) -> str:
        return "action_offer_seats"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        corrected = _corrections(tracker)
        if not corrected and not tracker.get_slot("concessions"):
            corrected = _ticket_types(tracker)  # "成人1张 儿童1张" that filled the form
        return offer_seats(dispatcher, tracker, corrected)


def offer_seats(
    dispatcher: CollectingDispatcher, tracker: Tracker, corrected: dict[str, Any]
) -> list[EventType]:
    """Offer the best seats for the purchase's slots, with `corrected` applied first
    ("make it 3", "cat 2 instead", "不对，要三张")."""
    language = language_of(tracker)
    if not tracker.get_slot("fixture_id") or not tracker.get_slot("quantity"):
        return [SlotSet("purchase_stage", None)]
    if corrected:
        tracker = tracker.copy()
        for name, value in corrected.items():
            tracker.slots[name] = value
    options, quantity = _offer(tracker)
    if not options:
        dispatcher.utter_message(response="utter_no_seats_together", quantity=quantity)
        return [SlotSet("seating", None), SlotSet("purchase_stage", None)]
    best = options[0]
    stand = best.stand_zh if language == "zh" else best.stand_en
    concessions = tracker.get_slot("concessions") or []
    dispatcher.utter_message(
        response="utter_offer_seats",
        quantity=quantity,
        stand=stand,
        section=best.section,
        row=best.row,
        seats=", ".join(best.labels),
        total=money(best.total, best.currency),
        each=money(best.price_each, best.currency),
        note=_concession_note(concessions, language),
        buttons=_yes_no(language),
    )
    return [
        *(SlotSet(name, value) for name, value in corrected.items()),
        SlotSet("offer", [str(i) for i in best.seat_ids]),
        SlotSet("purchase_stage", "offered"),
    ]


def _corrections(tracker: Tracker, *, any_intent: bool = False) -> dict[str, Any]:
    """Slot changes the fan's last message asks for while an offer is on the table
    ("make it 3", "cat 2 instead"; with `any_intent`, also "不对，要三张", "no, 4 please")."""
    if not any_intent and (tracker.latest_message.get("intent") or {}).get("name") != "inform":
        return {}
    text = tracker.latest_message.get("text") or ""
    changes: dict[str, Any] = {}
    counts = parse_concessions(text)
    if counts:
        kinds = [kind for kind, n in sorted(counts.items()) for _ in range(n)]
        changes.update(quantity=float(len(kinds)), concessions=kinds)
    else:
        values = [str(v) for v in tracker.get_latest_entity_values("quantity")]
        number = parse_number(values[0]) if values else None
        if number is None and not any(tracker.get_latest_entity_values("category")):
            # "no, not a good row" names no number: only digits or a count with a unit
            number = quantity_in(text) if any_intent else parse_number(text)
            if number is None and any_intent and re.search(r"\d", text):
                number = parse_number(text)
        limit = current_policies().limits.per_order
        if number is not None and 1 <= number <= limit:
            changes.update(quantity=float(number), concessions=None)
    for value in [
        *tracker.get_latest_entity_values("section"),
        *tracker.get_latest_entity_values("category"),
    ]:
        seating = seating_of(str(value))
        if seating:
            changes["seating"] = seating
            break
    if any_intent and "seating" not in changes and (category := named_category(text)):
        changes["seating"] = category
    return changes


def _ticket_types(tracker: Tracker) -> dict[str, Any]:
    """The ticket types of the message that gave the number of tickets, whatever its
    intent (a form answer classified as a question about children's prices)."""
    counts = parse_concessions(tracker.latest_message.get("text") or "")
    quantity = int(float(tracker.get_slot("quantity") or 0))
    if not counts or sum(counts.values()) != quantity:
        return {}
    return {"concessions": [kind for kind, n in sorted(counts.items()) for _ in range(n)]}


def _concession_note(concessions: list[str], language: Language) -> str:
    reduced = [c for c in concessions if c != "adult"]
    if not reduced:
        return ""
    return text("purchase.concession_note", language)


def _yes_no(language: Language) -> list[dict[str, str]]:
    return [
        {"title": text("purchase.hold", language), "payload": "/affirm"},
        {"title": text("purchase.other_seats", language), "payload": "/deny"},
        {"title": text("common.cancel", language), "payload": "/stop"},
    ]


class ActionHoldSeats(Action):
    """Holds the offered seats for the fan and asks for payment."""

    def name(self) -> str:
        return "action_hold_seats"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (ended := private_only(dispatcher, tracker)) is not None:
            return ended + reset_purchase()  # a group chat: never hold seats there
        language = language_of(tracker)
        seat_ids = [int(i) for i in tracker.get_slot("offer") or []]
        if not seat_ids:
            return [SlotSet("purchase_stage", None)]
        concessions = tracker.get_slot("concessions") or None
        if concessions and len(concessions) != len(seat_ids):
            concessions = None
        try:
            hold = create_hold(
                sessions(), customer_of(tracker), int(tracker.get_slot("fixture_id")),
                seat_ids=seat_ids, concessions=concessions, source=source_of(tracker),
            )  # fmt: skip
        except SeatUnavailable:  # someone was faster: offer the next best seats at once
            dispatcher.utter_message(response="utter_seats_just_taken")
            return offer_seats(dispatcher, tracker, {})
        except PurchaseLimitReached as exc:
            dispatcher.utter_message(response="utter_purchase_limit", detail=str(exc))
            return reset_purchase()
        except SoldOut:
            dispatcher.utter_message(response="utter_hold_refused_sold_out")
            return reset_purchase()
        except SaleClosed:
            dispatcher.utter_message(response="utter_hold_refused_sale_closed")
            return reset_purchase()
        except RateLimited:
            dispatcher.utter_message(response="utter_hold_refused_rate_limited")
            return reset_purchase()
        local = hold.expires_at.astimezone(club().zone)
        dispatcher.utter_message(
            response="utter_seats_held",
            seats=", ".join(s.label for s in hold.seats),
            total=money(hold.total, hold.currency),
            until=f"{local:%H:%M}",
            buttons=[
                {"title": text("purchase.pay", language,
                               amount=money(hold.total, hold.currency)),
                 "payload": "/affirm"},
                {"title": text("common.cancel", language), "payload": "/stop"},
            ],
        )  # fmt: skip
        return [SlotSet("hold_id", hold.id), SlotSet("purchase_stage", "held")]


class ActionPay(Action):
    """Charges the held seats and sends the e-tickets (one message with a QR each)."""

    def name(self) -> str:
        return "action_pay"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (ended := private_only(dispatcher, tracker)) is not None:
            return ended + reset_purchase()  # a group chat: no payment, no QR codes there
        hold_id = tracker.get_slot("hold_id")
        if not hold_id:
            return [SlotSet("purchase_stage", None)]
        # Chosen here, never taken from the chat: a fan's text cannot name a card.
        token = get_settings().sandbox_card
        try:
            outcome = pay_order(
                sessions(), customer_of(tracker), hold_id,
                token=str(token), idempotency_key=f"chat:{tracker.sender_id}:{hold_id}",
            )  # fmt: skip
        except PaymentDeclined:
            dispatcher.utter_message(response="utter_payment_declined")
            dispatcher.utter_message(json_message={"handoff": "payment_failed"})
            return reset_purchase()
        except PaymentTimeout:
            dispatcher.utter_message(response="utter_payment_pending")
            return reset_purchase()
        except HoldExpired:
            dispatcher.utter_message(response="utter_hold_expired")
            return reset_purchase()
        except TicketingError as exc:
            dispatcher.utter_message(response="utter_purchase_failed", detail=exc.code)
            return reset_purchase()
        order = outcome.order
        dispatcher.utter_message(
            response="utter_order_paid",
            order_ref=order.ref,
            count=len(order.tickets),
            total=money(order.total, order.currency),
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
        return reset_purchase()


class ActionCancelPurchase(Action):
    """Stops the purchase: releases a hold if there is one and forgets the choices."""

    def name(self) -> str:
        return "action_cancel_purchase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("purchase_stage") == "offered":
            corrected = _corrections(tracker, any_intent=True)
            if corrected:  # "No, 3 please": a change to the offer, not a goodbye.
                return offer_seats(dispatcher, tracker, corrected)
        hold_id = tracker.get_slot("hold_id")
        if hold_id:
            # Already expired or paid: then nothing is held any more.
            with contextlib.suppress(TicketingError):
                release_hold(sessions(), customer_of(tracker), hold_id)
        dispatcher.utter_message(response="utter_purchase_cancelled")
        return reset_purchase()
