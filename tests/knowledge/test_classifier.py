"""The entry classifier: trained on wordings, imprinted for new entries, stored and reloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.classifier import OUT_OF_SCOPE, EntryClassifier, char_ngrams, load_out_of_scope
from knowledge.corpus import CorpusError
from tests.knowledge.conftest import HashingEncoder

WORDINGS = {
    "flags": ["can I bring a flag", "are banners allowed", "flag pole size", "旗子能带吗"],
    "refund": ["can I get a refund", "money back for my ticket", "refund my order", "能退票吗"],
    "parking": [
        "where can I park",
        "is there a car park",
        "parking near the stadium",
        "停车场在哪",
    ],
}
ELSEWHERE = ["who scored on saturday", "tell me a joke", "what is the capital of france"]


def _train(out_of_scope: list[str] | None = None) -> tuple[EntryClassifier, HashingEncoder]:
    encoder = HashingEncoder()
    labels = [entry for entry, texts in WORDINGS.items() for _ in texts]
    texts = [text for group in WORDINGS.values() for text in group]
    extra = out_of_scope or []
    vectors = encoder.encode(extra) if extra else np.zeros((0, encoder.dim), np.float32)
    return (
        EntryClassifier.train(
            labels, texts, encoder.encode(texts), list(zip(extra, vectors, strict=True))
        ),
        encoder,
    )


def _best(classifier: EntryClassifier, encoder: HashingEncoder, text: str) -> tuple[str, float]:
    probabilities = classifier.probabilities(encoder.encode([text]), text)
    best = max(probabilities, key=probabilities.__getitem__)
    return best, probabilities[best]


def test_char_ngrams_pad_words_and_cover_chinese_without_spaces() -> None:
    assert char_ngrams("Hi") == [" ", "h", "i", " ", " h", "hi", "i ", " hi", "hi "]
    assert "退票" in char_ngrams("能退票吗")


def test_the_classifier_names_the_entry_of_a_new_wording() -> None:
    classifier, encoder = _train()
    assert _best(classifier, encoder, "may I bring my flag?")[0] == "flags"
    assert _best(classifier, encoder, "refund please")[0] == "refund"
    assert _best(classifier, encoder, "停车场")[0] == "parking"


def test_out_of_scope_wordings_take_probability_away_from_every_entry() -> None:
    plain, encoder = _train()
    guarded, _ = _train(ELSEWHERE)
    question = "who scored the goal"
    assert OUT_OF_SCOPE not in guarded.probabilities(encoder.encode([question]), question)
    assert _best(guarded, encoder, question)[1] < _best(plain, encoder, question)[1]


def test_classify_gives_the_out_of_scope_probability_beside_the_entries() -> None:
    plain, encoder = _train()
    guarded, _ = _train(ELSEWHERE)
    for question, far in (("who scored the goal", True), ("may I bring my flag?", False)):
        vector = encoder.encode([question])
        entries, out_of_scope = guarded.classify(vector, question)
        assert entries == guarded.probabilities(vector, question)
        assert abs(sum(entries.values()) + out_of_scope - 1.0) < 1e-5
        assert (out_of_scope > 0.5) is far
    assert plain.classify(encoder.encode(["who scored"]), "who scored")[1] == 0.0


def test_an_imprinted_entry_is_found_at_once_and_removed_cleanly() -> None:
    classifier, encoder = _train()
    texts = ["is there wifi in the stadium", "wifi password", "free internet at the ground"]
    classifier.imprint("wifi", texts, encoder.encode(texts))
    assert _best(classifier, encoder, "stadium wifi?")[0] == "wifi"
    assert _best(classifier, encoder, "can I get a refund")[0] == "refund"
    classifier.remove(["wifi"])
    assert "wifi" not in classifier.probabilities(encoder.encode(["wifi"]), "wifi")


def test_a_saved_classifier_loads_with_the_same_probabilities(tmp_path: Path) -> None:
    classifier, encoder = _train(ELSEWHERE)
    classifier.save(tmp_path)
    loaded = EntryClassifier.load(tmp_path)
    assert loaded is not None
    text = "money back please"
    vector = encoder.encode([text])
    assert loaded.probabilities(vector, text) == pytest.approx(
        classifier.probabilities(vector, text)
    )
    assert EntryClassifier.load(tmp_path / "elsewhere") is None


def test_the_out_of_scope_file_is_validated_naming_file_and_field(tmp_path: Path) -> None:
    assert len(load_out_of_scope()) >= 40  # the shipped list, both languages
    broken = tmp_path / "out_of_scope.yml"
    broken.write_text("en: [who won, '']\n", encoding="utf-8")
    with pytest.raises(CorpusError) as raised:
        load_out_of_scope(broken)
    assert raised.value.where == str(broken)
    assert raised.value.field == "en"
