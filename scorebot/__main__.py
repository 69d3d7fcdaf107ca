"""`python -m scorebot`: the same as the `scorebot` command."""

from __future__ import annotations

import sys

from scorebot.cli import main

if __name__ == "__main__":
    sys.exit(main())
