"""Audio chunks in, cues out, synchronously: recognizer + early endpointing + cue detector.

Blocking (vosk decodes in the calling thread); `speech.listener` runs it off the event loop.

vosk closes an utterance only after 0.6 to 1.2 s of silence (and in grammar mode often not
even then: its rules also ask for a confident end of sentence), too late for a prompt cue,
and a cue said right after other talk then merges into it. So the pipeline closes
utterances itself (vosk's FinalResult, which gives word timings and confidences as usual):
when the utterance so far is exactly a cue phrase and the audio has been quiet for `hold`
seconds, and any utterance after `pause` seconds of quiet. Speech that goes on after a
longer pause than `hold` starts a new utterance: "stack … the chairs" with a long pause
is heard as "stack".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from speech.audio import rms
from speech.detector import CueDetector, match
from speech.events import AudioChunk, Cue, Level, Transcript, Word
from speech.recognizer import Model, Recognizer
from speech.symbols import model_words, unknown_token
from speech.vocabulary import Vocabulary

Event = Cue | Level | Transcript


@dataclass(frozen=True, slots=True)
class Endpointing:
    hold: float = 0.3
    """seconds of quiet after a complete cue phrase before the utterance is closed early"""
    pause: float = 0.6
    """seconds of quiet that close any utterance"""
    quiet: float = 0.35
    """a chunk is quiet below this share of the utterance's loudest chunk"""
    floor: float = 0.003
    """... or below this loudness (0..1 of full scale) whatever the utterance"""


EARLY = Endpointing()
"""the default: close an utterance that is exactly a cue after 0.3 s of quiet"""


def grammar_for(model: Model, vocabulary: Vocabulary) -> tuple[list[str], list[str]]:
    """The grammar for `vocabulary` on `model`, and the entries the model cannot say."""
    words = model_words(model.path)
    entries = vocabulary.grammar(unknown_token(words))
    missing = [e for e in entries if not all(w in words for w in e.split())]
    return [e for e in entries if e not in missing], missing


class CuePipeline:
    """One audio stream through one recognizer; keep it for the stream's whole life."""

    def __init__(
        self,
        model: Model,
        vocabulary: Vocabulary,
        endpointing: Endpointing | None = EARLY,
        transcripts: bool = False,
    ) -> None:
        grammar, self.missing = grammar_for(model, vocabulary)
        # the next best readings matter only to a vocabulary that looks below the best one
        self.recognizer: Recognizer = model.recognizer(grammar, alternatives=vocabulary.margin > 0)
        self.detector = CueDetector(vocabulary)
        self.vocabulary = vocabulary
        self.endpointing = endpointing
        self.transcripts = transcripts
        self._peak = 0.0
        self._quiet_since: float | None = None
        self._fed = 0.0
        self._pending: tuple[Cue, float, float] | None = None
        """a cue waiting for quiet (vocabulary.confirm): the cue, until when, how loud it was"""

    def feed(self, chunk: AudioChunk) -> Iterator[Event]:
        loudness = rms(chunk.audio)
        yield Level(loudness, chunk.end)
        yield from self._confirm(chunk, loudness)
        self._fed = chunk.end
        transcript = self.recognizer.accept(chunk.audio)
        if transcript is None and self._should_close(chunk, loudness):
            transcript = self.recognizer.finish()
        if transcript is not None:
            peak = self._peak
            self._peak = 0.0
            self._quiet_since = None
            yield from self._heard(transcript, peak)

    def close(self) -> Iterator[Event]:
        if self._pending is not None:
            yield self._pending[0]
            self._pending = None
        yield from self._heard(self.recognizer.finish(), 0.0)

    def _heard(self, transcript: Transcript, peak: float) -> Iterator[Event]:
        if not transcript.words:
            return
        if self.transcripts:
            yield transcript
        cue = self.detector.feed(transcript)
        if cue is None:
            return
        wait = self.vocabulary.confirm.get(cue.cue, 0.0)
        if wait > 0 and self.endpointing is not None:
            self._pending = (cue, cue.end + wait, peak)
        else:
            yield cue

    def _confirm(self, chunk: AudioChunk, loudness: float) -> Iterator[Event]:
        """Emit a waiting cue once its quiet has lasted; drop it if talk went on."""
        if self._pending is None or self.endpointing is None:
            return
        cue, until, peak = self._pending
        if loudness >= max(self.endpointing.floor, self.endpointing.quiet * peak):
            self._pending = None
        elif chunk.end >= until:
            self._pending = None
            yield cue

    def _should_close(self, chunk: AudioChunk, loudness: float) -> bool:
        rule = self.endpointing
        if rule is None:
            return False
        self._peak = max(self._peak, loudness)
        quiet = loudness < max(rule.floor, rule.quiet * self._peak)
        if not quiet:
            self._quiet_since = None
            return False
        if self._quiet_since is None:
            self._quiet_since = chunk.start
        quiet_for = chunk.end - self._quiet_since
        if quiet_for < rule.hold:
            return False
        partial = self.recognizer.partial()
        if not partial:
            return False
        if quiet_for >= rule.pause:
            return True
        # Words without timings: only the text decides here; `match` checks again on the
        # final result with real timings and confidences.
        guess = Transcript(tuple(Word(w, 0.0, 1.0, 1.0) for w in partial.split()))
        return match(guess, self.vocabulary) is not None
