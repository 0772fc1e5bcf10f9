"""Async HTTP client for the Rasa server (the gateway channel, NLU parse, status, domain)."""

from __future__ import annotations

from typing import Any

import httpx

from bot.rasa.auth import RasaAuth


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer, or answered with an error."""


class RasaClient:
    """Talks to one Rasa server over HTTP."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=100),
            auth=RasaAuth(token),
        )
        self._domain: dict[str, Any] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{method} {path}: {exc}") from exc

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a fan's message through the gateway's channel; returns the bot's messages."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        result = await self._request("POST", "/webhooks/gateway/webhook", json=body)
        return list(result or [])

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent ranking and entities, no conversation state touched."""
        result: dict[str, Any] = await self._request("POST", "/model/parse", json={"text": text})
        return result

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/status")
        return result

    async def domain(self) -> dict[str, Any]:
        """The loaded model's domain (cached: responses are read for triage replies)."""
        if self._domain is None:
            self._domain = await self._request(
                "GET", "/domain", headers={"Accept": "application/json"}
            )
        return self._domain or {}
