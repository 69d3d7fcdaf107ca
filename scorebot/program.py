"""The command as the user types it: `scorebot`, or `scripts/scorebot` before it is installed."""

from __future__ import annotations

import os

PROGRAM_ENV = "SCOREBOT_PROGRAM"
"""set by scripts/scorebot to the path it was started as"""


def program() -> str:
    """What the user types to start scorebot, for messages that suggest a command."""
    return os.environ.get(PROGRAM_ENV, "").strip() or "scorebot"


def command(rest: str) -> str:
    """A full command to suggest, like `scripts/scorebot run --config scorebot.toml`."""
    return f"{program()} {rest}"
