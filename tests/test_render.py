"""Rendering: every event in plain words, HTML adding nothing, and private priority kept private."""

from __future__ import annotations

import html
import re
import typing
import unicodedata
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorebot.core import events as ev
from scorebot.core.model import (
    Clear,
    CloseStack,
    Done,
    EndMeeting,
    Facilitate,
    Help,
    Join,
    Lane,
    Leave,
    Meeting,
    Minutes,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Pin,
    Priority,
    Resolve,
    SetLanes,
    Settings,
    Signal,
    Source,
    StackAction,
    StartMeeting,
    Status,
    Tick,
    WhereAmI,
)
from scorebot.core.render import (
    OVERVIEW_KINDS,
    STACK_CHANGED_KINDS,
    Audience,
    RenderContext,
    Reply,
    duration,
    ordinal,
    render,
    render_all,
)
from scorebot.core.rules import POLICY, CueKind, NoMeeting, Who
from scorebot.core.step import step

MARIA = Person("@maria:example.org", "Maria")
JO = Person("@jo:example.org", "Jo")
FRAN = Person("@fran:example.org", "Fran")
SAM = Person.guest("Sam")
SCRIPT = Person("@evil:example.org", "<script>alert(1)</script>")

IN_ROOM = RenderContext(sender=MARIA, source=Source.CHAT)
PRIVATELY = RenderContext(sender=MARIA, source=Source.DIRECT, private=True)

PIN = Pin(id=1, by=MARIA, at_person=JO, pinned_at=10.0)
ANONYMOUS_PIN = Pin(id=2, by=None, at_person=JO, pinned_at=20.0)


REFUSALS: list[ev.Event] = [
    *(ev.NotAllowed(kind) for kind in CueKind if POLICY[kind].who is Who.FACILITATOR),
    *(
        ev.NoMeetingRunning(kind)
        for kind in CueKind
        if POLICY[kind].no_meeting is NoMeeting.REFUSED
    ),
    ev.MeetingRunning("Budget"),
    ev.NotSpeaker(),
    ev.NoSuchPlace(0),
    ev.NoSuchPlace(1),
    ev.NoSuchPlace(4),
    ev.NoSuchPin(3),
    ev.StackIsClosed(MARIA),
    ev.StackIsClosed(JO),
    ev.NothingToUndo(),
    ev.OuchAimedElsewhere(PIN),
    ev.NobodyBehind(MARIA, 3),
]
"""Every kind of refusal, with every cue the policy table can refuse that way."""


