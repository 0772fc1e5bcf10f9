"""The FAQ and the desk's topic answers state the club's facts as the engine loads them.

Every amount in yuan that an FAQ answer (or a topic answer in domain.yml) states is
derived here, answer by answer, from `data/demo/` through the engine's own loaders:
prices and demand multipliers (`ticketing.pricing`), concessions, the members' discount,
the fee rules and membership (`ticketing.policies`). So are the numbers of days, hours,
tickets, seats and gates that answers rely on (gates and the match-day pack come from
the notices of `data/texts/`, as the desk sends them), and the things the club does
not offer (season tickets, ballots, a box office, a resale marketplace). Change a fact in
the data and the answers that state it fail here until they are changed too; an answer
with a new amount in yuan fails until its amounts are added to `AMOUNTS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import pytest
import yaml

from bot.notifications.content import MatchdayPack, load_notices
from core.settings import ROOT
from knowledge.corpus import Corpus
from ticketing.demo import ClubSpec, read_club
from ticketing.fees import FeeTerms
from ticketing.policies import Policies, load_policies
from ticketing.pricing import PriceList, fixture_prices, read_price_list, ticket_price
from ticketing.venues import StadiumSpec, read_stadium

DATA = ROOT / "data" / "demo"
Language = str


@dataclass(frozen=True)
class Club:
    """The demo club as the engine reads it."""

    club: ClubSpec
    prices: PriceList
    policies: Policies
    stadium: StadiumSpec
    matchday: MatchdayPack

    def adult(self, category: str, demand: str = "normal") -> int:
        """Adult price of a category at a demand level (fen), as fixtures are priced."""
        return fixture_prices(self.prices, demand)[category]

    def ticket(
        self,
        category: str,
        concession: str = "adult",
        *,
        member: bool = False,
        demand: str = "normal",
    ) -> int:
        """One ticket's price (fen), as a hold prices it."""
        return ticket_price(
            self.adult(category, demand),
            category,
            concession,
            member=member,
            policies=self.policies,
        )

    def fee(self, price: int, percent: float, share: Fraction = Fraction(1)) -> int:
        """The change fee at `percent` on a ticket of `price` (fen), as refunds charge it."""
        terms = FeeTerms(Fraction(str(percent)), Fraction(0), late=False, waived=False)
        return terms.fee(price, share)

    @property
    def membership(self) -> int:
        return self.policies.membership.price * 100

    @property
    def transfer_share(self) -> Fraction:
        return Fraction(str(self.policies.fees.transfer_share))

    def sections(self, category: str, stand: str) -> list[str]:
        return [
            s.code
            for st in self.stadium.stands
            if st.code == stand
            for s in st.sections
            if s.category == category
        ]

    def gate(self, key: str, language: Language = "en") -> str:
        """The gate letters serving a stand (or a section), e.g. "A-B", from the match-day pack."""
        entry = self.matchday.sections.get(key) or self.matchday.gates[key]
        found = re.search(r"Gates? ([A-Z](?:-[A-Z])?)", entry["en"])
        assert found, entry
        letters = found.group(1)
        return letters if language == "en" else letters.replace("-", "、")


@cache
def club() -> Club:
    return Club(
        club=read_club(DATA / "club.yml"),
        prices=read_price_list(DATA / "pricing.yml"),
        policies=load_policies(DATA / "policies.yml"),
        stadium=read_stadium(DATA / "stadium.yml"),
        matchday=load_notices().matchday,
    )


def yuan(fen: int) -> str:
    """An amount as answers write it: ¥1,020, ¥9.50."""
    return f"¥{fen // 100:,}" if fen % 100 == 0 else f"¥{fen / 100:,.2f}"


def amounts(text: str) -> set[str]:
    return {"¥" + m.rstrip(",.") for m in re.findall(r"¥\s?([\d,]+(?:\.\d+)?)", text)}


# The amounts in yuan each answer states, from the data. Keys are FAQ entry ids, or
# "utter_..." for the topic answers of domain.yml.
Amounts = Callable[[Club], set[int]]


def _prices(*pairs: tuple[str, str]) -> Amounts:
    return lambda c: {c.adult(category, demand) for category, demand in pairs}


