"""The gateway's logging, as `desk serve` hands it to uvicorn.

Every line names its time, level, the correlation id of the message or request it is
about (`[-]` for none; core/correlation.py) and its logger, the access log included:

    2025-05-04 15:02:11,212 INFO     [5d0c1c7e…] uvicorn.access - 127.0.0.1:51234 -
        "POST /api/v1/conversations/c-1/messages HTTP/1.1" 200   (one line)

The desk's own loggers (`matchday.*`) and the libraries' reach the same file at
MATCHDAY_LOG_LEVEL; httpx and httpcore, which would log every call to Rasa, only their
warnings.
"""

from __future__ import annotations

from typing import Any

from core.correlation import FORMAT

ACCESS_FORMAT = (
    "%(asctime)s %(levelname)-8s [%(correlation_id)s] %(name)s - "
    '%(client_addr)s - "%(request_line)s" %(status_code)s'
)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's `log_config` for a gateway logging at `level` (debug, info...)."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": "core.correlation.CorrelationFilter"}},
        "formatters": {
            "default": {"format": FORMAT},
            "access": {"()": "uvicorn.logging.AccessFormatter", "fmt": ACCESS_FORMAT},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["correlation"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["correlation"],
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
        "root": {"handlers": ["default"], "level": level},
    }
