"""Any JSON a member can send, in any field the converter reads, never raises in it.

nio builds the event from the JSON exactly as it would from a sync response; the converter
must then answer with items or nothing, never an exception (which would end the sync
loop and silence the bot in every room).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorebot.app.items import Inbound, Notice
from scorebot.demo.member import Member
from scorebot.matrix.memory import AdapterMemory
from scorebot.matrix.signals import CALL_MEMBER_TYPES, Converter, RoomView

BOT = "@scorebot:example.org"
ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!meeting:example.org"
DM = "!dm:example.org"
WORDS = ["stack", "ouch", "✋", "🖐️", "priority", "mark bob", "minutes", "move Bob to 1", "next"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_ids = st.sampled_from(["$a", "$b", "$c"])
relations = st.fixed_dictionaries(
    {},
    optional={
        "rel_type": st.sampled_from(["m.annotation", "m.replace", "m.thread"]) | json_values,
        "event_id": event_ids | json_values,
        "key": st.sampled_from(["✋", "🖐️", "🙋"]) | json_values,
        "m.in_reply_to": st.fixed_dictionaries({}, optional={"event_id": event_ids | json_values})
        | json_values,
    },
)
contents = st.fixed_dictionaries(
    {},
    optional={
        "msgtype": st.sampled_from(["m.text", "m.notice", "m.emote"]) | json_values,
        "body": st.sampled_from(WORDS) | json_values | st.just("x" + " " * 40_000 + "y"),
        "m.relates_to": relations | json_values,
        "format": st.just("org.matrix.custom.html") | json_values,
        "formatted_body": json_values,
        "application": json_values,
        "memberships": json_values,
        "device_id": json_values,
        "room_version": st.sampled_from(["10", "12"]) | json_values,
        "additional_creators": st.lists(st.sampled_from([ALICE, BOB])) | json_values,
    },
)
events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "m.room.message",
                "m.reaction",
                "m.room.redaction",
                "m.room.create",
                *CALL_MEMBER_TYPES,
            ]
        ),
        # The homeserver sets these three; a member chooses everything else.
        "sender": st.sampled_from([ALICE, BOB, BOT]),
        "event_id": event_ids,
        "origin_server_ts": st.integers(min_value=0, max_value=2**53),
        "content": contents | json_values,
    },
    optional={
        "state_key": st.sampled_from(
            ["", ALICE, f"_{ALICE}_D_m.call", f"_{BOB}_D_m.call", f"{ALICE}_D"]
        )
        | json_values,
        "redacts": event_ids | json_values,
    },
)

cue_messages = st.fixed_dictionaries(
    {
        "type": st.just("m.room.message"),
        "sender": st.sampled_from([ALICE, BOB]),
        "event_id": event_ids,
        "origin_server_ts": st.integers(min_value=0, max_value=2**53),
        "content": st.fixed_dictionaries(
            {
                "msgtype": st.just("m.text"),
                "body": st.sampled_from(["ouch", "ouch!", "stack", "✋"]),
                "m.relates_to": st.fixed_dictionaries(
                    {
                        "m.in_reply_to": json_values
                        | st.fixed_dictionaries({"event_id": json_values})
                    }
                )
                | relations
                | json_values,
            },
            optional={"m.mentions": json_values},
        ),
    }
)
"""messages that are cues, so the converter reads every field around them"""

VIEWS = {
    ROOM: RoomView(ROOM, {BOT: "scorebot", ALICE: "Alice", BOB: "Bob"}, frozenset({ALICE})),
    DM: RoomView(DM, {BOT: "scorebot", BOB: "Bob"}, direct=True),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events | cue_messages, min_size=1, max_size=6), st.sampled_from([ROOM, DM]))
def test_any_event_json_converts_to_items_or_nothing_and_never_raises(
    sources: list[dict[str, Any]], room: str
) -> None:
    converter = Converter(BOT, AdapterMemory())
    for source in sources:
        event = nio.Event.parse_event(source)
        if event is None:
            continue
        if isinstance(event, nio.UnknownEvent | nio.RoomCreateEvent):
            converter.note_state(event, room)
        items = converter.convert(event, VIEWS[room], VIEWS)
        assert all(isinstance(item, Inbound | Notice) for item in items)
        for item in items:
            if isinstance(item, Inbound):
                assert item.room == ROOM


@dataclass(frozen=True, slots=True)
class _Room:
    room_id: str = ROOM


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events | cue_messages, min_size=1, max_size=6))
def test_the_demo_member_records_any_event_json_without_raising(
    sources: list[dict[str, Any]],
) -> None:
    member = Member(client=None)
    callbacks = {
        nio.RoomMessageText: member._on_message,
        nio.RoomMessageNotice: member._on_message,
        nio.ReactionEvent: member._on_reaction,
        nio.RedactionEvent: member._on_redaction,
    }
    for source in sources:
        event = nio.Event.parse_event(source)
        for kind, callback in callbacks.items():
            if isinstance(event, kind):
                callback(_Room(), event)
    assert len(member.records) <= len(sources)
