"""In-process listening for `scorebot run`: cues heard here become signals on the bot's inbox.

The decoder runs in speech/'s thread and reaches the event loop only through
`loop.call_soon_threadsafe` (speech.listener); this coroutine, on the loop, turns each cue
into the same `Signal` a trusted room microphone's notice gives, and hands it to `deliver`,
which the composition root points at the one inbox.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from scorebot.core.model import Person, Signal
from scorebot.voice.cues import voice_signal
from scorebot.voice.hearing import Hearing

log = logging.getLogger(__name__)

IN_PROCESS_MICROPHONE = Person("voice:this-computer", "the room microphone")
"""the sender of cues heard by the bot's own computer (never a Matrix user: never mentioned)"""


async def hear_into(
    hearing: Hearing,
    deliver: Callable[[Signal], None],
    members: Callable[[], Mapping[str, str]],
    *,
    room_name: Callable[[], str] = lambda: "",
    clock: Callable[[], float] = time.time,
) -> None:
    """Deliver a signal for every cue heard until the source ends (or this is cancelled).
    `members` gives the meeting room's members now (user id -> name)."""
    from speech.events import Cue
    from speech.listener import listen

    count = 0
    async with contextlib.aclosing(
        listen(hearing.source, hearing.model, hearing.vocabulary)
    ) as heard:
        async for event in heard:
            if not isinstance(event, Cue):
                continue
            cue = hearing.heard(event)
            signal = voice_signal(
                cue,
                microphone=IN_PROCESS_MICROPHONE,
                members=members(),
                at=clock(),
                room_name=room_name(),
            )
            log.info("heard %s%s", cue.cue, " with a name" if cue.name else "")
            deliver(signal)
            count += 1
    log.info("stopped listening after %s cues (%s ended)", count, hearing.where)
