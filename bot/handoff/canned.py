"""Canned replies for agents, from `data/handoff/canned.yml` (validated at start-up)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, RootModel

from bot.handoff.policy import PolicyError
from core.loading import DataFileError, load_model
from core.settings import ROOT

CANNED_PATH = ROOT / "data" / "handoff" / "canned.yml"


class CannedReply(BaseModel):
    """One canned reply in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=80)
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class CannedReplies(RootModel[list[CannedReply]]):
    """The file: a list of canned replies."""


def load_canned(path: Path = CANNED_PATH) -> list[CannedReply]:
    """Read and validate the canned replies (ids must be unique)."""
    try:
        replies = load_model(path, CannedReplies, default=[]).root
    except DataFileError as exc:
        raise PolicyError(f"{exc.path}: invalid canned replies: {exc.problem}") from exc
    ids = [r.id for r in replies]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PolicyError(f"{path}: duplicate canned reply ids {duplicates}")
    return replies
