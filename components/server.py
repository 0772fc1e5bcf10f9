"""Starts the Rasa server the way the desk needs it: `python -m components.server`.

Instead of `rasa run --auth-token <secret>` (a secret on the command line, readable
by every user of the machine in `ps`, and then sent in every URL as `?token=`),
this launcher reads everything from the environment the desk's supervisor sets
(bot/rasa/environment.py) and calls Rasa's own `serve_application`:

- Rasa's HTTP API (`/model/parse`, `/status`, `/domain`, `/conversations/...`) takes
  a JWT in the `Authorization` header, signed with `MATCHDAY_RASA_TOKEN`;
- the only input channel is the gateway's (components/channel.py), checked with
  the same token;
- it listens on `MATCHDAY_RASA_HOST` (127.0.0.1 unless changed).

An empty secret stops start-up: an open Rasa would let anyone speak for any fan.
"""

from __future__ import annotations

import logging
import os
import sys

REQUEST_MAX_BYTES = 1024 * 1024


def _setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        sys.exit(f"components.server: {name} is not set; start Rasa through `desk run`")
    return value


def main() -> None:
    secret = _setting("MATCHDAY_RASA_TOKEN")
    host = _setting("MATCHDAY_RASA_HOST", "127.0.0.1")
    port = int(_setting("MATCHDAY_RASA_PORT", "5005"))
    model = _setting("MATCHDAY_RASA_MODEL")
    endpoints_file = _setting("MATCHDAY_RASA_ENDPOINTS", "endpoints.yml")
    credentials_file = _setting("MATCHDAY_RASA_CREDENTIALS", "credentials.yml")
    # Sanic reads SANIC_* variables into its configuration when the app is made.
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(REQUEST_MAX_BYTES))
    sys.path.insert(1, os.getcwd())  # as `rasa run` does: custom components are found

    from rasa.core.run import serve_application
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.io import configure_colored_logging
    from rasa.utils.log_utils import configure_structlog

    from components import correlation, validation

    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    configure_logging_and_warnings(level, warn_only_once=True, filter_repeated_logs=True)
    configure_colored_logging(level)
    configure_structlog(level)
    correlation.install()  # each line shows the fan message's correlation id
    # Our own lines at the desk's level: loading the model lowers the root logger's to
    # warnings (a library of the pipeline does), which would hide the per-message line.
    logging.getLogger("components").setLevel(level)
    validation.install()
    serve_application(
        model_path=model,
        interface=host,
        port=port,
        credentials=credentials_file,
        endpoints=AvailableEndpoints.read_endpoints(endpoints_file),
        enable_api=True,
        auth_token=None,
        jwt_secret=secret,
        jwt_method="HS256",
    )


if __name__ == "__main__":
    main()