def one_of_each() -> list[ev.Event]:
    """At least one of every event type the core emits."""
    return [
        ev.MeetingStarted("Budget", 3),
        ev.MeetingStarted("", 4, automatic=True),
        ev.MeetingEnded("Budget", 3, (ev.SpeakingTotal(JO, 2, 240.0),), left_on_stack=2),
        ev.TopicStarted(2, "Rent", carried_over=3),
        ev.PinsToDiscuss((PIN, ANONYMOUS_PIN), ev.Moment.TOPIC),
        ev.PinsToDiscuss((PIN,), ev.Moment.MEETING),
        ev.Joined(MARIA, Lane.REGULAR, 2, 3, Source.CHAT),
        ev.Joined(SAM, Lane.PROCESS, 1, 3, Source.CHAT, by=FRAN),
        ev.Joined(MARIA, Lane.CLARIFYING, 1, 3, Source.CALL_HAND, lane_changed=True),
        ev.Joined(MARIA, Lane.REGULAR, 3, 3, Source.CHAT, lanes_off=True),
        ev.Joined(Person.in_room(1), Lane.REGULAR, 2, 2, Source.VOICE),
        ev.Renamed(1, MARIA, 2, 3),
        ev.Renamed(2, SAM, None, 3),
        ev.NoRoomEntry(4),
        ev.AlreadyOnStack(MARIA, 2, Lane.DIRECT),
        ev.Left(MARIA, Source.CHAT),
        ev.Left(JO, Source.CHAT, by=FRAN),
        ev.NotOnStack(MARIA, asked_by_self=True),
        ev.NotOnStack(JO, asked_by_self=False),
        ev.Called(MARIA, Lane.PROCESS, up_next=JO, remaining=3),
        ev.Called(JO, Lane.REGULAR, up_next=None, remaining=0),
        ev.TurnEnded(MARIA, 125.0, yielded=True),
        ev.TurnEnded(JO, 59.6, yielded=False),
        ev.StackEmpty(),
        ev.Moved(JO, 2, 5),
        ev.Cleared((MARIA, JO, SAM)),
        ev.Cleared(()),
        ev.StackClosed(),
        ev.StackOpened(),
        ev.LanesChanged(True),
        ev.LanesChanged(False),
        ev.OuchPinned(PIN),
        ev.OuchPinned(ANONYMOUS_PIN),
        ev.OuchPinned(replace(PIN, at_person=None)),
        ev.OopsAcknowledged(replace(PIN, oops_at=30.0, oops_by=JO), JO),
        ev.PinResolved(PIN),
        ev.NoOpenPin(),
        ev.PriorityNoted(MARIA, on=True, keep=True, by_facilitator=False),
        ev.PriorityNoted(MARIA, on=False, keep=False, by_facilitator=False),
        ev.PriorityNoted(JO, on=True, keep=False, by_facilitator=True),
        ev.FacilitatorNamed(JO, on=True),
        ev.FacilitatorNamed(JO, on=False),
        ev.StatusShown(
            active=True,
            title="Budget",
            topic="Rent",
            speaker=JO,
            speaker_seconds=125.0,
            stack=(ev.StackLine(1, MARIA, Lane.PROCESS), ev.StackLine(2, SAM, Lane.REGULAR)),
            closed=True,
            pins=(PIN, replace(ANONYMOUS_PIN, at_person=None)),
            totals=(ev.SpeakingTotal(JO, 2, 240.0), ev.SpeakingTotal(SAM, 1, 30.0)),
        ),
        ev.StatusShown(False, "", "", None, 0.0, (), False, (), ()),
        ev.WhereShown(MARIA, 3, 5, speaking=False),
        ev.WhereShown(MARIA, None, 5, speaking=False),
        ev.WhereShown(MARIA, None, 5, speaking=True),
        ev.HelpShown(facilitator=True, lanes=True),
        ev.HelpShown(facilitator=False, lanes=False),
        ev.MinutesAsked(3),
        ev.WrapUpReminded(JO, 180.0),
        ev.HeadsUpChanged(True),
        ev.HeadsUpChanged(False),
        ev.UpNext(JO),
        ev.SteppedBack(MARIA, 3, 4, to_end=False),
        ev.SteppedBack(MARIA, 4, 4, to_end=True),
        *(ev.Undone(action, JO, FRAN) for action in StackAction),
        ev.Called(MARIA, Lane.REGULAR, up_next=JO, remaining=2, heads_up=False),
        ev.PriorityNoted(MARIA, on=True, keep=False, by_facilitator=False, meeting_running=False),
        *REFUSALS,
    ]


SAMPLES = one_of_each()
CONTEXTS = [IN_ROOM, PRIVATELY]


