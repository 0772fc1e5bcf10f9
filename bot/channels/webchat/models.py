"""The widget's one table: conversations whose tokens were revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class WidgetRevocation(Base):
    """Every token of `conversation_id` issued before `revoked_at` is refused."""

    __tablename__ = "widget_revocations"

    conversation_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    revoked_at: Mapped[datetime]
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)
