"""Spoken cues into the bot: heard in-process, or posted by a trusted room microphone."""