def visible_words(markup: str) -> list[str]:
    return re.findall(r"\w+", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def without_emoji(text: str) -> str:
    return "".join(
        ch
        for ch in text
        if unicodedata.category(ch) != "So"
        and ch not in "\u200d\ufe0f\ufe0e"
        and not 0x1F3FB <= ord(ch) <= 0x1F3FF
    )


def all_replies() -> list[tuple[ev.Event, RenderContext, Reply]]:
    return [(e, c, r) for e in SAMPLES for c in CONTEXTS for r in render(e, c)]


def check_reply(reply: Reply) -> None:
    """What every reply must do, whatever the event."""
    assert reply.text.strip()
    text_words = set(re.findall(r"\w+", reply.text))
    missing = [w for w in visible_words(reply.html) if w not in text_words]
    assert not missing, (missing, reply)
    for mention in reply.mentions:
        assert mention.startswith("@")
        assert not mention.startswith("guest:")
    if reply.audience is Audience.SENDER:
        assert reply.mentions == ()
    if reply.audience is Audience.ROOM:
        lowered = (reply.text + reply.html).lower()
        assert "priority" not in lowered
        assert "marginal" not in lowered
    for line in reply.text.splitlines():
        if line.strip():
            assert re.search(r"[A-Za-z]", without_emoji(line)), line


# ---------------------------------------------------------------- every event


def test_every_event_type_has_a_sample() -> None:
    assert {type(e) for e in SAMPLES} == set(typing.get_args(ev.Event))


@pytest.mark.parametrize("context", CONTEXTS, ids=["in room", "privately"])
@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_renders_to_non_empty_plain_text(
    event: ev.Event, context: RenderContext
) -> None:
    replies = render(event, context)
    assert replies
    for reply in replies:
        check_reply(reply)


def test_render_all_keeps_the_order_of_events() -> None:
    events: list[ev.Event] = [ev.TurnEnded(JO, 10.0, False), ev.StackEmpty()]
    kinds = [reply.kind for reply in render_all(events, IN_ROOM)]
    assert kinds == ["turn_ended", "stack_empty"]


def test_status_is_the_one_reply_that_carries_the_stack_overview() -> None:
    kinds = {r.kind for _, _, r in all_replies()}
    assert {"status"} == OVERVIEW_KINDS
    assert kinds >= STACK_CHANGED_KINDS
    assert "private_note" not in STACK_CHANGED_KINDS


# ---------------------------------------------------------------- text and html


def test_html_escapes_user_provided_names_and_titles() -> None:
    events: list[ev.Event] = [
        ev.Joined(SCRIPT, Lane.REGULAR, 1, 1, Source.CHAT),
        ev.MeetingStarted("<b>Budget</b>", 1),
        ev.Called(SCRIPT, Lane.REGULAR, SAM, 1),
        ev.StatusShown(
            True,
            "<i>t</i>",
            "<u>x</u>",
            SCRIPT,
            1.0,
            (ev.StackLine(1, SCRIPT, Lane.DIRECT),),
            False,
            0,
            (ev.SpeakingTotal(SCRIPT, 1, 1.0),),
        ),
    ]
    for reply in render_all(events, IN_ROOM):
        assert "<script>" not in reply.html
        assert "<b>" not in reply.html and "<i>" not in reply.html and "<u>" not in reply.html
    joined = render(events[0], IN_ROOM)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined.html
    assert "<script>alert(1)</script>" in joined.text


def test_a_guest_name_with_markup_is_escaped_too() -> None:
    guest = Person.guest("<img src=x onerror=alert(1)>")
    reply = render(ev.Left(guest, Source.VOICE), IN_ROOM)[0]
    assert "<img" not in reply.html
    assert "&lt;img" in reply.html


def test_plain_text_says_everything_the_html_says() -> None:
    for _, _, reply in all_replies():
        text_words = set(re.findall(r"\w+", reply.text))
        assert set(visible_words(reply.html)) <= text_words, reply


def test_status_lists_the_stack_in_order_as_numbered_lines() -> None:
    status = next(e for e in SAMPLES if isinstance(e, ev.StatusShown) and e.active)
    reply = render(status, IN_ROOM)[0]
    assert "- 1st: Maria, point of process\n- 2nd: Sam\n" in reply.text
    assert "Jo has the floor (2 minutes 5 seconds so far)" in reply.text
    assert "closed" in reply.text
    assert (
        "2 open ouches to talk about:\n- pin 1, aimed at Jo\n- pin 2, aimed at nobody" in reply.text
    )
    assert "Speaking time this topic: Jo 4 minutes over 2 turns, Sam 30 seconds over 1 turn." in (
        reply.text
    )
    assert "<ul>" in reply.html
    assert reply.kind == "status"


# ---------------------------------------------------------------- mentions


def test_the_called_person_and_the_next_one_are_mentioned() -> None:
    reply = render(ev.Called(MARIA, Lane.REGULAR, JO, 2), IN_ROOM)[0]
    assert reply.text.startswith("Maria, you have the floor.")
    assert "Jo, you are next." in reply.text
    assert reply.mentions == (MARIA.id, JO.id)
    assert 'href="https://matrix.to/#/@maria:example.org"' in reply.html


def test_guests_are_never_mentioned_or_linked() -> None:
    events: list[ev.Event] = [
        ev.Called(SAM, Lane.REGULAR, SAM, 1),
        ev.Joined(SAM, Lane.REGULAR, 1, 1, Source.CHAT, by=FRAN),
        ev.WrapUpReminded(SAM, 200.0),
        ev.OuchPinned(replace(PIN, by=None, at_person=SAM)),
    ]
    for reply in render_all(events, IN_ROOM):
        assert reply.mentions == ()
        assert "<a " not in reply.html.replace(f'<a href="https://matrix.to/#/{FRAN.id}">', "")
        assert "guest:" not in reply.html + reply.text
        assert "Sam" in reply.text


def test_someone_put_on_the_stack_by_a_facilitator_is_told_who_did_it() -> None:
    reply = render(ev.Joined(JO, Lane.REGULAR, 2, 3, Source.CHAT, by=FRAN), IN_ROOM)[0]
    assert reply.text == "Fran put Jo on the stack: 2nd of 3."
    assert reply.mentions == (JO.id,)


def test_a_wrap_up_reminder_names_the_speaker_and_the_time() -> None:
    reply = render(ev.WrapUpReminded(JO, 180.0), IN_ROOM)[0]
    assert reply.text == "Time check: Jo, you have spoken for 3 minutes. Please start to wrap up."
    assert reply.mentions == (JO.id,)


# ---------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("n", "word"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (101, "101st"),
        (111, "111th"),
    ],
)
def test_ordinal_words_are_right(n: int, word: str) -> None:
    assert ordinal(n) == word


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (125.0, "2 minutes 5 seconds"),
        (60.0, "1 minute"),
        (1.0, "1 second"),
        (3725.0, "1 hour 2 minutes 5 seconds"),
        (0.2, "less than a second"),
        (float("nan"), "less than a second"),
    ],
)
def test_durations_are_in_words(seconds: float, words: str) -> None:
    assert duration(seconds) == words


