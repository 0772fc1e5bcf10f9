"""Fitted scikit-learn models in Rasa's model storage, written with skops (never pickle).

skops refuses to load types it does not know; the only one ours need beyond its
defaults is the sparse matrix inside TF-IDF weights.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

TRUSTED_TYPES = ["scipy.sparse._csr.csr_matrix"]


class UntrustedModelError(ValueError):
    """The persisted model contains types outside the trusted list."""


def dump(
    model_storage: ModelStorage, resource: Resource, name: Text, model: Dict[str, Any]
) -> None:
    """Write `model` as `name` into the component's part of the model storage."""
    import skops.io as sio

    with model_storage.write_to(resource) as directory:
        sio.dump(model, directory / name)


def load(model_storage: ModelStorage, resource: Resource, name: Text) -> Optional[Dict[str, Any]]:
    """The model written as `name`, or None when the component was never trained."""
    import skops.io as sio

    try:
        with model_storage.read_from(resource) as directory:
            path = directory / name
            untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
            if untrusted:
                raise UntrustedModelError(f"untrusted types in {path.name}: {sorted(untrusted)}")
            model: Dict[str, Any] = sio.load(path, trusted=TRUSTED_TYPES)
    except UntrustedModelError:
        raise
    except (ValueError, FileNotFoundError):
        return None  # never trained (no NLU data)
    for value in model.values():
        _ready_for_prediction(value)
    return model


def _ready_for_prediction(estimator: Any) -> None:
    """Store a linear model's weights column-major, as prediction reads them.

    scikit-learn scores a message as `X @ coef_.T`; with `coef_` row-major, scipy copies
    the whole transpose for every message (the intent classifier's 32 × 76,645 weights:
    5.1 ms a message), column-major the transpose is used where it lies (0.02 ms). Same
    numbers, same code path.
    """
    import numpy as np

    coef = getattr(estimator, "coef_", None)
    if isinstance(coef, np.ndarray) and coef.ndim == 2:
        estimator.coef_ = np.asfortranarray(coef)
