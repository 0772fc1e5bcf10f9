"""The handoff queue and the conversation states it drives.

    bot ──escalate──▶ queued ──claim──▶ with_agent ──hand back──▶ bot
                         │                  └──────close────────▶ closed
                         └─(no agent online: stays bot, a callback is offered)

Every transition is one transaction (`write_session`) that updates the handoff row,
the conversation's status, the fan-facing system message and the audit log together,
so a restart at any moment loses nothing. Claims are `UPDATE handoffs ... WHERE
status = 'queued'` with a row count: of two agents claiming at the same instant,
exactly one wins (on SQLite the writers are also serialized).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.handoff import audit
from bot.handoff.agents import agent_named, online_agent_ids
from bot.handoff.auth import Principal
from bot.handoff.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.handoff.memory import KEEP_TURNS
from bot.handoff.models import OPEN_STATES, Agent, Callback, Handoff, RouterMemory
from bot.handoff.policy import Policy
from core.clock import utcnow
from core.db import read_session, write_session

RESOLUTIONS = ("resolved", "duplicate", "no_response", "other")


@dataclass(frozen=True)
class QueueItem:
    """A row of the console's queue view."""

    handoff_id: int
    conversation_id: str
    status: str
    priority: int
    profile: str | None
    language: str
    topic: str | None
    reason: str
    detail: str | None
    waiting_since: datetime
    owner: str | None


@dataclass(frozen=True)
class Escalation:
    """The result of escalating: queued with a position and wait, or no agent online."""

    handoff_id: int
    status: str  # "queued" | "no_agent" | "already_open"
    position: int
    estimated_wait_s: float
    item: QueueItem | None


@dataclass(frozen=True)
class Transition:
    """A state change made by an agent: what the fan was told, and the new owner."""

    conversation_id: str
    status: str
    owner_id: int | None
    owner: str | None
    language: str
    system_message: Message | None
    item: QueueItem | None


def _item(handoff: Handoff, owner: str | None) -> QueueItem:
    return QueueItem(
        handoff_id=handoff.id,
        conversation_id=handoff.conversation_id,
        status=handoff.status,
        priority=handoff.priority,
        profile=handoff.profile,
        language=handoff.language,
        topic=handoff.topic,
        reason=handoff.reason,
        detail=handoff.detail,
        waiting_since=handoff.queued_at,
        owner=owner,
    )


def username_of(session: Session, agent_id: int | None) -> str | None:
    """The username of agent `agent_id` (None for no agent or an unknown one)."""
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    return agent.username if agent else None


def _display_name(session: Session, agent_id: int) -> str:
    agent = session.get(Agent, agent_id)
    return agent.display_name if agent else "An agent"


def open_handoff(session: Session, conversation_id: str) -> Handoff | None:
    """The conversation's queued or claimed handoff, if any."""
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATES))
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def set_conversation_status(session: Session, conversation_id: str, status: str) -> None:
    """Set the conversation's status (in the caller's transaction)."""
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(status=status, updated_at=utcnow())
    )


def add_system_message(
    session: Session, conversation_id: str, text: str, reply_to: int | None = None
) -> Message:
    """Store a system message to the fan (in the caller's transaction) and return it."""
    message = Message(
        conversation_id=conversation_id, sender="system", text=text, reply_to=reply_to
    )
    session.add(message)
    session.flush()
    return message


def _reset_memory(session: Session, conversation_id: str) -> None:
    """After a hand back or close, the router counts misses from zero again."""
    row = session.get(RouterMemory, conversation_id)
    if row is not None:
        row.turns = [*(row.turns or []), {"reset": True}][-KEEP_TURNS:]
        row.awaiting_callback = False
        row.updated_at = utcnow()


