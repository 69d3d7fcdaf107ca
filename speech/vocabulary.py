"""Cue phrases per language, loaded from `vocabularies/<lang>.toml`, plus enrolled names."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

CUES = ("stack", "unstack", "next", "done", "ouch", "oops", "process", "clarify", "direct")
"""Every cue a vocabulary must give phrases for."""


class VocabularyError(ValueError):
    """A vocabulary file is missing or malformed; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What the listener listens for in one language."""

    language: str
    cues: dict[str, tuple[str, ...]]
    """cue name -> phrases, words separated by single spaces as the model spells them"""
    soundalikes: tuple[str, ...] = ()
    """words that sound like cue words: near-misses land here instead of on a cue"""
    ordinary: tuple[str, ...] = ()
    """frequent words of ordinary talk, for the same reason"""
    fillers: tuple[str, ...] = ()
    """hesitation sounds that may stand before or after a cue ("um stack")"""
    endings: tuple[str, ...] = ()
    """words that may follow a cue phrase and change nothing (Korean polite "요")"""
    stand_ins: tuple[str, ...] = ()
    """one-syllable words the model may hear in place of a phrase's first word ("는 발언자"
    for "다음 발언자"); the rest of the phrase must be heard exactly, two syllables or more"""
    named: frozenset[str] = frozenset({"stack", "unstack", "ouch"})
    """cues that may carry an enrolled name ("stack Maria", "Maria stack")"""
    threshold: float = 0.6
    """lowest word confidence (0..1) for a cue"""
    thresholds: dict[str, float] = field(default_factory=dict)
    """per-cue overrides of `threshold`"""
    margin: float = 0.0
    """how far below the best reading of an utterance (log-likelihood) a reading that is
    exactly a cue phrase may be and still count, when the best reading is no cue
    (0: only the best reading counts)"""
    margins: dict[str, float] = field(default_factory=dict)
    """per-cue overrides of `margin` (each at most `margin`)"""
    confirm: dict[str, float] = field(default_factory=dict)
    """cue -> seconds of quiet after it before it counts: a cue that sounds like the start
    of many sentences ("저 요" like "제 친구는…") is dropped if talk goes on within them"""
    min_seconds: float = 0.15
    """shortest plausible cue, seconds"""
    max_seconds: float = 3.0
    """longest plausible cue (name included), seconds"""
    debounce_seconds: float = 2.0
    """the same cue (and name) again within this many seconds counts once"""
    pause_before: float = 0.0
    """seconds of quiet a cue needs after the words before it (0: none)"""
    names: tuple[str, ...] = ()
    """enrolled names of in-room attendees, as the model spells them"""
    model: str = ""
    """the registry name of the model this vocabulary was written for"""

    def threshold_for(self, cue: str) -> float:
        return self.thresholds.get(cue, self.threshold)

    def margin_for(self, cue: str) -> float:
        return min(self.margins.get(cue, self.margin), self.margin)

    def phrases(self) -> list[tuple[str, str]]:
        """(cue, phrase) pairs, longest phrase first."""
        pairs = [(cue, phrase) for cue, phrases in self.cues.items() for phrase in phrases]
        return sorted(pairs, key=lambda pair: -len(pair[1].split()))

    def with_names(self, names: list[str] | tuple[str, ...]) -> Vocabulary:
        clean = tuple(dict.fromkeys(" ".join(n.split()) for n in names if n.strip()))
        return replace(self, names=clean)

    def with_extra_phrases(self, extra: dict[str, list[str]]) -> Vocabulary:
        cues = dict(self.cues)
        for cue, phrases in extra.items():
            if cue not in CUES:
                raise VocabularyError(
                    f"there is no cue called {cue!r}; cues are {', '.join(CUES)}."
                )
            cues[cue] = tuple(dict.fromkeys([*cues.get(cue, ()), *map(_clean, phrases)]))
        return replace(self, cues=cues)

    def words(self) -> set[str]:
        """Every word the grammar will contain (names included)."""
        found: set[str] = set()
        for text in [
            *(p for phrases in self.cues.values() for p in phrases),
            *self.soundalikes,
            *self.ordinary,
            *self.fillers,
            *self.endings,
            *self.stand_ins,
            *self.names,
        ]:
            found.update(text.casefold().split())
        return found

    def grammar(self, unknown: str | None) -> list[str]:
        """The phrases vosk's recognizer is restricted to: cues, names, the rest, unknown."""
        entries: list[str] = []
        for phrases in self.cues.values():
            entries.extend(phrases)
        entries.extend(self.names)
        entries.extend(self.soundalikes)
        entries.extend(self.ordinary)
        entries.extend(self.fillers)
        entries.extend(self.endings)
        entries.extend(self.stand_ins)
        folded = [e.casefold() for e in dict.fromkeys(entries)]
        return [*folded, unknown] if unknown else folded


