"""Per-sender fairness, without a clock: time comes in each signal's `at`."""

from __future__ import annotations

from scorebot.core.fairness import Admission, Fairness, FairnessSettings
from scorebot.core.model import (
    Cue,
    Help,
    Join,
    Minutes,
    Next,
    Person,
    Signal,
    Source,
    Status,
    Tick,
)
from scorebot.core.render import Audience, Reply, ReplyKind

ROOM = "!room:example.org"
OTHER = "!other:example.org"
DM = "!dm:example.org"
MAL = Person("@mallory:example.org", "Mallory")
ANN = Person("@ann:example.org", "Ann")
SETTINGS = FairnessSettings(
    burst=3, facilitator_burst=6, refill=2.0, repeat_window=30.0, long_window=60.0
)


def signal(who: Person, at: float, cue: Cue | None = None, source: Source = Source.CHAT) -> Signal:
    return Signal(f"${who.name}{at}", who, cue or Join(), source, at)


def reply(kind: ReplyKind, text: str = "an answer") -> Reply:
    return Reply(text, text, Audience.ROOM, (), kind)


def answered(
    fairness: Fairness, who: Person, at: float, cue: Cue, *kinds: ReplyKind, reply_room: str = ROOM
) -> list[ReplyKind]:
    replies = [reply(kind) for kind in kinds]
    kept = fairness.answers(replies, signal(who, at, cue), room=ROOM, reply_room=reply_room)
    return [r.kind for r in kept]


def test_a_flood_from_one_sender_is_skipped_and_said_once_while_others_go_on() -> None:
    fairness = Fairness(SETTINGS)

    flood = [fairness.admit(ROOM, signal(MAL, 100.0 + i * 0.01)) for i in range(200)]

    assert flood[:3] == [Admission.TAKE] * 3
    assert flood[3] is Admission.SKIP_AND_TELL
    assert set(flood[4:]) == {Admission.SKIP}
    assert fairness.admit(ROOM, signal(ANN, 102.0)) is Admission.TAKE
    assert fairness.admit(OTHER, signal(MAL, 102.0)) is Admission.TAKE


def test_a_skipped_sender_earns_signals_back_and_is_told_again_only_much_later() -> None:
    fairness = Fairness(SETTINGS)
    for i in range(5):
        fairness.admit(ROOM, signal(MAL, 100.0 + i * 0.01))

    assert fairness.admit(ROOM, signal(MAL, 102.1)) is Admission.TAKE
    assert fairness.admit(ROOM, signal(MAL, 102.2)) is Admission.SKIP
    later = 100.0 + SETTINGS.tell_again_after + 1
    for i in range(3):
        assert fairness.admit(ROOM, signal(MAL, later + i * 0.01)) is Admission.TAKE
    assert fairness.admit(ROOM, signal(MAL, later + 0.1)) is Admission.SKIP_AND_TELL


def test_the_bots_own_clock_is_never_skipped() -> None:
    fairness = Fairness(SETTINGS)
    ticks = [fairness.admit(ROOM, signal(MAL, 100.0, Tick(), Source.CLOCK)) for _ in range(50)]

    assert set(ticks) == {Admission.TAKE}


def test_the_same_question_from_the_same_person_is_answered_once_in_the_window() -> None:
    fairness = Fairness(SETTINGS)

    first = answered(fairness, MAL, 100.0, Join(), ReplyKind.ALREADY_ON)
    again = answered(fairness, MAL, 110.0, Join(), ReplyKind.ALREADY_ON)
    other_person = answered(fairness, ANN, 111.0, Join(), ReplyKind.ALREADY_ON)
    other_question = answered(fairness, MAL, 112.0, Help(), ReplyKind.REFUSED)
    after_window = answered(fairness, MAL, 131.0, Join(), ReplyKind.ALREADY_ON)

    assert first == [ReplyKind.ALREADY_ON]
    assert again == []
    assert other_person == [ReplyKind.ALREADY_ON]
    assert other_question == [ReplyKind.REFUSED]
    assert after_window == [ReplyKind.ALREADY_ON]


