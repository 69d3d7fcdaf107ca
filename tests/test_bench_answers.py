"""How the end-to-end benchmarks find the bot's answer to a signal in a room's timeline."""

from __future__ import annotations

from bench.answers import Answer, Sent, TimedMember, match_answers
from scorebot.demo.member import Message, Reaction

BOT = "@scorebot:localhost"
ROOM = "!room:localhost"


def _message(
    event_id: str, sender: str, body: str, at: int, reply_to: str | None = None
) -> Message:
    return Message(
        room_id=ROOM,
        event_id=event_id,
        sender=sender,
        msgtype="m.notice" if sender == BOT else "m.text",
        body=body,
        formatted_body=None,
        in_reply_to=reply_to,
        mentions=(),
        replaces=None,
        new_body=None,
        server_timestamp=at,
        decrypted=True,
    )


def _observer(*records: Message | Reaction) -> TimedMember:
    observer = TimedMember(client=None)
    for record in records:
        observer._record(record)
    return observer


def _answers(observer: TimedMember, *signals: tuple[str, str]) -> list[Answer]:
    sent = [Sent(ROOM, event_id, sender, 0.0) for event_id, sender in signals]
    return match_answers(observer, BOT, sent)


def test_a_reply_threaded_to_the_signal_answers_it() -> None:
    observer = _observer(
        _message("$s", "@u001:localhost", "stack", 1000),
        _message("$r", BOT, "u001, you are on the stack: 1st of 1.", 1100, reply_to="$s"),
    )
    [answer] = _answers(observer, ("$s", "@u001:localhost"))
    assert (answer.how, answer.reply and answer.reply.event_id) == ("threaded", "$r")
    assert answer.server == 0.1
    assert answer.duplicates == 0


def test_a_burst_reply_naming_the_sender_answers_the_second_signal() -> None:
    observer = _observer(
        _message("$a", "@u001:localhost", "stack", 1000),
        _message("$b", "@u002:localhost", "stack", 1010),
        _message("$r", BOT, "u001, you are on ... u002, you are on ...", 1100, reply_to="$a"),
    )
    first, second = _answers(observer, ("$a", "@u001:localhost"), ("$b", "@u002:localhost"))
    assert (first.how, second.how) == ("threaded", "named")
    assert second.reply is not None and second.reply.event_id == "$r"


def test_a_burst_reply_that_does_not_name_the_sender_is_told_apart() -> None:
    observer = _observer(
        _message("$a", "@u001:localhost", "stack", 1000),
        _message("$b", "@fran:localhost", "next", 1010),
        _message("$r", BOT, "u001, you are on the stack. u003, you have the floor.", 1100, "$a"),
    )
    _, second = _answers(observer, ("$a", "@u001:localhost"), ("$b", "@fran:localhost"))
    assert second.how == "burst"


def test_a_signal_with_no_later_reply_is_lost() -> None:
    observer = _observer(
        _message("$r", BOT, "u001, you are on the stack.", 900),
        _message("$s", "@u001:localhost", "stack", 1000),
    )
    [answer] = _answers(observer, ("$s", "@u001:localhost"))
    assert (answer.how, answer.reply) == ("none", None)


def test_the_same_reply_threaded_twice_counts_as_posted_twice() -> None:
    observer = _observer(
        _message("$s", "@u001:localhost", "stack", 1000),
        _message("$r1", BOT, "u001, you are on the stack.", 1100, reply_to="$s"),
        _message("$r2", BOT, "u001, you are on the stack.", 1200, reply_to="$s"),
        _message("$r3", BOT, "u001, you are already 1st on the stack.", 1300, reply_to="$s"),
    )
    [answer] = _answers(observer, ("$s", "@u001:localhost"))
    assert (answer.duplicates, answer.extra) == (1, 1)


def test_an_unthreaded_reply_naming_the_sender_answers_a_reaction() -> None:
    observer = _observer(
        Reaction(ROOM, "$h", "@u002:localhost", "\u270b", "$stack", 1000, False),
        _message("$r", BOT, "u002, you are on the stack. Your hand reaction was seen.", 1100),
    )
    [answer] = _answers(observer, ("$h", "@u002:localhost"))
    assert answer.how == "named"
