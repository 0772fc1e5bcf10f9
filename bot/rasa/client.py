"""Async HTTP client for the Rasa server (the gateway channel, NLU parse, status, domain)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx

from bot.rasa.auth import RasaAuth


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer, or answered with an error."""


@dataclass(frozen=True)
class AssistantAnswer:
    """The assistant's messages for a fan message, and what its tracker says of the turn:
    `{"intent", "confidence", "active_loop", "slots"}` (components/channel.py), or None
    when Rasa could not say."""

    messages: list[dict[str, Any]]
    turn: dict[str, Any] | None = None


def server_for(conversation_id: str, servers: int) -> int:
    """Which of `servers` Rasa servers holds a conversation: always the same one, so its
    messages are processed in order by one server, whose tracker cache stays warm
    (components/tracker_store.py)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % servers  # CRC32's low bits repeat on near ids


class RasaClient:
    """Talks to the desk's Rasa servers over HTTP (`base_urls`: one or several)."""

    def __init__(self, base_urls: str | list[str], token: str, timeout_s: float = 30.0) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("at least one Rasa server is needed")
        self._servers = [
            httpx.AsyncClient(
                base_url=url,
                timeout=timeout_s,
                limits=httpx.Limits(max_connections=100),
                auth=RasaAuth(token),
            )
            for url in urls
        ]
        self._domain: dict[str, Any] | None = None

    @property
    def urls(self) -> list[str]:
        return [str(server.base_url) for server in self._servers]

    async def aclose(self) -> None:
        for server in self._servers:
            await server.aclose()

    async def _request(self, method: str, path: str, server: int = 0, **kwargs: Any) -> Any:
        try:
            response = await self._servers[server].request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{method} {path}: {exc}") from exc

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> AssistantAnswer:
        """Send a fan's message through the gateway's channel: the bot's messages and the
        turn's intent, form and slots."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        server = server_for(sender, len(self._servers))
        result = await self._request("POST", "/webhooks/gateway/webhook", server, json=body)
        if not isinstance(result, dict) or not isinstance(result.get("messages"), list):
            raise RasaUnavailable(
                f"POST /webhooks/gateway/webhook: unexpected answer {result!r:.200}"
            )
        turn = result.get("turn")
        return AssistantAnswer(list(result["messages"]), turn if isinstance(turn, dict) else None)

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent ranking and entities, no conversation state touched."""
        result: dict[str, Any] = await self._request("POST", "/model/parse", json={"text": text})
        return result

    async def status(self, server: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/status", server)
        return result

    async def domain(self) -> dict[str, Any]:
        """The loaded model's domain (cached: responses are read for triage replies)."""
        if self._domain is None:
            self._domain = await self._request(
                "GET", "/domain", headers={"Accept": "application/json"}
            )
        return self._domain or {}
