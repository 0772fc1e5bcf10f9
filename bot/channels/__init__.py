"""Channels: how fans reach the desk besides the REST API.

Each channel is a thin adapter over the one conversation service
(`bot/conversations/service.py`): routing, handoff and persistence are the same for all.

| channel  | package                   | conversation id     | customer (ticketing)  | `channel` |
|----------|---------------------------|---------------------|-----------------------|-----------|
| Telegram | `bot/channels/telegram/`  | `tg-<chat id>`      | `tg:<user id>`        | telegram  |
| widget   | `bot/channels/webchat/`   | random, unguessable | `web:<conversation>`  | web       |

Messages the desk sends outside a fan's turn (an agent's reply, a system notice, a
proactive message) are stored in the conversation and published on the handoff desk's
event bus as `Event("message", conversation_id, {"message": ...})`; each channel pushes
those of its own conversations to the fan.
"""
