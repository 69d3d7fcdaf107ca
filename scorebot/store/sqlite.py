"""The SQLite store: one file, WAL, each signal committed together with its key."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from scorebot.app.items import MemoryWrite, Skipped
from scorebot.app.ports import Outgoing, Pending, StorageError
from scorebot.core.minutes import Record
from scorebot.core.model import Meeting
from scorebot.store.codec import (
    decode_meeting,
    decode_outgoing,
    decode_record,
    encode_meeting,
    encode_outgoing,
    encode_record,
)
from scorebot.store.protocol import MeetingInfo, ended_at
from scorebot.store.sqlite_file import (
    APPLICATION_ID,
    FileKind,
    inspect,
    prepare,
    read_only_uri,
    table_names,
)

log = logging.getLogger(__name__)

SENT_KEPT = 1000
"""sent messages kept in the outbox table, newest first"""

BUSY_TIMEOUT_MS = 5000
"""milliseconds a statement waits for another connection's lock before failing"""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first schema.
    (
        # One JSON snapshot of each room's Meeting: the whole state is a single value.
        """CREATE TABLE rooms (
            room TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        # Idempotency keys (Matrix event ids): a replayed event must change nothing.
        """CREATE TABLE processed (
            key TEXT PRIMARY KEY,
            room TEXT NOT NULL,
            at REAL NOT NULL
        )""",
        """CREATE TABLE meetings (
            room TEXT NOT NULL,
            number INTEGER NOT NULL,
            title TEXT NOT NULL,
            started_at REAL,
            ended_at REAL,
            PRIMARY KEY (room, number)
        )""",
        """CREATE TABLE minutes (
            room TEXT NOT NULL,
            number INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (room, number, seq),
            FOREIGN KEY (room, number) REFERENCES meetings (room, number)
        )""",
        "CREATE TABLE kv (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 2: replies committed with their signal (a transactional outbox), adapter memory
    # saved with the sync position, and events that could not be converted.
    (
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            txn TEXT NOT NULL UNIQUE,
            message TEXT NOT NULL,
            batch TEXT,
            event_id TEXT
        )""",
        "CREATE INDEX outbox_unsent ON outbox (id) WHERE event_id IS NULL",
        """CREATE TABLE adapter_memory (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (kind, key)
        )""",
        "CREATE INDEX adapter_memory_age ON adapter_memory (kind, seq)",
        """CREATE TABLE skipped (
            event_id TEXT PRIMARY KEY,
            room TEXT NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL
        )""",
    ),
)
"""Schema steps in order: applying step n (counting from 1) brings the file to version n."""


class SchemaTooNewError(RuntimeError):
    """The database file was written by a newer scorebot than this one."""

    def __init__(self, path: str, found: int, known: int) -> None:
        super().__init__(
            f"A newer scorebot made {path}. It is at version {found}, and this one knows up "
            f"to {known}. Run the newer one, or use a copy from before you updated."
        )
        self.found = found
        self.known = known


