"""`/console`: the sign-in page, the agents' desk and the supervisor view.

The pages are static; everything they show comes from the agent API. The desk and
supervisor pages themselves need a console session (401 / 403 otherwise), so an
unauthenticated visitor gets nothing but the sign-in form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bot.api.routes.agent_deps import principal_of
from bot.handoff.auth import Role
from bot.handoff.errors import HandoffError

STATIC = Path(__file__).resolve().parent / "static"
ASSETS: Final[dict[str, str]] = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "login.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/console", include_in_schema=False)


def _page(name: str, status: int = 200) -> HTMLResponse:
    html = (STATIC / name).read_text(encoding="utf-8")
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _refusal(status: int, text: str) -> HTMLResponse:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="2;url=/console/">'
        "<title>Matchday Desk console</title></head><body>"
        f'<p>{text} <a href="/console/">Sign in</a></p></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


async def _guarded(request: Request, page: str, role: Role) -> Response:
    try:
        principal, _ = await to_thread.run_sync(principal_of, request)
    except HandoffError:
        return _refusal(401, "Please sign in.")
    if not principal.at_least(role):
        return _refusal(403, f"This page is for the {role} role.")
    return _page(page)


@router.get("")
async def console_root() -> RedirectResponse:
    """`/console` → `/console/`."""
    return RedirectResponse("/console/", status_code=308)


@router.get("/")
async def sign_in_page() -> HTMLResponse:
    """The sign-in form."""
    return _page("index.html")


@router.get("/desk")
async def desk_page(request: Request) -> Response:
    """The agents' desk: queue, callbacks, conversation (401 without a session)."""
    return await _guarded(request, "desk.html", "agent")


@router.get("/supervisor")
async def supervisor_page(request: Request) -> Response:
    """Live queue, agents online, reassigning, drafts and audit (supervisor or admin)."""
    return await _guarded(request, "supervisor.html", "supervisor")


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    """The console's CSS and scripts (a fixed list; nothing else is served)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        return Response(status_code=404)
    return FileResponse(STATIC / name, media_type=media_type, headers=SECURITY_HEADERS)
