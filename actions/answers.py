"""Answering a fan's question from the FAQ knowledge base, in the fan's language.

Confident: the entry's answer. Grey zone: "Did you mean ...?" with the top three
questions as buttons. Unsure: the topic's general answer when the question has a
topic; a question with no topic that the NLU's domain detector kept (`nlu_fallback`)
gets a clarifying question (knowledge/clarify.py), never a refusal; anything else
"Sorry, I didn't get that" and a miss reported to the handoff router
(`{"miss": "no_answer"}`: two misses in a row offer a person).
"""

from __future__ import annotations

from functools import lru_cache

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.change_requests import change_kind
from actions.context import language_of
from actions.database import club
from actions.purchase import reset_purchase, wants_to_buy
from actions.verification import order_ref_in
from core.settings import get_settings
from knowledge.clarify import choices as clarify_choices
from knowledge.clarify import ranked
from knowledge.retriever import Answer
from knowledge.shared import SharedRetriever

# The topic's general answer in domain.yml, for when no FAQ entry fits.
TOPIC_RESPONSES = {
    "ticket_prices_categories": "utter_ticket_prices_categories",
    "seats_sections_views": "utter_seats_sections_views",
    "order_status": "utter_order_status",
    "refund": "utter_refund",
    "exchange_transfer": "utter_exchange_transfer",
    "ticket_delivery": "utter_ticket_delivery",
    "stadium_entry": "utter_stadium_entry",
    "accessibility": "utter_accessibility",
    "children_concessions": "utter_children_concessions",
    "payment": "utter_payment",
    "account_login": "utter_account_login",
    "talk_to_human": "utter_talk_to_human",
    "complaint": "utter_complaint",
    "faq_other": "utter_faq_other",
    "membership": "utter_membership",
    "season_tickets": "utter_season_tickets",
    "ballot": "utter_ballot",
    "away_tickets": "utter_away_tickets",
    "resale": "utter_resale",
    "lost_ticket": "utter_lost_ticket",
    "rescheduled_match": "utter_rescheduled_match",
    "other_events": "utter_other_events",
    "out_of_scope": "utter_out_of_scope",
}
NOT_FAQ = ("talk_to_human", "complaint", "out_of_scope")
FALLBACK_INTENT = "nlu_fallback"


@lru_cache(maxsize=1)
def knowledge() -> SharedRetriever:
    """The action server's retriever (opened on first question)."""
    return SharedRetriever(get_settings())


def _chosen_entry(tracker: Tracker) -> str | None:
    value = next(tracker.get_latest_entity_values("faq_id"), None)
    return str(value) if value else None


_OFFER_CHANGE = {"transfer": "utter_offer_transfer", "exchange": "utter_offer_exchange"}


def _offer_change(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, text: str
) -> None:
    """After the rules of passing on or exchanging tickets, offer to do it now.

    "Can I give my ticket to my brother?" is a question and a wish at once: the answer,
    then one button that starts the transfer (or exchange) form.
    """
    if intent != "exchange_transfer" or tracker.active_loop.get("name"):
        return
    kind = change_kind(text) or "exchange"
    dispatcher.utter_message(response=_OFFER_CHANGE[kind])


# A question asked while seats are offered or held is answered, then the pending
# question is asked again with its buttons (the form does this itself for its steps).
_PENDING = {"offered": "utter_remind_offer", "held": "utter_remind_held"}


def _remind_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    response = _PENDING.get(str(tracker.get_slot("purchase_stage")))
    if response is not None and not tracker.active_loop.get("name"):
        dispatcher.utter_message(response=response)


class ActionAnswerQuestion(Action):
    """Answers the question in the fan's last message from the knowledge the desk has."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await self._answer(dispatcher, tracker)
        if not events:  # answered: remind the fan of seats waiting for their "yes"
            _remind_pending(dispatcher, tracker)
        return events

    async def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        language = language_of(tracker)
        retriever = knowledge().current()
        chosen = _chosen_entry(tracker)
        if chosen and (entry := retriever.entry(chosen)) is not None:
            answer = dict(entry.answer)
            dispatcher.utter_message(text=answer.get(language) or next(iter(answer.values())))
            return []
        if intent in NOT_FAQ:
            dispatcher.utter_message(response=TOPIC_RESPONSES[intent])
            return []
        text = tracker.latest_message.get("text") or ""
        buying = tracker.active_loop.get("name") == "buy_form"
        if buying and order_ref_in(text, club().order_prefix):
            # "is my order RA-7KX2QD confirmed?" while buying: the fan is about an order
            # they have, not the purchase; stop asking about seats and look it up.
            return [
                ActiveLoop(None),
                SlotSet("requested_slot", None),
                *reset_purchase(),
                FollowupAction("action_order_status"),
            ]
        if text.startswith("/") and intent in TOPIC_RESPONSES:
            # A topic button (a clarifying reply's): the topic's answer, nothing to search.
            dispatcher.utter_message(response=TOPIC_RESPONSES[intent])
            return []
        if intent == FALLBACK_INTENT and not tracker.active_loop.get("name"):
            if wants_to_buy(text):
                # "ticket for Northgate pls, Premium if possible": buying, in words the
                # classifier could not place; the buy form reads the match and the seats.
                return [FollowupAction("buy_form")]
            kind = change_kind(text)
            if kind is not None and order_ref_in(text, club().order_prefix):
                # "can i exhange my tickets RA-7KX2QD": a change of an order they name.
                return [SlotSet("change_request", kind), FollowupAction(f"{kind}_form")]
        found: Answer = retriever.search(text, language)
        if found.decision == "answer" and found.text:
            dispatcher.utter_message(text=found.text + (f"\n{found.note}" if found.note else ""))
            _offer_change(dispatcher, tracker, intent, text)
            return []
        if found.decision == "suggest":
            buttons = [
                {"title": c.question, "payload": f'/faq_other{{"faq_id":"{c.entry_id}"}}'}
                for c in found.candidates
            ]
            dispatcher.utter_message(response="utter_faq_suggest", buttons=buttons)
            _offer_change(dispatcher, tracker, intent, text)
            return []
        in_domain = (tracker.latest_message.get("domain") or {}).get("in_domain") is True
        if intent == FALLBACK_INTENT and in_domain:
            # In the domain (the NLU's domain detector kept it) but placed nowhere: ask,
            # never decline; a second miss in a row is the handoff router's.
            ranking = ranked(tracker.latest_message.get("intent_ranking"))
            closest = [(c.entry_id, c.question) for c in found.candidates]
            buttons = [
                {"title": b.title, "payload": b.payload}
                for b in clarify_choices().offer(ranking, closest, language)
            ]
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
            return []
        if intent in TOPIC_RESPONSES:
            # The topic's general answer: an answer, not a miss (the fan may ask again).
            dispatcher.utter_message(response=TOPIC_RESPONSES[intent])
            _offer_change(dispatcher, tracker, intent, text)
            return []
        dispatcher.utter_message(response="utter_default")
        dispatcher.utter_message(json_message={"miss": "no_answer"})
        return []
