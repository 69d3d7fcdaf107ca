"""`scorebot check`'s disk lines on a real small disk: free space, and can the database be saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebot.matrix.check_storage import LOW_SPACE_BYTES, CheckLine, storage_lines
from scorebot.store.sqlite import SqliteStore
from tests.small_disk import remount_read_only


async def test_a_nearly_full_data_disk_gets_a_warning_but_does_not_fail(small_disk: Path) -> None:
    database = small_disk / "scorebot.db"
    await (await SqliteStore.open(database)).close()

    space, saved = storage_lines(small_disk, database)

    assert LOW_SPACE_BYTES > 4_000_000
    assert space.warn and space.ok
    assert space.text.startswith(f"enough free space in {small_disk}: no, only ")
    assert space.text.endswith(
        "is free. Keep at least 200 MB free, or the bot may soon fail to save."
    )
    assert saved == CheckLine(True, f"the database {database} can be saved to: yes")


async def test_a_database_on_a_read_only_disk_cannot_be_saved_to(small_disk: Path) -> None:
    database = small_disk / "scorebot.db"
    await (await SqliteStore.open(database)).close()
    remount_read_only(small_disk)

    saved = storage_lines(small_disk, database)[1]

    assert saved == CheckLine(
        False, f"the database {database} can be saved to: no, the disk is read-only"
    )


def test_a_database_not_made_yet_on_a_read_only_disk_cannot_be_made(small_disk: Path) -> None:
    remount_read_only(small_disk)
    data = small_disk / "scorebot-data"

    saved = storage_lines(data, data / "scorebot.db")[1]

    assert saved == CheckLine(
        False, f"the database {data / 'scorebot.db'} can be made: no, the disk is read-only"
    )


def test_plenty_of_free_space_is_a_plain_yes(tmp_path: Path) -> None:
    space = storage_lines(tmp_path, tmp_path / "scorebot.db")[0]

    if space.warn:
        pytest.skip("this machine's temporary folder is nearly full")
    assert space.ok and space.text.startswith(f"enough free space in {tmp_path}: yes, ")
