"""The bot against a real Synapse, in real encrypted rooms, driven by separate members."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from scorebot.cli import build_parser, minutes
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message, Reaction
from scorebot.matrix.check import run_checks
from scorebot.matrix.check_storage import CheckLine
from tests.conftest import MakeMember
from tests.test_matrix_helpers import (
    bot_messages,
    meeting_room,
    register_bot,
    running_bot,
    say,
    write_bot_config,
)

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]


async def test_typed_stack_is_answered_in_an_encrypted_room_with_a_threaded_notice(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        bob = await make_member("bob")
        room = await meeting_room(alice, bot_id, bob)

        reply = await say(bob, room, "stack", bot_id)

    assert reply.msgtype == "m.notice"
    assert reply.decrypted
    assert "stack" in reply.body
    assert reply.formatted_body


async def test_hand_reaction_on_the_stack_message_joins_and_its_redaction_leaves(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        carol = await make_member("carol")
        room = await meeting_room(alice, bot_id, carol)
        await say(alice, room, "stack", bot_id)
        button = await carol.wait_reaction(relates_to=await _stack_message(carol, bot_id, room))

        hand = await carol.send_reaction(room, button.relates_to, "🖐️")
        joined = await carol.wait_message(
            lambda m: m.sender == bot_id and "hand reaction was seen" in m.body
        )
        await carol.redact(room, hand)
        left = await carol.wait_message(lambda m: m.sender == bot_id and "left the stack" in m.body)

    assert button.key == "✋"
    assert button.sender == bot_id
    assert joined.body.startswith(carol.user_id[1:].split(":")[0])
    assert "2nd" in joined.body
    assert left.body.startswith(carol.user_id[1:].split(":")[0])


async def test_element_call_raised_hand_joins_and_lowering_or_leaving_the_call_leaves(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        dave = await make_member("dave")
        room = await meeting_room(alice, bot_id, dave)
        membership = await dave.join_call(room)

        hand = await dave.raise_hand(room, membership)
        seen = await dave.wait_message(
            lambda m: m.sender == bot_id and "raised hand in the call" in m.body
        )
        await dave.lower_hand(room, hand)
        lowered = await dave.wait_message(
            lambda m: m.sender == bot_id and "left the stack" in m.body
        )
        again = await dave.raise_hand(room, membership)
        await dave.wait_message(
            lambda m: m.sender == bot_id and "raised hand" in m.body and m.event_id != seen.event_id
        )
        await dave.leave_call(room)
        gone = await dave.wait_message(
            lambda m: (
                m.sender == bot_id and "left the stack" in m.body and m.event_id != lowered.event_id
            )
        )
        # Someone else's hand on dave's membership is not dave's hand.
        stray = await alice.send_reaction(room, membership, "🖐️")
        probe = await say(alice, room, "stack?", bot_id)

    assert dave.user_id in seen.mentions
    assert again != hand
    assert gone.body.startswith(dave.user_id[1:].split(":")[0])
    assert stray
    assert "Nobody is waiting" in probe.body or "stack" in probe.body
    assert alice.user_id[1:].split(":")[0] not in probe.body.split("On the stack")[-1]


async def _stack_message(member: Member, bot: str, room: str) -> str:
    """The event id of the bot's stack message: the one it put its own ✋ on."""
    reaction = await member.wait_for(
        lambda r: isinstance(r, Reaction) and r.sender == bot and r.room_id == room
    )
    assert isinstance(reaction, Reaction)
    return reaction.relates_to


def _order(status: str, *names: str) -> list[str]:
    """The given names in the order they appear in the waiting list of a status message."""
    waiting = status.rsplit("On the stack", maxsplit=1)[-1]
    return sorted((n for n in names if n in waiting), key=waiting.index)


def _name(member: Member) -> str:
    return member.user_id[1:].split(":")[0]


