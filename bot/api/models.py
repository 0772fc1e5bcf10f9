"""The gateway API's own table: scoped server-to-server keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class ApiKey(Base):
    """A scoped key (`gate`, `read` or `full`); only the SHA-256 of the key is stored.

    `prefix` (the key's first characters) lets `desk api-keys list` tell keys apart;
    `hold_budget` caps the holds made with the key per risk window (None: no cap).
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    hold_budget: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
