"""Hostile members against the real bot on a real Synapse: they cannot fool or silence it.

Each test asserts the end state of the stack and what the room saw. Everything runs on
127.0.0.1 against the session's throwaway Synapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import CALL_MEMBER, Member, MemberError
from scorebot.store.sqlite import SqliteStore
from tests.conftest import MakeMember
from tests.limiting_proxy import limiting_proxy
from tests.test_matrix_helpers import (
    bot_messages,
    meeting_room,
    register_bot,
    running_bot,
    say,
    stored_meeting,
    write_bot_config,
)
from tests.test_minutes_parts import long_meeting_steps

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]


_TIMED = re.compile(r"- \d\d:\d\d:\d\d ")
"""a minutes line: a dash and the time it happened"""


def _name(member: Member) -> str:
    return member.user_id[1:].split(":")[0]


def _waiting(status: str) -> str:
    return status.rsplit("On the stack", maxsplit=1)[-1]


async def test_a_member_cannot_end_or_forge_someone_elses_call_membership(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        erin = await make_member("erin")
        mallory = await make_member("mallory")
        room = await meeting_room(alice, bot_id, erin, mallory)
        membership = await erin.join_call(room)
        await erin.raise_hand(room, membership)
        await erin.wait_message(
            lambda m: m.sender == bot_id and "raised hand in the call" in m.body
        )

        # The underscore form is not checked by the server: mallory may write erin's key.
        foreign_key = erin.call_state_key()
        await mallory.put_state(room, CALL_MEMBER, {}, foreign_key)
        forged = await mallory.put_state(
            room, CALL_MEMBER, {"application": "m.call", "device_id": "X"}, foreign_key
        )
        await mallory.raise_hand(room, forged)
        await mallory.put_state(room, CALL_MEMBER, {}, foreign_key)
        status = await say(alice, room, "stack?", bot_id)
        seen = bot_messages(alice, bot_id, room)

    assert _name(erin) in _waiting(status.body)
    assert _name(mallory) not in _waiting(status.body)
    assert not [m for m in seen if "left the stack" in m.body]
    assert not [m for m in seen if _name(mallory) in m.body]


async def at_once(member: Member, room: str, texts: list[str]) -> list[str]:
    """A flood: the first message on its own (it sets up the room key), the rest all at
    once, so it is a flood however slow this machine is today."""
    first = await member.send_text(room, texts[0])
    rest = await asyncio.gather(*(member.send_text(room, text) for text in texts[1:]))
    return [first, *rest]


async def test_a_member_flooding_the_room_cannot_hold_up_anothers_confirmation(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        ann = await make_member("ann")
        mallory = await make_member("mallory")
        room = await meeting_room(alice, bot_id, ann, mallory)
        await say(alice, room, "start meeting Flood", bot_id)
        before = len(bot_messages(alice, bot_id, room))

        flood = ["stack", "minutes", "help", "stack?"]
        spam = [await mallory.send_text(room, flood[i % 4]) for i in range(200)]
        confirmed = await say(ann, room, "stack", bot_id)
        status = await say(alice, room, "stack?", bot_id)
        seen = [m for m in bot_messages(alice, bot_id, room)[before:] if m.replaces is None]

    to_spam = [m for m in seen if m.in_reply_to in set(spam)]
    skipped = [m for m in seen if "faster than I can take them" in m.body]
    assert f"{_name(ann)}, you are on the stack" in confirmed.body
    assert _waiting(status.body).count(_name(ann)) == 1
    assert _waiting(status.body).count(_name(mallory)) == 1
    bodies = [m.body for m in to_spam]
    # The first few were answered, the skipping was said once, and the long answers (the
    # minutes, the help, the stack) were each posted once at most; what the flood won back
    # as time passed (ten signals a second) was answered once per question.
    assert len(skipped) == 1
    assert any(f"{_name(mallory)}, you are on the stack" in b for b in bodies)
    assert sum("Here are the minutes" in b for b in bodies) <= 1
    assert sum("On the stack, in order" in b for b in bodies) <= 1
    assert len(to_spam) < 20, [b[:90] for b in bodies]
    assert sum(len(b) for b in bodies) < 20_000


async def test_minutes_of_a_300_turn_meeting_arrive_complete_in_parts(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    config_path = write_bot_config(homeserver, bot_id, tmp_path)
    alice = await make_member("alice")
    async with running_bot(config_path) as bot:
        room = await meeting_room(alice, bot_id)
        await say(alice, room, "stack?", bot_id)
        database = bot.config.storage.database
    # A meeting of 300 turns, committed the way the consumer commits each signal.
    steps = long_meeting_steps(room, 300)
    store = await SqliteStore.open(database)
    try:
        for s in steps:
            assert await store.apply(s.signal.key, s.before, s.after, s.records)
    finally:
        await store.close()
    expected = [record for s in steps for record in s.records]

    async with running_bot(config_path):
        lead = await say(alice, room, "minutes", bot_id)
        last = await alice.wait_message(
            lambda m: m.sender == bot_id and bool(re.match(r"Minutes, part (\d+) of \1\.", m.body))
        )
        parts = [m for m in bot_messages(alice, bot_id, room) if m.body.startswith("Minutes, part")]

    total = int(last.body.split(" of ")[1].split(".")[0])
    listed = [row for part in parts for row in part.body.splitlines() if _TIMED.match(row)]
    assert "Here are the minutes so far" in lead.body
    assert total >= 3
    assert [p.body.split(".")[0] for p in parts] == [
        f"Minutes, part {n} of {total}" for n in range(1, total + 1)
    ]
    assert len(listed) == len(expected)
    assert all(p.decrypted for p in parts)


async def test_hostile_events_neither_fool_nor_silence_the_bot_in_any_room(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)) as bot:
        alice = await make_member("alice")
        bob = await make_member("bob")
        mallory = await make_member("mallory")
        olive = await make_member("olive")
        room = await meeting_room(alice, bot_id, bob, mallory, olive)
        other = await meeting_room(alice, bot_id, bob, name="Other")
        await say(alice, room, "start meeting Hostile", bot_id)
        bob_stack = await bob.send_text(room, "stack")
        await bob.wait_reply_to(bob_stack, bot_id)
        status = await say(alice, room, "stack?", bot_id)
        button = next(m for m in bot_messages(alice, bot_id, room) if "On the stack" in m.body)

        # Huge bodies and odd unicode: ordinary chat, or a plain answer; never a freeze.
        texts = ["x" + " " * 40_000 + "y", "stack " * 5_000, "\u202eunstack", "unstack\u200b"]
        texts += [
            "next\u200d",
            "ｎｅｘｔ",
            "move bob to 1",
            "mark bob",
            "priority",
            "minutes " * 40,
        ]
        for text in texts:
            await mallory.send_text(room, text)
        # Wrong JSON types in every field the converter reads, inside the encryption.
        # Odd-shaped replies in an ouch, from two people so that no quick run is cut short.
        ouch_ids = []
        shapes: list[tuple[Member, Any]] = [
            (olive, "$not-an-object"),
            (olive, ["$a", "$b"]),
            (olive, {"m.in_reply_to": bob_stack}),
            (olive, {"m.in_reply_to": {"event_id": 12}}),
            (alice, 7),
            (alice, {"m.in_reply_to": [bob_stack]}),
            (alice, {"m.in_reply_to": {"event_id": {"event_id": bob_stack}}}),
        ]
        for sender, relates in shapes:
            content = {"msgtype": "m.text", "body": "ouch", "m.relates_to": relates}
            ouch_ids.append(await sender.send_event(room, "m.room.message", content))
        messages: list[dict[str, Any]] = [
            {"msgtype": "m.text", "body": ["stack"]},
            {"msgtype": "m.text", "body": {"text": "unstack"}},
            {"msgtype": "m.text", "body": 5},
            {"msgtype": ["m.text"], "body": "unstack"},
            {"msgtype": "m.text", "body": None, "m.relates_to": None},
            {"msgtype": "m.text", "body": "unstack", "m.new_content": "unstack"},
            # An edit of bob's "stack" into "unstack" is bob's message no more than before.
            {
                "msgtype": "m.text",
                "body": "* unstack",
                "m.new_content": {"msgtype": "m.text", "body": "unstack"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": bob_stack},
            },
        ]
        for content in messages:
            await mallory.send_event(room, "m.room.message", content)
        reactions: list[dict[str, Any]] = [
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": button.event_id, "key": 5}},
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": 5, "key": "✋"}},
            {"m.relates_to": "✋"},
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": bob_stack, "key": "✋"}},
        ]
        for content in reactions:
            # The server refuses some shapes (it reads a reaction's relation in the clear).
            with contextlib.suppress(MemberError):
                await mallory.send_event(room, "m.reaction", content)
        # Someone else's message cannot be taken back by a member without the power to.
        with contextlib.suppress(MemberError):
            await mallory.redact(room, bob_stack)
        await mallory.put_state(room, CALL_MEMBER, {}, bob.call_state_key())
        await mallory.put_state(room, CALL_MEMBER, {"memberships": 3}, f"_{bob.user_id}_X")

        # While all that is handled, an answer in another room still arrives.
        elsewhere = await say(bob, other, "stack?", bot_id)
        spam = await at_once(mallory, room, ["stack?"] * 40)
        final = await say(alice, room, "stack?", bot_id)
        seen = bot_messages(alice, bot_id, room)
    meeting, _ = await stored_meeting(bot.config.storage.database, room)

    assert [entry.person.id for entry in meeting.stack] == [bob.user_id]
    # A status, or a pointer to the one just posted for mallory.
    assert _name(bob) in final.body or "less than a minute ago" in final.body
    told = [m for m in seen if "faster than I can take them" in m.body]
    assert len(told) == 1 and _name(mallory) in told[0].body
    answers = {m.in_reply_to: m for m in seen if m.replaces is None}
    assert "No meeting is running" in elsewhere.body or "stack" in elsewhere.body
    assert _waiting(status.body).count(_name(bob)) == 1
    for ouch in ouch_ids:
        pinned = answers.get(ouch)
        assert pinned is not None and "Ouch noted as pin" in pinned.body, ouch
        assert _name(bob) not in pinned.body
    assert not [m for m in seen if "left the stack" in m.body]
    # At most the stack once and the skipping said once, for 40 times "stack?".
    to_spam = [m.body[:80] for m in seen if m.in_reply_to in set(spam)]
    assert len(to_spam) <= 2, to_spam


async def test_a_homeserver_answering_429_delays_replies_but_loses_or_doubles_none(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    alice = await make_member("alice")
    bob = await make_member("bob")
    async with limiting_proxy(homeserver.base_url, every=2) as proxy:
        behind_proxy = dataclasses.replace(homeserver, base_url=proxy.base_url)
        async with running_bot(write_bot_config(behind_proxy, bot_id, tmp_path)):
            room = await meeting_room(alice, bot_id, bob)
            asked = ["start meeting Limited", "stack", "where am I", "unstack", "stack?"]
            replies = [
                await say(alice if n % 2 == 0 else bob, room, text, bot_id)
                for n, text in enumerate(asked)
            ]
            sent = [reply.in_reply_to for reply in replies]
            # One more round trip, so that any doubled reply would have arrived by now.
            await say(alice, room, "help", bot_id)
            seen = bot_messages(alice, bot_id, room)

    assert proxy.refused >= len(asked) // 2
    assert "Meeting started" in replies[0].body
    assert f"{_name(bob)}, you are on the stack" in replies[1].body
    assert "left the stack" in replies[3].body
    for event_id in sent:
        assert len([m for m in seen if m.in_reply_to == event_id and m.replaces is None]) == 1


OUTAGE = 20.0
"""seconds the homeserver is unreachable for the bot"""


async def test_signals_sent_while_the_homeserver_is_down_for_the_bot_are_applied_once_after(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    alice = await make_member("alice")
    bob = await make_member("bob")
    async with limiting_proxy(homeserver.base_url) as proxy:
        behind_proxy = dataclasses.replace(homeserver, base_url=proxy.base_url)
        async with running_bot(write_bot_config(behind_proxy, bot_id, tmp_path)) as bot:
            room = await meeting_room(alice, bot_id, bob)
            await say(alice, room, "start meeting Outage", bot_id)
            await say(bob, room, "stack", bot_id)
            # What bob has seen so far (alice's client may still be catching up).
            earlier = {m.event_id for m in bot_messages(bob, bot_id, room)}
            async with proxy.outage():
                await bob.send_text(room, "unstack")
                await alice.send_text(room, "stack")
                await bob.send_text(room, "stack")
                await asyncio.sleep(OUTAGE)
            # Answers to a burst come as one message; the last of them says it all.
            await alice.wait_message(
                lambda m: m.sender == bot_id and f"{_name(bob)}, you are on the stack" in m.body,
                timeout=120,
            )
            probe = await say(alice, room, "where am I", bot_id)
            after = [
                m
                for m in bot_messages(alice, bot_id, room)
                if m.replaces is None and m.event_id not in earlier
            ]
            database = bot.config.storage.database
    meeting, records = await stored_meeting(database, room)

    said = "\n".join(m.body for m in after if m != probe)
    assert said.count(f"{_name(bob)} left the stack") == 1, said
    assert said.count(f"{_name(alice)}, you are on the stack") == 1, said
    assert said.count(f"{_name(bob)}, you are on the stack") == 1, said
    assert "1st" in probe.body
    assert [entry.person.id for entry in meeting.stack] == [alice.user_id, bob.user_id]
    joined = [r for r in records if r.kind == "joined stack"]
    assert len(joined) == 3


async def test_a_proxy_answering_502_slows_the_bots_syncs_and_it_answers_once_it_is_back(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    alice = await make_member("alice")
    async with limiting_proxy(homeserver.base_url) as proxy:
        behind_proxy = dataclasses.replace(homeserver, base_url=proxy.base_url)
        async with running_bot(write_bot_config(behind_proxy, bot_id, tmp_path)) as bot:
            room = await meeting_room(alice, bot_id)
            await say(alice, room, "start meeting Gateway", bot_id)
            with proxy.bad_gateway():
                asked = await alice.send_text(room, "stack")
                await asyncio.sleep(6.0)
            answer = await alice.wait_reply_to(asked, bot_id, timeout=60)
            assert not bot.task.done()

    # Without a pause nio asks again at once: hundreds of refused syncs in 6 s, not a few.
    assert 1 <= proxy.refused_syncs <= 10, proxy.refused_syncs
    assert "you are on the stack" in answer.body


async def test_a_reply_refused_with_502_is_sent_again_and_arrives_once(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    alice = await make_member("alice")
    async with limiting_proxy(homeserver.base_url) as proxy:
        behind_proxy = dataclasses.replace(homeserver, base_url=proxy.base_url)
        async with running_bot(write_bot_config(behind_proxy, bot_id, tmp_path)):
            room = await meeting_room(alice, bot_id)
            await say(alice, room, "start meeting Gateway", bot_id)
            with proxy.bad_gateway("/send/"):
                asked = await alice.send_text(room, "stack")
                await asyncio.wait_for(proxy.send_refused.wait(), timeout=30)
                await asyncio.sleep(2.5)  # the bot tries again meanwhile, and is refused
            answer = await alice.wait_reply_to(asked, bot_id, timeout=60)
            await say(alice, room, "where am I", bot_id)

    replies = [m for m in bot_messages(alice, bot_id, room) if m.in_reply_to == asked]
    assert proxy.refused_sends >= 1
    assert "you are on the stack" in answer.body
    assert len([m for m in replies if m.replaces is None]) == 1