NORMAL = "normal"
DEMANDS = ("normal", "low", "high", "very_high")
CATEGORIES = ("premium", "cat1", "cat2", "cat3", "family", "away", "accessible")
AMOUNTS: dict[str, Amounts] = {
    "entry-access-easy-access-seats": _prices(("accessible", NORMAL)),
    "entry-access-wheelchair-spaces": _prices(("accessible", NORMAL)),
    "entry-availability-big-friendly": _prices(("cat3", "very_high")),
    "entry-buy-gift-voucher": lambda c: {c.membership},
    "entry-buy-presale-access": lambda c: {c.membership},
    "entry-concession-child-price": lambda c: {
        c.ticket(k, "child") for k in ("family", "cat3", "cat1", "premium")
    },
    "entry-concession-family-zone-rules": lambda c: {
        c.adult("family"),
        c.ticket("family", "child"),
    },
    "entry-concession-senior": lambda c: {
        c.ticket(k, "senior") for k in ("cat3", "cat1", "premium")
    },
    "entry-concession-student": lambda c: {c.ticket(k, "student") for k in ("cat3", "cat1")},
    "entry-exchange-price-difference": lambda c: {
        c.adult("cat2"),
        c.adult("cat1"),
        c.fee(c.adult("cat2"), c.policies.fees.base_percent),
        c.adult("cat2") - c.fee(c.adult("cat2"), c.policies.fees.base_percent),
        c.adult("cat1") - c.adult("cat2") + c.fee(c.adult("cat2"), c.policies.fees.base_percent),
    },
    "entry-membership-benefits": lambda c: {c.membership},
    "entry-membership-join": lambda c: {c.membership},
    "entry-membership-refund": lambda c: {c.membership},
    "entry-membership-validity-renewal": lambda c: {c.membership},
    "entry-price-away-section": _prices(
        *(("away", d) for d in ("normal", "low", "high", "very_high"))
    ),
    "entry-price-cheapest": lambda c: {
        c.adult("cat3"),
        c.adult("cat3", "low"),
        c.adult("family"),
        c.ticket("family", "child"),
    },
    "entry-price-derby": _prices(
        *(
            (k, "very_high")
            for k in ("premium", "cat1", "cat2", "cat3", "family", "away", "accessible")
        )
    ),
    "entry-price-discounts-combine": lambda c: {
        c.adult("cat1"),
        c.ticket("cat1", "senior", member=True),
        c.ticket("cat1", "student", member=True),
    },
    "entry-price-dynamic-demand": _prices(
        *(("cat1", d) for d in ("low", "normal", "high", "very_high"))
    ),
    "entry-price-east-stand": _prices(
        ("cat1", NORMAL), ("cat2", NORMAL), ("cat3", NORMAL), ("accessible", NORMAL)
    ),
    "entry-price-family-section": lambda c: {
        c.adult("family"),
        c.ticket("family", "child"),
        2 * c.adult("family") + 2 * c.ticket("family", "child"),
    },
    "entry-price-list": _prices(*((k, NORMAL) for k in CATEGORIES)),
    "entry-price-member-discount": lambda c: {
        *(c.ticket(k, member=True) for k in ("cat1", "cat2", "cat3")),
        c.membership,
    },
    "entry-price-north-stand": _prices(("cat3", NORMAL), ("cat3", "very_high")),
    "entry-price-premium-includes": _prices(("premium", NORMAL)),
    "entry-price-season-ticket": lambda c: {c.membership},
    "entry-price-west-stand": _prices(
        ("premium", NORMAL), ("cat1", NORMAL), ("cat2", NORMAL), ("accessible", NORMAL)
    ),
    "entry-refund-fee-formula": lambda c: {
        c.adult("cat1"),
        c.fee(c.adult("cat1"), c.policies.fees.base_percent),
        c.fee(c.adult("cat1"), c.policies.fees.base_percent + c.policies.fees.late_percent),
        c.fee(c.adult("cat1"), c.policies.fees.max_percent),
    },
    "entry-seats-away-section": _prices(("away", NORMAL)),
    "entry-seats-best-view": _prices(("premium", NORMAL), ("cat1", NORMAL)),
    "entry-seats-corner-view": _prices(("cat2", NORMAL), ("cat3", NORMAL)),
    "entry-seats-home-end-singing": _prices(("cat3", NORMAL)),
    "entry-seats-near-away-fans": _prices(("cat3", NORMAL)),
    "entry-seats-quiet-relaxed": _prices(("cat1", NORMAL), ("cat2", NORMAL)),
    "entry-transfer-fee": lambda c: {
        c.adult("cat1"),
        c.fee(c.adult("cat1"), c.policies.fees.base_percent, c.transfer_share),
    },
    "entry-ballot-priority-points": lambda c: {c.membership},
    "entry-events-what-desk-sells": lambda c: {c.membership},
    "utter_ticket_prices_categories": _prices(*((k, NORMAL) for k in CATEGORIES)),
    "utter_membership": lambda c: {c.membership},
    "utter_season_tickets": lambda c: {c.membership},
    "utter_away_tickets": _prices(("away", NORMAL)),
}