def test_joining_confirms_the_place_in_words() -> None:
    reply = render(ev.Joined(MARIA, Lane.REGULAR, 2, 3, Source.CHAT), IN_ROOM)[0]
    assert reply.text == "Maria, you are on the stack: 2nd of 3."
    lane = render(ev.Joined(MARIA, Lane.PROCESS, 1, 3, Source.CHAT), IN_ROOM)[0]
    assert "for a point of process" in lane.text


def test_where_am_i_answers_in_words() -> None:
    assert (
        "you are 3rd of 5 on the stack"
        in render(ev.WhereShown(MARIA, 3, 5, False), IN_ROOM)[0].text
    )
    assert "not on the stack" in render(ev.WhereShown(MARIA, None, 5, False), IN_ROOM)[0].text
    assert "you have the floor" in render(ev.WhereShown(MARIA, None, 5, True), IN_ROOM)[0].text


def test_no_reply_is_carried_by_emoji_alone() -> None:
    for _, _, reply in all_replies():
        bare = without_emoji(reply.text)
        assert bare.strip()
        if "✋" in reply.text:
            assert "hand reaction" in reply.text


def test_no_acronyms_in_any_reply() -> None:
    for _, _, reply in all_replies():
        shouting = [
            w
            for w in re.findall(r"\b[A-Z]{2,}\b", reply.text)
            if w not in {"NAME", "TITLE", "ROOM"}
        ]
        assert not shouting, reply.text


# ---------------------------------------------------------------- help and mistakes


def test_help_with_lanes_off_does_not_advertise_lane_words() -> None:
    text = render(ev.HelpShown(facilitator=False, lanes=False), IN_ROOM)[0].text
    assert '"stack"' in text
    for lane_word in ('"stack process"', '"clarify"', '"direct"'):
        assert lane_word not in text
    assert '"next"' not in text


def test_help_for_a_facilitator_lists_facilitator_words() -> None:
    text = render(ev.HelpShown(facilitator=True, lanes=True), IN_ROOM)[0].text
    for word in ('"next"', '"move NAME to 2"', '"end meeting"', '"clarify"', "raising your hand"):
        assert word in text


def test_help_mentions_the_private_words_only_in_private() -> None:
    room = render(ev.HelpShown(facilitator=False, lanes=True), IN_ROOM)[0]
    private = render(ev.HelpShown(facilitator=False, lanes=True), PRIVATELY)[0]
    assert "priority" not in room.text.lower()
    assert "private message" in room.text
    assert private.audience is Audience.SENDER
    assert '"priority"' in private.text


def test_refusals_say_who_can_do_it() -> None:
    reply = render(ev.NotAllowed(CueKind.NEXT), IN_ROOM)[0]
    assert reply.text == "Only a facilitator can call the next speaker. You can ask one to do it."


