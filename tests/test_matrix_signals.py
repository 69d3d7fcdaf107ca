"""Matrix events to Signals, without a server: nio parses real-shaped event JSON."""

from __future__ import annotations

from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.app.items import Inbound, InRoom, Notice, Private
from scorebot.core.model import Join, Leave, Ouch, Person, Priority, Source
from scorebot.matrix.memory import CALL_MEMBERS, REACTIONS, SENDERS, AdapterMemory
from scorebot.matrix.signals import Converter, RoomView, after_own_join, room_view
from scorebot.store.memory import MemoryStore

BOT = "@scorebot:example.org"
ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!meeting:example.org"
OTHER = "!other:example.org"
DM = "!dm:example.org"
CALL = "org.matrix.msc3401.call.member"

_counter = iter(range(1, 10_000))


def event(kind: str, sender: str, content: dict[str, Any], **extra: Any) -> Any:
    number = next(_counter)
    source = {
        "type": kind,
        "sender": sender,
        "event_id": extra.pop("event_id", f"$e{number}"),
        "origin_server_ts": 1_700_000_000_000 + number,
        "content": content,
        **extra,
    }
    return nio.Event.parse_event(source)


def text(sender: str, body: str, **content: Any) -> Any:
    return event("m.room.message", sender, {"msgtype": "m.text", "body": body, **content})


def reaction(sender: str, target: str, key: str) -> Any:
    relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
    return event("m.reaction", sender, {"m.relates_to": relates})


def redaction(sender: str, target: str) -> Any:
    return event("m.room.redaction", sender, {}, redacts=target)


def call_member(sender: str, content: dict[str, Any]) -> Any:
    return event(CALL, sender, content, state_key=f"_{sender}_DEVICE_m.call")


def room(room_id: str = ROOM, *, facilitators: frozenset[str] = frozenset(), **kw: Any) -> RoomView:
    members = {BOT: "scorebot", ALICE: "Alice", BOB: "Bob"}
    return RoomView(room_id, members, facilitators, **kw)


def convert(converter: Converter, ev: Any, view: RoomView | None = None, *others: RoomView) -> Any:
    view = view or room()
    views = {v.room_id: v for v in (view, *others)}
    return converter.convert(ev, view, views)


def new_converter() -> Converter:
    return Converter(BOT, AdapterMemory())


def test_typed_stack_becomes_a_chat_join_keyed_by_event_id() -> None:
    message = text(ALICE, "stack")

    [item] = convert(new_converter(), message)

    assert isinstance(item, Inbound)
    assert item.signal.key == message.event_id
    assert item.signal.cue == Join()
    assert item.signal.source is Source.CHAT
    assert item.signal.sender == Person(ALICE, "Alice")
    assert item.destination == InRoom(message.event_id)


def test_ordinary_chat_the_bots_own_messages_and_other_bots_notices_are_ignored() -> None:
    converter = new_converter()
    notice = event("m.room.message", BOB, {"msgtype": "m.notice", "body": "stack"})

    assert convert(converter, text(ALICE, "we stacked the chairs")) == []
    assert convert(converter, text(BOT, "stack")) == []
    assert convert(converter, notice) == []


def test_power_level_facilitator_is_marked_on_the_signal() -> None:
    [item] = convert(new_converter(), text(ALICE, "next"), room(facilitators=frozenset({ALICE})))

    assert item.signal.facilitator


def test_ouch_as_a_reply_is_aimed_at_the_sender_of_the_replied_message() -> None:
    converter = new_converter()
    hurtful = text(BOB, "something hurtful")
    convert(converter, hurtful)
    relates = {"m.in_reply_to": {"event_id": hurtful.event_id}}

    [item] = convert(converter, text(ALICE, "ouch", **{"m.relates_to": relates}))

    assert item.signal.cue == Ouch(at=Person(BOB, "Bob"))


def test_an_edit_is_not_a_new_signal() -> None:
    relates = {"rel_type": "m.replace", "event_id": "$old"}

    assert convert(new_converter(), text(ALICE, "* stack", **{"m.relates_to": relates})) == []


