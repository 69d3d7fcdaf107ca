"""The demo's stage: people acting in the room, the transcript they see, the scripted meeting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from scorebot.demo.member import Member, Message, Reaction, Record, Redaction
from scorebot.matrix.outbox import HAND_BUTTON

logger = logging.getLogger(__name__)

STEP_WAIT = 30.0
"""seconds to wait for the bot's answer to one step before giving up"""

_INDENT = "    "

_T = TypeVar("_T")


class DemoError(RuntimeError):
    """The demo could not go on; the message names the step and what was missing."""


@dataclass(frozen=True, slots=True)
class Player:
    """One person in the demo room, played by a logged-in member."""

    key: str
    """what you type in interactive mode: "ana" in "ana: stack" """
    name: str
    """display name, as the bot and everyone else see it"""
    member: Member


# ---------------------------------------------------------------- the script


@dataclass(frozen=True, slots=True)
class Say:
    """Someone types a message in the room."""

    who: str
    text: str
    answered: bool = True
    """the bot answers it (ordinary chat gets no answer)"""
    updates_stack: bool = False
    """the bot then edits (or first posts) its stack message"""
    replying_to: str | None = None
    """key of the person whose latest message this one replies to"""


@dataclass(frozen=True, slots=True)
class ReactHand:
    """Someone reacts ✋ on the bot's stack message."""

    who: str
    updates_stack: bool = True


@dataclass(frozen=True, slots=True)
class RaiseCallHand:
    """Someone joins the Element Call (if not yet in it) and raises their hand there."""

    who: str
    updates_stack: bool = True


Step = Say | ReactHand | RaiseCallHand

SCRIPT: tuple[Step, ...] = (
    Say("fran", "start meeting Weekly", updates_stack=True),
    Say("ana", "stack", updates_stack=True),
    Say("fran", "next", updates_stack=True),
    Say("ana", "I propose we budget for live captions at every meeting.", answered=False),
    # Ana, still speaking, wants to come back to it; Ben has not spoken yet.
    Say("ana", "stack", updates_stack=True),
    ReactHand("ben"),
    Say("fran", "next", updates_stack=True),
    Say("ben", "Captions are a waste of money, nobody here needs them.", answered=False),
    Say("ana", "ouch", replying_to="ben"),
    Say("ben", "oops"),
    Say("fran", "topic Budget", updates_stack=True),
    Say("fran", "resolved"),
    RaiseCallHand("ben"),
    Say("fran", "stack Carol", updates_stack=True),
    Say("fran", "next", updates_stack=True),
    Say("fran", "next", updates_stack=True),
    Say("fran", "end meeting", updates_stack=True),
)
"""Every way to join the stack (chat, ✋ reaction, call hand, named by the facilitator),
someone who has not spoken going first (Ben before Ana's second turn), an ouch and an oops."""


# ---------------------------------------------------------------- the stage