def test_changes_are_always_answered_and_make_every_answer_due_again() -> None:
    fairness = Fairness(SETTINGS)
    answered(fairness, ANN, 100.0, Status(), ReplyKind.STATUS)

    joined = [answered(fairness, MAL, 101.0 + i, Join(), ReplyKind.JOINED) for i in range(3)]
    status = answered(fairness, ANN, 105.0, Status(), ReplyKind.STATUS)

    assert joined == [[ReplyKind.JOINED]] * 3
    assert status == [ReplyKind.STATUS]


def test_a_long_answer_is_posted_once_per_room_and_others_are_pointed_to_it() -> None:
    fairness = Fairness(SETTINGS)
    answered(fairness, ANN, 100.0, Status(), ReplyKind.STATUS)

    pointer = fairness.answers(
        [reply(ReplyKind.STATUS, "the whole stack")],
        signal(MAL, 110.0, Status()),
        room=ROOM,
        reply_room=ROOM,
    )
    repeat = answered(fairness, MAL, 111.0, Status(), ReplyKind.STATUS)
    privately = answered(fairness, MAL, 112.0, Help(), ReplyKind.HELP, reply_room=DM)
    later = answered(fairness, MAL, 200.0, Status(), ReplyKind.STATUS)

    assert [r.kind for r in pointer] == [ReplyKind.STATUS]
    assert "less than a minute ago" in pointer[0].text
    assert "the whole stack" not in pointer[0].text
    assert repeat == []
    assert privately == [ReplyKind.HELP]
    assert later == [ReplyKind.STATUS]


def test_minutes_in_several_parts_become_one_pointer_without_the_lead_in() -> None:
    fairness = Fairness(SETTINGS)
    parts = (ReplyKind.MINUTES, ReplyKind.MINUTES_DOCUMENT, ReplyKind.MINUTES_DOCUMENT)

    first = answered(fairness, ANN, 100.0, Minutes(), *parts)
    second = fairness.answers(
        [reply(kind) for kind in parts], signal(MAL, 110.0, Minutes()), room=ROOM, reply_room=ROOM
    )

    assert first == list(parts)
    assert [r.kind for r in second] == [ReplyKind.MINUTES_DOCUMENT]
    assert "the minutes" in second[0].text


def test_what_fairness_remembers_is_forgotten_once_it_is_old() -> None:
    fairness = Fairness(SETTINGS)
    for i in range(100):
        who = Person(f"@p{i}:example.org", f"P{i}")
        fairness.admit(ROOM, signal(who, 100.0))
        answered(fairness, who, 100.0, Status(), ReplyKind.STATUS)
    assert fairness.remembered > 100

    fairness.admit(ROOM, signal(ANN, 100.0 + SETTINGS.tell_again_after))

    assert fairness.remembered == 1


def test_a_time_from_a_clock_set_ahead_does_not_hold_back_anyone_elses_answers() -> None:
    fairness = Fairness(SETTINGS)
    answered(fairness, MAL, 100_000.0, Status(), ReplyKind.STATUS)

    status = answered(fairness, ANN, 100.0, Status(), ReplyKind.STATUS)

    assert status == [ReplyKind.STATUS]


def test_a_facilitator_may_send_a_longer_quick_run_than_a_member() -> None:
    fairness = Fairness(SETTINGS)
    fac = Person("@fac:example.org", "Fac")

    def run_of(who: Person, facilitator: bool) -> int:
        signals = [
            Signal(f"${who.name}{n}", who, Join(), Source.CHAT, 100.0, facilitator)
            for n in range(30)
        ]
        return sum(fairness.admit(ROOM, s) is Admission.TAKE for s in signals)

    assert run_of(MAL, facilitator=False) == SETTINGS.burst
    assert run_of(fac, facilitator=True) == SETTINGS.facilitator_burst


def test_a_facilitator_asking_the_same_thing_again_is_answered_again() -> None:
    fairness = Fairness(SETTINGS)
    fran = Person("@fran:example.org", "Fran")

    def next_on_an_empty_stack(at: float) -> list[ReplyKind]:
        asked = Signal(f"$next{at}", fran, Next(), Source.CHAT, at, facilitator=True)
        kept = fairness.answers([reply(ReplyKind.REFUSED)], asked, room=ROOM, reply_room=ROOM)
        return [r.kind for r in kept]

    assert next_on_an_empty_stack(100.0) == next_on_an_empty_stack(101.0) == [ReplyKind.REFUSED]
