"""The application layer: one consumer applies every source's signals and queues replies."""

from __future__ import annotations

from scorebot.app.apply import Applied, apply_signal

__all__ = ["Applied", "apply_signal"]
