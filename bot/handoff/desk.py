"""`HandoffDesk`: the one object the gateway holds for human handoff.

It is the conversation service's `HandoffHook` (every fan message, every channel)
and the service behind the agent API and the console: it runs the router, drives
the queue, and publishes what happened on the event bus for the consoles'
WebSockets. Agent actions are synchronous (database work; the routes run them in
worker threads); the hook methods are async.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.models import Conversation, Message
from bot.conversations.service import Button, FanTurn, Outcome, Reply, Status, customer_id
from bot.handoff import audit, callbacks, drafts, memory, notes
from bot.handoff.auth import Principal
from bot.handoff.canned import CannedReply, load_canned
from bot.handoff.context import Nlu, TrackerReader, nlu_of_turn, orders_for
from bot.handoff.errors import Forbidden, InvalidInput, NotFound
from bot.handoff.events import Event, EventBus, iso
from bot.handoff.models import Handoff
from bot.handoff.policy import Policy, load_policy
from bot.handoff.queue import (
    CONTINUE_WITH_BOT,
    LEAVE_MESSAGE,
    HandoffQueue,
    QueueItem,
    Transition,
    add_system_message,
    open_handoff,
    set_conversation_status,
    username_of,
)
from bot.handoff.router import RESET, Decision, Signals, decide, is_command
from bot.handoff.schemas import (
    AgentMessage,
    AuditRecord,
    ClaimOut,
    ConversationContext,
    ConversationDetail,
    ConversationNote,
    HandoffDetail,
    OrderSummary,
    QueueEntry,
    RecentIntent,
)
from bot.rasa.client import AssistantAnswer
from core import metrics
from core.db import read_session, write_session
from core.settings import Settings
from knowledge.script import to_simplified
from knowledge.topics import topic_of

log = logging.getLogger("matchday.handoff")
_CONTROL_TOPICS = frozenset(
    {"greet", "goodbye", "thanks", "faq_other", "out_of_scope", "talk_to_human"}
)
RECENT_INTENTS = 5
TRANSCRIPT_LIMIT = 500


def message_json(message: Message) -> dict[str, Any]:
    """A stored message as the console's and the widget's WebSockets send it."""
    return AgentMessage.of(message).model_dump(mode="json")


def item_json(item: QueueItem) -> dict[str, Any]:
    """A queue row as the console's WebSocket sends it."""
    return QueueEntry.model_validate(item).model_dump(mode="json")


def _reply(message: Message) -> Reply:
    buttons = [Button(b["title"], b["payload"]) for b in message.buttons or []]
    return Reply("system", message.text, buttons, message.image)


def _profile_of(policy: Policy, metadata: dict[str, Any] | None) -> str | None:
    value = (metadata or {}).get("profile")
    return value if isinstance(value, str) and value in policy.profiles else None


def _dialogue_signal(raw: list[dict[str, Any]], key: str) -> str | None:
    """What the dialogue reported under `key` in a custom reply ("handoff", "miss")."""
    for message in raw:
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get(key), str):
            return str(custom[key])
    return None


@dataclass
class _Early:
    """What `before_assistant` decided inside its transaction."""

    kind: str  # "to_agent" | "reply" | "command"
    status: Status = "bot"
    messages: list[Message] = field(default_factory=list)
    event: Event | None = None
    profile: str | None = None


