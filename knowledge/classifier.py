"""The retriever's second stage: an entry classifier trained on the corpus's own wordings.

Nearest-neighbour search asks "which paraphrase is closest?"; a classifier asks "which
entry do words like these belong to?", and learns which words tell two neighbouring
entries apart (a transfer's "give my ticket to a friend" against the name on a ticket).
It is a multinomial logistic regression over two views of a text:

- its sentence embedding (the index's encoder, already computed), weighted up against
  the n-grams (`_DENSE_SCALE`) so that it is regularised less;
- character 1-3-gram TF-IDF (robust to typos, slang and Chinese without spaces).

One class per entry plus an "out of scope" class trained on `knowledge/out_of_scope.yml`
(football talk, general knowledge, small talk), so a question like those takes
probability away from every entry and the retriever abstains.

Trained by `FaqIndex.build` (its cost for the shipped corpus is in docs/faq.md) and
stored beside the index. Entries added later (the learning loop) are *imprinted*: their class
weights are the mean of their own wordings' features, scaled like the trained classes,
so they are answerable at once; the next `desk knowledge build` trains them properly.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import yaml

from knowledge.corpus import CorpusError

OUT_OF_SCOPE: Final = "__out_of_scope__"
DEFAULT_OUT_OF_SCOPE: Final = Path(__file__).resolve().parent / "out_of_scope.yml"
_FILE: Final = "classifier.npz"
_VOCAB: Final = "classifier.json"
_C: Final = 10.0
# The embedding view is multiplied by this before fitting (its weights are divided by
# it again, so predicting is unchanged): with one C for both views, the 512 dense
# features are regularised less than the ~25,000 character n-grams. Chosen by cross-validation
# over the corpus's own wordings (a quarter held out, two folds, full retriever); the
# scores of each scale tried are in docs/faq.md ("What was tried").
_DENSE_SCALE: Final = 4.0
_MAX_ITER: Final = 200

Matrix = npt.NDArray[np.float32]


def char_ngrams(text: str) -> list[str]:
    """Character 1-3-grams of each lower-cased word, padded with a space on each side."""
    out: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for size in (1, 2, 3):
            out.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
    return out


def load_out_of_scope(path: Path = DEFAULT_OUT_OF_SCOPE) -> list[str]:
    """The out-of-scope wordings (both languages) from `knowledge/out_of_scope.yml`.

    Raises:
        CorpusError: naming the file and field when it is malformed.
    """
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise CorpusError(str(path), "(yaml)", str(error)) from None
    if not isinstance(data, dict):
        raise CorpusError(str(path), "(root)", "expected a mapping of language to a list")
    out: list[str] = []
    for language, texts in data.items():
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise CorpusError(str(path), str(language), "expected a list of non-empty strings")
        out.extend(texts)
    return out


def _tfidf(
    vocabulary: dict[str, int], idf: npt.NDArray[np.float32], text: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Sparse TF-IDF of `text` (sublinear tf, L2-normalised): column ids and values."""
    counts = Counter(g for g in char_ngrams(text) if g in vocabulary)
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    cols = np.fromiter((vocabulary[g] for g in counts), dtype=np.int64, count=len(counts))
    vals = np.fromiter(
        (1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts)
    )
    vals *= idf[cols]
    vals /= float(np.linalg.norm(vals)) or 1.0
    return cols, vals


