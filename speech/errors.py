"""What can keep the listener from starting, each with one plain sentence saying what to do."""

from __future__ import annotations


class SpeechError(Exception):
    """The listener cannot run; str(error) is one sentence for the facilitator."""


class ModelMissingError(SpeechError):
    """No speech model where the listener looked."""


class SpeechLibraryMissingError(SpeechError):
    """vosk, sounddevice or PortAudio is not installed."""


class DeviceMissingError(SpeechError):
    """The microphone named in the settings is not there."""


class AudioFileError(SpeechError):
    """A recording cannot be read."""
