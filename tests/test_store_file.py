"""The database file itself: private, marked as scorebot's, and read-only when only read."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from scorebot.app.ports import StorageError
from scorebot.store import sqlite as sqlite_store
from scorebot.store.sqlite import SqliteStore
from scorebot.store.sqlite_file import APPLICATION_ID, NotScorebotDatabaseError
from tests.test_store_contract import ROOM, a_meeting_with_everything, apply_all


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a plain new file is readable by everyone."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes(folder: Path) -> dict[str, int]:
    return {each.name: stat.S_IMODE(each.stat().st_mode) for each in folder.iterdir()}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, float]]:
    """Every file's bytes, mode and modification time: what "changes nothing" means."""
    return {
        each.name: (each.read_bytes(), each.stat().st_mode, each.stat().st_mtime)
        for each in folder.iterdir()
        if each.is_file()
    }


def application_id(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA application_id").fetchone()[0])
    finally:
        db.close()


async def test_a_new_database_and_its_wal_and_shm_files_are_private_under_umask_022(
    tmp_path: Path, umask_022: None
) -> None:
    store = await SqliteStore.open(tmp_path / "scorebot.db")
    try:
        await apply_all(store, a_meeting_with_everything())
        # While the store is open, SQLite keeps the -wal and -shm files beside it.
        found = modes(tmp_path)
    finally:
        await store.close()

    assert found == {"scorebot.db": 0o600, "scorebot.db-wal": 0o600, "scorebot.db-shm": 0o600}


async def test_a_database_others_can_read_is_made_private_on_open_and_the_log_says_so(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "scorebot.db"
    await (await SqliteStore.open(path)).close()
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="scorebot"):
        store = await SqliteStore.open(path)
    await store.close()

    assert modes(tmp_path) == {"scorebot.db": 0o600}
    assert f"{path} could be read by other users; now only its owner can" in caplog.messages


async def test_a_new_database_carries_scorebots_application_id(tmp_path: Path) -> None:
    path = tmp_path / "scorebot.db"
    await (await SqliteStore.open(path)).close()

    assert application_id(path) == APPLICATION_ID
    # In the header itself, so a reader finds it without SQLite.
    assert int.from_bytes(path.read_bytes()[68:72], "big") == APPLICATION_ID


async def test_a_database_made_before_the_application_id_still_opens_and_gets_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scorebot.db"
    store = await SqliteStore.open(path)
    await apply_all(store, a_meeting_with_everything())
    await store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 0")
    db.commit()
    db.close()

    reopened = await SqliteStore.open(path)
    try:
        assert [info.title for info in await reopened.meetings()] == ["Budget"]
    finally:
        await reopened.close()
    assert application_id(path) == APPLICATION_ID


def make_other_programs_database(path: Path) -> None:
    """Like nio's crypto store: an SQLite file with someone else's tables."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts (account BLOB, user_id TEXT)")
    db.execute("INSERT INTO accounts VALUES (x'00ff', '@bot:example.org')")
    db.commit()
    db.close()


def make_marked_database(path: Path) -> None:
    """An SQLite file another program marked with its own application id."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE version (id INTEGER PRIMARY KEY, number INTEGER)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (make_other_programs_database, "is not scorebot's. Some other program made it"),
        (make_marked_database, "is not scorebot's. Some other program made it"),
        (lambda path: path.write_text("just some notes\n" * 20), "is not a database file"),
    ],
    ids=["other tables", "other application id", "not sqlite"],
)
@pytest.mark.parametrize("read_only", [False, True], ids=["for writing", "read-only"])
async def test_a_file_that_is_not_scorebots_is_refused_in_one_sentence_and_left_unchanged(
    tmp_path: Path, make: object, says: str, read_only: bool
) -> None:
    path = tmp_path / "crypto.db"
    make(path)  # type: ignore[operator]
    path.chmod(0o644)
    before = snapshot(tmp_path)

    with pytest.raises(NotScorebotDatabaseError) as refused:
        await SqliteStore.open(path, read_only=read_only)

    assert str(refused.value) == f"{path} {says}, so I left it as it is."
    assert snapshot(tmp_path) == before


async def test_reading_only_neither_migrates_nor_makes_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scorebot.db"
    store = await SqliteStore.open(path)
    await apply_all(store, a_meeting_with_everything())
    await store.close()
    # This scorebot knows one more schema step than the file has: reading must not add it.
    step = ("CREATE TABLE extra (note TEXT)",)
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", (*sqlite_store.MIGRATIONS, step))
    before = snapshot(tmp_path)

    reader = await SqliteStore.open(path, read_only=True)
    try:
        infos = await reader.meetings()
        lines = await reader.minutes(ROOM, 1)
        with pytest.raises(StorageError, match="readonly"):
            await reader.set_value("sync_token", "s1")
    finally:
        await reader.close()

    assert [info.title for info in infos] == ["Budget"] and lines
    assert snapshot(tmp_path) == before


async def test_reading_only_while_the_bot_writes_sees_what_the_bot_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scorebot.db"
    writer = await SqliteStore.open(path)
    try:
        await apply_all(writer, a_meeting_with_everything())
        reader = await SqliteStore.open(path, read_only=True)
        try:
            infos = await reader.meetings()
        finally:
            await reader.close()
        assert [info.title for info in infos] == [(await writer.meetings())[0].title]
    finally:
        await writer.close()


async def test_reading_only_an_empty_file_finds_no_meetings_and_leaves_it_empty(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "scorebot.db"
    path.touch()

    with caplog.at_level(logging.DEBUG, logger="scorebot"):
        reader = await SqliteStore.open(path, read_only=True)
    assert caplog.messages == []  # nothing was migrated, so nothing says it was
    try:
        assert await reader.meetings() == []
    finally:
        await reader.close()
    assert path.read_bytes() == b"" and modes(tmp_path) == {"scorebot.db": 0o644}


async def test_reading_only_a_missing_file_raises_and_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await SqliteStore.open(tmp_path / "scorebot.db", read_only=True)
    assert modes(tmp_path) == {}
