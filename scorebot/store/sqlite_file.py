"""The database file itself: is it scorebot's, is it private, and how to open it read-only."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

APPLICATION_ID = 0x53434F52
"""`PRAGMA application_id` of a scorebot database ("SCOR"), written when the file is made"""

PRIVATE_FILE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")
"""the files SQLite keeps beside the database; they hold the same private data"""

_HEADER = b"SQLite format 3\x00"
_APPLICATION_ID_AT = 68
"""byte offset of the application id in the 100-byte SQLite header"""
_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)


class NotScorebotDatabaseError(ValueError):
    """The file is not a scorebot database; nothing was changed. The message is one sentence."""


class FileKind(Enum):
    MISSING = "missing"
    EMPTY = "empty"
    """a new SQLite database: no tables yet"""
    SCOREBOT = "scorebot"
    """carries scorebot's application id"""
    EARLY_SCOREBOT = "early scorebot"
    """written before scorebot set an application id: only scorebot's tables"""


@dataclass(frozen=True, slots=True)
class Prepared:
    kind: FileKind
    tightened: tuple[Path, ...] = ()
    """files that others could read and that are now private"""


def table_names(migrations: Iterable[Iterable[str]]) -> frozenset[str]:
    """The tables scorebot's schema steps create, and the version table."""
    names = {"version"}
    for step in migrations:
        for statement in step:
            names.update(match.group(1) for match in _TABLE.finditer(statement))
    return frozenset(names)


def inspect(path: Path, ours: frozenset[str]) -> FileKind:
    """What the file is, read without changing anything (not even a -wal or -shm file).

    Raises NotScorebotDatabaseError when it belongs to something else."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return FileKind.MISSING
    except IsADirectoryError:
        raise NotScorebotDatabaseError(f"{path} is a folder, not a database file.") from None
    if not header:
        return FileKind.EMPTY
    if not header.startswith(_HEADER) or len(header) < 100:
        raise NotScorebotDatabaseError(f"{path} is not a database file, so I left it as it is.")
    found = int.from_bytes(header[_APPLICATION_ID_AT : _APPLICATION_ID_AT + 4], "big")
    if found == APPLICATION_ID:
        return FileKind.SCOREBOT
    if found != 0:
        raise _foreign(path)
    tables = _tables(path)
    if not tables:
        return FileKind.EMPTY
    if "version" in tables and tables <= ours:
        return FileKind.EARLY_SCOREBOT
    raise _foreign(path)


def _foreign(path: Path) -> NotScorebotDatabaseError:
    return NotScorebotDatabaseError(
        f"{path} is not scorebot's. Some other program made it, so I left it as it is."
    )


def _tables(path: Path) -> frozenset[str]:
    # immutable=1: no lock, no -wal or -shm file made, nothing written.
    db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError:
        raise NotScorebotDatabaseError(
            f"{path} is not a database file that I can read, so I left it as it is."
        ) from None
    finally:
        db.close()
    return frozenset(str(row[0]) for row in rows if not str(row[0]).startswith("sqlite_"))


def prepare(path: Path, ours: frozenset[str]) -> Prepared:
    """Before opening for writing: refuse a foreign file, create a new one 0600 whatever the
    umask (SQLite gives the -wal and -shm files the database's mode), and make an existing
    one private again if others could read it."""
    kind = inspect(path, ours)
    if kind is FileKind.MISSING:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        except FileExistsError:
            # Made by another process meanwhile: look again at what it is.
            return prepare(path, ours)
        return Prepared(FileKind.EMPTY)
    tightened = []
    for each in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            each.chmod(PRIVATE_FILE)
            tightened.append(each)
    return Prepared(kind, tuple(tightened))


def read_only_uri(path: Path) -> str:
    """A URI that reads the database and creates nothing beside it.

    With no -wal file, no bot has it open and everything is in the main file: `immutable`
    reads it without making -wal and -shm files (`mode=ro` would make and leave them)."""
    wal = path.with_name(path.name + "-wal")
    option = "mode=ro" if wal.exists() else "immutable=1"
    return f"{path.resolve().as_uri()}?{option}"