def test_hand_reaction_on_the_bots_message_joins_and_its_redaction_leaves() -> None:
    converter = new_converter()
    stack_message = text(BOT, "On the stack: nobody")
    convert(converter, stack_message)
    hand = reaction(ALICE, stack_message.event_id, "\u270b")

    [joined] = convert(converter, hand)
    [left] = convert(converter, redaction(ALICE, hand.event_id))

    assert (joined.signal.cue, joined.signal.source) == (Join(), Source.REACTION)
    assert (left.signal.cue, left.signal.source, left.signal.sender.id) == (
        Leave(),
        Source.REACTION,
        ALICE,
    )
    writes = converter.memory.take_writes()
    assert [(w.key, w.value is None) for w in writes if w.kind == "matrix.reaction"] == [
        (hand.event_id, False),
        (hand.event_id, True),
    ]


def test_hand_reaction_on_someone_elses_message_is_ignored() -> None:
    converter = new_converter()
    chat = text(BOB, "hello")
    convert(converter, chat)

    assert convert(converter, reaction(ALICE, chat.event_id, "\u270b")) == []


async def restarted_from(store: MemoryStore) -> Converter:
    """A converter as the bot builds it on start, from what the checkpoints saved."""
    restarted = Converter(BOT, AdapterMemory())
    for kind in (SENDERS, REACTIONS, CALL_MEMBERS):
        restarted.memory.load(kind, await store.remembered(kind))
    return restarted


async def test_a_hand_lowered_after_a_restart_is_found_in_the_saved_reactions() -> None:
    before, store = new_converter(), MemoryStore()
    stack_message = text(BOT, "stack")
    convert(before, stack_message)
    hand = reaction(ALICE, stack_message.event_id, "\U0001f64b")
    convert(before, hand)
    await store.checkpoint("sync_token", "s1", before.memory.take_writes(), ())

    [left] = convert(await restarted_from(store), redaction(ALICE, hand.event_id))

    assert left.signal.cue == Leave()


async def test_a_hand_raised_after_the_last_checkpoint_is_converted_again_after_a_crash() -> None:
    before, store = new_converter(), MemoryStore()
    stack_message = text(BOT, "stack")
    convert(before, stack_message)
    await store.checkpoint("sync_token", "s1", before.memory.take_writes(), ())
    hand = reaction(ALICE, stack_message.event_id, "\u270b")
    [joined] = convert(before, hand)
    # The process dies before the next checkpoint: sync replays the hand from s1.

    [again] = convert(await restarted_from(store), hand)

    assert again.signal == joined.signal  # the processed-keys table decides, not the converter


async def test_ouch_as_a_reply_after_a_restart_is_aimed_at_whoever_sent_that_message() -> None:
    before, store = new_converter(), MemoryStore()
    hurtful = text(BOB, "something hurtful")
    convert(before, hurtful)
    await store.checkpoint("sync_token", "s1", before.memory.take_writes(), ())
    relates = {"m.in_reply_to": {"event_id": hurtful.event_id}}

    [item] = convert(await restarted_from(store), text(ALICE, "ouch", **{"m.relates_to": relates}))

    assert item.signal.cue == Ouch(at=Person(BOB, "Bob"))


def test_element_call_hand_on_own_membership_joins_by_call_hand() -> None:
    converter = new_converter()
    membership = call_member(ALICE, {"application": "m.call", "device_id": "DEVICE"})
    convert(converter, membership)

    [item] = convert(converter, reaction(ALICE, membership.event_id, "\U0001f590\ufe0f"))

    assert (item.signal.cue, item.signal.source) == (Join(), Source.CALL_HAND)


def test_a_hand_on_someone_elses_call_membership_does_not_count() -> None:
    converter = new_converter()
    membership = call_member(ALICE, {"application": "m.call", "device_id": "DEVICE"})
    convert(converter, membership)

    assert convert(converter, reaction(BOB, membership.event_id, "\U0001f590\ufe0f")) == []


