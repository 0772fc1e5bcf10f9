"""Every setting of the desk, read once from the environment (and an optional `.env`).

The table in the README lists the same variables; `desk config` prints the values in force.
"""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


class Settings(BaseSettings):
    """Configuration of all three processes; validated at start-up."""

    model_config = SettingsConfigDict(
        env_file=ROOT / ".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    port: int = Field(8000, alias="MATCHDAY_PORT", ge=1, le=65535)
    host: str = Field("127.0.0.1", alias="MATCHDAY_HOST")
    rasa_host: str = Field("127.0.0.1", alias="MATCHDAY_RASA_HOST")
    rasa_port: int = Field(5005, alias="MATCHDAY_RASA_PORT", ge=1, le=65535)
    # Rasa servers `desk run` starts, on MATCHDAY_RASA_PORT and the ports after it; each
    # conversation always goes to the same one (bot/rasa/client.py). One per core, two at
    # most by default: a Rasa server answers one message at a time on one core.
    rasa_workers: int = Field(
        default_factory=lambda: max(1, min(2, os.cpu_count() or 1)),
        alias="MATCHDAY_RASA_WORKERS",
        ge=1,
        le=16,
    )
    actions_host: str = Field("127.0.0.1", alias="MATCHDAY_ACTIONS_HOST")
    actions_port: int = Field(5055, alias="MATCHDAY_ACTIONS_PORT", ge=1, le=65535)
    api_key: str = Field("", alias="MATCHDAY_API_KEY")
    rasa_token: str = Field("", alias="MATCHDAY_RASA_TOKEN")
    actions_secret: str = Field("", alias="MATCHDAY_ACTIONS_SECRET")
    media_secret: str = Field("", alias="MATCHDAY_MEDIA_SECRET")
    database_url: str = Field(f"sqlite:///{VAR / 'desk.db'}", alias="DATABASE_URL")
    public_url: str = Field("", alias="MATCHDAY_PUBLIC_URL")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", alias="MATCHDAY_LOG_LEVEL"
    )
    log_dir: Path = Field(VAR / "log", alias="MATCHDAY_LOG_DIR")
    faq_dir: Path = Field(ROOT / "models" / "faq", alias="MATCHDAY_FAQ_DIR")
    # The club's data folder: club.yml, stadium.yml, pricing.yml, policies.yml.
    data_dir: Path = Field(ROOT / "data" / "demo", alias="MATCHDAY_DATA_DIR")
    keys_dir: Path = Field(VAR / "keys", alias="MATCHDAY_KEYS_DIR")
    # Another policy file than the data folder's policies.yml (to try a change, say).
    policies_file: Path | None = Field(None, alias="MATCHDAY_POLICIES")
    telegram_bot_token: str = Field("", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_server: str = Field("", alias="TELEGRAM_API_SERVER")
    telegram_mode: Literal["polling", "webhook"] = Field("polling", alias="TELEGRAM_MODE")
    telegram_webhook_url: str = Field("", alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str = Field("", alias="TELEGRAM_WEBHOOK_SECRET")
    widget_origins_csv: str = Field("", alias="MATCHDAY_WIDGET_ORIGINS")
    # Open widget sockets at once per conversation (its tabs) and per client address
    # (households, venue wifi and mobile carriers share one), per gateway process.
    widget_sockets_per_conversation: int = Field(
        5, alias="MATCHDAY_WIDGET_SOCKETS_PER_CONVERSATION", ge=1, le=1000
    )
    widget_sockets_per_address: int = Field(
        50, alias="MATCHDAY_WIDGET_SOCKETS_PER_ADDRESS", ge=1, le=1_000_000
    )
    # A widget token's lifetime, renewed while the chat is in use (at most 30 days), and
    # how long after its first message a conversation stops being renewed.
    widget_token_ttl_s: int = Field(
        7 * 24 * 3600, alias="MATCHDAY_WIDGET_TOKEN_TTL", ge=60, le=30 * 24 * 3600
    )
    widget_session_max_age_s: int = Field(
        60 * 24 * 3600, alias="MATCHDAY_WIDGET_SESSION_MAX_AGE", ge=60
    )
    # Addresses or networks (comma-separated) of the proxies in front of the gateway
    # whose X-Forwarded-For is believed; from anyone else the header is ignored.
    trusted_proxies_csv: str = Field("127.0.0.1,::1", alias="MATCHDAY_TRUSTED_PROXIES")
    sandbox_card: str = Field("tok_ok", alias="MATCHDAY_SANDBOX_CARD")
    rasa_timeout_s: float = Field(30.0, alias="MATCHDAY_RASA_TIMEOUT", gt=0)
    # Back-pressure (bot/conversations/service.py): "one moment" after the patience; how
    # many messages are at the assistant at once and how many may wait, in all and in
    # one conversation, before a new one is refused.
    reply_patience_s: float = Field(5.0, alias="MATCHDAY_REPLY_PATIENCE", gt=0, le=60)
    assistant_concurrency: int = Field(16, alias="MATCHDAY_ASSISTANT_CONCURRENCY", ge=1, le=1000)
    assistant_queue: int = Field(2000, alias="MATCHDAY_ASSISTANT_QUEUE", ge=1, le=1_000_000)
    conversation_queue: int = Field(10, alias="MATCHDAY_CONVERSATION_QUEUE", ge=1, le=1000)
    outbox_interval_s: float = Field(10.0, alias="MATCHDAY_OUTBOX_INTERVAL", gt=0, le=3600)
    outbox_order_grace_s: float = Field(60.0, alias="MATCHDAY_OUTBOX_ORDER_GRACE", ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+")):
            raise ValueError(
                "DATABASE_URL must be sqlite:///path or postgresql://user@host:port/db"
            )
        return value

    def secrets(self) -> dict[str, str]:
        """The secrets every desk needs, by variable (`desk prepare` generates them)."""
        return {
            "MATCHDAY_API_KEY": self.api_key,
            "MATCHDAY_RASA_TOKEN": self.rasa_token,
            "MATCHDAY_ACTIONS_SECRET": self.actions_secret,
            "MATCHDAY_MEDIA_SECRET": self.media_secret,
        }

    def missing_secrets(self) -> list[str]:
        """Variables of secrets that are empty: the desk refuses to start without them."""
        return [name for name, value in self.secrets().items() if not value.strip()]

    @property
    def widget_origins(self) -> list[str]:
        """Origins (scheme://host[:port]) whose pages may open widget sessions."""
        return [o.strip().rstrip("/") for o in self.widget_origins_csv.split(",") if o.strip()]

    @property
    def trusted_proxies(self) -> list[str]:
        """Addresses and networks whose `X-Forwarded-For` names the real client."""
        return [p.strip() for p in self.trusted_proxies_csv.split(",") if p.strip()]

    @field_validator("trusted_proxies_csv")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for entry in (p.strip() for p in value.split(",")):
            if not entry:
                continue
            try:
                ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"MATCHDAY_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                    "(e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value

    @property
    def rasa_url(self) -> str:
        """The first Rasa server (NLU parsing, status, the domain: any one answers)."""
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa server, in order: conversations are spread over them."""
        host = _reachable(self.rasa_host)
        return [f"http://{host}:{self.rasa_port + n}" for n in range(self.rasa_workers)]

    @property
    def actions_url(self) -> str:
        return f"http://{_reachable(self.actions_host)}:{self.actions_port}"

    @property
    def gateway_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def _reachable(bind_host: str) -> str:
    """The address to call a server bound to `bind_host` at (a wildcard means loopback)."""
    if bind_host in ("0.0.0.0", "::", ""):  # noqa: S104 - compared, not bound
        return "127.0.0.1"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings in force for this process (read once)."""
    return Settings()
