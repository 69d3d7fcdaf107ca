"""Rendered replies become outgoing messages: where each goes, in one message per place."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence

from scorebot.app.items import Inbound, InRoom, Notice, Private
from scorebot.app.ports import Outgoing, OutKind, Target, ToPerson, ToRoom
from scorebot.app.txn import txn_id
from scorebot.core.ids import is_matrix_person
from scorebot.core.render import OVERVIEW_KINDS, STACK_CHANGED_KINDS, Audience, Reply, ReplyKind

PARAGRAPH = "\n\n"
HTML_PARAGRAPH = "<br/><br/>"


def outgoing_for(item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> list[Outgoing]:
    """One signal's replies: one message for the room, one for the sender, in the core's
    order, and the refreshed stack overview last."""
    sender = item.signal.sender.id
    public, public_parts = _parts_apart([r for r in replies if r.audience is Audience.ROOM])
    private, private_parts = _parts_apart([r for r in replies if r.audience is not Audience.ROOM])
    room = ToRoom(item.room)
    own: Target | None
    match item.destination:
        case InRoom(reply_to=reply_to):
            public_reply_to, private_reply_to = reply_to, None
            own = ToPerson(sender) if is_matrix_person(sender) else None
        case Private(user=user, reply_room=reply_room, reply_to=reply_to):
            public_reply_to = None
            own = ToRoom(reply_room) if reply_room is not None else ToPerson(user)
            private_reply_to = reply_to if reply_room is not None else None
    messages: list[tuple[Target, OutKind, str, str, tuple[str, ...], str | None]] = []
    if public:
        kind = OutKind.MESSAGE
        if any(reply.kind in OVERVIEW_KINDS for reply in public):
            kind = OutKind.STACK
        elif any(reply.kind in STACK_CHANGED_KINDS for reply in public):
            kind = OutKind.ANNOUNCEMENT
        mentions = tuple(dict.fromkeys(m for reply in public for m in reply.mentions))
        text, markup = _joined(public)
        messages.append((room, kind, text, markup, mentions, public_reply_to))
    for part in public_parts:
        messages.append((room, OutKind.MESSAGE, part.text, part.html, (), public_reply_to))
    if own is not None:
        if private:
            text, markup = _joined(private)
            messages.append((own, OutKind.MESSAGE, text, markup, (), private_reply_to))
        for part in private_parts:
            messages.append((own, OutKind.MESSAGE, part.text, part.html, (), private_reply_to))
    if overview is not None:
        messages.append((room, OutKind.OVERVIEW, overview.text, overview.html, (), None))
    key = item.signal.key
    return [
        Outgoing(
            txn_id(key, index),
            target,
            kind,
            text,
            markup,
            mentions,
            reply_to,
            answers=sender if reply_to is not None and is_matrix_person(sender) else None,
        )
        for index, (target, kind, text, markup, mentions, reply_to) in enumerate(messages)
    ]


def outgoing_notice(notice: Notice) -> Outgoing:
    target: Target
    match notice.destination:
        case InRoom(reply_to=reply_to):
            target = ToRoom(notice.room)
        case Private(user=user, reply_room=reply_room, reply_to=reply_to):
            target = ToRoom(reply_room) if reply_room is not None else ToPerson(user)
            reply_to = reply_to if reply_room is not None else None
    return Outgoing(
        txn_id(notice.key, 0),
        target,
        OutKind.MESSAGE,
        notice.text,
        html_lib.escape(notice.text),
        notice.mentions,
        reply_to,
    )


def _parts_apart(replies: list[Reply]) -> tuple[list[Reply], list[Reply]]:
    """Minutes too long for one message come in parts: each part is a message of its own
    (joined, they would not fit), after the rest of the answer."""
    parts = [reply for reply in replies if reply.kind is ReplyKind.MINUTES_DOCUMENT]
    if len(parts) < 2:
        return replies, []
    return [reply for reply in replies if reply.kind is not ReplyKind.MINUTES_DOCUMENT], parts


def _joined(replies: Sequence[Reply]) -> tuple[str, str]:
    return (
        PARAGRAPH.join(reply.text for reply in replies),
        HTML_PARAGRAPH.join(reply.html for reply in replies),
    )
