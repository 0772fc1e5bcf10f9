"""Is this message about what the desk serves? A second question, asked apart from "which intent".

The intent classifier answers *which* of the desk's intents a message is, and its
`out_of_scope` class competes with twenty others: a real fan's question worded
unlike the training data spreads its probability over several ticketing intents,
lands below the fallback threshold and used to be declined. This component asks
only whether the message is about tickets, matches, the club, the ground, match
day or the fan's account (event ticketing in general included), with a binary
logistic regression over character n-grams, the multilingual sentence vector and the
votes of the training examples nearest to it (`neighbour_votes`).

It learns from the NLU training data (every intent but `out_of_scope` is in the
domain) and from the FAQ corpus's questions and paraphrases (in the domain). It runs
last in the pipeline and adds `domain: {"score": P(in domain), "in_domain": bool}`
to the parse, then settles the intent:

- below `threshold`, the message is `out_of_scope` (a polite refusal), except the
  conversation's own moves (`keep`: yes, no, thanks, a request for a person...) and
  an intent of the desk's that the intent classifier is sure of (`trust_intent`):
  the two detectors disagree, and a refusal needs both (the mirror of the rule
  below);
- at or above it, a message the intent classifier could not place (`nlu_fallback`)
  stays there: in the domain but not placed, so the desk asks what the fan means
  instead of refusing;
- a message the intent classifier itself calls `out_of_scope` stays out of scope
  unless the domain score reaches `rescue_threshold` too (then `nlu_fallback`): two
  detectors must disagree strongly before a refusal is overturned.

The features and the rescue threshold are chosen on out-of-fold scores of the
training data (`bench/domain_calibrate.py`); the threshold on the tuning split of
real-world wordings (`bench/domain.py --split tuning`), never on the blind sets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import persistence
from components.featurizers import sentence_encoder

DOMAIN_KEY = "domain"
FALLBACK_INTENT = "nlu_fallback"
_MODEL_FILE = "domain_gate.skops"


def corpus_texts(corpus_dir: Path) -> List[Text]:
    """Every question and paraphrase of the FAQ corpus, in every language."""
    texts: List[Text] = []
    for path in sorted(corpus_dir.rglob("*.yml")):
        entry = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        texts.extend(str(q) for q in (entry.get("question") or {}).values() if q)
        for wordings in (entry.get("paraphrases") or {}).values():
            texts.extend(str(w) for w in wordings or [] if w)
    return texts


def negative_texts(path: Optional[Path]) -> List[Text]:
    """Extra wordings outside the domain (`{language: [texts]}` YAML), every language."""
    if path is None or not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(text) for texts in data.values() for text in texts or [] if text]


def labelled_examples(
    training_data: TrainingData,
    out_of_scope_intent: Text,
    corpus_dir: Path,
    extra_negatives: Optional[Path],
    ignored: Tuple[Text, ...] = (),
) -> Tuple[List[Text], List[int], List[Optional[np.ndarray]]]:
    """Texts, labels (1 = in the domain) and sentence vectors (None: not computed yet)."""
    texts: List[Text] = []
    labels: List[int] = []
    vectors: List[Optional[np.ndarray]] = []
    for message in training_data.intent_examples:
        if not message.get(TEXT) or message.get(INTENT) in ignored:
            continue
        texts.append(str(message.get(TEXT)))
        labels.append(0 if message.get(INTENT) == out_of_scope_intent else 1)
        _, sentence = message.get_dense_features(TEXT)
        vectors.append(
            None if sentence is None else np.asarray(sentence.features, dtype=np.float64).ravel()
        )
    for text in corpus_texts(corpus_dir):
        texts.append(text)
        labels.append(1)
        vectors.append(None)
    for text in negative_texts(extra_negatives):
        texts.append(text)
        labels.append(0)
        vectors.append(None)
    return texts, labels, vectors


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: np.ndarray = vectors / np.where(norms == 0, 1.0, norms)
    return result


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DomainGate(GraphComponent, IntentClassifier):
    """P(the message is about what the desk serves), and the intent settled by it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 4.0,
            # P(in domain) below which a message is out of scope.
            "threshold": 0.5,
            # P(in domain) from which an out_of_scope intent is overturned.
            "rescue_threshold": 0.9,
            # An intent of the desk's at this confidence or above stands against a low
            # domain score (1.0: never).
            "trust_intent": 0.9,
            "sentence_weight": 1.0,
            # Votes of the nearest training examples (0: not used).
            "neighbours": 10,
            "neighbour_weight": 1.0,
            "char_min_ngram": 1,
            "char_max_ngram": 4,
            "max_iter": 3000,
            "corpus_dir": "knowledge/corpus",
            # Wordings outside the domain beyond the NLU's out_of_scope examples (none:
            # the FAQ's near misses, knowledge/out_of_scope.yml, are mostly questions in
            # the domain that the FAQ cannot answer, not questions outside it).
            "extra_negatives": None,
            "out_of_scope_intent": "out_of_scope",
            # The conversation's own moves are never overruled by the domain score.
            "keep": [
                "greet",
                "goodbye",
                "thanks",
                "affirm",
                "deny",
                "stop",
                "inform",
                "talk_to_human",
                "complaint",
            ],
            # Conversation glue says nothing about the topic: not learnt from.
            "ignore": ["greet", "goodbye", "thanks", "affirm", "deny", "stop"],
            "threads": 1,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @property
    def config(self) -> Dict[Text, Any]:
        """The settings in use: the defaults with the pipeline's values over them."""
        return self._config

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The corpus and extra negatives are read here, not given by the graph: a change
        to them must retrain this component (Rasa's cache would reuse it otherwise)."""
        full = {**cls.get_default_config(), **config}
        digest = hashlib.sha256()
        paths = sorted(Path(full["corpus_dir"]).rglob("*.yml"))
        if full["extra_negatives"]:
            paths.append(Path(full["extra_negatives"]))
        for path in paths:
            if path.exists():
                digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if not 0.0 < float(config.get("threshold", 0.5)) < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if not float(config["threshold"]) <= float(config.get("rescue_threshold", 0.9)) < 1.0:
            raise ValueError("rescue_threshold must be between threshold and 1")
        if not 0.0 < float(config.get("trust_intent", 0.9)) <= 1.0:
            raise ValueError("trust_intent must be above 0 and at most 1")
        if int(config.get("neighbours", 10)) < 0:
            raise ValueError("neighbours must be 0 or more")
        if float(config.get("C", 1.0)) <= 0:
            raise ValueError("C must be positive")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "DomainGate":
        cls.validate_config({**cls.get_default_config(), **config})
        return cls(config, model_storage, resource)

    def dense_vectors(self, texts: List[Text], known: List[Optional[np.ndarray]]) -> np.ndarray:
        """Sentence vectors of `texts`: the `known` ones as given, the others encoded."""
        missing = [i for i, v in enumerate(known) if v is None]
        vectors = list(known)
        if missing:
            encoder = sentence_encoder(int(self._config["threads"]))
            for start in range(0, len(missing), 64):
                batch = missing[start : start + 64]
                encoded = np.asarray(encoder.encode([texts[i] for i in batch]), dtype=np.float64)
                for i, vector in zip(batch, encoded, strict=True):
                    vectors[i] = vector
        return np.vstack([np.asarray(v).ravel() for v in vectors])

    def features(
        self,
        texts: List[Text],
        dense: np.ndarray,
        model: Dict[str, Any],
        neighbours: Optional[np.ndarray] = None,
    ) -> scipy.sparse.csr_matrix:
        """The classifier's input: character n-grams, the weighted sentence vector and
        what the nearest training examples say (`neighbours`: given for the training
        examples themselves, each without its own vote)."""
        weight = float(self._config["sentence_weight"])
        if neighbours is None:
            neighbours = self.neighbour_votes(dense, model)
        return scipy.sparse.hstack(
            [
                model["chars"].transform(texts),
                scipy.sparse.csr_matrix(dense * weight),
                scipy.sparse.csr_matrix(neighbours * float(self._config["neighbour_weight"])),
            ]
        ).tocsr()

    def neighbour_votes(
        self, dense: np.ndarray, model: Dict[str, Any], exclude_self: bool = False
    ) -> np.ndarray:
        """For each vector, from its `neighbours` most similar training examples (cosine
        of the sentence vectors): the similarity-weighted share inside the domain, and
        the best similarity inside minus the best outside. A linear model over the
        sentence vector draws one boundary; these say what the nearest wordings are."""
        vectors: np.ndarray = model["vectors"]
        inside: np.ndarray = model["inside"]
        k = min(int(self._config["neighbours"]), len(vectors) - 1)
        queries = _unit(dense).astype(np.float32)
        votes = np.zeros((len(queries), 2))
        if k < 1:
            return votes
        for start in range(0, len(queries), 512):
            sims = queries[start : start + 512] @ vectors.T
            if exclude_self:
                rows = np.arange(sims.shape[0])
                sims[rows, rows + start] = -np.inf
            top = np.argpartition(-sims, k, axis=1)[:, :k]
            top_sims = np.take_along_axis(sims, top, axis=1)
            weights = np.clip(top_sims, 1e-6, None)
            votes[start : start + 512, 0] = (weights * inside[top]).sum(1) / weights.sum(1)
            best_in = np.where(inside[top] == 1, top_sims, -1.0).max(1)
            best_out = np.where(inside[top] == 0, top_sims, -1.0).max(1)
            votes[start : start + 512, 1] = best_in - best_out
        return votes

    def fit(self, texts: List[Text], labels: List[int], dense: np.ndarray) -> Dict[str, Any]:
        """A fitted model for these examples (also used by the calibration bench)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(int(self._config["char_min_ngram"]), int(self._config["char_max_ngram"])),
            sublinear_tf=True,
        )
        chars.fit(texts)
        model: Dict[str, Any] = {
            "chars": chars,
            "vectors": _unit(dense).astype(np.float32),
            "inside": np.asarray(labels, dtype=np.int8),
        }
        classifier = LogisticRegression(
            C=float(self._config["C"]),
            max_iter=int(self._config["max_iter"]),
            class_weight="balanced",
        )
        votes = self.neighbour_votes(dense, model, exclude_self=True)
        classifier.fit(self.features(texts, dense, model, votes), labels)
        model["classifier"] = classifier
        return model

    def scores(self, texts: List[Text], dense: np.ndarray, model: Dict[str, Any]) -> np.ndarray:
        """P(in domain) for each text."""
        classifier = model["classifier"]
        column = list(classifier.classes_).index(1)
        result: np.ndarray = classifier.predict_proba(self.features(texts, dense, model))[:, column]
        return result

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels, known = labelled_examples(
            training_data,
            str(self._config["out_of_scope_intent"]),
            Path(self._config["corpus_dir"]),
            Path(self._config["extra_negatives"]) if self._config["extra_negatives"] else None,
            tuple(self._config["ignore"]),
        )
        if len(set(labels)) < 2:
            raise ValueError("DomainGate needs examples inside and outside the domain")
        self._model = self.fit(texts, labels, self.dense_vectors(texts, known))
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT)] if self._model is not None else []
        if not todo or self._model is None:
            return messages
        texts = [str(m.get(TEXT)) for m in todo]
        known: List[Optional[np.ndarray]] = []
        for message in todo:
            _, sentence = message.get_dense_features(TEXT)
            known.append(
                None if sentence is None else np.asarray(sentence.features, np.float64).ravel()
            )
        scores = self.scores(texts, self.dense_vectors(texts, known), self._model)
        for message, score in zip(todo, scores, strict=True):
            self._settle(message, float(score))
        return messages

    def _settle(self, message: Message, score: float) -> None:
        intent = message.get(INTENT) or {}
        name = intent.get("name")
        out_of_scope = str(self._config["out_of_scope_intent"])
        trusted = name not in (out_of_scope, FALLBACK_INTENT) and float(
            intent.get("confidence") or 0.0
        ) >= float(self._config["trust_intent"])
        inside = score >= float(self._config["threshold"]) or trusted
        message.set(DOMAIN_KEY, {"score": round(score, 4), "in_domain": inside}, add_to_output=True)
        if name in self._config["keep"]:
            return
        if not inside:
            self._set_intent(message, out_of_scope, 1.0 - score)
        elif name == out_of_scope and score >= float(self._config["rescue_threshold"]):
            self._set_intent(message, FALLBACK_INTENT, score)

    @staticmethod
    def _set_intent(message: Message, name: Text, confidence: float) -> None:
        top = {"name": name, "confidence": float(confidence)}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def persist(self) -> None:
        if self._model is not None:
            persistence.dump(self._model_storage, self._resource, _MODEL_FILE, self._model)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "DomainGate":
        model = persistence.load(model_storage, resource, _MODEL_FILE)
        return cls(config, model_storage, resource, model)
