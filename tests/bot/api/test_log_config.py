"""The gateway's logging as `desk serve` sets it up: the correlation id in every line, the
desk's own info lines kept, httpx's per-call lines left out."""

from __future__ import annotations

import subprocess
import sys

from core.settings import ROOT

SCRIPT = """
import logging, logging.config
from bot.api.log_config import log_config
from core import correlation

logging.config.dictConfig(log_config("info"))
logging.getLogger("matchday.gateway").info("outside any message")
with correlation.bind("req-42"):
    logging.getLogger("matchday.handoff").info("conversation c-1 escalated")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/api/v1/x", "1.1", 200
    )
    logging.getLogger("httpx").info("HTTP Request: POST http://rasa/webhooks 200 OK")
    logging.getLogger("uvicorn.error").warning("something odd")
"""


def test_every_line_names_the_id_of_its_message_or_a_dash() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    errors, access = done.stderr.splitlines(), done.stdout.splitlines()
    assert any("INFO" in x and "[-] matchday.gateway - outside any message" in x for x in errors)
    assert any("[req-42] matchday.handoff - conversation c-1 escalated" in x for x in errors)
    assert any("[req-42] uvicorn.error - something odd" in x for x in errors)
    assert any('[req-42] uvicorn.access - 127.0.0.1:5000 - "POST /api/v1/x' in x for x in access)
    assert not any("HTTP Request" in line for line in errors + access)
    assert "Logging error" not in done.stderr
