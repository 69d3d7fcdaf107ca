"""How the end-to-end benchmarks find the bot's answer to a signal in a room's timeline."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scorebot.demo.member import Member, Message, Record

# ---------------------------------------------------------------- replies


class TimedMember(Member):
    """A member that also notes when each event reached it (decrypted), monotonic seconds."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.arrived: dict[str, float] = {}

    def _record(self, record: Record) -> None:
        self.arrived.setdefault(record.event_id, time.monotonic())
        super()._record(record)


@dataclass(frozen=True, slots=True)
class Sent:
    """A signal a member sent, for matching it to the bot's answer."""

    room: str
    event_id: str
    sender: str
    """user id"""
    started: float
    """time.monotonic() just before sending"""


@dataclass(frozen=True, slots=True)
class Answer:
    sent: Sent
    reply: Message | None
    """the bot's message that answers it: threaded to it ("threaded"); else the first
    later one, threaded to another signal (a coalesced burst) or to nothing (scorebot does
    not thread answers to reactions), that names its sender ("named"); else the first later
    one threaded to another signal ("burst": the sender cannot tell it is theirs, and the
    bench cannot check it is in there); else None ("none")"""
    how: str
    latency: float
    """seconds from `sent.started` until the observer had the answer decrypted"""
    server: float
    """seconds between the server timestamps of the signal and of the answer"""
    duplicates: int
    """further messages threaded to the signal with the same body as the first (posted twice)"""
    extra: int
    """further messages threaded to the signal with other bodies"""


def match_answers(observer: TimedMember, bot: str, sent: Sequence[Sent]) -> list[Answer]:
    """Find the bot's answer to each signal in what `observer` (in every room) received."""
    stamps = {record.event_id: record.server_timestamp for record in observer.records}
    ours = {s.event_id for s in sent}
    by_room: dict[str, list[Message]] = {}
    threaded: dict[str, list[Message]] = {}
    for record in observer.records:
        if isinstance(record, Message) and record.sender == bot and record.replaces is None:
            by_room.setdefault(record.room_id, []).append(record)
            if record.in_reply_to is not None:
                threaded.setdefault(record.in_reply_to, []).append(record)
    answers = []
    nan = float("nan")
    for s in sent:
        replies = threaded.get(s.event_id, [])
        reply: Message | None = replies[0] if replies else None
        how = "threaded" if reply is not None else "none"
        stamp = stamps.get(s.event_id)
        if reply is None and stamp is not None:
            name = localpart(s.sender)
            reply = next(
                (
                    m
                    for m in by_room.get(s.room, [])
                    if m.server_timestamp >= stamp
                    and (m.in_reply_to is None or m.in_reply_to in ours)
                    and name in m.body
                ),
                None,
            )
            how = "named" if reply is not None else "none"
            if reply is None:
                reply = next(
                    (
                        m
                        for m in by_room.get(s.room, [])
                        if m.server_timestamp >= stamp and m.in_reply_to in ours
                    ),
                    None,
                )
                how = "burst" if reply is not None else "none"
        latency = server = nan
        if reply is not None:
            latency = observer.arrived.get(reply.event_id, nan) - s.started
            if stamp is not None:
                server = (reply.server_timestamp - stamp) / 1000
        first_body = replies[0].body if replies else ""
        duplicates = sum(1 for m in replies[1:] if m.body == first_body)
        answers.append(
            Answer(
                s,
                reply,
                how,
                latency,
                server,
                duplicates,
                len(replies) - 1 - duplicates if replies else 0,
            )
        )
    return answers


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]
