"""Liveness and readiness probes."""

from __future__ import annotations

import httpx
from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from bot.api.deps import DbEngine, Rasa, SettingsDep
from bot.rasa.client import RasaUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The gateway process is alive."""
    return {"status": "ok"}


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/readyz")
async def readyz(rasa: Rasa, settings: SettingsDep, engine: DbEngine) -> JSONResponse:
    """200 only when every Rasa server has a model, the action server answers and the
    database is up; 503 naming the part that is not."""
    checks: dict[str, str] = {}
    for server, url in enumerate(rasa.urls):
        name = "rasa" if server == 0 else f"rasa_{server + 1}"  # rasa, rasa_2 ...
        try:
            status = await rasa.status(server)
            checks[name] = "ok" if status.get("model_file") else "no model loaded"
        except RasaUnavailable:
            checks[name] = f"unreachable ({url})"
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(
                f"{settings.actions_url}/health",
                headers={"Authorization": f"Bearer {settings.actions_secret}"},
            )
        checks["action_server"] = "ok" if response.status_code == 200 else "unhealthy"
    except httpx.HTTPError:
        checks["action_server"] = "unreachable"
    checks["database"] = "ok" if await to_thread.run_sync(_database_ok, engine) else "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
