"""Exercise `components.domain` inside the Rasa environment (.venv-rasa, Python 3.10).

    .venv-rasa/bin/python tests/components/domain_probe.py WORKDIR

`test_domain.py` runs this (the test environment has no Rasa) and asserts on the
JSON it prints: the domain scores and settled intents of a gate trained on a small
club, the same after a persist/load round trip, and its fingerprint addon.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.domain import DomainGate
from components.featurizers import SentenceEncoderFeaturizer

TRAINING = {
    "refund": ["I want my money back for my match tickets", "refund my tickets please", "我要退票"],
    "stadium_entry": [
        "which gate do I use at the stadium",
        "what time do the gates open",
        "几点开门入场",
    ],
    "buy_tickets": [
        "two tickets for the derby",
        "buy seats for saturday's match",
        "我想买德比的票",
    ],
    "affirm": ["yes", "ok", "好的"],
    "out_of_scope": [
        "book me a flight to Tokyo",
        "what's the weather tomorrow",
        "tell me a joke",
        "how do I cook rice",
        "订一张去成都的机票",
        "明天天气怎么样",
    ],
}
CORPUS_ENTRY = """id: entry-test
question:
  en: Can I bring a flag to the match?
  zh: 可以带旗子进球场吗？
paraphrases:
  en: [flags at the stadium]
  zh: [能带旗帜吗]
"""


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


def featurized(texts: list[str], intent: str | None = None) -> list[Message]:
    out = [Message.build(text=t, intent=intent) if intent else Message.build(text=t) for t in texts]
    SentenceEncoderFeaturizer(
        SentenceEncoderFeaturizer.get_default_config(), context("use")
    ).process(out)
    return out


def settled(gate: DomainGate, text: str, intent: str, confidence: float) -> dict[str, Any]:
    (message,) = featurized([text])
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    gate.process([message])
    return {"intent": message.get("intent")["name"], "domain": message.get("domain")}


def main(workdir: Path) -> None:
    corpus = workdir / "corpus"
    corpus.mkdir()
    (corpus / "entry.yml").write_text(CORPUS_ENTRY, encoding="utf-8")
    (workdir / "models").mkdir()
    storage = LocalModelStorage(workdir / "models")
    examples = [m for intent, texts in TRAINING.items() for m in featurized(texts, intent)]
    config = {
        **DomainGate.get_default_config(),
        "corpus_dir": str(corpus),
        "threshold": 0.5,
        "rescue_threshold": 0.8,
    }
    gate = DomainGate.create(config, storage, Resource("gate"), context("gate"))
    gate.train(TrainingData(examples))
    cases = {
        "ticket_question_unplaced": settled(
            gate, "can I get my match tickets refunded", "nlu_fallback", 0.45
        ),
        "flight_called_refund": settled(gate, "book a flight to Chengdu", "refund", 0.6),
        "flight_surely_refund": settled(gate, "book a flight to Chengdu", "refund", 0.95),
        "weather_unplaced": settled(gate, "is it going to rain tomorrow", "nlu_fallback", 0.45),
        "yes_is_kept": settled(gate, "ok", "affirm", 0.9),
        "oos_intent_on_ticket_text": settled(
            gate, "what time do the stadium gates open for the derby", "out_of_scope", 0.5
        ),
    }
    (weather,) = featurized(["what's the weather tomorrow"])
    (refund,) = featurized(["refund my tickets please"])
    dense = np.vstack([m.get_dense_features("text")[1].features for m in (weather, refund)])
    votes = gate.neighbour_votes(dense, gate._model or {}).round(4).tolist()
    loaded = DomainGate.load(config, storage, Resource("gate"), context("gate"))
    again = settled(loaded, "can I get my match tickets refunded", "nlu_fallback", 0.45)
    before = DomainGate.fingerprint_addon(config)
    (corpus / "entry.yml").write_text(CORPUS_ENTRY.replace("flag", "banner"), encoding="utf-8")
    after = DomainGate.fingerprint_addon(config)
    errors = []
    bad_configs: list[dict[str, float]] = [
        {"threshold": 0},
        {"threshold": 0.9, "rescue_threshold": 0.5},
        {"C": 0},
        {"trust_intent": 0},
    ]
    for bad in bad_configs:
        try:
            DomainGate.validate_config({**DomainGate.get_default_config(), **bad})
        except ValueError as error:
            errors.append(str(error))
    print(
        json.dumps(
            {
                "cases": cases,
                "reloaded": again,
                "fingerprint_changes": before != after,
                "errors": errors,
                "votes": {"weather": votes[0], "refund": votes[1]},
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