def test_a_private_mark_from_a_member_is_refused_in_words_that_fit_a_private_chat() -> None:
    [reply] = render(ev.NotAllowed(CueKind.MARK), PRIVATELY)
    assert reply.audience is Audience.SENDER
    assert reply.text == "Only a facilitator can give someone priority. You can ask one to do it."


def test_no_meeting_says_how_to_start_one() -> None:
    text = render(ev.NoMeetingRunning(CueKind.NEXT), IN_ROOM)[0].text
    assert text.startswith("No meeting is running, so I cannot call the next speaker now.")
    assert '"start meeting TITLE"' in text
    assert 'Saying "stack" also starts one and puts you on the stack.' in text


def test_a_place_outside_the_stack_gives_the_range() -> None:
    text = render(ev.NoSuchPlace(4), IN_ROOM)[0].text
    assert "from 1 to 4" in text


def test_a_closed_stack_with_lanes_off_does_not_offer_a_lane() -> None:
    lanes_off = replace(IN_ROOM, lanes=False)
    text = render(ev.StackIsClosed(MARIA), lanes_off)[0].text
    assert "stack process" not in text
    assert '"open stack"' in text


# ---------------------------------------------------------------- oops and ouch


def test_an_ouch_is_clearly_marked_and_tells_the_person_how_to_answer() -> None:
    reply = render(ev.OuchPinned(PIN), IN_ROOM)[0]
    assert reply.text.startswith("Ouch noted as pin 1 from Maria, aimed at Jo.")
    assert 'Jo, if it was you, say "oops"' in reply.text
    assert "minutes" in reply.text
    assert reply.mentions == (JO.id,)


def test_an_anonymous_ouch_shows_someone_and_confirms_privately() -> None:
    replies = render(ev.OuchPinned(ANONYMOUS_PIN), PRIVATELY)
    room = [r for r in replies if r.audience is Audience.ROOM]
    private = [r for r in replies if r.audience is Audience.SENDER]
    assert len(room) == 1 and len(private) == 1
    assert "from someone" in room[0].text
    assert "Maria" not in room[0].text + room[0].html
    assert "pin 2" in private[0].text


def test_open_ouches_are_brought_back_before_moving_on() -> None:
    reply = render(ev.PinsToDiscuss((PIN, ANONYMOUS_PIN), "topic"), IN_ROOM)[0]
    assert reply.text.startswith("Before we move on: 2 open ouches to talk about:")
    assert "pin 1, from Maria, aimed at Jo" in reply.text
    assert "pin 2, from someone, aimed at Jo" in reply.text


# ---------------------------------------------------------------- privacy


@pytest.mark.parametrize("context", CONTEXTS, ids=["typed in the room", "privately"])
def test_priority_noted_goes_only_to_the_sender(context: RenderContext) -> None:
    for event in SAMPLES:
        if isinstance(event, ev.PriorityNoted):
            replies = render(event, context)
            assert replies
            assert all(r.audience is Audience.SENDER for r in replies)


def test_a_refused_priority_mark_stays_private() -> None:
    replies = render(ev.NotAllowed(CueKind.MARK), IN_ROOM)
    assert [r.audience for r in replies] == [Audience.SENDER]


def test_personal_answers_to_a_private_message_stay_private() -> None:
    for event in (ev.StatusShown(False, "", "", None, 0.0, (), False, (), ()), ev.NoOpenPin()):
        assert [r.audience for r in render(event, PRIVATELY)] == [Audience.SENDER]


def test_a_change_the_room_must_know_is_posted_even_from_a_private_message() -> None:
    replies = render(ev.Joined(MARIA, Lane.REGULAR, 2, 3, Source.DIRECT), PRIVATELY)
    assert [r.audience for r in replies] == [Audience.ROOM, Audience.SENDER]
    assert replies[0].text == "Maria, you are on the stack: 2nd of 3."


def signal(sender: Person, cue: typing.Any, at: float, source: Source = Source.CHAT) -> Signal:
    return Signal(f"k{at}", sender, cue, source, at, facilitator=sender is FRAN)


