"""Turn recognizer transcripts into cues: whole utterances only, confident, sane, debounced.

vosk's grammar mode maps speech that is not in the grammar onto grammar words, often with
confidence 1.0 (vosk-api #1339, #2041). So a cue is never found *inside* an utterance: the
whole utterance (hesitation sounds at its edges aside) must be exactly one cue phrase,
optionally with one enrolled name before or after it. "We stacked the chairs" comes out as
several words, so it is not a cue even when one of them was mapped onto "stack".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from speech.events import Cue, Transcript, Word
from speech.vocabulary import Vocabulary


def match(transcript: Transcript, vocabulary: Vocabulary) -> Cue | None:
    """The cue this one utterance is, or None. Pure: no state, no debounce."""
    if not transcript.final:
        return None
    words = _trim(_merge_repeats(transcript.words), {f.casefold() for f in vocabulary.fillers})
    if not words:
        return None
    endings = {e.casefold() for e in vocabulary.endings}
    if len(words) > 1 and words[-1].text.casefold() in endings:
        # "의사진행 발언 요": try the phrase with its ending first, then without.
        return _match_words(words, vocabulary) or _match_words(words[:-1], vocabulary)
    return _match_words(words, vocabulary)


def _match_words(words: list[Word], vocabulary: Vocabulary) -> Cue | None:
    tokens = [word.text.casefold() for word in words]
    names = [(name, name.casefold().split()) for name in vocabulary.names]
    stand_ins = {word.casefold() for word in vocabulary.stand_ins}
    for cue, phrase in vocabulary.phrases():
        spoken = phrase.casefold().split()
        found: str | None = None
        sure = words
        if tokens == spoken:
            found = ""
        elif _stood_in(tokens, spoken, stand_ins):
            # the stand-in is a mishearing: its confidence says nothing about the cue
            found, sure = "", words[1:]
        elif cue in vocabulary.named:
            for name, name_tokens in names:
                if tokens in (spoken + name_tokens, name_tokens + spoken):
                    found = name
                    break
        if found is None:
            continue
        confidence = min(word.confidence for word in sure)
        if confidence < vocabulary.threshold_for(cue):
            return None
        seconds = words[-1].end - words[0].start
        if not vocabulary.min_seconds <= seconds <= vocabulary.max_seconds:
            return None
        return Cue(
            cue=cue,
            name=found or None,
            start=words[0].start,
            end=words[-1].end,
            confidence=confidence,
            text=" ".join(word.text for word in words),
        )
    return None


def _stood_in(tokens: list[str], spoken: list[str], stand_ins: set[str]) -> bool:
    """ "는 발언자" for "다음 발언자": a stand-in for the first word, the rest exact and long."""
    return (
        len(spoken) >= 2
        and len(tokens) == len(spoken)
        and tokens[0] in stand_ins
        and tokens[1:] == spoken[1:]
        and len("".join(spoken[1:])) >= 2
    )


def _merge_repeats(words: tuple[Word, ...]) -> list[Word]:
    """A word said twice in a row ("stack stack", a stutter, an echo) counts once."""
    merged: list[Word] = []
    for word in words:
        previous = merged[-1] if merged else None
        if previous is not None and previous.text.casefold() == word.text.casefold():
            merged[-1] = Word(
                previous.text,
                previous.start,
                word.end,
                min(previous.confidence, word.confidence),
            )
        else:
            merged.append(word)
    return merged


def _trim(words: list[Word], fillers: set[str]) -> list[Word]:
    while words and words[0].text.casefold() in fillers:
        words.pop(0)
    while words and words[-1].text.casefold() in fillers:
        words.pop()
    return words


@dataclass(slots=True)
class CueDetector:
    """`match` plus debounce: the same cue and name twice within the debounce window is one.

    Time comes only from the transcripts (seconds of audio), never from a clock, so the
    detector gives the same cues for the same recognizer results, live or from a file.
    """

    vocabulary: Vocabulary
    _last: dict[tuple[str, str | None], float] = field(default_factory=dict)

    def feed(self, transcript: Transcript) -> Cue | None:
        cue = match(transcript, self.vocabulary)
        if cue is None:
            return None
        key = (cue.cue, cue.name)
        previous = self._last.get(key)
        self._last[key] = cue.end
        if previous is not None and cue.start - previous < self.vocabulary.debounce_seconds:
            return None
        return cue