@cache
def responses() -> dict[str, dict[Language, str]]:
    """The topic answers of domain.yml, per language (the zh variant has the condition)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    out: dict[str, dict[Language, str]] = {}
    for name, variants in domain["responses"].items():
        texts = {}
        for variant in variants:
            language = "zh" if variant.get("condition") else "en"
            if "text" in variant:
                texts[language] = variant["text"]
        out[name] = texts
    return out


def answers(corpus: Corpus, key: str) -> dict[Language, str]:
    if key.startswith("utter_"):
        return responses()[key]
    found = [e for e in corpus.entries if e.id == key]
    assert found, f"no FAQ entry {key}"
    return dict(found[0].answer)


@pytest.mark.parametrize("key", sorted(AMOUNTS))
def test_every_amount_an_answer_states_is_the_data_s(corpus: Corpus, key: str) -> None:
    expected = {yuan(fen) for fen in AMOUNTS[key](club())}
    for language, text in answers(corpus, key).items():
        assert amounts(text) == expected, f"{key} ({language}): {text}"


def test_every_answer_stating_an_amount_is_checked_against_the_data(corpus: Corpus) -> None:
    stated = {e.id for e in corpus.entries if any(amounts(t) for t in e.answer.values())}
    stated |= {k for k, texts in responses().items() if any(amounts(t) for t in texts.values())}
    assert stated - set(AMOUNTS) == set(), "add these answers' amounts to AMOUNTS"


# Phrases an answer must contain, built from the data; each list holds per language the
# phrases of one fact (days, hours, tickets, seats, gates, percentages); "a|b" is either.
Phrases = Callable[[Club], dict[Language, list[str]]]


def _presale(c: Club) -> dict[Language, list[str]]:
    s = c.policies.sales
    return {
        "en": [f"{s.presale_days:g} days before", f"{s.general_days:g} days before"],
        "zh": [f"开赛前 {s.presale_days:g} 天", f"{s.general_days:g} 天"],
    }


def _members_presale(c: Club) -> dict[Language, list[str]]:
    days = c.policies.sales.presale_days
    return {"en": [f"{days:g} days before"], "zh": [f"开赛前 {days:g} 天"]}


def _cap(c: Club) -> dict[Language, list[str]]:
    cap = c.policies.limits.per_fan_per_fixture
    ways = ("up to {}", "at most {}", "{} tickets", "{}-ticket", "cap of {}")
    return {"en": ["|".join(w.format(cap) for w in ways)], "zh": [f"{cap} 张"]}


def _number(get: Callable[[Club], float], en: str, zh: str) -> Phrases:
    """One number of the club's data as the answers write it (`{:g}` in each template)."""
    return lambda c: {"en": [en.format(get(c))], "zh": [zh.format(get(c))]}


_hold = _number(lambda c: c.policies.holds.minutes, "{:g} minutes", "{:g} 分钟")
_cutoff = _number(lambda c: c.policies.fees.cutoff_hours, "{:g} hours before", "前 {:g} 小时")
_close = _number(
    lambda c: c.policies.sales.close_hours, "{:g} hour before kick-off", "开赛前 {:g} 小时"
)
_postponed = _number(lambda c: c.policies.fees.postponed_free_days, "{:g} days", "{:g} 天")
_membership_refund = _number(
    lambda c: c.policies.membership.refund_days, "within {:g} days of joining", "加入后 {:g} 天内"
)
_matchday_message = _number(
    lambda c: c.matchday.send_hours_before, "{:g} hours before kick-off", "开赛前 {:g} 小时"
)


