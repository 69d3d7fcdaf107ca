"""Per-sender fairness: one person's flood can neither drown the room nor delay others.

Rules (time comes from each signal's `at`, so this is as testable as the core):
- Each sender has a bucket of `burst` signals per room (more for a facilitator) that
  refills one every `refill` seconds. A signal that finds the bucket empty is skipped,
  not applied; the first skip of a run is said once, so nothing is declined silently.
- An answer that changed nothing ("you are already on the stack", a refusal, a status)
  is given once: the same person asking the same thing again within `repeat_window`
  seconds gets no second copy. A facilitator always gets their answer: someone running
  the meeting who says "next" twice wants to hear twice that nobody is waiting.
- A long answer (help, status, minutes) is posted at most once per `long_window` seconds
  in a room; whoever asks again meanwhile is pointed to it once. Any change to the stack
  makes the next long answer due again, so a pointer never points to something stale.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace

from scorebot.core.model import Signal, Source
from scorebot.core.render import Reply, ReplyKind, already_posted

INFORMATIONAL = frozenset(
    {
        ReplyKind.ALREADY_ON,
        ReplyKind.NOT_ON,
        ReplyKind.STATUS,
        ReplyKind.WHERE,
        ReplyKind.HELP,
        ReplyKind.MINUTES,
        ReplyKind.MINUTES_DOCUMENT,
        ReplyKind.REFUSED,
        ReplyKind.NO_PIN,
    }
)
"""answers that report and change nothing, so a repeat of them tells nobody anything new"""

LONG = frozenset({ReplyKind.STATUS, ReplyKind.HELP, ReplyKind.MINUTES_DOCUMENT})
"""answers long enough that posting them again and again floods the room"""


@dataclass(frozen=True, slots=True)
class FairnessSettings:
    burst: int = 20
    """signals a member may send in a quick run: each answer is a message the homeserver
    may rate-limit, and others' answers wait behind it"""
    facilitator_burst: int = 40
    """signals a facilitator may send in a quick run (calling and placing people)"""
    refill: float = 0.1
    """seconds to earn back one signal: ten a second is faster than anyone types or
    clicks (or a script checking the bot's speed one message at a time), slower than a
    flood"""
    repeat_window: float = 3.0
    """seconds in which the same request from the same person is answered once"""
    long_window: float = 60.0
    """seconds in which a long answer is posted once per room"""
    tell_again_after: float = 600.0
    """seconds before a sender who is skipped again is told again"""


class Admission(enum.Enum):
    TAKE = "take"
    """apply the signal as usual"""
    SKIP_AND_TELL = "skip_and_tell"
    """do not apply it, and say once that this sender is being skipped"""
    SKIP = "skip"
    """do not apply it; it was said already"""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    """seconds: when `tokens` was last brought up to date"""
    told: float | None = None
    """seconds: when the sender was last told they are being skipped"""


@dataclass(slots=True)
class Fairness:
    """What fairness remembers: buckets and recent answers, forgotten once they are old."""

    settings: FairnessSettings = field(default_factory=FairnessSettings)
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _answered: dict[tuple[str, str, Hashable], float] = field(default_factory=dict)
    """(room, sender, request) -> seconds of the last answer that changed nothing"""
    _long: dict[tuple[str, str, ReplyKind], float] = field(default_factory=dict)
    """(room, reply room, kind) -> seconds when that long answer was last posted there"""

    def admit(self, room: str, signal: Signal) -> Admission:
        """Whether one more signal for `room` is taken (the bot's own clock always is)."""
        if signal.source is Source.CLOCK:
            return Admission.TAKE
        return self.admit_message(room, signal.sender.id, signal.at, signal.facilitator)

    def admit_message(
        self, room: str, sender: str, at: float, facilitator: bool = False
    ) -> Admission:
        """Whether one more message from `sender` in `room`, sent at `at`, is taken."""
        s = self.settings
        burst = float(s.facilitator_burst if facilitator else s.burst)
        bucket = self._buckets.get((room, sender)) or _Bucket(burst, at)
        elapsed = max(0.0, at - bucket.at)
        bucket.tokens = min(burst, bucket.tokens + elapsed / s.refill)
        bucket.at = max(bucket.at, at)
        self._buckets[(room, sender)] = bucket
        self._forget(at)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Admission.TAKE
        if bucket.told is not None and at - bucket.told < s.tell_again_after:
            return Admission.SKIP
        bucket.told = at
        return Admission.SKIP_AND_TELL

    def answers(
        self,
        replies: Sequence[Reply],
        signal: Signal,
        *,
        room: str,
        reply_room: str,
    ) -> list[Reply]:
        """The replies to post for a signal applied in `room`; the rest stay unsaid.

        `reply_room` is where they go (the room, or the sender's direct chat). Only the
        same cue from the same sender counts as a repeat.
        """
        s = self.settings
        sender, request, at = signal.sender.id, signal.cue, signal.at
        if any(reply.kind not in INFORMATIONAL for reply in replies):
            # The meeting changed, so earlier answers may be stale: all are due again.
            for key in [key for key in self._answered if key[0] == room]:
                del self._answered[key]
            for long_key in [key for key in self._long if key[0] == room]:
                del self._long[long_key]
            return list(replies)
        if not replies:
            return []
        key = (room, sender, request)
        last = self._answered.get(key)
        if last is not None and _recent(at, last, s.repeat_window) and not signal.facilitator:
            return []
        self._answered[key] = at
        pointed: set[ReplyKind] = set()
        for kind in dict.fromkeys(reply.kind for reply in replies if reply.kind in LONG):
            posted = self._long.get((room, reply_room, kind))
            if posted is not None and _recent(at, posted, s.long_window):
                pointed.add(kind)
            else:
                self._long[(room, reply_room, kind)] = at
        if ReplyKind.MINUTES_DOCUMENT in pointed:
            # "Here are the minutes" would promise what the pointer does not deliver.
            pointed.add(ReplyKind.MINUTES)
        kept: list[Reply] = []
        for reply in replies:
            if reply.kind in pointed and reply.kind is ReplyKind.MINUTES:
                continue
            if reply.kind not in pointed:
                kept.append(reply)
            elif not any(k.kind is reply.kind for k in kept):
                # One pointer for an answer in several parts.
                kept.append(replace(already_posted(reply.kind), audience=reply.audience))
        return kept

    @property
    def remembered(self) -> int:
        """How many senders, answers and long answers are remembered (bounded by traffic)."""
        return len(self._buckets) + len(self._answered) + len(self._long)

    def _forget(self, at: float) -> None:
        """Drop what no longer matters, so memory stays as small as the recent traffic."""
        s = self.settings
        full = max(s.burst, s.facilitator_burst) * s.refill
        for key, bucket in list(self._buckets.items()):
            told_long_ago = bucket.told is None or at - bucket.told >= s.tell_again_after
            if at - bucket.at >= full and told_long_ago:
                del self._buckets[key]
        for answer_key, when in list(self._answered.items()):
            if not _recent(at, when, s.repeat_window):
                del self._answered[answer_key]
        for long_key, when in list(self._long.items()):
            if not _recent(at, when, s.long_window):
                del self._long[long_key]


def _recent(at: float, when: float, window: float) -> bool:
    """`when` lies in the `window` seconds before `at`. A time after `at` (a server's clock
    set ahead) counts as not recent, so it cannot keep others' answers back."""
    return 0.0 <= at - when < window
