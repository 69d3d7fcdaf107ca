"""The chat vocabulary: forgiving, prefix-free, and never mistaking chat for a signal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorebot.core.model import (
    Done,
    Facilitate,
    Join,
    Lane,
    Later,
    Leave,
    Move,
    NewTopic,
    Next,
    Oops,
    Ouch,
    Person,
    Priority,
    Resolve,
    SetHeadsUp,
    StartMeeting,
    Status,
    Undo,
    WhereAmI,
)
from scorebot.core.parse import (
    MAX_INPUT,
    PHRASES,
    ParseContext,
    PrivateRequest,
    Unclear,
    is_hand,
    parse,
    parse_private,
)

MEMBERS = {
    "@maria:example.org": "Maria Lopez",
    "@mark:example.org": "Mark",
    "@jo:example.org": "Jo",
}
MEMBER = ParseContext(members=MEMBERS)
FACILITATOR = ParseContext(facilitator=True, members=MEMBERS)
MARIA = Person("@maria:example.org", "Maria Lopez")
JO = Person("@jo:example.org", "Jo")


@pytest.mark.parametrize(
    "text",
    ["stack", "Stack", "STACK!", "stack please", "Stack please.", "me", "!stack", "✋", "🖐️",
     "🖐", "🙋", "🙋‍♀️", "✋🏽", " stack  ", "stack me"],
)  # fmt: skip
def test_every_way_of_asking_to_speak_joins_the_stack(text: str) -> None:
    assert parse(text, MEMBER) == Join()


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("unstack", Leave()),
        ("never mind", Leave()),
        ("Someone said it", Leave()),
        ("ouch", Ouch()),
        ("Ouch!", Ouch()),
        ("oops", Oops()),
        ("next", Next()),
        ("done", Done()),
        ("I'm done", Done()),
        ("status", Status()),
        ("stack?", Status()),
        ("where am I?", WhereAmI()),
    ],
)
def test_bare_cue_words_are_signals(text: str, cue: object) -> None:
    assert parse(text, MEMBER) == cue


@pytest.mark.parametrize(
    "text",
    [
        "we stacked the chairs",
        "that was an ouch moment for the budget",
        "oops I forgot my keys at home",
        "next week works for me",
        "I'm done with the flyers, who wants them?",
        "stack the chairs",
        "hello everyone",
        "",
    ],
)
def test_a_longer_message_that_contains_a_cue_word_is_chat(text: str) -> None:
    assert parse(text, FACILITATOR) is None
    assert parse(text, MEMBER) is None


@pytest.mark.parametrize(
    ("text", "lane"),
    [
        ("stack process", Lane.PROCESS),
        ("point of process", Lane.PROCESS),
        ("clarify", Lane.CLARIFYING),
        ("clarifying question", Lane.CLARIFYING),
        ("stack direct", Lane.DIRECT),
        ("direct response", Lane.DIRECT),
    ],
)
def test_lane_words_join_that_lane(text: str, lane: Lane) -> None:
    assert parse(text, MEMBER) == Join(lane=lane)


def test_a_facilitator_can_stack_a_member_by_name() -> None:
    assert parse("stack Maria", FACILITATOR) == Join(who=MARIA)
    assert parse("stack maria lopez clarify", FACILITATOR) == Join(who=MARIA, lane=Lane.CLARIFYING)


def test_a_facilitator_can_stack_an_in_room_guest_who_is_not_on_matrix() -> None:
    assert parse("stack Dolores", FACILITATOR) == Join(who=Person.guest("Dolores"))


def test_a_matrix_id_names_exactly_that_person() -> None:
    assert parse("unstack @jo:example.org", FACILITATOR) == Leave(who=JO)


def test_an_ambiguous_name_asks_which_person_and_changes_nothing() -> None:
    result = parse("stack Ma", FACILITATOR)
    assert isinstance(result, Unclear)
    assert "Maria Lopez" in result.message and "Mark" in result.message


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("move Maria to 1", Move(MARIA, 1)),
        ("move Maria Lopez to 3rd", Move(MARIA, 3)),
        ("move Jo to second", Move(JO, 2)),
        ("bump Jo", Move(JO, 1)),
        ("topic Budget for 2027", NewTopic("Budget for 2027")),
        ("new topic", NewTopic("")),
        ("start meeting Weekly check-in", StartMeeting("Weekly check-in")),
        ("resolved", Resolve()),
        ("resolved 2", Resolve(2)),
        ("facilitator Jo", Facilitate(JO, True)),
        ("facilitator off Jo", Facilitate(JO, False)),
        ("ouch Jo", Ouch(at=JO)),
    ],
)
def test_facilitator_forms_take_names_numbers_and_titles(text: str, cue: object) -> None:
    assert parse(text, FACILITATOR) == cue


def test_titles_keep_their_original_case() -> None:
    assert parse("TOPIC Rent Strike", FACILITATOR) == NewTopic("Rent Strike")


@pytest.mark.parametrize("text", ["move Jo to banana", "resolved soon-ish"])
def test_bad_input_gets_a_helpful_reply(text: str) -> None:
    result = parse(text, FACILITATOR)
    assert isinstance(result, Unclear) and "Nothing was changed" in result.message


def test_asking_for_priority_in_the_room_is_answered_privately_and_not_acted_on() -> None:
    result = parse("priority", MEMBER)
    assert isinstance(result, Unclear) and result.private


def test_hand_emoji_are_recognised_with_any_modifier() -> None:
    assert all(is_hand(k) for k in ["✋", "🖐", "🖐️", "🙋", "🙋🏿‍♂️", "🤚"])
    assert not any(is_hand(k) for k in ["👍", "", "stack", "✋👍"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("priority", PrivateRequest(Priority(True))),
        ("Priority please", PrivateRequest(Priority(True))),
        ("priority off", PrivateRequest(Priority(False))),
        ("priority keep for Budget", PrivateRequest(Priority(True, keep=True), "Budget")),
        ("ouch in General", PrivateRequest(Ouch(anonymous=True), "General")),
        ("where am I", PrivateRequest(WhereAmI())),
        ("mark Maria in Budget", PrivateRequest(Priority(True), "Budget", name="Maria")),
        ("unmark Maria", PrivateRequest(Priority(False), name="Maria")),
    ],
)  # fmt: skip
def test_private_messages_carry_priority_and_anonymous_ouch(
    text: str, expected: PrivateRequest
) -> None:
    assert parse_private(text, ParseContext()) == expected


def test_an_unknown_private_message_gets_private_help() -> None:
    result = parse_private("hello there", ParseContext())
    assert isinstance(result, Unclear) and result.private and "priority" in result.message


@given(st.text(max_size=200))
def test_any_text_parses_without_raising(text: str) -> None:
    parse(text, FACILITATOR)
    parse(text, MEMBER)
    parse_private(text, ParseContext())


# ---------------------------------------------------------------- new cues and names


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("later", Later()),
        ("last", Later(to_end=True)),
        ("oops 2", Oops(2)),
        ("oops pin 2", Oops(2)),
        ("undo", Undo()),
        ("heads up off", SetHeadsUp(False)),
        ("heads-up on", SetHeadsUp(True)),
    ],
)
def test_the_new_cues_are_understood(text: str, cue: object) -> None:
    assert parse(text, FACILITATOR) == cue


def test_an_emoji_display_name_is_found_by_a_facilitator() -> None:
    members = {**MEMBERS, "@hand:example.org": "🙋"}
    context = ParseContext(facilitator=True, members=members)
    assert parse("move 🙋 to 1", context) == Move(Person("@hand:example.org", "🙋"), 1)
    missing = parse("move 🎉 to 1", context)
    assert isinstance(missing, Unclear) and "could not find" in missing.message


@pytest.mark.parametrize(
    "text", ["stack the chairs", "stack overflow", "stack them up", "ouch that hurt"]
)
def test_a_lower_case_or_function_word_tail_is_chat_not_a_guest(text: str) -> None:
    assert parse(text, FACILITATOR) is None


@pytest.mark.parametrize("text", ["stack Dolores", "stack Ana María", "stack O'Neil"])
def test_a_capitalised_name_tail_from_a_facilitator_is_a_guest(text: str) -> None:
    cue = parse(text, FACILITATOR)
    assert isinstance(cue, Join) and cue.who is not None and cue.who.is_guest


def test_every_phrase_in_the_table_parses_to_its_own_cue_in_any_case() -> None:
    for phrase, cue in PHRASES.items():
        assert parse(phrase, MEMBER) == cue, phrase
        assert parse(phrase.upper() + "!", MEMBER) == cue, phrase


def test_a_room_in_a_private_request_is_found_after_the_first_room_word() -> None:
    request = parse_private("ouch in Sit in Group", ParseContext())
    assert request == PrivateRequest(Ouch(anonymous=True), "Sit in Group")


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "text",
    [
        "x" + " " * 40_000 + "y",
        " " * 100_000,
        "in " * 30_000,
        "move a to " * 10_000,
        "stack " * 20_000,
        "✋" * 100_000,
        "," * 100_000,
    ],
    ids=["spaces", "only spaces", "room words", "moves", "stacks", "hands", "commas"],
)
def test_an_input_over_the_bound_is_not_looked_at(text: str) -> None:
    assert len(text) > MAX_INPUT
    assert parse(text, FACILITATOR) is None
    private = parse_private(text, ParseContext())
    assert isinstance(private, Unclear) and "too long" in private.message


def test_no_pattern_in_the_parser_can_backtrack() -> None:
    """Each compiled pattern is anchored or a single character class: no nested repeats."""
    import scorebot.core.parse as module

    patterns = [value for value in vars(module).values() if isinstance(value, re.Pattern)]
    assert patterns
    for pattern in patterns:
        assert not re.search(r"[)\]][*+].*[*+]|\.\*.*\.\*|\.\+\?", pattern.pattern), pattern


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list(" \n\t,.!?in to stack move ✋🙋‍♀️@:Maria\u202e\u200b")),
        max_size=400,
    )
)
def test_adversarial_text_near_the_bound_never_raises(text: str) -> None:
    parse(text, FACILITATOR)
    parse(text, MEMBER)
    parse_private(text, ParseContext(facilitator=True, members=MEMBERS))


def test_moving_an_emoji_name_to_a_place_is_answered_for_anyone() -> None:
    members = {**MEMBERS, "@hand:example.org": "🙋"}
    member = ParseContext(facilitator=False, members=members)
    hand = Person("@hand:example.org", "🙋")

    assert parse("move 🙋 to 1", member) == Move(hand, 1)
    assert isinstance(parse("move 🙋🏽 to 2", member), Unclear)
    assert parse("move 🎉 to the door", member) is None