class Stage:
    """The room, the people in it, and what they did that their records do not show."""

    def __init__(
        self,
        room_id: str,
        bot_id: str,
        bot_name: str,
        players: Sequence[Player],
        *,
        observer: str,
        write: Callable[[str], None],
        bot_task: asyncio.Future[None] | None = None,
        wait: float = STEP_WAIT,
    ) -> None:
        self.room_id = room_id
        self.bot_id = bot_id
        self.players = {player.key: player for player in players}
        self.observer = self.players[observer].member
        self._bot_task = bot_task
        self._wait = wait
        self.memberships: dict[str, str] = {}
        """player key -> event id of their call membership"""
        self.raised: dict[str, str] = {}
        """player key -> event id of their raised call hand"""
        names = {player.member.user_id: player.name for player in players}
        names[bot_id] = bot_name
        self.transcript = Transcript(self, names, write)

    def player(self, text: str) -> Player | None:
        """The player someone means by key or display name, ignoring case."""
        wanted = text.strip().casefold()
        for player in self.players.values():
            if wanted in (player.key, player.name.casefold()):
                return player
        return None

    def stack_message(self) -> str | None:
        """The bot's current stack message: the latest one it put its own ✋ on."""
        for record in reversed(self.observer.records):
            if (
                isinstance(record, Reaction)
                and record.room_id == self.room_id
                and record.sender == self.bot_id
                and record.key == HAND_BUTTON
            ):
                return record.relates_to
        return None

    def latest_message(self, key: str) -> str | None:
        user_id = self.players[key].member.user_id
        for record in reversed(self.observer.records):
            if (
                isinstance(record, Message)
                and record.room_id == self.room_id
                and record.sender == user_id
            ):
                return record.event_id
        return None

    # ------------------------------------------------------------ acting

    async def say(self, key: str, text: str, replying_to: str | None = None) -> str:
        reply_to = None
        if replying_to is not None:
            reply_to = self.latest_message(replying_to)
            if reply_to is None:
                raise DemoError(f"{self._name(replying_to)} has said nothing to reply to yet.")
        return await self.players[key].member.send_text(self.room_id, text, reply_to=reply_to)

    async def react_hand(self, key: str) -> str:
        target = self.stack_message()
        if target is None:
            raise DemoError(
                "There is no stack message to react to yet; a meeting has to start first."
            )
        return await self.players[key].member.send_reaction(self.room_id, target, HAND_BUTTON)

    async def raise_call_hand(self, key: str) -> str:
        member = self.players[key].member
        membership = self.memberships.get(key)
        if membership is None:
            self.transcript.catch_up()
            membership = await member.join_call(self.room_id)
            self.memberships[key] = membership
            self.transcript.call_memberships[membership] = member.user_id
            self.transcript.note(f"[{self._name(key)} joined the call]")
        raised = await member.raise_hand(self.room_id, membership)
        self.raised[key] = raised
        return raised

    async def lower_call_hand(self, key: str) -> str | None:
        raised = self.raised.pop(key, None)
        if raised is None:
            return None
        return await self.players[key].member.lower_hand(self.room_id, raised)

    # ------------------------------------------------------------ the script

    async def play(self, steps: Iterable[Step]) -> None:
        """Act each step, wait for the bot's whole answer, print what the observer saw."""
        for number, step in enumerate(steps, start=1):
            await self.play_step(number, step)

    async def play_step(self, number: int, step: Step) -> None:
        what = f"step {number} ({describe(step, self._name)})"
        before = {record.event_id for record in self.observer.records}
        match step:
            case Say():
                sent = await self.say(step.who, step.text, step.replying_to)
                if step.answered:
                    await self._bounded(
                        self.observer.wait_reply_to(sent, self.bot_id, timeout=self._wait),
                        f"{what} got no answer from the bot",
                    )
                else:
                    await self._bounded(
                        self.observer.wait_for(lambda r: r.event_id == sent, timeout=self._wait),
                        f"{what} never reached the other members",
                    )
            case ReactHand() | RaiseCallHand():
                if isinstance(step, ReactHand):
                    await self.react_hand(step.who)
                else:
                    await self.raise_call_hand(step.who)
                await self._bounded(
                    self.observer.wait_for(
                        lambda r: r.event_id not in before and self._is_answer(r),
                        timeout=self._wait,
                    ),
                    f"{what} got no answer from the bot",
                )
        if step.updates_stack:
            await self._bounded(
                self.observer.wait_for(
                    lambda r: r.event_id not in before and self._is_stack_update(r),
                    timeout=self._wait,
                ),
                f"after {what} the bot did not update its stack message",
            )
        self.transcript.catch_up()

    def _is_answer(self, record: Record) -> bool:
        return (
            isinstance(record, Message)
            and record.room_id == self.room_id
            and record.sender == self.bot_id
            and record.replaces is None
        )

    def _is_stack_update(self, record: Record) -> bool:
        """An edit of the stack message, or the ✋ the bot puts on a new one."""
        if record.room_id != self.room_id or record.sender != self.bot_id:
            return False
        if isinstance(record, Message):
            return record.replaces is not None
        return isinstance(record, Reaction) and record.key == HAND_BUTTON

    async def _bounded(self, waiting: Awaitable[_T], failure: str) -> _T:
        """Wait, but fail with `failure` on a timeout or as soon as the bot stops."""
        task = asyncio.ensure_future(waiting)
        watched: set[asyncio.Future[Any]] = {task}
        if self._bot_task is not None:
            watched.add(self._bot_task)
        try:
            done, _ = await asyncio.wait(
                watched, timeout=self._wait + 5, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task in done:
            try:
                return task.result()
            except TimeoutError as error:
                logger.debug("%s: %s", failure, error)
                raise DemoError(f"{failure} within {self._wait:.0f} s.") from None
        if self._bot_task is not None and self._bot_task.done():
            cause = (
                "it was cancelled"
                if self._bot_task.cancelled()
                else repr(self._bot_task.exception())
            )
            raise DemoError(f"{failure}: the bot stopped ({cause}).")
        raise DemoError(f"{failure} within {self._wait:.0f} s.")

    def _name(self, key: str) -> str:
        return self.players[key].name


def describe(step: Step, name: Callable[[str], str]) -> str:
    match step:
        case Say(replying_to=str() as target):
            return f'{name(step.who)}, replying to {name(target)}: "{step.text}"'
        case Say():
            return f'{name(step.who)}: "{step.text}"'
        case ReactHand():
            return f"{name(step.who)} reacts {HAND_BUTTON} to the stack message"
        case RaiseCallHand():
            return f"{name(step.who)} raises their hand in the call"


# ---------------------------------------------------------------- the transcript


class Transcript:
    """What the observer saw in the room, in order, as readable lines; private replies too."""

    def __init__(self, stage: Stage, names: dict[str, str], write: Callable[[str], None]) -> None:
        self._stage = stage
        self._names = names
        self._write = write
        self._printed = 0
        self._private_printed: dict[str, int] = {}
        self._seen: dict[str, Record] = {}
        self.stack_messages: set[str] = set()
        self.call_memberships: dict[str, str] = {}
        """call membership event id -> user id"""
        self.lines: list[str] = []

    def note(self, line: str) -> None:
        """Something members see that is not a room message (joining a call)."""
        self.catch_up()
        self._emit(line)

    def catch_up(self) -> None:
        """Print every record that arrived since the last call."""
        records = self._stage.observer.records
        while self._printed < len(records):
            record = records[self._printed]
            self._printed += 1
            if record.room_id != self._stage.room_id:
                continue
            line = self._describe(record, records[self._printed :])
            self._seen[record.event_id] = record
            if line is not None:
                self._emit(line)
        for player in self._stage.players.values():
            self._private(player)

    def _private(self, player: Player) -> None:
        records = player.member.records
        start = self._private_printed.get(player.key, 0)
        self._private_printed[player.key] = len(records)
        for record in records[start:]:
            if (
                isinstance(record, Message)
                and record.room_id != self._stage.room_id
                and record.sender == self._stage.bot_id
            ):
                head = f"[{self._name(record.sender)}, privately to {player.name}]"
                self._emit(_block(head, record.body))

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        self._write(line)

    def _name(self, user_id: str) -> str:
        return self._names.get(user_id, user_id)

    def _describe(self, record: Record, later: Sequence[Record]) -> str | None:
        bot = self._stage.bot_id
        who = self._name(record.sender)
        match record:
            case Message(replaces=str() as edited):
                text = record.new_body if record.new_body is not None else record.body
                if edited in self.stack_messages:
                    return _block(f"[{who} updated the stack message]", text)
                return _block(f"[{who} edited a message]", text)
            case Message():
                label = who
                replied = self._seen.get(record.in_reply_to or "")
                if replied is not None and record.sender != bot:
                    label = f"{who}, replying to {self._name(replied.sender)}"
                elif record.sender == bot and self._becomes_stack_message(record, later):
                    label = f"{who}, stack message"
                return _block(f"[{label}]", record.body)
            case Reaction():
                return self._reaction(record, who)
            case Redaction():
                redacted = self._seen.get(record.redacts)
                if isinstance(redacted, Reaction) and redacted.relates_to in self.call_memberships:
                    return f"[{who} lowered their hand in the call]"
                if isinstance(redacted, Reaction):
                    return f"[{who} took back their {redacted.key} reaction]"
                return f"[{who} deleted a message]"
        return None  # pragma: no cover - every record kind is matched above

    def _reaction(self, record: Reaction, who: str) -> str:
        bot = self._stage.bot_id
        if record.relates_to in self.call_memberships:
            return f"[{who} raised their hand in the call]"
        if record.sender == bot and record.key == HAND_BUTTON:
            self.stack_messages.add(record.relates_to)
            return f"[{who} reacted {record.key} to its own stack message, for others to click]"
        if record.relates_to in self.stack_messages:
            return f"[{who} reacted {record.key} to {self._name(bot)}'s stack message]"
        target = self._seen.get(record.relates_to)
        owner = f"{self._name(target.sender)}'s" if target is not None else "a"
        return f"[{who} reacted {record.key} to {owner} message]"

    def _becomes_stack_message(self, message: Message, later: Sequence[Record]) -> bool:
        return any(
            isinstance(record, Reaction)
            and record.sender == message.sender
            and record.key == HAND_BUTTON
            and record.relates_to == message.event_id
            for record in later
        )


def _block(head: str, body: str) -> str:
    """A head and a possibly multi-line body, continuation lines indented."""
    first, *rest = body.splitlines() or [""]
    return "\n".join([f"{head} {first}".rstrip(), *((_INDENT + line).rstrip() for line in rest)])
