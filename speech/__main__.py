"""`python -m speech listen|models`: the listener without the bot."""

from __future__ import annotations

import sys

from speech.cli import main

sys.exit(main())
