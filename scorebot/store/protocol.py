"""The store contract the app relies on (defined by the app's ports); both stores keep it."""

from __future__ import annotations

from collections.abc import Sequence

from scorebot.app.ports import MeetingInfo, Store
from scorebot.core.minutes import Record
from scorebot.core.model import Meeting

__all__ = ["MeetingInfo", "Store", "ended_at"]


def ended_at(
    before: Meeting, after: Meeting, records: Sequence[Record], now: float
) -> float | None:
    """When `apply` should record the meeting as ended: only on the step that ends it.

    Records carry the signal's time; without any, the commit time is the best guess.
    """
    if before.active and not after.active:
        return records[-1].at if records else now
    return None