class HandoffDesk:
    """Router, queue, agents' actions and live events of the human handoff."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: Policy,
        canned: list[CannedReply],
        tracker: TrackerReader,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.canned = canned
        self.tracker = tracker
        self.queue = HandoffQueue(sessions, policy)
        self.bus = EventBus()
        self.on_knowledge_published: list[Callable[[drafts.DraftEntry], None]] = []

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker[Session]) -> HandoffDesk:
        """Load and validate the routing policy and canned replies (fails start-up if wrong)."""
        return cls(
            sessions,
            load_policy(),
            load_canned(),
            TrackerReader(settings.rasa_urls, settings.rasa_token),
        )

    async def aclose(self) -> None:
        """Release the HTTP client used to read Rasa trackers."""
        await self.tracker.aclose()

    # --- the conversation service's hook -----------------------------------------------

    async def before_assistant(self, turn: FanTurn) -> Outcome | None:
        """While queued or with an agent the bot is silent and the agent gets the message;
        `/human`, the callback offer's buttons and a left message are handled here."""
        early = await to_thread.run_sync(self._before, turn)
        if early is None:
            return None
        if early.event is not None:
            self.bus.publish(early.event)
        if early.kind == "command":
            return await to_thread.run_sync(
                self._escalate_turn,
                turn,
                "explicit_request",
                f"command {turn.text.strip().split()[0]}",
                early.profile,
                None,
                [],
            )
        return Outcome(turn.conversation_id, early.status, [_reply(m) for m in early.messages])

    async def after_assistant(
        self, turn: FanTurn, answer: AssistantAnswer, replies: list[Reply]
    ) -> Outcome | None:
        """Run the router on the turn; on escalation, queue and tell the fan."""
        nlu = nlu_of_turn(answer.turn)
        if nlu is None:  # Rasa did not say (an older server): read its tracker
            nlu = await self.tracker.latest(turn.conversation_id)
        decision, topic = await to_thread.run_sync(
            self._remember_turn,
            turn,
            nlu,
            _dialogue_signal(answer.messages, "handoff"),
            _dialogue_signal(answer.messages, "miss"),
        )
        if not decision.escalate:
            return None
        assert decision.reason is not None
        return await to_thread.run_sync(
            self._escalate_turn,
            turn,
            decision.reason,
            decision.detail,
            decision.profile,
            topic,
            replies,
        )

    def _before(self, turn: FanTurn) -> _Early | None:
        cid = turn.conversation_id
        with write_session(self.sessions) as session:
            if turn.status in ("queued", "with_agent"):
                handoff = open_handoff(session, cid)
                message = session.get(Message, turn.message_id)
                assert message is not None
                event = Event(
                    "message",
                    cid,
                    {"message": message_json(message)},
                    owner_id=handoff.owner_id if handoff else None,
                    language=turn.language,
                )
                return _Early("to_agent", turn.status, [], event)
            if turn.status == "closed":
                set_conversation_status(session, cid, "bot")  # a fan writing again starts afresh
            state = memory.load(session, cid)
            state.customer = customer_id(turn.channel, cid, turn.metadata)
            state.profile = _profile_of(self.policy, turn.metadata) or state.profile
            command = turn.text.strip().lower()
            lang = turn.language
            if is_command(self.policy, turn.text):
                memory.save(session, cid, state)
                return _Early("command", profile=state.profile)
            if command in (LEAVE_MESSAGE, CONTINUE_WITH_BOT):
                state.awaiting_callback = command == LEAVE_MESSAGE
                memory.save(session, cid, state)
                key = "leave_message_prompt" if state.awaiting_callback else "continue"
                text = self.policy.text(key, lang)
                return _Early(
                    "reply", messages=[add_system_message(session, cid, text, turn.message_id)]
                )
            if state.awaiting_callback:
                state.awaiting_callback = False
                memory.save(session, cid, state)
                reason = session.scalar(
                    select(Handoff.reason)
                    .where(Handoff.conversation_id == cid, Handoff.status == "no_agent")
                    .order_by(Handoff.id.desc())
                    .limit(1)
                )
                row = callbacks.leave(session, cid, lang, reason or "explicit_request", turn.text)
                text = self.policy.text("callback_saved", lang)
                message = add_system_message(session, cid, text, turn.message_id)
                event = Event(
                    "callback",
                    cid,
                    {"action": "added", "callback": {"id": row.id, "text": row.text}},
                    language=lang,
                )
                return _Early("reply", messages=[message], event=event)
            memory.save(session, cid, state)
        return None

    def _remember_turn(
        self, turn: FanTurn, nlu: Nlu | None, dialogue_reason: str | None, miss: str | None
    ) -> tuple[Decision, str | None]:
        cid = turn.conversation_id
        with write_session(self.sessions) as session:
            state = memory.load(session, cid)
            signals = Signals(
                text=to_simplified(turn.text),  # the policy's Chinese keywords are simplified
                language=turn.language,
                intent=nlu.intent if nlu else None,
                confidence=nlu.confidence if nlu else None,
                dialogue_reason=dialogue_reason,
                profile=_profile_of(self.policy, turn.metadata),
                in_form=nlu is not None and self._in_task(nlu),
                dialogue_miss=miss,
            )
            decision = decide(self.policy, signals, state.turns, state.profile)
            state.turns.append(decision.turn)
            topic = self._topic(state.turns)
            if decision.escalate:
                state.turns.append(RESET)  # counting starts again after the handoff
            state.profile = decision.profile
            memory.save(session, cid, state)
        return decision, topic

    def _in_task(self, nlu: Nlu) -> bool:
        """A form asks, or a purchase, refund or change waits for the fan's answer."""
        return nlu.active_form is not None or any(
            nlu.slots.get(name) for name in self.policy.task_slots
        )

    @staticmethod
    def _topic(turns: list[dict[str, Any]]) -> str | None:
        for turn in reversed(turns):
            intent = turn.get("intent")
            if intent and not turn.get("miss") and not turn.get("low"):
                topic = topic_of(str(intent))
                if topic not in _CONTROL_TOPICS:
                    return topic
        return None

    def _escalate_turn(
        self,
        turn: FanTurn,
        reason: str,
        detail: str,
        profile: str | None,
        topic: str | None,
        replies: list[Reply],
    ) -> Outcome:
        escalation, messages = self.queue.escalate(
            turn.conversation_id,
            reason=reason,
            detail=detail,
            profile=profile,
            language=turn.language,
            topic=topic,
            reply_to=turn.message_id,
        )
        log.info(
            "conversation %s escalated (%s: %s) -> %s",
            turn.conversation_id,
            reason,
            detail,
            escalation.status,
        )
        if escalation.status != "already_open":
            metrics.count_escalation(reason, escalation.status)
        status: Status = "queued" if escalation.status == "queued" else "bot"
        if escalation.item is not None:
            self.bus.publish(
                Event(
                    "queue",
                    turn.conversation_id,
                    {"action": "added", "item": item_json(escalation.item)},
                    language=turn.language,
                )
            )
        return Outcome(turn.conversation_id, status, [*replies, *(_reply(m) for m in messages)])

    def fan_typing(self, conversation_id: str) -> None:
        """Channels call this while the fan types; the agent holding the chat sees it."""
        with read_session(self.sessions) as session:
            handoff = open_handoff(session, conversation_id)
        if handoff is not None and handoff.status == "with_agent":
            self.bus.publish(
                Event(
                    "typing",
                    conversation_id,
                    {"who": "fan"},
                    owner_id=handoff.owner_id,
                    language=handoff.language,
                )
            )

    # --- agent actions ----------------------------------------------------------------------

    def _publish_transition(self, transition: Transition, action: str) -> None:
        if transition.system_message is not None:
            self.bus.publish(
                Event(
                    "message",
                    transition.conversation_id,
                    {"message": message_json(transition.system_message)},
                    owner_id=transition.owner_id,
                    language=transition.language,
                )
            )
        self.bus.publish(
            Event(
                "status",
                transition.conversation_id,
                {"status": transition.status, "owner": transition.owner, "action": action},
                owner_id=transition.owner_id,
                language=transition.language,
            )
        )
        self.bus.publish(
            Event(
                "queue",
                transition.conversation_id,
                {"action": action, "owner": transition.owner},
                language=transition.language,
            )
        )

    def claim(self, principal: Principal, conversation_id: str, ip: str | None) -> Transition:
        """Claim a queued conversation (409 when someone else has it)."""
        transition = self.queue.claim(conversation_id, principal, ip)
        self._publish_transition(transition, "claimed")
        return transition

    def assign(
        self, principal: Principal, conversation_id: str, username: str, ip: str | None
    ) -> Transition:
        """Supervisor: give the conversation to another agent."""
        transition = self.queue.assign(conversation_id, username, principal, ip)
        self._publish_transition(transition, "assigned")
        return transition

    def hand_back(self, principal: Principal, conversation_id: str, ip: str | None) -> Transition:
        """Give the conversation back to the bot."""
        transition = self.queue.hand_back(conversation_id, principal, ip)
        self._publish_transition(transition, "handed_back")
        return transition

    def close(
        self,
        principal: Principal,
        conversation_id: str,
        resolution: str,
        note: str | None,
        ip: str | None,
    ) -> Transition:
        """Close the conversation with a resolution."""
        transition = self.queue.close(conversation_id, principal, ip, resolution, note)
        self._publish_transition(transition, "closed")
        return transition

    def reply(
        self, principal: Principal, conversation_id: str, text: str, ip: str | None
    ) -> AgentMessage:
        """Send the agent's message to the fan; returns the stored message."""
        message, handoff = self.queue.post_agent_message(conversation_id, text, principal, ip)
        body = AgentMessage.of(message)
        self.bus.publish(
            Event(
                "message",
                conversation_id,
                {"message": body.model_dump(mode="json"), "agent": principal.username},
                owner_id=handoff.owner_id,
                language=handoff.language,
            )
        )
        return body

    def add_note(
        self, principal: Principal, conversation_id: str, text: str, ip: str | None
    ) -> notes.NoteView:
        """An internal note (owner or supervisor)."""
        with write_session(self.sessions) as session:
            handoff = self._viewable(session, principal, conversation_id)
            note = notes.add_note(session, conversation_id, text, principal, ip)
        self.bus.publish(
            Event(
                "note",
                conversation_id,
                {"note": {"id": note.id, "author": note.author, "text": note.text}},
                owner_id=handoff.owner_id if handoff else None,
                language=handoff.language if handoff else None,
            )
        )
        return note

    def agent_typing(self, principal: Principal, conversation_id: str) -> None:
        """Tell the fan's channel (and supervisors) that the agent is typing."""
        with read_session(self.sessions) as session:
            handoff = self.queue.owned(session, conversation_id, principal)
        self.bus.publish(
            Event(
                "typing",
                conversation_id,
                {"who": "agent", "agent": principal.username},
                owner_id=handoff.owner_id,
                language=handoff.language,
            )
        )

    def take_callback(self, principal: Principal, callback_id: int, ip: str | None) -> ClaimOut:
        """Take a callback request; the agent now holds the conversation."""
        view, _, message = callbacks.take(self.sessions, self.policy, callback_id, principal, ip)
        transition = Transition(
            view.conversation_id,
            "with_agent",
            principal.agent_id,
            principal.username,
            view.language,
            message,
            None,
        )
        self._publish_transition(transition, "claimed")
        self.bus.publish(
            Event(
                "callback",
                view.conversation_id,
                {"action": "taken", "callback": {"id": view.id}},
                language=view.language,
            )
        )
        return ClaimOut(id=view.conversation_id, status="with_agent", owner=principal.username)

    def create_draft(
        self,
        principal: Principal,
        *,
        question: str,
        answer: str,
        language: str,
        topic: str | None,
        conversation_id: str | None,
        ip: str | None,
    ) -> drafts.DraftEntry:
        """Save an FAQ draft."""
        return drafts.create_draft(
            self.sessions,
            principal,
            question=question,
            answer=answer,
            language=language,
            topic=topic,
            conversation_id=conversation_id,
            ip=ip,
        )

    def approve_draft(
        self,
        principal: Principal,
        draft_id: int,
        *,
        answer_en: str | None,
        answer_zh: str | None,
        topic: str | None,
        ip: str | None,
    ) -> drafts.DraftEntry:
        """Supervisor: publish a draft, then tell every `on_knowledge_published` callback."""
        entry = drafts.approve_draft(
            self.sessions,
            principal,
            draft_id,
            answer_en=answer_en,
            answer_zh=answer_zh,
            topic=topic,
            ip=ip,
        )
        for callback in list(self.on_knowledge_published):
            try:
                callback(entry)
            except Exception:  # a broken subscriber must not undo the approval
                log.exception("knowledge publish callback %r failed", callback)
        return entry

    # --- reading ------------------------------------------------------------------------

    def _viewable(
        self, session: Session, principal: Principal, conversation_id: str
    ) -> Handoff | None:
        """The open handoff if `principal` may see the conversation, else `Forbidden`."""
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(f"No conversation {conversation_id!r}.")
        handoff = open_handoff(session, conversation_id)
        if principal.at_least("supervisor"):
            return handoff
        if handoff is not None and handoff.owner_id == principal.agent_id:
            return handoff
        if handoff is not None and handoff.status == "queued":
            if principal.speaks(handoff.language):
                return handoff
            raise Forbidden("Not set up for this language.", code="language_skill")
        if handoff is None:
            held_before = session.scalar(
                select(Handoff.id).where(
                    Handoff.conversation_id == conversation_id,
                    Handoff.owner_id == principal.agent_id,
                )
            )
            if held_before is not None:
                return None
        raise Forbidden("Another agent holds this conversation.", code="not_owner")

    def conversation(self, principal: Principal, conversation_id: str) -> ConversationDetail:
        """Transcript, owner, notes, the router's last intents and the fan's orders."""
        with read_session(self.sessions) as session:
            handoff = self._viewable(session, principal, conversation_id)
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            rows = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id.desc())
                .limit(TRANSCRIPT_LIMIT)
            ).all()
            state = memory.load(session, conversation_id)
            customer = state.customer or customer_id(conversation.channel, conversation_id, None)
            orders = orders_for(session, customer)
            owner = None
            if handoff is not None and handoff.owner_id is not None:
                owner = username_of(session, handoff.owner_id)
            intents = [
                RecentIntent(intent=t["intent"], confidence=t.get("confidence"))
                for t in state.turns[-RECENT_INTENTS:]
                if t.get("intent")
            ]
            return ConversationDetail(
                id=conversation_id,
                status=conversation.status,
                owner=owner,
                language=conversation.language,
                channel=conversation.channel,
                handoff=None if handoff is None else HandoffDetail.model_validate(handoff),
                messages=[AgentMessage.of(m) for m in reversed(rows)],
                notes=[
                    ConversationNote.model_validate(n)
                    for n in notes.notes_of(session, conversation_id)
                ],
                context=ConversationContext(
                    slots={},
                    intents=intents,
                    orders=[
                        OrderSummary(**{**o, "created_at": iso(o["created_at"])}) for o in orders
                    ],
                    customer=customer,
                ),
            )

    async def conversation_with_slots(
        self, principal: Principal, conversation_id: str
    ) -> ConversationDetail:
        """`conversation()` plus the bot's slots from Rasa's tracker (empty if Rasa is down)."""
        view = await to_thread.run_sync(self.conversation, principal, conversation_id)
        nlu = await self.tracker.latest(conversation_id)
        if nlu is not None:
            view.context.slots = nlu.slots
        return view

    def audit_log(self, principal: Principal, limit: int) -> list[AuditRecord]:
        """Supervisor: the newest audit entries."""
        principal.require("supervisor")
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit: 1-1000", field="limit")
        with read_session(self.sessions) as session:
            return [AuditRecord.model_validate(e) for e in audit.recent(session, limit=limit)]
