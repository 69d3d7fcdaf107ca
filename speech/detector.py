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
    """The cue this one utterance is, or None. Pure: no state, no debounce.

    The best reading decides when it is a cue phrase (its words confident enough). When it
    is not, a reading a little less likely (within the vocabulary's margin) that is
    exactly a cue phrase counts: grammar mode often hears a neighbouring grammar word
    ("다음 가 할게요" for "반박 할게요"), and ordinary talk rarely has a whole cue phrase
    among its readings, being longer than any cue."""
    if not transcript.final:
        return None
    lexicon = _Lexicon.of(vocabulary)
    heard = _heard_as(transcript.words, lexicon)
    if heard is not None:
        return _accepted(heard, vocabulary, vocabulary.threshold_for(heard.cue))
    if not transcript.words:
        return None
    for alternative in transcript.alternatives:
        if alternative.gap > vocabulary.margin:
            break
        heard = _heard_as(alternative.words, lexicon)
        if heard is None or alternative.gap > vocabulary.margin_for(heard.cue):
            continue
        if not _covers(heard.words, transcript.words):
            continue
        if heard.sure != heard.words and not _within(heard.sure, transcript.words):
            # two guesses on top of each other: a reading below the best, and a particle in
            # it standing in for a word ("예 입니다 해요" read as "이 뜻 이에요")
            continue
        cue = _accepted(heard, vocabulary, 0.0)
        if cue is not None:
            return cue
    return None


SPAN_SLACK = 0.3
"""seconds: how much of the best reading's speech another reading may leave out at either end"""


def _covers(words: list[Word], best: tuple[Word, ...]) -> bool:
    """The cue's own words (no hesitation sound or ending) span the speech the best reading
    heard: "발언 취소 요" is no reading of an utterance whose best reading is "발언 취소
    발언 를", which heard more after it, though a long "요" may cover that time."""
    return bool(words) and (
        words[0].start <= best[0].start + SPAN_SLACK and words[-1].end >= best[-1].end - SPAN_SLACK
    )


def _within(words: list[Word], best: tuple[Word, ...]) -> bool:
    """Every one of `words` was also heard in the best reading."""
    heard = {word.text.casefold() for word in best}
    return all(word.text.casefold() in heard for word in words)


@dataclass(frozen=True, slots=True)
class _Heard:
    """A reading that is a cue phrase: which cue, the name said with it, its words."""

    cue: str
    name: str | None
    words: list[Word]
    sure: list[Word]
    """the words whose confidence counts (a stand-in word's does not)"""


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """A vocabulary's words as the matcher compares them (casefolded), made once per
    utterance rather than once per reading."""

    phrases: list[tuple[str, list[str]]]
    named: frozenset[str]
    names: list[tuple[str, list[str]]]
    fillers: set[str]
    endings: set[str]
    particles: set[str]
    common: set[str]
    """words of ordinary talk: no particle stands in before one of these"""

    @staticmethod
    def of(vocabulary: Vocabulary) -> _Lexicon:
        def folded(words: tuple[str, ...]) -> set[str]:
            return {word.casefold() for word in words}

        return _Lexicon(
            phrases=[(cue, phrase.casefold().split()) for cue, phrase in vocabulary.phrases()],
            named=vocabulary.named,
            names=[(name, name.casefold().split()) for name in vocabulary.names],
            fillers=folded(vocabulary.fillers),
            endings=folded(vocabulary.endings),
            particles=folded(vocabulary.stand_ins),
            common=folded((*vocabulary.soundalikes, *vocabulary.ordinary)),
        )


def _heard_as(heard: tuple[Word, ...], lexicon: _Lexicon) -> _Heard | None:
    words = _trim(_merge_repeats(heard), lexicon.fillers)
    if not words:
        return None
    if len(words) > 1 and words[-1].text.casefold() in lexicon.endings:
        # "의사진행 발언 요": try the phrase with its ending first, then without.
        return _phrase(words, lexicon) or _phrase(words[:-1], lexicon)
    return _phrase(words, lexicon)


def _phrase(words: list[Word], lexicon: _Lexicon) -> _Heard | None:
    tokens = [word.text.casefold() for word in words]
    for cue, spoken in lexicon.phrases:
        if tokens == spoken:
            return _Heard(cue, None, words, words)
        if _stood_in(tokens, spoken, lexicon.particles, lexicon.common):
            # the stand-in is a mishearing: its confidence says nothing about the cue
            return _Heard(cue, None, words, words[1:])
        if cue in lexicon.named:
            for name, name_tokens in lexicon.names:
                if tokens in (spoken + name_tokens, name_tokens + spoken):
                    return _Heard(cue, name, words, words)
    return None


def _accepted(heard: _Heard, vocabulary: Vocabulary, threshold: float) -> Cue | None:
    """The cue, if its words are confident enough and it lasts a plausible time."""
    words = heard.words
    confidence = min(word.confidence for word in heard.sure)
    if confidence < threshold:
        return None
    seconds = words[-1].end - words[0].start
    if not vocabulary.min_seconds <= seconds <= vocabulary.max_seconds:
        return None
    return Cue(
        cue=heard.cue,
        name=heard.name,
        start=words[0].start,
        end=words[-1].end,
        confidence=confidence,
        text=" ".join(word.text for word in words),
    )


def _stood_in(tokens: list[str], spoken: list[str], stand_ins: set[str], common: set[str]) -> bool:
    """ "는 발언자" for "다음 발언자": a stand-in for the first word, the rest exact, long,
    and not itself a word of ordinary talk ("를 할게요" is talk, not "반박 할게요")."""
    return (
        len(spoken) >= 2
        and len(tokens) == len(spoken)
        and tokens[0] in stand_ins
        and tokens[1:] == spoken[1:]
        and len("".join(spoken[1:])) >= 2
        and " ".join(spoken[1:]) not in common
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
    """`match` plus debounce: the same cue and name twice within the debounce window is one;
    and a cue must begin `vocabulary.pause_before` seconds after the words before it ended:
    an utterance that starts the moment the last one stopped is the tail of a sentence cut
    in two ("…했 | 어요" heard as "저 요"), not a cue said in a pause.

    Time comes only from the transcripts (seconds of audio), never from a clock, so the
    detector gives the same cues for the same recognizer results, live or from a file.
    """

    vocabulary: Vocabulary
    _last: dict[tuple[str, str | None], float] = field(default_factory=dict)
    _talk_until: float | None = None

    def feed(self, transcript: Transcript) -> Cue | None:
        talk_until = self._talk_until
        if transcript.words:
            self._talk_until = transcript.end
        cue = match(transcript, self.vocabulary)
        if cue is None:
            return None
        if talk_until is not None and cue.start - talk_until < self.vocabulary.pause_before:
            return None
        key = (cue.cue, cue.name)
        previous = self._last.get(key)
        self._last[key] = cue.end
        if previous is not None and cue.start - previous < self.vocabulary.debounce_seconds:
            return None
        return cue
