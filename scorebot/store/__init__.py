"""Where the meeting is kept: one protocol, an in-memory store and a SQLite store."""
