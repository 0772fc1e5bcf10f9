"""Exercise `components.classifiers` inside the Rasa environment (.venv-rasa, Python 3.10).

    .venv-rasa/bin/python tests/components/classifier_probe.py WORKDIR

`test_classifiers.py` runs this (the test environment has no Rasa) and asserts on the
JSON it prints: predictions of a freshly trained classifier, the same after a
persist/load round trip, and how the component handles missing features, missing
training data and invalid configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.classifiers import LinearIntentClassifier
from components.featurizers import SentenceEncoderFeaturizer
from components.tokenizers import MixedScriptTokenizer

TRAINING = {
    "refund": [
        "I want my money back",
        "refund my tickets please",
        "how do I get a refund",
        "cancel my order and refund me",
        "我要退票",
        "怎么退款",
    ],
    "stadium_entry": [
        "which gate do I use",
        "what time do the gates open",
        "can I bring a bag into the stadium",
        "where is the entrance for the north stand",
        "几点开门入场",
        "从哪个门进场",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "你好", "早上好"],
}
UNSEEN = ["please refund me", "when do the gates open", "hello!", "我想退款"]


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


def messages(texts: list[str], tokenizer: MixedScriptTokenizer, dense: bool) -> list[Message]:
    out = [Message.build(text=text) for text in texts]
    tokenizer.process(out)
    if dense:
        SentenceEncoderFeaturizer(
            {**SentenceEncoderFeaturizer.get_default_config()}, context("use")
        ).process(out)
    return out


def ranking(message: Message) -> list[dict[str, Any]]:
    return [dict(r) for r in message.get("intent_ranking")]


def main(workdir: Path) -> None:
    storage = LocalModelStorage(workdir)
    tokenizer = MixedScriptTokenizer.create(
        MixedScriptTokenizer.get_default_config(), storage, Resource("tokens"), context("tokens")
    )
    data = TrainingData(
        [Message.build(text=t, intent=intent) for intent, texts in TRAINING.items() for t in texts]
    )
    tokenizer.process_training_data(data)
    SentenceEncoderFeaturizer(
        SentenceEncoderFeaturizer.get_default_config(), context("use")
    ).process_training_data(data)

    config = {**LinearIntentClassifier.get_default_config(), "ranking_length": 2}
    resource = Resource("linear")
    classifier = LinearIntentClassifier.create(config, storage, resource, context("linear"))
    classifier.train(data)
    fresh = classifier.process(messages(UNSEEN, tokenizer, dense=True))
    loaded = LinearIntentClassifier.load(config, storage, resource, context("linear"))
    reloaded = loaded.process(messages(UNSEEN, tokenizer, dense=True))

    result: dict[str, Any] = {
        "fresh": [ranking(m) for m in fresh],
        "reloaded": [ranking(m) for m in reloaded],
        # components/persistence.py: weights column-major, as prediction reads them
        "loaded_weights_column_major": bool(
            loaded._model["classifier"].coef_.flags["F_CONTIGUOUS"]  # type: ignore[index]
        ),
        "empty_text": ranking(classifier.process([Message.build(text="")])[0]),
    }
    try:
        classifier.process(messages(["hello"], tokenizer, dense=False))
        result["without_sentence_vector"] = "no error"
    except ValueError as error:
        result["without_sentence_vector"] = str(error)

    sparse_only = {**config, "sentence_weight": 0.0}
    words_only = LinearIntentClassifier.create(
        sparse_only, storage, Resource("sparse"), context("sparse")
    )
    words_only.train(data)
    result["sparse_only"] = [
        ranking(m) for m in words_only.process(messages(UNSEEN, tokenizer, dense=False))
    ]

    untrained = LinearIntentClassifier.load(
        config, storage, Resource("never_trained"), context("x")
    )
    message = untrained.process(messages(["hello"], tokenizer, dense=True))[0]
    result["untrained"] = {"intent": message.get("intent"), "ranking": ranking(message)}

    errors = []
    for bad in (
        {"C": 0},
        {"sentence_weight": -1},
        {"char_min_ngram": 3, "char_max_ngram": 2},
        {"class_weight": "heavy"},
    ):
        try:
            LinearIntentClassifier.create(
                {**config, **bad}, storage, Resource("bad"), context("bad")
            )
            errors.append("accepted")
        except ValueError as error:
            errors.append(str(error))
    result["bad_config"] = errors

    one_intent = TrainingData([Message.build(text="hi", intent="greet")])
    try:
        LinearIntentClassifier.create(config, storage, Resource("one"), context("one")).train(
            one_intent
        )
        result["one_intent"] = "trained"
    except ValueError as error:
        result["one_intent"] = str(error)
    print(json.dumps(result))


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    main(Path(sys.argv[1]))