def test_a_lifted_join_reads_the_same_as_any_other_join() -> None:
    """Jo goes first for a private reason in one meeting and a public one in the other."""
    base = Meeting("!room")
    # Private: Maria and Jo have both spoken; Jo told the bot privately.
    lifted = base
    for n, (who, cue) in enumerate(
        [
            (FRAN, StartMeeting()),
            (MARIA, Join()),
            (JO, Join()),
            (FRAN, Next()),
            (FRAN, Next()),
            (FRAN, Done()),
            (JO, Priority(True)),
            (MARIA, Join()),
        ]
    ):
        lifted, _ = step(
            lifted, signal(who, cue, float(n), Source.DIRECT if n == 6 else Source.CHAT)
        )
    lifted, lifted_events = step(lifted, signal(JO, Join(), 10.0))
    # Public: Maria has spoken, Jo has not.
    plain = base
    for n, (who, cue) in enumerate(
        [(FRAN, StartMeeting()), (MARIA, Join()), (FRAN, Next()), (FRAN, Done()), (MARIA, Join())]
    ):
        plain, _ = step(plain, signal(who, cue, float(n)))
    plain, plain_events = step(plain, signal(JO, Join(), 10.0))
    assert lifted.position(JO.id) == plain.position(JO.id) == 1
    context = RenderContext(JO, Source.CHAT)
    assert render_all(lifted_events, context) == render_all(plain_events, context)


PEOPLE = [MARIA, JO, FRAN, SAM, Person.guest("Ana"), SCRIPT]
TITLES = ["", "Budget", "<b>Rent</b>", "Élections & co"]

joins = st.builds(Join, who=st.none() | st.sampled_from(PEOPLE), lane=st.sampled_from(Lane))
cues = st.one_of(
    # The stack's own flow is listed twice so it comes up more often than the rest.
    joins,
    joins,
    st.just(Next()),
    st.just(Next()),
    st.just(Tick()),
    st.builds(Join, who=st.none() | st.sampled_from(PEOPLE), lane=st.sampled_from(Lane)),
    st.builds(Leave, who=st.none() | st.sampled_from(PEOPLE)),
    st.just(Next()),
    st.just(Done()),
    st.builds(Move, who=st.sampled_from(PEOPLE), position=st.integers(-1, 7)),
    st.just(Clear()),
    st.builds(NewTopic, title=st.sampled_from(TITLES)),
    st.builds(StartMeeting, title=st.sampled_from(TITLES)),
    st.just(EndMeeting()),
    st.just(CloseStack()),
    st.just(OpenStack()),
    st.builds(SetLanes, enabled=st.booleans()),
    st.builds(Ouch, at=st.none() | st.sampled_from(PEOPLE), anonymous=st.booleans()),
    st.just(Oops()),
    st.builds(Resolve, pin=st.none() | st.integers(0, 4)),
    st.builds(
        Priority, on=st.booleans(), who=st.none() | st.sampled_from(PEOPLE), keep=st.booleans()
    ),
    st.builds(Facilitate, who=st.sampled_from(PEOPLE), on=st.booleans()),
    st.just(Status()),
    st.just(WhereAmI()),
    st.just(Help()),
    st.just(Minutes()),
    st.just(Tick()),
)

moves = st.tuples(
    st.sampled_from(PEOPLE),
    cues,
    st.sampled_from([s for s in Source if s is not Source.CLOCK]),
    st.sampled_from([True, True, False]),
    st.floats(0.0, 400.0),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(moves, max_size=40), st.booleans())
def test_no_room_reply_ever_mentions_priority(
    script: list[tuple[Person, typing.Any, Source, bool, float]], lanes: bool
) -> None:
    meeting = Meeting("!room", settings=Settings(lanes=lanes, wrap_up_seconds=60.0))
    now = 1_700_000_000.0
    meeting, _ = step(meeting, Signal("start", FRAN, StartMeeting(), Source.CHAT, now, True))
    for index, (sender, cue, channel, facilitator, wait) in enumerate(script):
        now += wait
        source = Source.CLOCK if isinstance(cue, Tick) else channel
        sig = Signal(f"k{index}", sender, cue, source, now, facilitator)
        meeting, events = step(meeting, sig)
        context = RenderContext.for_signal(sig, "scorebot", meeting.settings.lanes)
        for event in events:
            replies = render(event, context)
            assert replies
            for reply in replies:
                check_reply(reply)
            if isinstance(event, ev.PriorityNoted):
                assert all(r.audience is Audience.SENDER for r in replies)