def test_leaving_the_call_with_a_hand_up_leaves_the_stack() -> None:
    converter = new_converter()
    membership = call_member(ALICE, {"application": "m.call", "device_id": "DEVICE"})
    convert(converter, membership)
    convert(converter, reaction(ALICE, membership.event_id, "\U0001f590"))

    [item] = convert(converter, call_member(ALICE, {}))

    assert (item.signal.cue, item.signal.source, item.signal.sender.id) == (
        Leave(),
        Source.CALL_HAND,
        ALICE,
    )


def test_leaving_the_call_without_a_hand_up_changes_nothing() -> None:
    converter = new_converter()
    convert(converter, call_member(ALICE, {"application": "m.call", "device_id": "DEVICE"}))

    assert convert(converter, call_member(ALICE, {})) == []


def test_private_priority_fans_out_to_every_shared_meeting_with_its_own_key() -> None:
    dm = RoomView(DM, {BOT: "scorebot", ALICE: "Alice"}, direct=True)
    message = text(ALICE, "priority")

    items = convert(new_converter(), message, dm, room(ROOM, names=("Budget",)), room(OTHER))

    assert {item.room for item in items} == {ROOM, OTHER}
    assert {item.signal.key for item in items} == {
        f"{message.event_id}/{ROOM}",
        f"{message.event_id}/{OTHER}",
    }
    assert all(item.signal.cue == Priority(True) for item in items)
    assert all(item.signal.source is Source.DIRECT for item in items)
    assert all(item.destination == Private(ALICE, DM, message.event_id) for item in items)


def test_private_ouch_with_several_shared_rooms_asks_which_and_changes_nothing() -> None:
    dm = RoomView(DM, {BOT: "scorebot", ALICE: "Alice"}, direct=True)

    [item] = convert(new_converter(), text(ALICE, "ouch"), dm, room(ROOM), room(OTHER))

    assert isinstance(item, Notice)
    assert item.room == DM
    assert "Which meeting" in item.text


def test_private_ouch_naming_a_room_is_anonymous_in_that_room() -> None:
    dm = RoomView(DM, {BOT: "scorebot", ALICE: "Alice"}, direct=True)
    budget = room(ROOM, names=("Budget",))

    [item] = convert(new_converter(), text(ALICE, "ouch in budget"), dm, budget, room(OTHER))

    assert item.room == ROOM
    assert item.signal.cue == Ouch(anonymous=True)


def test_priority_typed_in_the_room_is_answered_privately_and_changes_nothing() -> None:
    [item] = convert(new_converter(), text(ALICE, "priority"))

    assert isinstance(item, Notice)
    assert item.destination == Private(ALICE)
    assert "priority" not in item.text.casefold()


def test_undecryptable_message_tells_the_sender_once_per_session() -> None:
    converter = new_converter()

    def megolm() -> Any:
        content = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnAC",
            "device_id": "DEVICE",
            "sender_key": "key",
            "session_id": "session-1",
        }
        return event("m.room.encrypted", BOB, content)

    first = convert(converter, megolm())
    second = convert(converter, megolm())

    assert [type(item) for item in first] == [Notice]
    assert first[0].mentions == (BOB,)
    assert second == []


def test_history_from_before_the_bot_joined_is_dropped() -> None:
    old = text(ALICE, "stack")
    join = event("m.room.member", BOT, {"membership": "join"}, state_key=BOT)
    new = text(BOB, "stack")

    assert after_own_join([old, join, new], BOT) == [new]
    assert after_own_join([old, new], BOT) == [old, new]


def two_person_room(name: str | None = None) -> nio.MatrixRoom:
    room = nio.MatrixRoom("!new:example.org", BOT)
    room.add_member(BOT, "scorebot", None)
    room.add_member("@fran:example.org", "Fran", None)
    room.name = name
    return room


def test_a_new_unnamed_meeting_room_with_two_people_is_not_taken_for_a_direct_chat() -> None:
    assert not room_view(two_person_room(), 50).direct


