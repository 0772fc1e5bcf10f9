"""`desk prepare`, `desk run`, `desk serve`: set up and start the whole desk."""

from __future__ import annotations

import secrets
import sys
import time

import typer

from bot.database import migrate
from bot.rasa.environment import MODEL_FILE, RASA_BIN, rasa_env
from bot.settings import ROOT, VAR, get_settings
from bot.supervisor import PortTaken, Service, Supervisor

ENV_FILE = ROOT / ".env"


def _ensure_secret(variable: str, purpose: str) -> str | None:
    """Generate `variable` into .env when it is set nowhere; return the new value."""
    settings = get_settings()
    current = {
        "MATCHDAY_API_KEY": settings.api_key,
        "MATCHDAY_RASA_TOKEN": settings.rasa_token,
        "MATCHDAY_MEDIA_SECRET": settings.media_secret,
    }
    if current[variable]:
        return None
    value = secrets.token_urlsafe(32)
    with ENV_FILE.open("a", encoding="utf-8") as f:
        f.write(f"# {purpose} (generated {time.strftime('%Y-%m-%d')})\n{variable}={value}\n")
    ENV_FILE.chmod(0o600)
    get_settings.cache_clear()
    return value


def prepare() -> None:
    """Create what is missing: secrets, database schema, demo data, trained models."""
    from bot.cli.knowledge import build as knowledge_build
    from bot.cli.rasa import train
    from bot.database import get_sessionmaker
    from bot.knowledge_base import SharedRetriever, index_is_current, sync_published
    from knowledge.config import DEFAULT_CONFIG as DEFAULT_KNOWLEDGE_CONFIG
    from ticketing.demo import load_demo_data

    VAR.mkdir(parents=True, exist_ok=True)
    api_key = _ensure_secret("MATCHDAY_API_KEY", "server-to-server API key")
    if api_key:
        typer.secho(f"generated MATCHDAY_API_KEY into .env: {api_key}", fg="yellow")
    _ensure_secret("MATCHDAY_RASA_TOKEN", "token for the internal Rasa HTTP API")
    _ensure_secret("MATCHDAY_MEDIA_SECRET", "key signing expiring links to QR images")
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


def services() -> list[Service]:
    """The three processes of the desk, with their commands and readiness checks."""
    settings = get_settings()
    log_dir = settings.log_dir
    python = sys.executable
    env = rasa_env(settings)
    return [
        Service(
            name="action server",
            argv=[
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(settings.actions_port),
            ],
            port=settings.actions_port,
            port_variable="MATCHDAY_ACTIONS_PORT",
            ready_url=f"{settings.actions_url}/health",
            env=env,
            log_path=log_dir / "actions.log",
            cwd=ROOT,
        ),
        Service(
            name="rasa server",
            argv=[
                str(RASA_BIN),
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                str(settings.rasa_port),
                "-m",
                str(MODEL_FILE),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--auth-token",
                settings.rasa_token,
            ],
            port=settings.rasa_port,
            port_variable="MATCHDAY_RASA_PORT",
            ready_url=f"{settings.rasa_url}/status?token={settings.rasa_token}",
            env=env,
            log_path=log_dir / "rasa.log",
            cwd=ROOT,
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
    if not MODEL_FILE.exists() or not settings.api_key:
        typer.secho("The desk is not prepared: run `make run` (or `desk prepare`).", fg="red")
        raise typer.Exit(2)
    supervisor = Supervisor(services(), echo=typer.echo)
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

    settings = get_settings()
    uvicorn.run(
        "bot.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        # Longer than the idle timeout of common proxies and HTTP clients (60 s), so the
        # gateway never closes a kept-alive connection just as a client reuses it.
        timeout_keep_alive=65,
    )


def show_config() -> None:
    """Print the settings in force (secrets masked)."""
    for name, field in type(get_settings()).model_fields.items():
        value = getattr(get_settings(), name)
        alias = field.alias or name
        if any(word in alias for word in ("KEY", "TOKEN", "SECRET")) and value:
            value = value[:4] + "…"
        typer.echo(f"{alias}={value}")
