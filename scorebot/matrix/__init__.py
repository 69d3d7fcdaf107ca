"""The Matrix adapter: nio callbacks become Signals; replies go out as notices."""
