"""`scorebot check`'s disk lines: free space in the data folder, and can the database be saved."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

LOW_SPACE_BYTES = 200 * 1000 * 1000
"""below this much free space in the data folder, `check` warns"""


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One line of `scorebot check`."""

    ok: bool
    text: str
    note: bool = False
    """advice rather than a check"""
    warn: bool = False
    """worth fixing soon, but the bot still works"""


def storage_lines(data_dir: Path, database: Path) -> list[CheckLine]:
    """Read-only: creates and changes nothing, so it is safe while the bot runs."""
    free = shutil.disk_usage(_existing(data_dir)).free
    if free < LOW_SPACE_BYTES:
        space = CheckLine(
            True,
            f"enough free space in {data_dir}: no, only {_size(free)} is free. "
            f"Keep at least {_size(LOW_SPACE_BYTES)} free, or the bot may soon fail to save.",
            warn=True,
        )
    else:
        space = CheckLine(True, f"enough free space in {data_dir}: yes, {_size(free)} free")
    return [space, _writable_line(database)]


def _writable_line(database: Path) -> CheckLine:
    folder = _existing(database.parent)
    if database.exists():
        # SQLite writes beside the file too (-wal, -shm), so the folder must take new files.
        problem = _cannot_write(database) or _cannot_write(database.parent)
        if problem:
            return CheckLine(False, f"the database {database} can be saved to: no, {problem}")
        return CheckLine(True, f"the database {database} can be saved to: yes")
    problem = _cannot_write(folder)
    if problem:
        return CheckLine(False, f"the database {database} can be made: no, {problem}")
    return CheckLine(True, f"the database {database} can be made: yes (the bot makes it)")


def _cannot_write(path: Path) -> str:
    """Why this process cannot write there, or "" if it can."""
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return "the disk is read-only"
    if not os.access(path, os.W_OK):
        return f"you may not write to {path}"
    return ""


def _existing(path: Path) -> Path:
    """The path, or its nearest folder that exists (where it would be made)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _size(count: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} bytes"
