"""vosk's KaldiRecognizer on a grammar, giving `Transcript`s: the one file that imports vosk.

Every call here blocks (vosk decodes in the calling thread): run them off the event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import math
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from speech.errors import ModelMissingError, SpeechLibraryMissingError
from speech.events import SAMPLE_RATE, Alternative, Transcript, Word

log = logging.getLogger(__name__)

_MODEL_PARTS = ("am", "graph", "ivector", "rescore", "rnnlm")
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Tuning:
    """How the recognizer closes utterances and prepares audio."""

    endpoint_silence: float = 0.3
    """seconds of silence after a word that close an utterance (vosk's models use 0.5);
    the cue is emitted then, so this is most of the latency from a cue to its signal"""
    seed: int | None = 0
    """seed for libc `rand()`, which Kaldi's dither draws from (None: leave it alone).
    Seeded before each utterance, so one file decodes to the same words every time"""
    alternatives: int = 30
    """readings of each utterance to keep when a recognizer asks for alternatives (vosk's
    N-best list): the cue detector looks a little way down it, because grammar mode often
    puts a neighbouring grammar word just above the cue"""
    lattice_beam: float = 6.0
    """how far below the best reading the decoder keeps others (vosk's models use 2.0,
    which leaves the N-best list nearly empty)"""


def _vosk() -> Any:
    try:
        import vosk
    except ImportError:
        raise SpeechLibraryMissingError(
            "vosk is not installed: install the speech extra (pip install 'scorebot[speech]')."
        ) from None
    vosk.SetLogLevel(-1)
    return vosk


class Model:
    """A loaded vosk model (hundreds of MB: load once, share between recognizers)."""

    def __init__(self, path: Path, tuning: Tuning = Tuning()) -> None:
        if not (path / "am" / "final.mdl").is_file():
            raise ModelMissingError(
                f"there is no vosk model at {path}: fetch one with `scorebot models fetch NAME` "
                "or pass --model DIR."
            )
        self.path = path
        self.tuning = tuning
        vosk = _vosk()
        # vosk reads endpointing and feature settings from conf/ inside the model folder.
        # The model is left untouched: a temporary folder links to its parts, with our conf.
        with tempfile.TemporaryDirectory(prefix="speech-model-") as overlay:
            _write_overlay(path, Path(overlay), tuning)
            with _LOAD_LOCK:
                try:
                    self._model = vosk.Model(str(overlay))
                except Exception:
                    raise ModelMissingError(
                        f"vosk could not load the model at {path}: check it with "
                        "`scorebot models verify`, or fetch it again."
                    ) from None

    def recognizer(
        self, grammar: list[str], sample_rate: int = SAMPLE_RATE, alternatives: bool = False
    ) -> Recognizer:
        """A recognizer on `grammar`; with `alternatives`, its transcripts carry the next
        best readings (`Tuning.alternatives` of them) and word confidences from them."""
        return Recognizer(self, grammar, sample_rate, alternatives)


def _write_overlay(model: Path, overlay: Path, tuning: Tuning) -> None:
    for part in _MODEL_PARTS:
        if (model / part).exists():
            (overlay / part).symlink_to((model / part).resolve())
    conf = overlay / "conf"
    conf.mkdir()
    for item in (model / "conf").iterdir():
        if item.name != "model.conf":
            shutil.copy(item, conf / item.name)
    lines = (model / "conf" / "model.conf").read_text().splitlines()
    silence = tuning.endpoint_silence
    rules = {
        "--endpoint.rule2.min-trailing-silence": silence,
        "--endpoint.rule3.min-trailing-silence": max(silence * 2, 0.6),
        "--endpoint.rule4.min-trailing-silence": max(silence * 4, 1.2),
        "--lattice-beam": tuning.lattice_beam,
    }
    kept = [line for line in lines if line.split("=")[0] not in rules]
    kept += [f"{key}={value:.2f}" for key, value in rules.items()]
    (conf / "model.conf").write_text("\n".join(kept) + "\n")


def seed_dither(seed: int) -> None:
    """Pin libc's `rand()`, which Kaldi's feature dither uses, so decoding repeats exactly."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.srand(ctypes.c_uint(seed))


class Recognizer:
    """One stream of 16 kHz mono 16-bit audio in; final transcripts out, one per utterance."""

    def __init__(
        self,
        model: Model,
        grammar: list[str],
        sample_rate: int = SAMPLE_RATE,
        alternatives: bool = False,
    ) -> None:
        vosk = _vosk()
        self._seed = model.tuning.seed
        self._recognizer = vosk.KaldiRecognizer(
            model._model, sample_rate, json.dumps(grammar, ensure_ascii=False)
        )
        self._recognizer.SetWords(True)
        if alternatives and model.tuning.alternatives:
            self._recognizer.SetMaxAlternatives(model.tuning.alternatives)
        self._reseed()

    def _reseed(self) -> None:
        if self._seed is not None:
            seed_dither(self._seed)

    def accept(self, audio: bytes) -> Transcript | None:
        """Feed audio; a transcript when vosk's endpointing closed an utterance (may be empty)."""
        if self._recognizer.AcceptWaveform(audio):
            transcript = parse_result(self._recognizer.Result())
            self._reseed()
            return transcript
        return None

    def partial(self) -> str:
        return str(json.loads(self._recognizer.PartialResult()).get("partial", ""))

    def finish(self) -> Transcript:
        """Close the last utterance (end of the file or stream)."""
        transcript = parse_result(self._recognizer.FinalResult())
        self._reseed()
        return transcript


def parse_result(text: str) -> Transcript:
    """A vosk result as a `Transcript`: either one reading (`result`: word, start, end,
    conf) or an N-best list (`alternatives`: confidence = log-likelihood, result: word,
    start, end), whose word confidences are then the likelihood share of the readings
    that have the same word at the same time."""
    data = json.loads(text)
    if "alternatives" not in data:
        words = tuple(
            Word(
                text=str(item["word"]),
                start=float(item["start"]),
                end=float(item["end"]),
                confidence=float(item.get("conf", 1.0)),
            )
            for item in data.get("result", [])
        )
        return Transcript(words=words, final=True)
    readings = sorted(
        (
            (float(entry.get("confidence", 0.0)), _timed_words(entry.get("result", [])))
            for entry in data["alternatives"]
        ),
        key=lambda reading: -reading[0],
    )
    if not readings:
        return Transcript(words=(), final=True)
    best = readings[0][0]
    weights = [math.exp(score - best) for score, _ in readings]
    total = sum(weights)
    shares = [weight / total for weight in weights]

    def confident(words: list[Word]) -> tuple[Word, ...]:
        return tuple(replace(word, confidence=_share(word, readings, shares)) for word in words)

    alternatives = tuple(
        Alternative(words=confident(words), gap=best - score) for score, words in readings[1:]
    )
    return Transcript(words=confident(readings[0][1]), final=True, alternatives=alternatives)


def _share(word: Word, readings: list[tuple[float, list[Word]]], shares: list[float]) -> float:
    """The likelihood share of the readings that have `word` at its time."""
    held = sum(
        share
        for share, (_, words) in zip(shares, readings, strict=True)
        if any(_same(word, other) for other in words)
    )
    return min(1.0, held)


def _timed_words(items: list[dict[str, Any]]) -> list[Word]:
    return [
        Word(str(item["word"]), float(item["start"]), float(item["end"]), 1.0) for item in items
    ]


def _same(word: Word, other: Word) -> bool:
    """The same word heard at (about) the same time: each one's middle inside the other."""
    if word.text != other.text:
        return False
    middle, other_middle = (word.start + word.end) / 2, (other.start + other.end) / 2
    return other.start <= middle <= other.end or word.start <= other_middle <= word.end
