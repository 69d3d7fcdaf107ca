"""Apply one signal straight from the store, without replies: for tools and benchmarks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scorebot.app.ports import Store
from scorebot.core import events as ev
from scorebot.core.minutes import records
from scorebot.core.model import Meeting, Settings, Signal, Tick
from scorebot.core.step import step

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Applied:
    """A signal that was committed, with what it did."""

    signal: Signal
    meeting: Meeting
    events: tuple[ev.Event, ...]


def step_to_commit(before: Meeting, signal: Signal) -> tuple[Meeting, list[ev.Event]] | None:
    """The core's step, or None when there is nothing to commit: a clock tick that changed
    nothing (ticks come every few seconds; only a due reminder is worth a write)."""
    after, events = step(before, signal)
    if isinstance(signal.cue, Tick) and after == before:
        return None
    return after, events


async def apply_signal(
    store: Store, signal: Signal, room: str, defaults: Settings | None = None
) -> Applied | None:
    """Run one signal through the core and commit it exactly once.

    Returns None for a replay (the key was already committed) and for a clock tick that
    changed nothing, so callers reply only to what was saved: commit first, then reply.
    """
    if await store.seen(signal.key):
        log.debug("signal %s already applied; skipping", signal.key)
        return None
    before = await store.load(room) or Meeting(room, settings=defaults or Settings())
    stepped = step_to_commit(before, signal)
    if stepped is None:
        return None
    after, events = stepped
    if not await store.apply(signal.key, before, after, records(events, signal.at)):
        return None
    return Applied(signal, after, tuple(events))
