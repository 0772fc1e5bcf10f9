"""The fixed topic vocabulary of the desk and how intents map onto it.

`/api/v1/triage` returns one of these topics; every NLU intent maps to exactly one.
"""

from __future__ import annotations

from typing import Final, Literal

Topic = Literal[
    "greet",
    "goodbye",
    "thanks",
    "match_availability",
    "ticket_prices_categories",
    "seats_sections_views",
    "buy_tickets",
    "order_status",
    "refund",
    "exchange_transfer",
    "ticket_delivery",
    "stadium_entry",
    "accessibility",
    "children_concessions",
    "payment",
    "account_login",
    "talk_to_human",
    "complaint",
    "faq_other",
    "membership",
    "season_tickets",
    "ballot",
    "away_tickets",
    "resale",
    "lost_ticket",
    "rescheduled_match",
    "other_events",
    "out_of_scope",
]

TOPICS: Final[tuple[Topic, ...]] = Topic.__args__  # type: ignore[attr-defined]

# Topics of a fan looking for tickets (for a match here, a season, an away game or another
# event): bench/nlu_pipelines.py counts event-ticket requests routed to one of them.
TICKET_TOPICS: Final[frozenset[Topic]] = frozenset(
    {
        "match_availability",
        "ticket_prices_categories",
        "seats_sections_views",
        "buy_tickets",
        "season_tickets",
        "ballot",
        "away_tickets",
        "other_events",
    }
)

# Dialogue-control intents carry no topic of their own: a bare "yes" or "2 tickets"
# as a first message is a general question to the desk.
_CONTROL_INTENTS: Final[dict[str, Topic]] = {
    "affirm": "faq_other",
    "deny": "faq_other",
    "inform": "faq_other",
    "stop": "faq_other",
    "nlu_fallback": "out_of_scope",
}


def topic_of(intent: str) -> Topic:
    """The topic of an NLU intent; unknown intents count as out of scope."""
    if intent in TOPICS:
        return intent
    return _CONTROL_INTENTS.get(intent, "out_of_scope")
