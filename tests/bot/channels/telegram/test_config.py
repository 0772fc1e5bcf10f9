"""The Telegram settings are checked together at start-up, with errors naming the variable."""

from __future__ import annotations

import pytest

from bot.api.app import create_app
from bot.channels.telegram.config import TelegramConfigError, telegram_config
from tests.conftest import make_settings

TOKEN = "123456789:AAE-abcdefghijklmnopqrstuvwxyz_012"


def config(**values: str) -> object:
    return telegram_config(make_settings("sqlite:///unused.db", **values))


def test_no_token_no_channel() -> None:
    assert config() is None


def test_polling_by_default_at_any_bot_api_server() -> None:
    found = config(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_SERVER="http://127.0.0.1:8081/")
    assert found is not None
    assert found.mode == "polling"  # type: ignore[attr-defined]
    assert found.api_server == "http://127.0.0.1:8081"  # type: ignore[attr-defined]


def test_webhook_mode() -> None:
    found = config(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://desk.example.org/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET="s3cret_-value-0123456789abcdef0123",
    )
    secret = "s3cret_-value-0123456789abcdef0123"
    assert found is not None and found.webhook_secret == secret  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": "localhost:8081"},
            "TELEGRAM_API_SERVER",
        ),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook"}, "TELEGRAM_WEBHOOK_URL"),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://desk.example.org/telegram/webhook",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://desk.example.org/hook",
                "TELEGRAM_WEBHOOK_SECRET": "abc",
            },
            "TELEGRAM_WEBHOOK_URL",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://desk.example.org/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": "spaces are not allowed in a secret, however long",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://desk.example.org/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": "x" * 31,  # guessable: too short
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://desk.example.org/telegram/webhook",
            },
            "TELEGRAM_BOT_TOKEN",
        ),
    ],
)
def test_wrong_combinations_name_the_variable(values: dict[str, str], field: str) -> None:
    with pytest.raises(TelegramConfigError) as error:
        config(**values)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_the_gateway_refuses_to_start_with_a_wrong_combination(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_MODE="webhook")
    with pytest.raises(TelegramConfigError, match="TELEGRAM_WEBHOOK_URL"):
        create_app(settings)
