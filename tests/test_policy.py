"""Every cue walked through the one policy table: the help, the refusals and `step` agree."""

from __future__ import annotations

import pytest

from scorebot.core import catalogue
from scorebot.core import events as ev
from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Facilitate,
    Help,
    Join,
    JoinRoom,
    Lane,
    Later,
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
    Priority,
    Rename,
    Resolve,
    SetHeadsUp,
    SetLanes,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
    Tick,
    Undo,
    WhereAmI,
)
from scorebot.core.parse import ParseContext, PrivateRequest, parse, parse_private
from scorebot.core.render import RenderContext, render, render_all
from scorebot.core.rules import POLICY, CueKind, NoMeeting, Where, Who, join_kind, kind_of
from scorebot.core.step import status, step

ANA = Person("@ana:example.org", "Ana")
BEN = Person("@ben:example.org", "Ben")
FRAN = Person("@fran:example.org", "Fran")
MEMBERS = {ANA.id: ANA.name, BEN.id: BEN.name, FRAN.id: FRAN.name}

EXAMPLES: dict[CueKind, Cue] = {
    CueKind.JOIN: Join(),
    CueKind.JOIN_PROCESS: Join(lane=Lane.PROCESS),
    CueKind.JOIN_CLARIFYING: Join(lane=Lane.CLARIFYING),
    CueKind.JOIN_DIRECT: Join(lane=Lane.DIRECT),
    CueKind.JOIN_ROOM: JoinRoom(),
    CueKind.RENAME: Rename(1, BEN),
    CueKind.LEAVE: Leave(),
    CueKind.LATER: Later(),
    CueKind.LAST: Later(to_end=True),
    CueKind.DONE: Done(),
    CueKind.OUCH: Ouch(),
    CueKind.OOPS: Oops(),
    CueKind.STATUS: Status(),
    CueKind.WHERE: WhereAmI(),
    CueKind.HELP: Help(),
    CueKind.MINUTES: Minutes(),
    CueKind.PRIORITY: Priority(True),
    CueKind.NEXT: Next(),
    CueKind.PUT_ON: Join(who=BEN),
    CueKind.TAKE_OFF: Leave(who=BEN),
    CueKind.MOVE: Move(BEN, 1),
    CueKind.CLEAR: Clear(),
    CueKind.UNDO: Undo(),
    CueKind.TOPIC: NewTopic("Rent"),
    CueKind.START: StartMeeting("Weekly"),
    CueKind.END: EndMeeting(),
    CueKind.CLOSE: CloseStack(),
    CueKind.OPEN: OpenStack(),
    CueKind.LANES: SetLanes(False),
    CueKind.HEADS_UP: SetHeadsUp(False),
    CueKind.RESOLVE: Resolve(),
    CueKind.FACILITATE: Facilitate(BEN),
    CueKind.MARK: Priority(True, who=BEN),
    CueKind.TICK: Tick(),
}
PEOPLE_CUES = [kind for kind in CueKind if POLICY[kind].who is not Who.CLOCK]
FILLED = {"NAME": "Ben", "TITLE": "Rent", "ROOM": "Budget"}


def signal(cue: Cue, sender: Person = ANA, facilitator: bool = False, at: float = 100.0) -> Signal:
    source = Source.CLOCK if isinstance(cue, Tick) else Source.CHAT
    return Signal(f"k{at}", sender, cue, source, at, facilitator)


def running(lanes: bool = True, closed: bool = False) -> Meeting:
    meeting = Meeting("!room:example.org", settings=Settings(lanes=lanes))
    meeting, _ = step(meeting, signal(StartMeeting(), FRAN, facilitator=True, at=1.0))
    meeting, _ = step(meeting, signal(Join(), BEN, at=2.0))
    if closed:
        meeting, _ = step(meeting, signal(CloseStack(), FRAN, facilitator=True, at=3.0))
    return meeting


def texts(events: list[ev.Event], sender: Person = ANA, lanes: bool = True) -> str:
    context = RenderContext(sender, Source.CHAT, lanes=lanes)
    return " ".join(reply.text for reply in render_all(events, context))


def test_every_cue_has_a_policy_and_an_example_of_its_kind() -> None:
    assert set(POLICY) == set(CueKind) == set(EXAMPLES)
    for kind, cue in EXAMPLES.items():
        assert kind_of(cue, ANA) is kind


@pytest.mark.parametrize("kind", PEOPLE_CUES, ids=lambda k: k.value)
def test_the_help_lists_each_cue_where_its_policy_says_it_works(kind: CueKind) -> None:
    policy = POLICY[kind]
    for_facilitators = policy.who is Who.FACILITATOR
    room = catalogue.room_lines(facilitator=for_facilitators, lanes=True)
    private = catalogue.private_lines(facilitator=True)
    assert (catalogue.ROOM_HELP.get(kind) in room) is (policy.where is not Where.PRIVATE)
    assert (catalogue.PRIVATE_HELP.get(kind) in private) is (policy.where is not Where.ROOM)
    if for_facilitators:
        everyone = catalogue.room_lines(facilitator=False, lanes=True)
        assert catalogue.ROOM_HELP.get(kind) not in everyone
        assert catalogue.PRIVATE_HELP.get(kind) not in catalogue.private_lines(facilitator=False)


