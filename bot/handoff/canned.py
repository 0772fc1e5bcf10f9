"""Canned replies for agents, from `data/handoff/canned.yml` (validated at start-up)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.handoff.policy import PolicyError
from bot.settings import ROOT

CANNED_PATH = ROOT / "data" / "handoff" / "canned.yml"


class CannedReply(BaseModel):
    """One canned reply in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=80)
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


def load_canned(path: Path = CANNED_PATH) -> list[CannedReply]:
    """Read and validate the canned replies (ids must be unique)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        replies = TypeAdapter(list[CannedReply]).validate_python(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PolicyError(f"{path}: invalid canned replies: {exc}") from exc
    ids = [r.id for r in replies]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PolicyError(f"{path}: duplicate canned reply ids {duplicates}")
    return replies