class EntryClassifier:
    """P(entry | text) over the indexed entries (and an out-of-scope class)."""

    def __init__(
        self,
        classes: list[str],
        vocabulary: dict[str, int],
        idf: npt.NDArray[np.float32],
        dense: Matrix,
        sparse: Matrix,
        bias: npt.NDArray[np.float32],
    ) -> None:
        """A trained classifier (use `train` or `load`)."""
        self.classes = classes
        self.vocabulary = vocabulary
        self.idf = idf
        self.dense = dense
        self.sparse = sparse
        self.bias = bias
        self._row = {name: row for row, name in enumerate(classes)}

    def _tfidf(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        return _tfidf(self.vocabulary, self.idf, text)

    # ----- training ---------------------------------------------------------------

    @classmethod
    def train(
        cls,
        labels: Sequence[str],
        texts: Sequence[str],
        vectors: Matrix,
        out_of_scope: Sequence[tuple[str, npt.NDArray[np.float32]]] = (),
    ) -> EntryClassifier:
        """Fit on labelled wordings: `labels[i]` is the entry id of `texts[i]`/`vectors[i]`.

        `out_of_scope` adds (text, vector) pairs of the out-of-scope class.
        """
        from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

        all_labels = [*labels, *(OUT_OF_SCOPE for _ in out_of_scope)]
        all_texts = [*texts, *(text for text, _ in out_of_scope)]
        all_vectors = np.vstack([vectors, *(v.reshape(1, -1) for _, v in out_of_scope)])
        grams = [Counter(char_ngrams(text)) for text in all_texts]
        document_frequency: Counter[str] = Counter()
        for counts in grams:
            document_frequency.update(counts.keys())
        vocabulary = {g: i for i, g in enumerate(sorted(document_frequency))}
        n = len(all_texts)
        idf = np.array(
            [math.log((1 + n) / (1 + document_frequency[g])) + 1 for g in sorted(vocabulary)],
            dtype=np.float32,
        )
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, text in enumerate(all_texts):
            c, v = _tfidf(vocabulary, idf, text)
            rows.extend([row] * len(c))
            cols.extend(c.tolist())
            vals.extend(v.tolist())
        lexical = csr_matrix((vals, (rows, cols)), shape=(n, len(vocabulary)), dtype=np.float32)
        features = hstack([csr_matrix(all_vectors * _DENSE_SCALE), lexical]).tocsr()
        classes = sorted(set(all_labels))
        if len(classes) < 2:
            raise ValueError("the entry classifier needs at least two classes")
        model = LogisticRegression(C=_C, max_iter=_MAX_ITER)
        model.fit(features, all_labels)
        coef = np.asarray(model.coef_, dtype=np.float32)
        intercept = np.asarray(model.intercept_, dtype=np.float32)
        if len(model.classes_) == 2:  # binary: sklearn keeps one row; make it two
            coef = (np.vstack([-coef, coef]) / 2).astype(np.float32)
            intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32) / np.float32(2)
        dim = all_vectors.shape[1]
        return cls(
            [str(c) for c in model.classes_],
            vocabulary,
            idf,
            np.ascontiguousarray(coef[:, :dim] * np.float32(_DENSE_SCALE)),
            np.ascontiguousarray(coef[:, dim:]),
            intercept,
        )

    # ----- live updates -----------------------------------------------------------

    def imprint(self, entry_id: str, texts: Sequence[str], vectors: Matrix) -> None:
        """Add (or replace) an entry's class from its own wordings, without retraining.

        Its weights are the mean feature vector of `texts`, scaled to the median norm of
        the trained classes' weights; its bias is the trained classes' median bias.
        """
        self.remove([entry_id])
        if not len(vectors):
            return
        trained = [r for r, name in enumerate(self.classes) if name != OUT_OF_SCOPE]
        dense_norm = (
            float(np.median(np.linalg.norm(self.dense[trained], axis=1))) if trained else 1.0
        )
        sparse_norm = (
            float(np.median(np.linalg.norm(self.sparse[trained], axis=1))) if trained else 1.0
        )
        bias = float(np.median(self.bias[trained])) if trained else 0.0
        centre = vectors.mean(axis=0)
        centre /= float(np.linalg.norm(centre)) or 1.0
        lexical = np.zeros(self.sparse.shape[1], dtype=np.float32)
        for text in texts:
            cols, vals = self._tfidf(text)
            lexical[cols] += vals
        lexical /= float(np.linalg.norm(lexical)) or 1.0
        self.classes.append(entry_id)
        self.dense = np.vstack([self.dense, (dense_norm * centre)[None, :].astype(np.float32)])
        self.sparse = np.vstack([self.sparse, (sparse_norm * lexical)[None, :]])
        self.bias = np.append(self.bias, np.float32(bias))
        self._row[entry_id] = len(self.classes) - 1

    def remove(self, entry_ids: Iterable[str]) -> None:
        """Forget entries' classes (unknown ids are ignored)."""
        drop = {self._row[e] for e in entry_ids if e in self._row}
        if not drop:
            return
        keep = [r for r in range(len(self.classes)) if r not in drop]
        self.classes = [self.classes[r] for r in keep]
        self.dense, self.sparse, self.bias = self.dense[keep], self.sparse[keep], self.bias[keep]
        self._row = {name: row for row, name in enumerate(self.classes)}

    # ----- predicting -------------------------------------------------------------

    def probabilities(self, vector: Matrix, text: str) -> dict[str, float]:
        """P(class | text) for every entry class (the out-of-scope class is left out)."""
        return self.classify(vector, text)[0]

    def classify(self, vector: Matrix, text: str) -> tuple[dict[str, float], float]:
        """P(entry | text) for every entry class, and P(out of scope | text).

        The second is 0 when the classifier was trained without out-of-scope wordings.
        """
        if not self.classes:
            return {}, 0.0
        logits = self.dense @ vector.reshape(-1) + self.bias
        cols, vals = self._tfidf(text)
        if len(cols):
            logits = logits + self.sparse[:, cols] @ vals
        logits = logits - logits.max()
        weights = np.exp(logits)
        weights /= weights.sum()
        entries: dict[str, float] = {}
        out_of_scope = 0.0
        for name, p in zip(self.classes, weights.tolist(), strict=True):
            if name == OUT_OF_SCOPE:
                out_of_scope = float(p)
            else:
                entries[name] = float(p)
        return entries, out_of_scope

    # ----- persistence ------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the classifier into an index generation folder."""
        np.savez(folder / _FILE, idf=self.idf, dense=self.dense, sparse=self.sparse, bias=self.bias)
        (folder / _VOCAB).write_text(
            json.dumps(
                {"classes": self.classes, "vocabulary": self.vocabulary}, ensure_ascii=False
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path) -> EntryClassifier | None:
        """The classifier stored in a generation folder, or None when it has none."""
        if not (folder / _FILE).exists() or not (folder / _VOCAB).exists():
            return None
        names = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
        with np.load(folder / _FILE) as data:
            return cls(
                list(names["classes"]),
                dict(names["vocabulary"]),
                data["idf"],
                data["dense"],
                data["sparse"],
                data["bias"],
            )
