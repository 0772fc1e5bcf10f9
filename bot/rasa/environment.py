"""Where Rasa lives and the environment its processes run with.

Rasa 3.6 runs from its own Python 3.10 environment (`.venv-rasa`); the settings it
needs (action server URL, tracker store) reach `endpoints.yml` as environment
variables derived from the desk's own settings, so there is one source of truth.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from core.settings import ROOT, Settings

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MODEL_DIR = ROOT / "models" / "rasa"
MODEL_NAME = "desk"
MODEL_FILE = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_FILE = MODEL_DIR / "fingerprint"
# components/ holds the custom pipeline code: changing it changes what training produces.
# components/domain.py also learns from the FAQ corpus.
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "data",
    "components",
    "knowledge/corpus",
)
EXCLUDED_DATA = ("data/demo", "data/notifications", "data/texts")  # not Rasa's
# Code that runs in the Rasa process but is no part of the model: the server, the channel,
# the correlation id of its log lines, the answer validator and the tracker store.
EXCLUDED_CODE = (
    "components/server.py",
    "components/channel.py",
    "components/correlation.py",
    "components/validation.py",
    "components/tracker_store.py",
)


def tracker_store_url(database_url: str) -> str:
    """The SQLAlchemy 1.4 URL of Rasa's tracker store for the desk's DATABASE_URL.

    PostgreSQL: the same database (Rasa keeps its own `events` table).
    SQLite: a sibling file, so Rasa's writes never wait on the engine's.
    """
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or ROOT / "var" / "desk.db")
        return f"sqlite:///{path.with_name(path.stem + '-tracker.db')}"
    url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for every Rasa command (server, train, test, validate).

    Secrets reach the Rasa server and the action server here, in their environment
    (readable only by the desk's own user), never on a command line or in a URL.
    """
    tracker = tracker_store_url(settings.database_url)
    env = dict(os.environ)
    env.update(
        MATCHDAY_RASA_HOST=settings.rasa_host,
        MATCHDAY_RASA_PORT=str(settings.rasa_port),
        MATCHDAY_RASA_MODEL=str(MODEL_FILE),
        MATCHDAY_RASA_TOKEN=settings.rasa_token,
        MATCHDAY_ACTIONS_HOST=settings.actions_host,
        MATCHDAY_ACTIONS_PORT=str(settings.actions_port),
        MATCHDAY_ACTIONS_SECRET=settings.actions_secret,
        MATCHDAY_ACTIONS_URL=settings.actions_url,
        MATCHDAY_TRACKER_DIALECT=tracker.split(":", 1)[0],
        MATCHDAY_TRACKER_URL=tracker,
        # Rasa phones home and checks for updates unless told not to.
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def training_fingerprint(root: Path = ROOT) -> str:
    """Hash of everything the Rasa model is trained from."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    for path in files:
        rel = path.relative_to(root).as_posix()
        excluded = rel.startswith(EXCLUDED_DATA) or rel in EXCLUDED_CODE
        if excluded or "__pycache__" in path.parts or not path.exists():
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def model_is_current(root: Path = ROOT) -> bool:
    """True when the trained model exists and was trained from the current inputs."""
    return (
        MODEL_FILE.exists()
        and FINGERPRINT_FILE.exists()
        and FINGERPRINT_FILE.read_text().strip() == training_fingerprint(root)
    )
