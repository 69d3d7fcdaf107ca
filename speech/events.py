"""Typed values that flow through the listener: audio chunks, transcripts, cues."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_RATE = 16_000
"""Hz: what the recognizer hears; every source converts to this."""


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A piece of 16-bit little-endian mono PCM at `rate`."""

    audio: bytes
    start: float
    """seconds since the source began"""
    rate: int = SAMPLE_RATE
    """Hz"""

    @property
    def seconds(self) -> float:
        return len(self.audio) / 2 / self.rate

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True, slots=True)
class Word:
    """One recognized word with vosk's timing and confidence."""

    text: str
    start: float
    """seconds since the source began"""
    end: float
    """seconds since the source began"""
    confidence: float
    """0..1, vosk's posterior for the word"""


@dataclass(frozen=True, slots=True)
class Alternative:
    """A less likely reading of the same utterance (vosk's N-best list)."""

    words: tuple[Word, ...]
    gap: float
    """how far its score is below the best reading's (log-likelihood, >= 0)"""

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


@dataclass(frozen=True, slots=True)
class Transcript:
    """One utterance, as vosk's endpointing closed it."""

    words: tuple[Word, ...]
    final: bool = True
    """False for a partial result (the utterance is still going on)"""
    alternatives: tuple[Alternative, ...] = ()
    """the next best readings, most likely first (empty unless the recognizer keeps them)"""

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def start(self) -> float:
        return self.words[0].start if self.words else 0.0

    @property
    def end(self) -> float:
        return self.words[-1].end if self.words else 0.0


@dataclass(frozen=True, slots=True)
class Cue:
    """A spoken cue: `stack`, `unstack`, `next`, `done`, `ouch`, `oops`, or a lane."""

    cue: str
    name: str | None
    """the enrolled name said with the cue ("stack Maria"), or None"""
    start: float
    """seconds since the source began, where the cue's first word starts"""
    end: float
    """seconds since the source began, where the cue's last word ends"""
    confidence: float
    """the lowest word confidence in the cue, 0..1"""
    text: str = ""
    """what was heard, as the recognizer wrote it"""

    def as_json(self) -> dict[str, object]:
        return {
            "cue": self.cue,
            "name": self.name,
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True, slots=True)
class Level:
    """The loudness of the latest audio, for a level meter."""

    rms: float
    """0..1 of full scale"""
    at: float
    """seconds since the source began"""
