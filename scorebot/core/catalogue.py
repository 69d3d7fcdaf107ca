"""The one help catalogue: what to type for each cue, in plain words.

Which lines a person sees (room, facilitator or private help) follows from the policy
table in `rules`: who may send the cue and where it is understood. Quoted words are what
people type; the renderer shows them as commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from scorebot.core.rules import POLICY, CueKind, Where, Who


@dataclass(frozen=True, slots=True)
class HelpLine:
    say: str
    """the words as typed; NAME, TITLE, ROOM and numbers stand for what the person fills in"""
    does: str
    """what it does, in plain words (quoted words in it are commands too)"""
    also: tuple[str, ...] = ()
    """other ways to say it, shown after the first"""


ROOM_HELP: dict[CueKind, HelpLine] = {
    CueKind.JOIN: HelpLine("stack", "join the stack to speak.", ("me", "✋")),
    CueKind.JOIN_PROCESS: HelpLine(
        "stack process", "a point of process, about how we run the meeting."
    ),
    CueKind.JOIN_CLARIFYING: HelpLine(
        "clarify", "a question to make something clear, like what a word means."
    ),
    CueKind.JOIN_DIRECT: HelpLine("direct", "a direct reply to what was just said."),
    CueKind.LEAVE: HelpLine("unstack", "leave the stack.", ("never mind",)),
    CueKind.LATER: HelpLine("later", "let the person behind you go first."),
    CueKind.LAST: HelpLine("last", "go to the back of your lane."),
    CueKind.DONE: HelpLine("done", "end your turn."),
    CueKind.OUCH: HelpLine(
        "ouch",
        "mark a moment of harm, to talk about after this discussion. Say it as a reply to"
        " a message, or add a name, to aim it at that person.",
        ("ouch NAME",),
    ),
    CueKind.OOPS: HelpLine("oops", 'own up to an ouch aimed at you. Say "oops 2" for pin 2.'),
    CueKind.STATUS: HelpLine("status", "who speaks, who waits, and the open pins.", ("stack?",)),
    CueKind.WHERE: HelpLine("where am I", "your place on the stack."),
    CueKind.HELP: HelpLine("help", "this list."),
    CueKind.MINUTES: HelpLine("minutes", "the minutes so far."),
    CueKind.NEXT: HelpLine("next", "end the turn and call the next speaker."),
    CueKind.PUT_ON: HelpLine("stack NAME", "put someone on the stack."),
    CueKind.JOIN_ROOM: HelpLine(
        "stack room",
        'put someone in the room on the stack with no name yet: "in the room 1". A spoken'
        ' "stack" with no name does this too.',
    ),
    CueKind.RENAME: HelpLine(
        "rename room 1 NAME", 'give "in the room 1" a name.', ("rename room 1 to NAME",)
    ),
    CueKind.TAKE_OFF: HelpLine("unstack NAME", "take someone off the stack."),
    CueKind.MOVE: HelpLine(
        "move NAME to 2", 'put someone at a place ("bump" puts them first).', ("bump NAME",)
    ),
    CueKind.CLEAR: HelpLine("clear stack", "take everyone off the stack."),
    CueKind.UNDO: HelpLine("undo", "take back your last change to the stack."),
    CueKind.TOPIC: HelpLine("topic TITLE", "start the next topic."),
    CueKind.START: HelpLine("start meeting TITLE", "start a meeting."),
    CueKind.END: HelpLine("end meeting", "end the meeting."),
    CueKind.CLOSE: HelpLine("close stack", "stop new people from joining."),
    CueKind.OPEN: HelpLine("open stack", "let people join again."),
    CueKind.LANES: HelpLine(
        "lanes off", "one stack for all, or lanes for urgent points.", ("lanes on",)
    ),
    CueKind.HEADS_UP: HelpLine(
        "heads up off",
        "stop or start telling the next person that they are next.",
        ("heads up on",),
    ),
    CueKind.RESOLVE: HelpLine(
        "resolved 2", "pin 2 has been talked about. Alone, it means the oldest pin.", ("resolved",)
    ),
    CueKind.FACILITATE: HelpLine("facilitator NAME", "name another facilitator."),
}
"""The words that work in a meeting room."""

PRIVATE_HELP: dict[CueKind, HelpLine] = {
    CueKind.PRIORITY: HelpLine(
        "priority",
        "if you are part of a marginalized group, you go higher on the stack, unless you have"
        ' already spoken a lot. Only I know. "priority keep" keeps it for later meetings.'
        ' "priority off" stops it.',
    ),
    CueKind.OUCH: HelpLine(
        "ouch",
        'mark a moment of harm with no name on it. Add "in ROOM" if we share more than one room.',
    ),
    CueKind.WHERE: HelpLine("where am I", "your place on the stack."),
    CueKind.STATUS: HelpLine("status", "who speaks and who waits."),
    CueKind.HELP: HelpLine("help", "this list."),
    CueKind.MARK: HelpLine(
        "mark NAME in ROOM",
        "give someone priority. Only you and I know.",
        ("unmark NAME in ROOM",),
    ),
}
"""The words that work in a private chat with the bot."""


LANE_KINDS = frozenset({CueKind.JOIN_PROCESS, CueKind.JOIN_CLARIFYING, CueKind.JOIN_DIRECT})


def room_lines(facilitator: bool, lanes: bool) -> list[HelpLine]:
    """Room help for everyone (facilitator=False) or the facilitators' part of it."""
    wanted = (Who.FACILITATOR,) if facilitator else (Who.ANYONE, Who.SPEAKER)
    return [
        line
        for kind, line in ROOM_HELP.items()
        if POLICY[kind].who in wanted
        and POLICY[kind].where is not Where.PRIVATE
        and (lanes or kind not in LANE_KINDS)
    ]


def private_lines(facilitator: bool) -> list[HelpLine]:
    return [
        line
        for kind, line in PRIVATE_HELP.items()
        if POLICY[kind].where is not Where.ROOM
        and (facilitator or POLICY[kind].who is not Who.FACILITATOR)
    ]
