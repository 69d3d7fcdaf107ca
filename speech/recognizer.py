"""vosk's KaldiRecognizer on a grammar, giving `Transcript`s: the one file that imports vosk.

Every call here blocks (vosk decodes in the calling thread): run them off the event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech.errors import ModelMissingError, SpeechLibraryMissingError
from speech.events import SAMPLE_RATE, Transcript, Word

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

    def recognizer(self, grammar: list[str], sample_rate: int = SAMPLE_RATE) -> Recognizer:
        return Recognizer(self, grammar, sample_rate)


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

    def __init__(self, model: Model, grammar: list[str], sample_rate: int = SAMPLE_RATE) -> None:
        vosk = _vosk()
        self._seed = model.tuning.seed
        self._recognizer = vosk.KaldiRecognizer(
            model._model, sample_rate, json.dumps(grammar, ensure_ascii=False)
        )
        self._recognizer.SetWords(True)
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
    """A vosk result (JSON with `result`: word, start, end, conf) as a `Transcript`."""
    data = json.loads(text)
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
