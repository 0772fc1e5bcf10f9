"""Dependencies shared by the routes: authentication and the services.

They are `async def` although they never wait: FastAPI runs a plain `def` dependency
in its threadpool, a thread hand-off per dependency per request.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.api.errors import ApiError
from bot.conversations.service import ConversationService
from bot.rasa.client import RasaClient
from core.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="The server-to-server key, MATCHDAY_API_KEY.")


async def app_settings(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def require_api_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: Annotated[Settings, Depends(app_settings)],
) -> None:
    """Server-to-server calls carry `Authorization: Bearer $MATCHDAY_API_KEY`."""
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "Missing bearer token (Authorization header).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.api_key
    if not expected or not secrets.compare_digest(
        credentials.credentials.encode(), expected.encode()
    ):
        raise ApiError(
            401, "unauthorized", "Invalid API key.", headers={"WWW-Authenticate": "Bearer"}
        )


async def db_sessions(request: Request) -> sessionmaker[Session]:
    """Session factory of the app's database (use `with sessions.begin() as s:`)."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def db_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def conversation_service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.conversations
    return service


async def rasa_client(request: Request) -> RasaClient:
    client: RasaClient = request.app.state.rasa
    return client


ApiKey = Depends(require_api_key)
Conversations = Annotated[ConversationService, Depends(conversation_service)]
Rasa = Annotated[RasaClient, Depends(rasa_client)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
Sessions = Annotated[sessionmaker[Session], Depends(db_sessions)]
DbEngine = Annotated[Engine, Depends(db_engine)]
