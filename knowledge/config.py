"""Where the knowledge base lives and which encoder builds it (`knowledge/config.yml`).

Plain data so the lead can map `core.settings` onto it later: every field can be
overridden by keyword when constructing `KnowledgeConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from knowledge.corpus import CorpusError
from knowledge.encoders import DEFAULT_ENCODER

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG: Final = PROJECT_ROOT / "knowledge" / "config.yml"


@dataclass(frozen=True)
class KnowledgeConfig:
    """Settings of the FAQ knowledge base; relative paths are relative to `root`."""

    root: Path = PROJECT_ROOT
    encoder: str = DEFAULT_ENCODER
    encoder_options: dict[str, Any] = field(default_factory=lambda: {"threads": 1})
    corpus_dir: Path = Path("knowledge/corpus")
    index_dir: Path = Path("models/faq")
    thresholds_path: Path = Path("knowledge/thresholds.yml")
    labels_path: Path = Path("bench/data/faq_labels.jsonl")
    # Further labelled files used whole for calibration (never for testing).
    calibration_paths: tuple[Path, ...] = ()
    index_kind: Literal["auto", "flat", "ivf"] = "auto"
    max_chars: int = 1000
    vector_candidates: int = 64
    lexical_candidates: int = 10
    reload_interval_s: float = 2.0

    def path(self, value: Path) -> Path:
        """`value` resolved against the project root."""
        return value if value.is_absolute() else self.root / value

    @property
    def corpus(self) -> Path:
        """Absolute corpus folder."""
        return self.path(self.corpus_dir)

    @property
    def index(self) -> Path:
        """Absolute index folder."""
        return self.path(self.index_dir)

    @property
    def thresholds(self) -> Path:
        """Absolute thresholds file."""
        return self.path(self.thresholds_path)

    @property
    def labels(self) -> Path:
        """Absolute labelled-queries file."""
        return self.path(self.labels_path)

    @property
    def calibration_files(self) -> list[Path]:
        """Absolute paths of the extra calibration files."""
        return [self.path(p) for p in self.calibration_paths]

    def with_overrides(self, **overrides: Any) -> KnowledgeConfig:
        """A copy with some fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_config(path: Path = DEFAULT_CONFIG, **overrides: Any) -> KnowledgeConfig:
    """Read `knowledge/config.yml` (missing file: defaults), then apply `overrides`.

    Raises:
        CorpusError: naming the file and field for unknown or malformed settings.
    """
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise CorpusError(str(path), "(yaml)", str(error)) from None
    known = {f.name for f in fields(KnowledgeConfig)}
    for key in data:
        if key not in known:
            raise CorpusError(str(path), key, "unknown setting")
    for key in ("corpus_dir", "index_dir", "thresholds_path", "labels_path", "root"):
        if key in data:
            data[key] = Path(data[key])
    if "calibration_paths" in data:
        paths = data["calibration_paths"] or []
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise CorpusError(str(path), "calibration_paths", "expected a list of file paths")
        data["calibration_paths"] = tuple(Path(p) for p in paths)
    if "index_kind" in data and data["index_kind"] not in ("auto", "flat", "ivf"):
        raise CorpusError(str(path), "index_kind", "expected auto, flat or ivf")
    return KnowledgeConfig(**data).with_overrides(**overrides)