class HandoffQueue:
    """Queue operations over the database, governed by the routing policy."""

    def __init__(self, sessions: sessionmaker[Session], policy: Policy) -> None:
        self.sessions = sessions
        self.policy = policy

    # --- reading --------------------------------------------------------------------------

    def position(self, session: Session, handoff: Handoff) -> int:
        """1-based place among queued conversations of the same language."""
        ahead = session.scalars(
            select(Handoff.id).where(
                Handoff.status == "queued",
                Handoff.language == handoff.language,
                Handoff.id != handoff.id,
                or_(
                    Handoff.priority > handoff.priority,
                    and_(
                        Handoff.priority == handoff.priority,
                        or_(
                            Handoff.queued_at < handoff.queued_at,
                            and_(Handoff.queued_at == handoff.queued_at, Handoff.id < handoff.id),
                        ),
                    ),
                ),
            )
        ).all()
        return len(ahead) + 1

    def recent_pickups_s(self, session: Session) -> list[float]:
        """Seconds from queued to claimed of the most recent claims (callbacks excluded)."""
        rows = session.execute(
            select(Handoff.queued_at, Handoff.claimed_at)
            .where(Handoff.claimed_at.is_not(None), Handoff.reason != "callback")
            .order_by(Handoff.claimed_at.desc())
            .limit(self.policy.queue.recent_pickups)
        ).all()
        return [
            max(0.0, (claimed - queued).total_seconds())
            for queued, claimed in rows
            if claimed is not None
        ]

    def estimated_wait_s(self, session: Session, position: int, agents_online: int) -> float:
        """Median recent pickup time for each round of online agents ahead of the fan."""
        pickups = self.recent_pickups_s(session)
        per_round = statistics.median(pickups) if pickups else self.policy.queue.default_pickup_s
        rounds = math.ceil(position / max(1, agents_online))
        return per_round * rounds

    def queue(self, principal: Principal, *, include_claimed: bool = False) -> list[QueueItem]:
        """Waiting conversations, most urgent first (only the agent's languages)."""
        states = OPEN_STATES if include_claimed else ("queued",)
        with read_session(self.sessions) as session:
            rows = session.scalars(
                select(Handoff)
                .where(Handoff.status.in_(states))
                .order_by(Handoff.priority.desc(), Handoff.queued_at, Handoff.id)
            ).all()
            return [
                _item(h, username_of(session, h.owner_id))
                for h in rows
                if principal.speaks(h.language)
            ]

    def lengths(self) -> dict[str, int]:
        """How many fans wait for a person (`handoff`: queued, all languages) and how many
        callback requests are open (`callbacks`), for the desk's metrics."""
        with read_session(self.sessions) as session:
            queued = session.scalar(
                select(func.count()).select_from(Handoff).where(Handoff.status == "queued")
            )
            callbacks = session.scalar(
                select(func.count()).select_from(Callback).where(Callback.status == "open")
            )
        return {"handoff": int(queued or 0), "callbacks": int(callbacks or 0)}

    def mine(self, principal: Principal) -> list[QueueItem]:
        """Conversations the agent holds now."""
        with read_session(self.sessions) as session:
            rows = session.scalars(
                select(Handoff)
                .where(Handoff.status == "with_agent", Handoff.owner_id == principal.agent_id)
                .order_by(Handoff.claimed_at)
            ).all()
            return [_item(h, principal.username) for h in rows]

    # --- escalating -----------------------------------------------------------------------

    def escalate(
        self,
        conversation_id: str,
        *,
        reason: str,
        detail: str,
        profile: str | None,
        language: str,
        topic: str | None,
        reply_to: int | None,
    ) -> tuple[Escalation, list[Message]]:
        """Queue the conversation (or record that no agent is online); tell the fan."""
        now = utcnow()
        with write_session(self.sessions) as session:
            existing = open_handoff(session, conversation_id)
            if existing is not None:
                return Escalation(existing.id, "already_open", 0, 0.0, None), []
            online = online_agent_ids(session, self.policy.queue.presence_timeout_s)
            handoff = Handoff(
                conversation_id=conversation_id,
                status="queued" if online else "no_agent",
                reason=reason,
                detail=detail[:255] or None,
                priority=self.policy.priority_of(reason, profile),
                profile=profile,
                language=language,
                topic=topic,
                queued_at=now,
                ended_at=None if online else now,
            )
            session.add(handoff)
            session.flush()
            if not online:
                text = self.policy.text("no_agent", language)
                message = add_system_message(session, conversation_id, text, reply_to)
                message.buttons = [
                    {
                        "title": self.policy.text("leave_message_button", language),
                        "payload": LEAVE_MESSAGE,
                    },
                    {
                        "title": self.policy.text("continue_button", language),
                        "payload": CONTINUE_WITH_BOT,
                    },
                ]
                return Escalation(handoff.id, "no_agent", 0, 0.0, None), [message]
            set_conversation_status(session, conversation_id, "queued")
            position = self.position(session, handoff)
            skilled = online_agent_ids(session, self.policy.queue.presence_timeout_s, language)
            wait = self.estimated_wait_s(session, position, len(skilled))
            minutes = max(1, math.ceil(wait / 60))
            text = self.policy.text(
                "queued", language, position=position, ahead=position - 1, minutes=minutes
            )
            message = add_system_message(session, conversation_id, text, reply_to)
            escalation = Escalation(handoff.id, "queued", position, wait, _item(handoff, None))
            return escalation, [message]

    # --- agent actions --------------------------------------------------------------------

    def claim(self, conversation_id: str, principal: Principal, ip: str | None) -> Transition:
        """Take a queued conversation; `Conflict` when another agent has it."""
        now = utcnow()
        with write_session(self.sessions) as session:
            handoff = open_handoff(session, conversation_id)
            if handoff is None:
                self._require_conversation(session, conversation_id)
                raise Conflict("The conversation is not waiting for an agent.", code="not_queued")
            if handoff.status == "with_agent":
                if handoff.owner_id == principal.agent_id:
                    return self._transition(session, handoff, None)
                owner = username_of(session, handoff.owner_id)
                raise Conflict(f"Already claimed by {owner}.", code="already_claimed")
            if not principal.speaks(handoff.language):
                raise Forbidden(
                    f"The fan writes {handoff.language}; you are not set up for it.",
                    code="language_skill",
                )
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(Handoff)
                    .where(Handoff.id == handoff.id, Handoff.status == "queued")
                    .values(status="with_agent", owner_id=principal.agent_id, claimed_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:
                raise Conflict("Another agent claimed it first.", code="already_claimed")
            session.refresh(handoff)
            set_conversation_status(session, conversation_id, "with_agent")
            text = self.policy.text("agent_joined", handoff.language, agent=principal.display_name)
            message = add_system_message(session, conversation_id, text)
            audit.record(
                session,
                "claim",
                username=principal.username,
                agent_id=principal.agent_id,
                conversation_id=conversation_id,
                ip=ip,
                waited_s=round((now - handoff.queued_at).total_seconds(), 3),
            )
            return self._transition(session, handoff, message)

    def assign(
        self, conversation_id: str, username: str, principal: Principal, ip: str | None
    ) -> Transition:
        """Supervisor: give an open conversation to `username` (reassign or claim for them)."""
        principal.require("supervisor")
        now = utcnow()
        with write_session(self.sessions) as session:
            handoff = open_handoff(session, conversation_id)
            if handoff is None:
                self._require_conversation(session, conversation_id)
                raise Conflict("The conversation is not with the queue.", code="not_queued")
            target = agent_named(session, username)
            previous = handoff.owner_id
            if previous == target.id:
                return self._transition(session, handoff, None)
            handoff.owner_id = target.id
            handoff.status = "with_agent"
            handoff.claimed_at = handoff.claimed_at or now
            set_conversation_status(session, conversation_id, "with_agent")
            text = self.policy.text("agent_joined", handoff.language, agent=target.display_name)
            message = add_system_message(session, conversation_id, text)
            audit.record(
                session,
                "reassign",
                username=principal.username,
                agent_id=principal.agent_id,
                conversation_id=conversation_id,
                ip=ip,
                previous=username_of(session, previous),
                to=target.username,
            )
            return self._transition(session, handoff, message)

    def hand_back(self, conversation_id: str, principal: Principal, ip: str | None) -> Transition:
        """Give the conversation back to the bot (owner, or a supervisor)."""
        return self._finish(conversation_id, principal, ip, "handed_back", None, None)

    def close(
        self,
        conversation_id: str,
        principal: Principal,
        ip: str | None,
        resolution: str,
        note: str | None,
    ) -> Transition:
        """Close the conversation with a resolution reason (owner, or a supervisor)."""
        if resolution not in RESOLUTIONS:
            raise InvalidInput(f"resolution: one of {', '.join(RESOLUTIONS)}", field="resolution")
        return self._finish(conversation_id, principal, ip, "closed", resolution, note)

    def _finish(
        self,
        conversation_id: str,
        principal: Principal,
        ip: str | None,
        outcome: str,
        resolution: str | None,
        note: str | None,
    ) -> Transition:
        with write_session(self.sessions) as session:
            handoff = self.owned(session, conversation_id, principal)
            name = _display_name(session, handoff.owner_id) if handoff.owner_id else "The agent"
            handoff.status = outcome
            handoff.ended_at = utcnow()
            handoff.resolution = resolution
            handoff.note = note
            status = "bot" if outcome == "handed_back" else "closed"
            set_conversation_status(session, conversation_id, status)
            _reset_memory(session, conversation_id)
            key = "handed_back" if outcome == "handed_back" else "closed"
            message = add_system_message(
                session, conversation_id, self.policy.text(key, handoff.language, agent=name)
            )
            audit.record(
                session,
                "handback" if outcome == "handed_back" else "close",
                username=principal.username,
                agent_id=principal.agent_id,
                conversation_id=conversation_id,
                ip=ip,
                **({"resolution": resolution} if resolution else {}),
            )
            return Transition(conversation_id, status, None, None, handoff.language, message, None)

    def owned(self, session: Session, conversation_id: str, principal: Principal) -> Handoff:
        """The open handoff, if `principal` owns it or is a supervisor; else 403/404/409."""
        handoff = open_handoff(session, conversation_id)
        if handoff is None:
            self._require_conversation(session, conversation_id)
            raise Conflict("No agent holds this conversation.", code="not_with_agent")
        if principal.at_least("supervisor"):
            return handoff
        if handoff.status != "with_agent" or handoff.owner_id != principal.agent_id:
            raise Forbidden("Another agent holds this conversation.", code="not_owner")
        return handoff

    def post_agent_message(
        self, conversation_id: str, text: str, principal: Principal, ip: str | None
    ) -> tuple[Message, Handoff]:
        """Store an agent's reply to the fan (owner, or a supervisor)."""
        with write_session(self.sessions) as session:
            handoff = self.owned(session, conversation_id, principal)
            if handoff.status != "with_agent":
                raise Conflict("Claim the conversation before replying.", code="not_with_agent")
            message = Message(conversation_id=conversation_id, sender="agent", text=text)
            session.add(message)
            session.flush()
            audit.record(
                session,
                "reply",
                username=principal.username,
                agent_id=principal.agent_id,
                conversation_id=conversation_id,
                ip=ip,
                message_id=message.id,
                length=len(text),
            )
            return message, handoff

    def _require_conversation(self, session: Session, conversation_id: str) -> Conversation:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(f"No conversation {conversation_id!r}.")
        return conversation

    def _transition(
        self, session: Session, handoff: Handoff, message: Message | None
    ) -> Transition:
        owner = username_of(session, handoff.owner_id)
        return Transition(
            handoff.conversation_id,
            "with_agent" if handoff.status == "with_agent" else handoff.status,
            handoff.owner_id,
            owner,
            handoff.language,
            message,
            _item(handoff, owner),
        )


# Button payloads of the "no agent online" offer; handled by the desk, never sent to Rasa.
LEAVE_MESSAGE = "/leave_message"
CONTINUE_WITH_BOT = "/continue_with_bot"
