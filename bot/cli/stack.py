"""`desk prepare`, `desk run`, `desk serve`: set up and start the whole desk."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.database import migrate
from bot.rasa.auth import RasaAuth
from bot.rasa.environment import MODEL_FILE, RASA_PYTHON, rasa_env, tracker_store_url
from bot.supervisor import PortTaken, Service, Supervisor
from core import metrics
from core.files import append_private, create_private, tighten
from core.settings import ROOT, VAR, Settings, get_settings

ENV_FILE = ROOT / ".env"
METRICS_DIR = VAR / "metrics"  # a directory per run of `desk run`, named by its pid


def _ensure_secret(variable: str, purpose: str) -> str | None:
    """Generate `variable` into .env when it is set nowhere; return the new value."""
    settings = get_settings()
    if settings.secrets()[variable]:
        return None
    value = secrets.token_urlsafe(32)
    append_private(
        ENV_FILE, f"# {purpose} (generated {time.strftime('%Y-%m-%d')})\n{variable}={value}\n"
    )
    get_settings.cache_clear()
    return value


def prepare() -> None:
    """Create what is missing: secrets, database schema, demo data, trained models."""
    from bot.cli.knowledge import build as knowledge_build
    from bot.cli.rasa import train
    from bot.database import get_sessionmaker
    from bot.knowledge_base import sync_published
    from knowledge.config import DEFAULT_CONFIG as DEFAULT_KNOWLEDGE_CONFIG
    from knowledge.shared import SharedRetriever, index_is_current
    from ticketing.demo import load_demo_data

    VAR.mkdir(parents=True, exist_ok=True)
    api_key = _ensure_secret("MATCHDAY_API_KEY", "server-to-server API key")
    if api_key:
        typer.secho(f"generated MATCHDAY_API_KEY into .env: {api_key}", fg="yellow")
    _ensure_secret("MATCHDAY_RASA_TOKEN", "key signing the gateway's calls to Rasa")
    _ensure_secret("MATCHDAY_ACTIONS_SECRET", "secret Rasa sends to the action server")
    _ensure_secret("MATCHDAY_MEDIA_SECRET", "key signing expiring links to QR images")
    _private_state(get_settings())
    migrate()

    with get_sessionmaker().begin() as session:
        loaded = load_demo_data(session)
    typer.echo("demo data loaded" if loaded else "demo data already present")
    if index_is_current(get_settings()):
        typer.echo("FAQ index is current")
    else:
        knowledge_build(encoder=None, keep_published=True, config=DEFAULT_KNOWLEDGE_CONFIG)
    published = sync_published(SharedRetriever(get_settings()), get_sessionmaker())
    typer.echo(f"FAQ entries published by agents: {published}")
    train(force=False)


def _private_state(settings: Settings) -> None:
    """`.env` and the SQLite files (Rasa's tracker store too) readable by the desk only."""
    tighten(ENV_FILE)
    for url in (settings.database_url, tracker_store_url(settings.database_url)):
        if url.startswith("sqlite:///"):
            create_private(Path(url.removeprefix("sqlite:///")))


# Each process answers one message at a time per task and the machine's cores are shared
# by three processes: the numeric libraries' thread pools (OpenMP, OpenBLAS, MKL) only spin
# against each other and against the other processes (docs/performance.md).
ONE_NUMERIC_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def services(metrics_dir: Path | None = None) -> list[Service]:
    """The three processes of the desk, with their commands and readiness checks;
    `metrics_dir`: the directory they share for their metrics (core/metrics.py)."""
    settings = get_settings()
    log_dir = settings.log_dir
    python = sys.executable
    env = {**rasa_env(settings), **ONE_NUMERIC_THREAD}
    if metrics_dir is not None:
        env[metrics.MULTIPROC_VARIABLE] = str(metrics_dir)
    return [
        Service(
            name="action server",
            argv=[python, "-m", "actions.server"],
            port=settings.actions_port,
            port_variable="MATCHDAY_ACTIONS_PORT",
            ready_url=f"{settings.actions_url}/health",
            ready_headers={"Authorization": f"Bearer {settings.actions_secret}"},
            env=env,
            log_path=log_dir / "actions.log",
            cwd=ROOT,
        ),
        *(
            Service(
                # No secret on the command line: the launcher reads them from `env`.
                name="rasa server" if n == 0 else f"rasa server {n + 1}",
                argv=[str(RASA_PYTHON), "-m", "components.server"],
                port=settings.rasa_port + n,
                port_variable="MATCHDAY_RASA_PORT",
                ready_url=f"{url}/status",
                ready_headers={"Authorization": RasaAuth(settings.rasa_token).header()},
                env={**env, "MATCHDAY_RASA_PORT": str(settings.rasa_port + n)},
                log_path=log_dir / ("rasa.log" if n == 0 else f"rasa-{n + 1}.log"),
                cwd=ROOT,
            )
            for n, url in enumerate(settings.rasa_urls)
        ),
        Service(
            name="gateway",
            argv=[python, "-m", "bot", "serve"],
            port=settings.port,
            port_variable="MATCHDAY_PORT",
            ready_url=f"http://127.0.0.1:{settings.port}/healthz",
            env=env,
            log_path=log_dir / "gateway.log",
            cwd=ROOT,
        ),
    ]


def run() -> None:
    """Start the Rasa server, the action server and the gateway; Ctrl-C stops all."""
    settings = get_settings()
    if not MODEL_FILE.exists() or settings.missing_secrets():
        missing = ", ".join(settings.missing_secrets()) or "the trained model"
        typer.secho(
            f"The desk is not prepared ({missing} missing): run `make run` (or `desk prepare`).",
            fg="red",
        )
        raise typer.Exit(2)
    _private_state(settings)
    # This run's own metrics directory, emptied: the values of an earlier run are no
    # part of this one's (several desks may run from one folder, the tests' among them).
    metrics_dir = metrics.fresh_multiprocess_dir(METRICS_DIR)
    supervisor = Supervisor(services(metrics_dir), echo=typer.echo, metrics_dir=metrics_dir)
    try:
        supervisor.check_ports()
        supervisor.start_all()
    except PortTaken as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    except (RuntimeError, KeyboardInterrupt) as exc:
        supervisor.stop_all()
        typer.secho(str(exc) or "interrupted", fg="red", err=True)
        raise typer.Exit(1) from exc
    base = f"http://{settings.host}:{settings.port}"
    typer.secho("\nMatchday Desk is running.", fg="green", bold=True)
    typer.echo(f"  demo club page with the widget  {base}/")
    typer.echo(f"  agent console                   {base}/console")
    typer.echo(f"  API documentation               {base}/docs")
    typer.echo(f"  readiness                       {base}/readyz")
    typer.echo("  API key (Authorization: Bearer) in .env as MATCHDAY_API_KEY")
    typer.echo("Press Ctrl-C to stop.\n")
    raise typer.Exit(supervisor.watch())


def serve() -> None:
    """Run the gateway alone (the supervisor runs it for you)."""
    import uvicorn

    from bot.api.app import MAX_WS_MESSAGE_BYTES
    from bot.api.log_config import log_config
    from bot.open_files import raise_open_files_limit

    settings = get_settings()
    refuse_missing_secrets(settings)
    raise_open_files_limit()  # every open chat socket holds a file descriptor
    uvicorn.run(
        "bot.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=log_config(settings.log_level),  # the correlation id in every line
        log_level=settings.log_level,
        proxy_headers=False,  # the app applies MATCHDAY_TRUSTED_PROXIES itself
        # Longer than the idle timeout of common proxies and HTTP clients (60 s), so the
        # gateway never closes a kept-alive connection just as a client reuses it.
        timeout_keep_alive=65,
        ws_max_size=MAX_WS_MESSAGE_BYTES,  # the tests' servers run with the same cap
    )


def show_config() -> None:
    """Print the settings in force (secrets and passwords inside URLs masked)."""
    settings = get_settings()
    for name, field in type(settings).model_fields.items():
        alias = field.alias or name
        typer.echo(f"{alias}={masked(alias, getattr(settings, name))}")


def masked(name: str, value: object) -> object:
    """A setting as `desk config` shows it: secrets cut short, URL passwords hidden."""
    if isinstance(value, str) and value and any(w in name for w in ("KEY", "TOKEN", "SECRET")):
        return value[:4] + "…"
    if isinstance(value, str) and "://" in value and "@" in value:
        try:
            return make_url(value).render_as_string(hide_password=True)
        except ArgumentError:
            return value.split("://", 1)[0] + "://***"
    return value


def refuse_missing_secrets(settings: Settings) -> None:
    """Stop start-up when a secret the desk relies on is empty (typer exit code 2)."""
    missing = settings.missing_secrets()
    if missing:
        typer.secho(
            f"refusing to start: {', '.join(missing)} empty; run `desk prepare` or set them",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