def test_a_room_marked_direct_on_its_invite_is_a_direct_chat() -> None:
    assert room_view(two_person_room(), 50, direct_rooms={"!new:example.org"}).direct


def foreign_call_member(sender: str, owner: str, content: dict[str, Any]) -> Any:
    return event(CALL, sender, content, state_key=f"_{owner}_DEVICE_m.call")


def test_emptying_someone_elses_call_membership_does_not_take_them_off_the_stack() -> None:
    converter = new_converter()
    membership = call_member(ALICE, {"application": "m.call", "device_id": "DEVICE"})
    convert(converter, membership)
    convert(converter, reaction(ALICE, membership.event_id, "\U0001f590"))

    assert convert(converter, foreign_call_member(BOB, ALICE, {})) == []
    assert convert(converter, event(CALL, BOB, {}, state_key=ALICE)) == []
    [item] = convert(converter, call_member(ALICE, {}))
    assert (item.signal.cue, item.signal.sender.id) == (Leave(), ALICE)


def test_a_hand_on_a_membership_written_under_someone_elses_key_does_not_count() -> None:
    converter = new_converter()
    forged = foreign_call_member(BOB, ALICE, {"application": "m.call", "device_id": "DEVICE"})
    convert(converter, forged)

    assert convert(converter, reaction(BOB, forged.event_id, "\U0001f590")) == []
    assert convert(converter, reaction(ALICE, forged.event_id, "\U0001f590")) == []


def test_leaving_by_an_empty_memberships_list_in_the_per_user_form_leaves_the_stack() -> None:
    converter = new_converter()
    live = {"memberships": [{"application": "m.call", "device_id": "DEVICE"}]}
    membership = event(CALL, ALICE, live, state_key=ALICE)
    convert(converter, membership)
    convert(converter, reaction(ALICE, membership.event_id, "\U0001f590"))

    [item] = convert(converter, event(CALL, ALICE, {"memberships": []}, state_key=ALICE))

    assert (item.signal.cue, item.signal.sender.id) == (Leave(), ALICE)


def test_an_ouch_replying_in_a_wrong_json_shape_is_an_ouch_aimed_at_nobody() -> None:
    converter = new_converter()
    hurtful = text(BOB, "something hurtful")
    convert(converter, hurtful)
    shapes: list[Any] = [
        hurtful.event_id,
        [hurtful.event_id],
        7,
        None,
        {"event_id": 7},
        {"event_id": [hurtful.event_id]},
        {"event_id": {"event_id": hurtful.event_id}},
    ]

    for shape in shapes:
        [item] = convert(
            converter, text(ALICE, "ouch", **{"m.relates_to": {"m.in_reply_to": shape}})
        )
        assert item.signal.cue == Ouch(), shape
    for relates in ["x", [1], 3, None]:
        [item] = convert(converter, text(ALICE, "ouch", **{"m.relates_to": relates}))
        assert item.signal.cue == Ouch(), relates


def test_a_room_creates_extra_creators_only_from_a_list_of_user_ids() -> None:
    converter = new_converter()
    shapes: list[Any] = [5, "@bob:example.org", {"@bob:example.org": 1}, [BOB, 7, "x"], None]

    for index, extra in enumerate(shapes):
        content = {"room_version": "12", "additional_creators": extra}
        converter.note_state(event("m.room.create", ALICE, content, state_key=""), f"!r{index}")

    assert converter.memory.creators == {
        "!r0": {ALICE},
        "!r1": {ALICE},
        "!r2": {ALICE},
        "!r3": {ALICE, BOB},
        "!r4": {ALICE},
    }


def test_an_ouch_replying_to_a_message_of_someone_not_in_this_room_is_aimed_at_nobody() -> None:
    converter = new_converter()
    elsewhere = text("@dave:example.org", "said in another room")
    convert(converter, elsewhere, room(OTHER))
    relates = {"m.in_reply_to": {"event_id": elsewhere.event_id}}

    [item] = convert(converter, text(ALICE, "ouch", **{"m.relates_to": relates}))

    assert item.signal.cue == Ouch()