def _gates_open(c: Club) -> dict[Language, list[str]]:
    hours = Fraction(c.matchday.gates_open_minutes, 60)
    return {"en": [f"Gates open {hours} hours before kick-off"], "zh": [f"开赛前 {hours} 小时开门"]}


def _member_discount(c: Club) -> dict[Language, list[str]]:
    percent = c.policies.member_discount.percent
    return {"en": [f"{percent}% off Category 1"], "zh": [f"{(100 - percent) / 10:g} 折"]}


def _away_section(c: Club) -> dict[Language, list[str]]:
    [section] = [s.code for st in c.stadium.stands for s in st.sections if s.zone == "away"]
    gate = c.gate(section)
    return {"en": [section, f"Gate {gate}"], "zh": [section, f"{gate} 号|{gate} 门"]}


def _away_capacity(c: Club) -> dict[Language, list[str]]:
    [away] = [s for st in c.stadium.stands for s in st.sections if s.zone == "away"]
    rows = away.rows or c.stadium.regular.rows
    seats = away.seats_per_row or c.stadium.regular.seats_per_row
    return {
        "en": [f"{rows} rows of {seats} seats", f"{rows * seats:,} seats"],
        "zh": [f"{rows} 排", f"每排 {seats} 个座位", f"{rows * seats:,} 个座位"],
    }


def _wheelchair(c: Club) -> dict[Language, list[str]]:
    spaces = {s.code: s.wheelchair_spaces or 0 for st in c.stadium.stands for s in st.sections}
    total = sum(spaces.values())
    return {
        "en": [
            f"{total} wheelchair spaces",
            f"{spaces['W-ACC']} in W-ACC",
            f"{spaces['E-ACC']} in E-ACC",
        ],
        "zh": [f"{total} 个轮椅位"],
    }


def _stand_gates(c: Club) -> dict[Language, list[str]]:
    return {
        "en": [
            f"Gates {c.gate('W')} for the West Stand",
            f"{c.gate('E')} for the East Stand",
            f"{c.gate('N')} for the North Stand",
            f"{c.gate('S4')} for the away section S4",
        ],
        "zh": [
            f"西看台走 {c.gate('W', 'zh')} 门",
            f"东看台走 {c.gate('E', 'zh')} 门",
            f"北看台走 {c.gate('N', 'zh')} 门",
            f"{c.gate('S4', 'zh')} 门只通往客队区 S4",
        ],
    }


def _sections(*pairs: tuple[str, str, str]) -> Phrases:
    """Sections of a category in a stand, written "W3/W4" or "N1-N5" as the answer does."""

    def phrases(c: Club) -> dict[Language, list[str]]:
        found = []
        for category, stand, written in pairs:
            codes = c.sections(category, stand)
            assert written in (f"{codes[0]}/{codes[-1]}", f"{codes[0]}-{codes[-1]}"), (
                category,
                stand,
                codes,
            )
            assert len(codes) == 2 or written == f"{codes[0]}-{codes[-1]}"
            found.append(written)
        return {"en": found, "zh": found}

    return phrases


def _demand(fixture: str, multiplier: str) -> Phrases:
    """The River Derby or the friendly is a very-high-demand fixture: prices ×1.5."""

    def phrases(c: Club) -> dict[Language, list[str]]:
        [match] = [f for f in c.club.fixtures if f.away == fixture]
        assert f"{c.prices.demand_multipliers[match.demand]:g}" == multiplier
        return {"en": [f"×{multiplier}"], "zh": []}

    return phrases