async def test_first_time_speaker_goes_ahead_and_facilitation_needs_power(
    homeserver: Homeserver,
    make_member: MakeMember,
    tmp_path: Path,
) -> None:
    bot_id = await register_bot(homeserver)
    config_path = write_bot_config(homeserver, bot_id, tmp_path)
    async with running_bot(config_path) as bot:
        alice = await make_member("alice")
        bob = await make_member("bob")
        carol = await make_member("carol")
        erin = await make_member("erin")
        room = await meeting_room(alice, bot_id, bob, carol, erin, levels={erin.user_id: 50})
        await say(bob, room, "stack", bot_id)
        refused = await say(bob, room, "next", bot_id)
        called = await say(erin, room, "next", bot_id)
        await say(bob, room, "done", bot_id)
        await say(bob, room, "stack", bot_id)
        await say(carol, room, "stack", bot_id)
        status = await say(alice, room, "stack?", bot_id)
        ended = await say(alice, room, "end meeting", bot_id)
        database = bot.config.storage.database

    assert "facilitator" in refused.body.casefold()
    assert _name(bob) in called.body
    assert _order(status.body, _name(bob), _name(carol)) == [_name(carol), _name(bob)]
    assert ended.body
    out = io.StringIO()
    assert (
        await minutes(build_parser().parse_args(["minutes", "--database", str(database)]), out) == 0
    )
    markdown = out.getvalue()
    assert markdown.startswith("# Minutes")
    assert f"{_name(carol)} joined the stack" in markdown
    assert "by chat" in markdown


async def test_private_priority_reorders_without_a_trace_in_the_room(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        bob = await make_member("bob")
        carol = await make_member("carol")
        room = await meeting_room(alice, bot_id, bob, carol)
        await say(alice, room, "start meeting Budget", bot_id)
        await say(carol, room, "stack", bot_id)
        direct = await bob.send_direct(bot_id)
        await bob.wait_member(direct, bot_id)
        noted = await say(bob, direct, "priority", bot_id)
        await say(bob, room, "stack", bot_id)
        status = await say(alice, room, "stack?", bot_id)
        room_words = [
            m.body + (m.formatted_body or "") + (m.new_body or "")
            for m in alice.records
            if isinstance(m, Message) and m.room_id == room
        ]

    assert noted.room_id == direct
    assert "privately" in noted.body
    assert _order(status.body, _name(bob), _name(carol)) == [_name(bob), _name(carol)]
    assert not [words for words in room_words if "priority" in words.casefold()]


async def test_priority_typed_in_the_room_is_answered_in_a_new_direct_chat(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        bob = await make_member("bob")
        room = await meeting_room(alice, bot_id, bob)

        await bob.send_text(room, "priority")
        private = await bob.wait_message(lambda m: m.sender == bot_id and m.room_id != room)
        await say(alice, room, "stack", bot_id)

    assert private.decrypted
    assert "direct message" in private.body
    assert not [m for m in bot_messages(alice, bot_id, room) if "priority" in m.body.casefold()]


async def test_wrap_up_reminder_comes_from_the_clock(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    extra = "[meeting]\ntime_check_seconds = 1\n"
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path, extra=extra)):
        alice = await make_member("alice")
        room = await meeting_room(alice, bot_id)
        await say(alice, room, "stack", bot_id)
        await say(alice, room, "next", bot_id)

        reminder = await alice.wait_message(
            lambda m: m.sender == bot_id and "wrap up" in m.body, timeout=20
        )

    assert alice.user_id in reminder.mentions


async def test_invites_from_strangers_are_declined_and_check_reports_the_setup(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    extra = 'allowed_inviters = ["@nobody:elsewhere.org"]\n'
    config_path = write_bot_config(homeserver, bot_id, tmp_path).read_text()
    path = tmp_path / "strict.toml"
    path.write_text(
        config_path.replace(f'allowed_inviters = [":{homeserver.server_name}"]\n', extra)
    )
    async with running_bot(path) as bot:
        mallory = await make_member("mallory")
        room = await mallory.create_room("Trap", invite=[bot_id])
        await _wait_left(mallory, room, bot_id)
        lines: list[CheckLine] = []
        ok = await run_checks(bot.config, lines.append)

    assert ok, lines
    assert [line.ok for line in lines] == [True] * 10
    assert lines[0].text.startswith(f"enough free space in {bot.config.storage.data_dir}")
    assert lines[1].text == f"the database {bot.config.storage.database} can be saved to: yes"
    assert lines[5].text.startswith("device signed by the bot's own identity: yes")
    assert [line.note for line in lines] == [False] * 6 + [True, True, False, False]
    assert lines[-1].text == "events the bot could not handle and skipped: 0"
    assert lines[-2].text.startswith("rooms joined: 0")


async def _wait_left(member: Member, room: str, user_id: str) -> None:
    """Wait until `user_id` is no longer invited to (or in) the room, as `member` sees it."""
    for _ in range(300):
        users = member._client.rooms[room].users
        if user_id not in users:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{user_id} is still in or invited to {room}")
