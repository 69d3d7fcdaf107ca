"""An in-memory store that keeps the store contract, for fast tests and dry runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from scorebot.app.items import MemoryWrite, Skipped
from scorebot.app.ports import Outgoing, Pending
from scorebot.core.minutes import Record
from scorebot.core.model import Meeting
from scorebot.store.protocol import MeetingInfo, ended_at

log = logging.getLogger(__name__)


class MemoryStore:
    """Keeps everything in plain dicts that tests may read directly."""

    def __init__(self) -> None:
        self.meetings_by_room: dict[str, Meeting] = {}
        """the last committed meeting of each room"""
        self.processed: dict[str, str] = {}
        """idempotency key -> room it was applied to"""
        self.infos: dict[tuple[str, int], MeetingInfo] = {}
        """(room, meeting number) -> the meeting as listed"""
        self.records: dict[tuple[str, int], list[Record]] = {}
        """(room, meeting number) -> minutes records in the order they were appended"""
        self.values: dict[str, str] = {}
        self.outbox: dict[str, Pending] = {}
        """txn -> unsent message, in commit order"""
        self.sent: dict[str, str] = {}
        """txn -> event id it was sent as"""
        self.memory: dict[str, dict[str, str]] = {}
        """kind -> key -> value, oldest first"""
        self.skipped_events: dict[str, Skipped] = {}
        self.closed = False

    async def load(self, room: str) -> Meeting | None:
        return self.meetings_by_room.get(room)

    async def seen(self, key: str) -> bool:
        return key in self.processed

    async def apply(
        self,
        key: str,
        before: Meeting,
        after: Meeting,
        records: Sequence[Record],
        outgoing: Sequence[Outgoing] = (),
    ) -> bool:
        if key in self.processed:
            log.debug("key %s already applied to %s", key, self.processed[key])
            return False
        room, number = after.room, after.number
        self.meetings_by_room[room] = after
        if number > 0 or records:
            info = self.infos.get((room, number))
            ended = ended_at(before, after, records, time.time())
            if ended is None and info is not None:
                ended = info.ended_at  # later signals keep the end time, as SQLite's coalesce
            self.infos[(room, number)] = MeetingInfo(
                room, number, after.title, after.started_at, ended
            )
        if records:
            self.records.setdefault((room, number), []).extend(records)
        self.processed[key] = room
        self._queue(outgoing)
        log.debug("applied key %s to %s", key, room)
        return True

    def _queue(self, outgoing: Sequence[Outgoing]) -> None:
        for message in outgoing:
            if message.txn in self.outbox or message.txn in self.sent:
                raise ValueError(f"transaction id {message.txn} queued twice")
            self.outbox[message.txn] = Pending(message)

    async def queue(self, outgoing: Sequence[Outgoing]) -> bool:
        if not outgoing or outgoing[0].txn in self.outbox or outgoing[0].txn in self.sent:
            return False
        self._queue(outgoing)
        return True

    async def unsent(self) -> list[Pending]:
        return list(self.outbox.values())

    async def record_batch(self, batch: str, txns: Sequence[str]) -> None:
        for txn in txns:
            self.outbox[txn] = Pending(self.outbox[txn].outgoing, batch)

    async def mark_sent(self, txns: Sequence[str], event_id: str) -> None:
        for txn in txns:
            if self.outbox.pop(txn, None) is not None:
                self.sent[txn] = event_id

    async def checkpoint(
        self, name: str, position: str, memory: Sequence[MemoryWrite], skipped: Sequence[Skipped]
    ) -> None:
        self.values[name] = position
        for write in memory:
            entries = self.memory.setdefault(write.kind, {})
            entries.pop(write.key, None)
            if write.value is not None:
                entries[write.key] = write.value
                for old in list(entries)[: max(0, len(entries) - write.keep)]:
                    del entries[old]
        for each in skipped:
            self.skipped_events.setdefault(each.event_id, each)

    async def remembered(self, kind: str) -> list[tuple[str, str]]:
        return list(self.memory.get(kind, {}).items())

    async def skipped(self) -> int:
        return len(self.skipped_events)

    async def rooms(self) -> list[str]:
        return sorted(self.meetings_by_room)

    async def meetings(self, room: str | None = None) -> list[MeetingInfo]:
        return [
            info
            for (info_room, _), info in sorted(self.infos.items())
            if room is None or info_room == room
        ]

    async def minutes(self, room: str, number: int) -> list[Record]:
        return list(self.records.get((room, number), ()))

    async def get_value(self, name: str) -> str | None:
        return self.values.get(name)

    async def set_value(self, name: str, value: str) -> None:
        self.values[name] = value

    async def close(self) -> None:
        self.closed = True
