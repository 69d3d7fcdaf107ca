"""The throwaway Synapse and the encrypted demo members, against each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebot.demo.homeserver import Homeserver, HomeserverError
from scorebot.demo.member import RAISED_HAND, Message, Reaction
from tests.conftest import MakeMember, fresh_localpart

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]


async def test_registered_user_id_is_on_the_homeservers_server_name(
    homeserver: Homeserver,
) -> None:
    localpart = fresh_localpart("dana")

    user_id = await homeserver.register(localpart, "pw", admin=True)

    assert user_id == f"@{localpart}:{homeserver.server_name}"
    assert homeserver.base_url.startswith("http://127.0.0.1:")


async def test_registering_a_taken_user_name_says_why(homeserver: Homeserver) -> None:
    localpart = fresh_localpart("erin")
    await homeserver.register(localpart, "pw")

    with pytest.raises(HomeserverError, match="User ID already taken"):
        await homeserver.register(localpart, "pw")


async def test_members_decrypt_each_others_messages_in_an_encrypted_room(
    make_member: MakeMember,
) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")
    room_id = await alice.create_room("Planning", invite=[bob.user_id])
    await bob.join(room_id)
    await alice.wait_member(room_id, bob.user_id)

    hello_id = await alice.send_text(room_id, "hello bob")
    hello = await bob.wait_message(lambda m: m.event_id == hello_id)
    answer_id = await bob.send_text(room_id, "hello alice")
    answer = await alice.wait_message(lambda m: m.event_id == answer_id)

    assert alice.is_encrypted(room_id)
    assert bob.is_encrypted(room_id)
    assert (hello.sender, hello.body, hello.msgtype, hello.decrypted) == (
        alice.user_id,
        "hello bob",
        "m.text",
        True,
    )
    assert (answer.sender, answer.body, answer.decrypted) == (bob.user_id, "hello alice", True)
    assert alice.undecryptable == []
    assert bob.undecryptable == []


async def test_a_member_who_joins_later_decrypts_what_is_sent_after_the_join(
    make_member: MakeMember,
) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await alice.wait_member(room_id, bob.user_id)
    await alice.send_text(room_id, "before carol")
    carol = await make_member("carol")

    await alice.wait_member(room_id, bob.user_id)
    await alice.invite(room_id, carol.user_id)
    await alice.wait_member(room_id, carol.user_id)
    from_alice = await alice.send_text(room_id, "welcome carol")
    from_carol = await carol.send_text(room_id, "thanks")

    seen_by_carol = await carol.wait_message(lambda m: m.event_id == from_alice)
    seen_by_bob = await bob.wait_message(lambda m: m.event_id == from_carol)
    assert (seen_by_carol.body, seen_by_carol.decrypted) == ("welcome carol", True)
    assert (seen_by_bob.body, seen_by_bob.decrypted) == ("thanks", True)


async def test_reply_is_matched_by_in_reply_to_not_by_arrival_order(
    make_member: MakeMember,
) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await alice.wait_member(room_id, bob.user_id)
    first = await alice.send_text(room_id, "first question")
    second = await alice.send_text(room_id, "second question")
    await bob.wait_message(lambda m: m.event_id == second)

    await bob.send_text(room_id, "answer to second", reply_to=second, mentions=[alice.user_id])
    await bob.send_text(room_id, "answer to first", reply_to=first)

    reply = await alice.wait_reply_to(first, sender=bob.user_id)
    assert reply.body == "answer to first"
    assert reply.in_reply_to == first
    other = await alice.wait_reply_to(second, sender=bob.user_id)
    assert other.mentions == (alice.user_id,)


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear-like-element", "encrypted-like-x"])
async def test_reaction_and_its_redaction_are_seen_by_the_other_member(
    make_member: MakeMember, encrypted: bool
) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await alice.wait_member(room_id, bob.user_id)
    message_id = await alice.send_text(room_id, "shall we start?")
    await bob.wait_message(lambda m: m.event_id == message_id)

    reaction_id = await bob.send_reaction(room_id, message_id, "👍", encrypted=encrypted)
    reaction = await alice.wait_reaction(message_id, sender=bob.user_id)
    redaction_id = await bob.redact(room_id, reaction_id)
    redaction = await alice.wait_redaction(reaction_id)

    assert (reaction.event_id, reaction.key, reaction.decrypted) == (reaction_id, "👍", encrypted)
    assert (redaction.event_id, redaction.sender) == (redaction_id, bob.user_id)


async def test_element_call_raised_hand_is_a_reaction_on_the_call_membership_event(
    make_member: MakeMember,
) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")
    room_id = await alice.create_room("Call", invite=[bob.user_id])
    await alice.wait_member(room_id, bob.user_id)

    membership_id = await bob.join_call(room_id)
    hand_id = await bob.raise_hand(room_id, membership_id)
    hand = await alice.wait_reaction(membership_id, sender=bob.user_id)
    await bob.lower_hand(room_id, hand_id)
    lowered = await alice.wait_redaction(hand_id)
    left_id = await bob.leave_call(room_id)

    assert (hand.event_id, hand.key, hand.relates_to) == (hand_id, RAISED_HAND, membership_id)
    assert hand.key == "\U0001f590\ufe0f"
    assert lowered.sender == bob.user_id
    assert left_id != membership_id


async def test_direct_message_room_is_encrypted_and_auto_joined(make_member: MakeMember) -> None:
    alice = await make_member("alice")
    bob = await make_member("bob")

    room_id = await alice.send_direct(bob.user_id, "psst")

    message = await bob.wait_message(lambda m: m.room_id == room_id)
    assert isinstance(message, Message)
    assert (message.body, message.sender, message.decrypted) == ("psst", alice.user_id, True)
    assert bob.is_encrypted(room_id)


async def test_wait_for_returns_records_that_arrived_before_the_wait(
    make_member: MakeMember,
) -> None:
    alice = await make_member("alice")
    room_id = await alice.create_room()
    event_id = await alice.send_text(room_id, "note to self")
    await alice.wait_message(lambda m: m.event_id == event_id)

    again = await alice.wait_for(lambda r: r.event_id == event_id, timeout=0.1)

    assert not isinstance(again, Reaction)
    assert again.event_id == event_id


async def test_wait_for_names_what_it_waited_for_on_timeout(make_member: MakeMember) -> None:
    alice = await make_member("alice")

    with pytest.raises(TimeoutError, match="waited 0 s for"):
        await alice.wait_reply_to("$nothing", timeout=0.2)


async def test_a_synapse_that_dies_at_startup_is_reported_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(HomeserverError, match="exited with code") as raised:
        async with Homeserver.start(tmp_path, server_name="not a valid name!"):
            pass

    assert "tail of" in str(raised.value)