STATEMENTS: list[tuple[str, Phrases]] = [
    ("entry-buy-presale-access", _presale),
    ("entry-availability-on-sale-dates", _presale),
    ("entry-availability-on-sale-dates", _close),
    ("entry-availability-match-day", _close),
    ("entry-availability-big-friendly", _presale),
    ("entry-availability-big-friendly", _demand("manchester-united", "1.5")),
    ("entry-price-derby", _demand("harbour-city", "1.5")),
    ("entry-membership-benefits", _presale),
    ("entry-membership-benefits", _member_discount),
    ("entry-membership-refund", _membership_refund),
    ("entry-price-member-discount", _member_discount),
    ("entry-price-season-ticket", _member_discount),
    ("entry-season-ticket-seat", _presale),
    ("entry-season-ticket-renewal", _presale),
    ("entry-season-ticket-packages", _cap),
    ("entry-ballot-big-matches", _presale),
    ("entry-ballot-big-matches", _cap),
    ("entry-ballot-sale-opening", _presale),
    ("entry-ballot-sale-opening", _hold),
    ("entry-ballot-sale-opening", _cap),
    ("entry-buy-purchase-cap", _cap),
    ("entry-buy-how-to", _cap),
    ("entry-buy-how-to", _hold),
    ("entry-buy-hold-expired", _hold),
    ("entry-buy-online-channels", _cap),
    ("entry-buy-online-channels", _close),
    ("entry-away-allocation-size", _away_section),
    ("entry-away-allocation-size", _away_capacity),
    ("entry-seats-away-section", _away_section),
    ("entry-price-away-section", _away_section),
    ("entry-access-wheelchair-spaces", _wheelchair),
    ("entry-gates-which", _stand_gates),
    ("entry-gates-opening-time", _gates_open),
    ("entry-first-match-tips", _gates_open),
    ("entry-first-match-with-children", _gates_open),
    ("entry-lost-ticket-forgot-at-gate", _gates_open),
    ("entry-refund-can-i", _cutoff),
    ("entry-refund-cut-off", _cutoff),
    ("entry-exchange-how", _cutoff),
    ("entry-transfer-how", _cutoff),
    ("entry-resale-marketplace", _cutoff),
    ("entry-refund-postponed-match", _postponed),
    ("entry-refund-kickoff-time-changed", _postponed),
    ("entry-rescheduled-costs", _postponed),
    ("entry-rescheduled-how-notified", _postponed),
    ("entry-rescheduled-how-notified", _matchday_message),
    ("entry-account-notifications-missing", _matchday_message),
    (
        "entry-price-list",
        _sections(("premium", "W", "W3/W4"), ("family", "S", "S1-S2")),
    ),
    (
        "entry-price-west-stand",
        _sections(("premium", "W", "W3/W4"), ("cat1", "W", "W2/W5"), ("cat2", "W", "W1/W6")),
    ),
    (
        "entry-price-east-stand",
        _sections(("cat1", "E", "E3/E4"), ("cat2", "E", "E2/E5"), ("cat3", "E", "E1/E6")),
    ),
    ("entry-price-north-stand", _sections(("cat3", "N", "N1-N5"))),
    ("utter_membership", _presale),
    ("utter_membership", _member_discount),
    ("utter_season_tickets", _members_presale),
    ("utter_ballot", _presale),
    ("utter_ballot", _cap),
    ("utter_away_tickets", _away_section),
    ("utter_resale", _cutoff),
    ("utter_rescheduled_match", _postponed),
    ("utter_rescheduled_match", _cutoff),
    ("utter_stadium_entry", _gates_open),
]