class SqliteStore:
    """The store on one SQLite file; open it with `await SqliteStore.open(path)`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # One connection carries one transaction at a time: a sync-token write from the
        # Matrix adapter must not slip into (and roll back with) a signal's transaction.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, read_only: bool = False) -> SqliteStore:
        """Open (or create, 0600) the file and bring its schema up to date.

        Raises NotScorebotDatabaseError, changing nothing, for a file that is not scorebot's.
        `read_only` creates, migrates and changes nothing: for exporting minutes."""
        path = Path(path)
        ours = table_names(MIGRATIONS)
        if read_only:
            kind = await asyncio.to_thread(inspect, path, ours)
            if kind is FileKind.MISSING:
                raise FileNotFoundError(path)
            # An empty file reads as a new database with no meetings.
            target = ":memory:" if kind is FileKind.EMPTY else read_only_uri(path)
            db = await aiosqlite.connect(target, isolation_level=None, uri=True)
        else:
            prepared = await asyncio.to_thread(prepare, path, ours)
            for each in prepared.tightened:
                log.warning("%s could be read by other users; now only its owner can", each)
            db = await aiosqlite.connect(path, isolation_level=None)
        try:
            if not read_only:
                await _configure(db, str(path))
                await _migrate(db, str(path))
            elif kind is FileKind.EMPTY:
                await _empty_schema(db)
            else:
                await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                await _check_version(db, str(path))
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def load(self, room: str) -> Meeting | None:
        async with self._lock:
            rows = list(
                await self._db.execute_fetchall("SELECT state FROM rooms WHERE room = ?", (room,))
            )
        return decode_meeting(rows[0][0]) if rows else None

    async def seen(self, key: str) -> bool:
        async with self._lock:
            rows = list(
                await self._db.execute_fetchall("SELECT 1 FROM processed WHERE key = ?", (key,))
            )
        return bool(rows)

    async def apply(
        self,
        key: str,
        before: Meeting,
        after: Meeting,
        records: Sequence[Record],
        outgoing: Sequence[Outgoing] = (),
    ) -> bool:
        try:
            async with self._lock, _saving(), _transaction(self._db):
                await self._write(key, before, after, records, time.time())
                await self._queue(outgoing)
        except _Replay:
            log.debug("key %s already applied; nothing changed", key)
            return False
        log.debug("applied key %s to %s", key, after.room)
        if before.active and not after.active:
            await self._forget_superseded_states()
        return True

    async def _forget_superseded_states(self) -> None:
        """Private priority ends with the meeting: copy the log into the database and empty
        it, so older snapshots (which name who had priority) do not linger in the -wal file.
        secure_delete (set on open) has already zeroed the superseded rows' bytes."""
        try:
            async with self._lock:
                await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            # The meeting's end is committed; emptying the log can wait for the next end.
            log.warning("could not empty the database's log after a meeting ended: %s", error)

    async def _write(
        self, key: str, before: Meeting, after: Meeting, records: Sequence[Record], now: float
    ) -> None:
        """The statements of one `apply`, inside its transaction."""
        room, number = after.room, after.number
        cursor = await self._db.execute(
            "INSERT INTO processed (key, room, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, room, now),
        )
        if cursor.rowcount == 0:
            raise _Replay
        await self._db.execute(
            "INSERT INTO rooms (room, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (room) DO UPDATE"
            " SET state = excluded.state, updated_at = excluded.updated_at",
            (room, encode_meeting(after), now),
        )
        if number > 0 or records:
            await self._db.execute(
                "INSERT INTO meetings (room, number, title, started_at, ended_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (room, number) DO UPDATE"
                " SET title = excluded.title, started_at = excluded.started_at,"
                " ended_at = coalesce(excluded.ended_at, meetings.ended_at)",
                (
                    room,
                    number,
                    after.title,
                    after.started_at,
                    ended_at(before, after, records, now),
                ),
            )
        if records:
            rows = list(
                await self._db.execute_fetchall(
                    "SELECT coalesce(max(seq), 0) FROM minutes WHERE room = ? AND number = ?",
                    (room, number),
                )
            )
            last = int(rows[0][0])
            await self._db.executemany(
                "INSERT INTO minutes (room, number, seq, record) VALUES (?, ?, ?, ?)",
                [
                    (room, number, last + offset, encode_record(record))
                    for offset, record in enumerate(records, start=1)
                ],
            )

    async def _queue(self, outgoing: Sequence[Outgoing]) -> None:
        await self._db.executemany(
            "INSERT INTO outbox (txn, message) VALUES (?, ?)",
            [(message.txn, encode_outgoing(message)) for message in outgoing],
        )

    async def queue(self, outgoing: Sequence[Outgoing]) -> bool:
        if not outgoing:
            return False
        async with self._lock:
            rows = list(
                await self._db.execute_fetchall(
                    "SELECT 1 FROM outbox WHERE txn = ?", (outgoing[0].txn,)
                )
            )
            if rows:
                return False
            async with _saving(), _transaction(self._db):
                await self._queue(outgoing)
        return True

    async def unsent(self) -> list[Pending]:
        async with self._lock:
            rows = await self._db.execute_fetchall(
                "SELECT message, batch FROM outbox WHERE event_id IS NULL ORDER BY id"
            )
        return [Pending(decode_outgoing(row[0]), row[1]) for row in rows]

    async def record_batch(self, batch: str, txns: Sequence[str]) -> None:
        async with self._lock, _saving(), _transaction(self._db):
            await self._db.executemany(
                "UPDATE outbox SET batch = ? WHERE txn = ?", [(batch, txn) for txn in txns]
            )

    async def mark_sent(self, txns: Sequence[str], event_id: str) -> None:
        async with self._lock, _saving(), _transaction(self._db):
            # What was said (perhaps privately) is not kept once sent: only its kind.
            await self._db.executemany(
                "UPDATE outbox SET event_id = ?,"
                " message = json_object('kind', json_extract(message, '$.kind'))"
                " WHERE txn = ?",
                [(event_id, txn) for txn in txns],
            )
            # Sent messages are kept a while (for audits), not forever.
            await self._db.execute(
                "DELETE FROM outbox WHERE event_id IS NOT NULL"
                " AND id < (SELECT max(id) FROM outbox) - ?",
                (SENT_KEPT,),
            )

    async def checkpoint(
        self, name: str, position: str, memory: Sequence[MemoryWrite], skipped: Sequence[Skipped]
    ) -> None:
        async with self._lock, _saving(), _transaction(self._db):
            await self._db.execute(
                "INSERT INTO kv (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, position),
            )
            for write in memory:
                await self._remember(write)
            await self._db.executemany(
                "INSERT INTO skipped (event_id, room, reason, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                [(each.event_id, each.room, each.reason, each.at) for each in skipped],
            )

    async def _remember(self, write: MemoryWrite) -> None:
        if write.value is None:
            await self._db.execute(
                "DELETE FROM adapter_memory WHERE kind = ? AND key = ?", (write.kind, write.key)
            )
            return
        await self._db.execute(
            "INSERT INTO adapter_memory (kind, key, value, seq) VALUES (?, ?, ?,"
            " (SELECT coalesce(max(seq), 0) + 1 FROM adapter_memory WHERE kind = ?))"
            " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
            (write.kind, write.key, write.value, write.kind),
        )
        await self._db.execute(
            "DELETE FROM adapter_memory WHERE kind = ? AND seq <= "
            "(SELECT max(seq) FROM adapter_memory WHERE kind = ?) - ?",
            (write.kind, write.kind, write.keep),
        )

    async def remembered(self, kind: str) -> list[tuple[str, str]]:
        async with self._lock:
            rows = await self._db.execute_fetchall(
                "SELECT key, value FROM adapter_memory WHERE kind = ? ORDER BY seq", (kind,)
            )
        return [(str(row[0]), str(row[1])) for row in rows]

    async def skipped(self) -> int:
        async with self._lock:
            rows = list(await self._db.execute_fetchall("SELECT count(*) FROM skipped"))
        return int(rows[0][0])

    async def rooms(self) -> list[str]:
        async with self._lock:
            rows = await self._db.execute_fetchall("SELECT room FROM rooms ORDER BY room")
        return [str(row[0]) for row in rows]

    async def meetings(self, room: str | None = None) -> list[MeetingInfo]:
        query = "SELECT room, number, title, started_at, ended_at FROM meetings"
        parameters: tuple[str, ...] = ()
        if room is not None:
            query += " WHERE room = ?"
            parameters = (room,)
        async with self._lock:
            rows = await self._db.execute_fetchall(query + " ORDER BY room, number", parameters)
        return [MeetingInfo(str(row[0]), int(row[1]), str(row[2]), row[3], row[4]) for row in rows]

    async def minutes(self, room: str, number: int) -> list[Record]:
        async with self._lock:
            rows = await self._db.execute_fetchall(
                "SELECT record FROM minutes WHERE room = ? AND number = ? ORDER BY seq",
                (room, number),
            )
        return [decode_record(row[0]) for row in rows]

    async def get_value(self, name: str) -> str | None:
        async with self._lock:
            rows = list(
                await self._db.execute_fetchall("SELECT value FROM kv WHERE name = ?", (name,))
            )
        return str(rows[0][0]) if rows else None

    async def set_value(self, name: str, value: str) -> None:
        async with self._lock, _saving():
            await self._db.execute(
                "INSERT INTO kv (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()


class _Replay(Exception):
    """Raised inside `apply`'s transaction to roll it back when the key was seen."""


@asynccontextmanager
async def _transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (a replay's `_Replay` too)."""
    # IMMEDIATE takes the write lock up front, so a second writer waits (busy_timeout) at
    # BEGIN rather than failing with "database is locked" when its read tries to upgrade.
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        try:
            await db.execute("ROLLBACK")
        except sqlite3.Error:
            # The transaction was already gone (SQLite rolls back by itself on some errors).
            log.debug("nothing to roll back")
        raise
    await db.execute("COMMIT")


@asynccontextmanager
async def _saving() -> AsyncIterator[None]:
    """SQLite's and the disk's failures to save, as the app's `StorageError`."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        raise StorageError(str(error)) from error


async def _configure(db: aiosqlite.Connection, path: str) -> None:
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Before WAL, so a new file carries the mark in its own header from the start.
    rows = list(await db.execute_fetchall("PRAGMA application_id"))
    if rows[0][0] != APPLICATION_ID:
        await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
    if str(rows[0][0]).lower() != "wal":
        log.warning("database %s is not in WAL mode (%s)", path, rows[0][0])
    # FULL syncs the WAL on every commit: an acknowledged commit survives power loss.
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute("PRAGMA foreign_keys = ON")
    # Overwrite deleted content with zeros: superseded meeting states hold private priority.
    await db.execute("PRAGMA secure_delete = ON")


async def _empty_schema(db: aiosqlite.Connection) -> None:
    """The latest tables, in memory and empty: what an empty file reads as."""
    for step in MIGRATIONS:
        for statement in step:
            await db.execute(statement)


async def _check_version(db: aiosqlite.Connection, path: str) -> None:
    """Read-only: refuse a file from a newer scorebot; an older one reads as it is."""
    found = await _version(db)
    if found > len(MIGRATIONS):
        raise SchemaTooNewError(path, found, len(MIGRATIONS))


async def _version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("SELECT number FROM version WHERE id = 0"))
    return int(rows[0][0])


async def _migrate(db: aiosqlite.Connection, path: str) -> None:
    """Apply the missing schema steps, each with its version bump in one transaction."""
    known = len(MIGRATIONS)
    async with _transaction(db):
        await db.execute(
            "CREATE TABLE IF NOT EXISTS version"
            " (id INTEGER PRIMARY KEY CHECK (id = 0), number INTEGER NOT NULL)"
        )
        await db.execute("INSERT INTO version (id, number) VALUES (0, 0) ON CONFLICT DO NOTHING")
    while True:
        async with _transaction(db):
            # Read inside the transaction: another process may have migrated meanwhile.
            current = await _version(db)
            if current > known:
                raise SchemaTooNewError(path, current, known)
            if current == known:
                return
            for statement in MIGRATIONS[current]:
                await db.execute(statement)
            await db.execute("UPDATE version SET number = ? WHERE id = 0", (current + 1,))
        log.info("database %s migrated to schema version %s", path, current + 1)