def _clean(phrase: str) -> str:
    return " ".join(phrase.split())


def languages() -> list[str]:
    folder = resources.files("speech") / "vocabularies"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load(language: str = "en", path: Path | None = None) -> Vocabulary:
    """The shipped vocabulary for `language`, or the file at `path`."""
    try:
        if path is not None:
            text = path.read_text(encoding="utf-8")
        else:
            text = (resources.files("speech") / "vocabularies" / f"{language}.toml").read_text(
                encoding="utf-8"
            )
    except FileNotFoundError:
        known = ", ".join(languages())
        raise VocabularyError(
            f"there is no vocabulary for language {language!r}; shipped: {known}."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise VocabularyError(f"the {language} vocabulary is not valid TOML: {error}.") from None
    return parse(data, language)


def parse(data: dict[str, object], language: str) -> Vocabulary:
    cues_raw = data.get("cues")
    if not isinstance(cues_raw, dict):
        raise VocabularyError(f"the {language} vocabulary has no [cues] table.")
    missing = [cue for cue in CUES if not cues_raw.get(cue)]
    if missing:
        raise VocabularyError(
            f"the {language} vocabulary gives no phrases for: {', '.join(missing)}."
        )
    unknown = sorted(set(cues_raw) - set(CUES))
    if unknown:
        raise VocabularyError(f"the {language} vocabulary has unknown cues: {', '.join(unknown)}.")
    cues = {cue: tuple(_clean(p) for p in _strings(cues_raw[cue], cue)) for cue in CUES}
    thresholds_raw = data.get("thresholds", {})
    if not isinstance(thresholds_raw, dict):
        raise VocabularyError(f"the {language} vocabulary's [thresholds] must be a table.")
    thresholds = {str(k): float(v) for k, v in thresholds_raw.items()}
    margins_raw = data.get("margins", {})
    if not isinstance(margins_raw, dict):
        raise VocabularyError(f"the {language} vocabulary's [margins] must be a table.")
    margins = {str(k): float(v) for k, v in margins_raw.items()}
    confirm_raw = data.get("confirm", {})
    if not isinstance(confirm_raw, dict):
        raise VocabularyError(f"the {language} vocabulary's [confirm] must be a table.")
    confirm = {str(k): float(v) for k, v in confirm_raw.items()}
    return Vocabulary(
        language=str(data.get("language", language)),
        cues=cues,
        soundalikes=tuple(_strings(data.get("soundalikes", []), "soundalikes")),
        ordinary=tuple(_strings(data.get("ordinary", []), "ordinary")),
        fillers=tuple(_strings(data.get("fillers", []), "fillers")),
        endings=tuple(_strings(data.get("endings", []), "endings")),
        stand_ins=tuple(_strings(data.get("stand_ins", []), "stand_ins")),
        named=frozenset(_strings(data.get("named", ["stack", "unstack", "ouch"]), "named")),
        threshold=float(data.get("threshold", 0.6)),  # type: ignore[arg-type]
        thresholds=thresholds,
        margin=float(data.get("margin", 0.0)),  # type: ignore[arg-type]
        margins=margins,
        confirm=confirm,
        min_seconds=float(data.get("min_seconds", 0.15)),  # type: ignore[arg-type]
        max_seconds=float(data.get("max_seconds", 3.0)),  # type: ignore[arg-type]
        debounce_seconds=float(data.get("debounce_seconds", 2.0)),  # type: ignore[arg-type]
        pause_before=float(data.get("pause_before", 0.0)),  # type: ignore[arg-type]
        model=str(data.get("model", "")),
    )


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabularyError(f"{key} must be a list of strings.")
    return list(value)
