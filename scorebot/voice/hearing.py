"""What the `[speech]` section asks to hear, and from where: one setup for both ways of delivering.

Loading a model and opening a recording block, so callers run `prepare` off the event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from scorebot.config import SpeechConfig
from scorebot.voice.cues import HeardCue, notice_body
from speech import models
from speech.audio import AudioSource
from speech.events import Cue, Level
from speech.recognizer import Model
from speech.vocabulary import Vocabulary, load


@dataclass(frozen=True, slots=True)
class Hearing:
    """A ready model, the vocabulary with the enrolled names, and the audio to hear."""

    model: Model
    vocabulary: Vocabulary
    source: AudioSource
    key: Callable[[Cue], str]
    """the idempotency key of each cue heard from this source"""
    live: bool
    """the microphone (not a recording)"""
    where: str
    """the microphone's name or the recording's path, for the facilitator"""

    def heard(self, cue: Cue) -> HeardCue:
        """The cue as it travels on, with its key."""
        return HeardCue(cue.cue, cue.name, self.key(cue), cue.start, cue.end, cue.confidence)


def vocabulary_for(speech: SpeechConfig) -> Vocabulary:
    extra = {cue: list(phrases) for cue, phrases in speech.extra_phrases.items()}
    return load(speech.language).with_names(list(speech.names)).with_extra_phrases(extra)


def prepare(speech: SpeechConfig, recording: Path | None = None) -> Hearing:
    """Blocking: load the model and open the microphone, or `recording` (or `speech.file`)."""
    vocabulary = vocabulary_for(speech)
    model = Model(models.resolve(vocabulary.language, speech.model))
    path = recording or speech.file
    if path is not None:
        from speech.audio import WavFile

        return Hearing(model, vocabulary, WavFile(path), file_keys(path), False, str(path))
    from speech.microphone import Microphone

    microphone = Microphone(speech.device)
    return Hearing(model, vocabulary, microphone, live_keys(), True, microphone.name)


def file_keys(path: Path) -> Callable[[Cue], str]:
    """Keys from the recording's content and where in it the cue starts: hearing the same
    file again (after a restart) gives the same keys, so nothing is posted or applied twice."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    prefix = digest.hexdigest()[:24]
    return lambda cue: f"file-{prefix}:{cue.start:.2f}"


def live_keys() -> Callable[[Cue], str]:
    """Keys from this listening session and a counter: unique, and never reused."""
    session = uuid.uuid4().hex[:16]
    counter = itertools.count(1)
    return lambda cue: f"live-{session}:{next(counter)}"


async def hear(hearing: Hearing, room: str, out: TextIO, err: TextIO) -> AsyncGenerator[HeardCue]:
    """The cues heard, as they travel on. Live in a terminal, `err` shows a level meter and
    the last cue; otherwise each cue is printed to `out` once it was handed on."""
    from speech.cli import Meter
    from speech.listener import listen

    meter = Meter(err) if hearing.live and err.isatty() else None
    announced = not hearing.live
    try:
        async with contextlib.aclosing(
            listen(hearing.source, hearing.model, hearing.vocabulary, levels=hearing.live)
        ) as events:
            async for event in events:
                if isinstance(event, Level):
                    if not announced:
                        # Said once audio flows, so what is said from now on is heard.
                        announced = True
                        print(
                            f"Listening on {hearing.where}; cues go to {room}. "
                            "Audio stays on this computer and is not stored. Ctrl-C stops.",
                            file=err,
                            flush=True,
                        )
                    if meter is not None:
                        meter.show(event)
                if not isinstance(event, Cue):
                    continue
                heard = hearing.heard(event)
                yield heard
                if meter is not None:
                    meter.heard(event)
                else:
                    print(notice_body(heard), file=out, flush=True)
    finally:
        if meter is not None:
            meter.done()
