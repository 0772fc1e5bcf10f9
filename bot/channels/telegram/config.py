"""The Telegram settings, checked together at start-up (each alone is valid; some
combinations are not, e.g. webhook mode without a URL or secret)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from core.settings import Settings

_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
# What Telegram allows in secret_token, at least 32 characters: the secret is all that
# tells Telegram's calls from anyone else's, so it must not be guessable.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
WEBHOOK_PATH = "/telegram/webhook"


class TelegramConfigError(ValueError):
    """A Telegram setting (named in `field`) is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class TelegramConfig:
    """A valid combination of the Telegram settings."""

    token: str
    mode: Literal["polling", "webhook"]
    api_server: str | None
    webhook_url: str | None
    webhook_secret: str | None


def _http_url(field: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TelegramConfigError(field, f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def telegram_config(settings: Settings) -> TelegramConfig | None:
    """The channel's configuration, None when TELEGRAM_BOT_TOKEN is not set.

    Raises `TelegramConfigError` naming the variable that is wrong.
    """
    token = settings.telegram_bot_token.strip()
    if not token:
        for field, value in (
            ("TELEGRAM_WEBHOOK_URL", settings.telegram_webhook_url),
            ("TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret),
        ):
            if value and settings.telegram_mode == "webhook":
                raise TelegramConfigError(
                    "TELEGRAM_BOT_TOKEN", f"required when {field} and TELEGRAM_MODE=webhook are set"
                )
        return None
    if not _TOKEN.match(token):
        raise TelegramConfigError(
            "TELEGRAM_BOT_TOKEN", "expected BotFather's token, like 123456:ABC-DEF..."
        )
    api_server = settings.telegram_api_server.strip() or None
    if api_server is not None:
        api_server = _http_url("TELEGRAM_API_SERVER", api_server)
    if settings.telegram_mode == "polling":
        return TelegramConfig(token, "polling", api_server, None, None)
    url = settings.telegram_webhook_url.strip()
    secret = settings.telegram_webhook_secret.strip()
    if not url:
        raise TelegramConfigError(
            "TELEGRAM_WEBHOOK_URL", "required with TELEGRAM_MODE=webhook (the public HTTPS URL)"
        )
    url = _http_url("TELEGRAM_WEBHOOK_URL", url)
    if not urlsplit(url).path.endswith(WEBHOOK_PATH):
        raise TelegramConfigError(
            "TELEGRAM_WEBHOOK_URL", f"must end with {WEBHOOK_PATH} (the gateway's webhook route)"
        )
    if not secret:
        raise TelegramConfigError("TELEGRAM_WEBHOOK_SECRET", "required with TELEGRAM_MODE=webhook")
    if not _SECRET.match(secret):
        raise TelegramConfigError(
            "TELEGRAM_WEBHOOK_SECRET",
            "32-256 characters of A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 24`)",
        )
    return TelegramConfig(token, "webhook", api_server, url, secret)