def filled(words: str) -> str:
    return " ".join(FILLED.get(word, word) for word in words.split())


@pytest.mark.parametrize("kind", list(catalogue.ROOM_HELP), ids=lambda k: k.value)
def test_every_room_help_phrase_parses_to_its_own_cue(kind: CueKind) -> None:
    line = catalogue.ROOM_HELP[kind]
    context = ParseContext(facilitator=POLICY[kind].who is Who.FACILITATOR, members=MEMBERS)
    for words in (line.say, *line.also):
        cue = parse(filled(words), context)
        assert cue is not None and not isinstance(cue, str), words
        assert kind_of(cue, ANA) is kind, (words, cue)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(catalogue.PRIVATE_HELP), ids=lambda k: k.value)
def test_every_private_help_phrase_parses_privately_to_its_own_cue(kind: CueKind) -> None:
    line = catalogue.PRIVATE_HELP[kind]
    for words in (line.say, *line.also):
        request = parse_private(filled(words), ParseContext(facilitator=True, members=MEMBERS))
        assert isinstance(request, PrivateRequest), words
        cue = request.cue
        if request.name is not None and isinstance(cue, Priority):
            cue = Priority(cue.on, who=BEN, keep=cue.keep)
        assert kind_of(cue, ANA) is kind, (words, cue)


@pytest.mark.parametrize("kind", PEOPLE_CUES, ids=lambda k: k.value)
def test_only_who_the_policy_names_may_send_each_cue(kind: CueKind) -> None:
    policy = POLICY[kind]
    meeting = running()
    _, events = step(meeting, signal(EXAMPLES[kind]))
    refused = [e for e in events if isinstance(e, ev.NotAllowed)]
    if policy.who is Who.FACILITATOR:
        assert refused == [ev.NotAllowed(kind)]
        assert f"Only a facilitator can {policy.action}." in texts(events)
        _, events = step(meeting, signal(EXAMPLES[kind], facilitator=True))
    assert not [e for e in events if isinstance(e, ev.NotAllowed)]


def test_done_is_for_the_speaker_or_a_facilitator_while_someone_speaks() -> None:
    meeting, _ = step(running(), signal(Next(), FRAN, facilitator=True, at=5.0))
    assert POLICY[CueKind.DONE].who is Who.SPEAKER
    _, events = step(meeting, signal(Done(), ANA, at=6.0))
    assert events == [ev.NotSpeaker()]
    _, events = step(meeting, signal(Done(), BEN, at=6.0))
    assert isinstance(events[0], ev.TurnEnded) and events[0].yielded
    _, events = step(meeting, signal(Done(), FRAN, facilitator=True, at=6.0))
    assert isinstance(events[0], ev.TurnEnded) and not events[0].yielded


@pytest.mark.parametrize("kind", PEOPLE_CUES, ids=lambda k: k.value)
def test_each_cue_does_what_the_policy_says_with_no_meeting_running(kind: CueKind) -> None:
    idle = Meeting("!room:example.org")
    after, events = step(idle, signal(EXAMPLES[kind], facilitator=True))
    match POLICY[kind].no_meeting:
        case NoMeeting.REFUSED:
            assert events == [ev.NoMeetingRunning(kind)] and after == idle
            words = texts(events)
            assert f"No meeting is running, so I cannot {POLICY[kind].action} now." in words
            assert 'Saying "stack" also starts one and puts you on the stack.' in words
        case NoMeeting.STARTS:
            assert isinstance(events[0], ev.MeetingStarted) and events[0].automatic
            assert after.active
        case NoMeeting.WORKS:
            assert not any(isinstance(e, ev.NoMeetingRunning) for e in events)
            assert after.active is (kind is CueKind.START)


@pytest.mark.parametrize("lanes", [True, False], ids=["lanes on", "lanes off"])
@pytest.mark.parametrize("lane", list(Lane), ids=lambda lane: lane.name)
def test_a_closed_stack_takes_what_the_policy_says_and_the_replies_agree(
    lane: Lane, lanes: bool
) -> None:
    meeting = running(lanes=lanes, closed=True)
    _, events = step(meeting, signal(Join(lane=lane)))
    takes = lanes and POLICY[join_kind(lane)].closed_stack
    assert isinstance(events[0], ev.Joined if takes else ev.StackIsClosed)
    overview = texts([status(meeting, 10.0)], lanes=lanes)
    refusal = texts([ev.StackIsClosed(ANA)], lanes=lanes)
    closing = texts([ev.StackClosed()], FRAN, lanes=lanes)
    offered = lanes  # only a point of process gets past a closed stack, and only with lanes
    assert ("except for a point of process" in overview) is offered
    assert ("except for a point of process" in closing) is offered
    assert ('say "stack process"' in refusal) is offered


def test_with_lanes_off_nothing_offers_a_point_of_process_to_a_closed_stack() -> None:
    """The contradiction of issue 10: "stack process" was refused while status offered it."""
    meeting = running(lanes=False, closed=True)
    _, events = step(meeting, signal(Join(lane=Lane.PROCESS)))
    assert events == [ev.StackIsClosed(ANA)]
    context = RenderContext(ANA, Source.CHAT, lanes=False)
    shown = render(status(meeting, 10.0), context)[0].text + render(events[0], context)[0].text
    assert "process" not in shown
