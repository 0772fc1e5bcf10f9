"""`POST /telegram/webhook`: Telegram's updates in webhook mode.

Telegram sends the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`;
a request without the right one is refused (401). A body that is not an Update is
refused with 400 and logged; a valid update is answered 200 at once and processed
in the background, so a slow assistant never makes Telegram redeliver.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, Request
from pydantic import ValidationError

from bot.api.errors import ApiError
from bot.channels.telegram.config import WEBHOOK_PATH

router = APIRouter(tags=["telegram"])
log = logging.getLogger("matchday.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook(request: Request) -> dict[str, Any]:
    """Receive one update from Telegram."""
    channel = getattr(request.app.state, "telegram", None)
    if channel is None or channel.config.mode != "webhook":
        raise ApiError(404, "not_found", "The Telegram webhook is not enabled.")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), channel.config.webhook_secret.encode()):
        log.warning("webhook call with a wrong secret token from %s", request.client)
        raise ApiError(401, "unauthorized", f"Missing or wrong {SECRET_HEADER}.")
    body = await request.body()
    try:
        raw = json.loads(body)
        if not isinstance(raw, dict):
            raise ValueError("an Update is a JSON object")
        update = Update.model_validate(raw, context={"bot": channel.bot})
    except (ValueError, ValidationError) as exc:
        log.warning("refused a malformed Telegram update: %s", str(exc)[:500])
        raise ApiError(400, "malformed_update", "The body is not a Telegram Update.") from exc
    channel.feed_in_background(update)
    return {"ok": True}