@pytest.mark.parametrize(
    ("key", "phrases"), STATEMENTS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_the_numbers_an_answer_relies_on_are_the_data_s(
    corpus: Corpus, key: str, phrases: Phrases
) -> None:
    texts = answers(corpus, key)
    for language, wanted in phrases(club()).items():
        for phrase in wanted:
            options = phrase.split("|")
            assert any(o in texts[language] for o in options), (
                f"{key} ({language}) should say {' or '.join(map(repr, options))}"
            )


def test_days_before_kick_off_are_the_sale_windows(corpus: Corpus) -> None:
    # Any "N days before kick-off" in any answer is the presale or the general sale.
    sales = club().policies.sales
    windows = {f"{sales.presale_days:g}", f"{sales.general_days:g}"}
    texts = [t for e in corpus.entries for t in e.answer.values()]
    texts += [t for r in responses().values() for t in r.values()]
    stated = set()
    for text in texts:
        stated |= set(re.findall(r"(\d+) days before (?:each )?kick-off", text))
        stated |= set(re.findall(r"开赛前 ?(\d+) ?天", text))
    assert stated <= windows


def _say(corpus: Corpus, entry_id: str, en: str, zh: str) -> None:
    texts = answers(corpus, entry_id)
    assert en in texts["en"], f"{entry_id} (en) should say {en!r}"
    assert zh in texts["zh"], f"{entry_id} (zh) should say {zh!r}"


def test_what_the_club_does_not_offer_is_what_the_answers_say(corpus: Corpus) -> None:
    offers, resale, membership = (
        club().policies.offers,
        club().policies.resale,
        club().policies.membership,
    )
    assert not offers.season_tickets
    _say(corpus, "entry-price-season-ticket", "every ticket is sold per match", "不卖季票")
    _say(corpus, "entry-season-ticket-renewal", "doesn't sell season tickets", "不卖季票")
    _say(corpus, "utter_season_tickets", "We don't sell season tickets", "我们不卖季票")
    assert not offers.ballot
    _say(corpus, "entry-ballot-big-matches", "no ballot", "不抽签")
    _say(
        corpus,
        "entry-ballot-priority-points",
        "doesn't use priority or loyalty points",
        "没有优先积分",
    )
    _say(corpus, "utter_ballot", "There is no ballot", "我们没有抽签")
    assert not offers.box_office
    _say(corpus, "entry-availability-match-day", "no ticket sale at the gates", "球场门口不卖票")
    _say(corpus, "entry-events-what-desk-sells", "no box office", "没有售票处")
    _say(corpus, "entry-buy-online-channels", "Nothing is sold at the ground", "球场现场不售票")
    assert not resale.marketplace
    _say(
        corpus,
        "entry-resale-marketplace",
        "no resale marketplace",
        "没有可以把票挂给陌生人的转售平台",
    )
    _say(corpus, "utter_resale", "There is no resale marketplace", "俱乐部没有转售平台")
    assert not resale.above_face_value
    _say(corpus, "entry-resale-rules", "never above face value", "绝不能高于票面价")
    assert not membership.auto_renew
    _say(corpus, "entry-membership-validity-renewal", "doesn't renew automatically", "不会自动续费")
    _say(corpus, "utter_membership", "doesn't renew automatically", "不会自动续费")
    assert membership.away_priority
    _say(corpus, "entry-membership-benefits", "priority for away tickets", "客场球票优先")
    _say(corpus, "entry-availability-away-games", "priority for away tickets", "客场球票优先权")


def test_the_desk_sells_home_matches_at_its_own_ground_only(corpus: Corpus) -> None:
    # The away-match and other-events answers say the desk sells only Riverside's home
    # matches (league, cup and friendlies) at its own ground.
    spec = club().club
    assert {f.home for f in spec.fixtures} == {spec.club.home_team}
    assert {c.id for c in spec.competitions} == {"League", "Cup", "Friendly"}
    _say(
        corpus,
        "entry-availability-away-games",
        "sells matches at Riverside Stadium only",
        "只卖江畔体育场的比赛",
    )
    _say(
        corpus, "entry-events-other-clubs", "(league, cup and friendlies)", "（联赛、杯赛和友谊赛）"
    )
    _say(corpus, "utter_other_events", "(league, cup and friendlies)", "（联赛、杯赛和友谊赛）")


def test_members_get_the_discount_and_presale_on_every_ticket_of_their_order() -> None:
    # entry-membership-friends-tickets: the member's whole order, not one ticket.
    c = club()
    assert c.ticket("cat1", member=True) < c.ticket("cat1")
    assert c.ticket("premium", member=True) == c.ticket("premium")
    assert c.policies.limits.per_order == c.policies.limits.per_fan_per_fixture


def test_the_corpus_has_the_new_topics_and_the_sheet_documents_the_new_facts(
    corpus: Corpus,
) -> None:
    topics = {e.topic for e in corpus.entries}
    new = {
        "membership",
        "season_tickets",
        "ballot",
        "away_tickets",
        "resale",
        "lost_ticket",
        "rescheduled_match",
        "other_events",
    }
    assert new <= topics
    sheet = (ROOT / "docs" / "demo-club.md").read_text(encoding="utf-8")
    for fact in ("No season tickets", "No ballot", "No box office", "no resale marketplace"):
        assert fact in sheet, fact
