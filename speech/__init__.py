"""The local speech listener: audio in, spoken cues out; never imports scorebot or nio.

Typed values live in `speech.events`; `speech.listener.listen` is the async entry point.
vosk, sounddevice and the audio libraries are imported only by the module that needs each,
so `import speech` works on a machine without PortAudio, vosk or a model.
"""

from __future__ import annotations

from speech.events import AudioChunk, Cue, Transcript, Word

__all__ = ["AudioChunk", "Cue", "Transcript", "Word"]
