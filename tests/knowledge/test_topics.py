import yaml

from core.settings import ROOT
from knowledge.topics import TOPICS, topic_of


def test_every_domain_intent_maps_to_a_topic_of_the_vocabulary() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for intent in domain["intents"]:
        assert topic_of(intent) in TOPICS


def test_topic_intents_map_to_themselves_and_unknowns_are_out_of_scope() -> None:
    assert topic_of("refund") == "refund"
    assert topic_of("inform") == "faq_other"
    assert topic_of("nlu_fallback") == "out_of_scope"
    assert topic_of("no_such_intent") == "out_of_scope"
    assert len(TOPICS) == 28
