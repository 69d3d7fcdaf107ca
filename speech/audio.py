"""Audio sources of 16 kHz mono 16-bit chunks: recordings here, the microphone in `microphone`.

A source's `chunks()` blocks while it waits for audio: iterate it off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from speech.errors import AudioFileError
from speech.events import SAMPLE_RATE, AudioChunk

CHUNK_SECONDS = 0.1
"""seconds of audio per chunk: small enough for a prompt cue, large enough to be cheap"""


class AudioSource(Protocol):
    def chunks(self) -> Iterator[AudioChunk]:
        """16 kHz mono 16-bit chunks, in order, until the source ends or is closed."""
        ...

    def close(self) -> None:
        """Stop: `chunks()` ends soon after, from any thread."""
        ...


WIDEN_GAIN = 0.2
"""loudness of the mirror image that fills the empty top band of a low-rate recording"""
_TAPS = 63


class Widener:
    """Fills the band a recording below 16 kHz lacks with a quiet mirror image of the band below.

    The model's features reach up to 7.6 kHz; a telephone-rate (8 kHz) recording has nothing
    above 4 kHz, and those empty bands look like nothing the model was trained on (recall
    fell to a fifth in bench.speech). Flipping the signal's sign on every other sample
    mirrors its spectrum around 4 kHz; low-passed first, only the mirror of the lowest band
    lands in the empty top. 31 samples (2 ms) of delay. Streaming: keeps its filter state.
    """

    def __init__(self, rate: int, gain: float = WIDEN_GAIN) -> None:
        nyquist = SAMPLE_RATE / 2
        cutoff = (nyquist - rate / 2) / SAMPLE_RATE
        middle = np.arange(_TAPS) - (_TAPS - 1) / 2
        self._filter = (2 * cutoff * np.sinc(2 * cutoff * middle) * np.hamming(_TAPS)).astype(
            np.float32
        )
        self._gain = gain
        self._history = np.zeros(_TAPS - 1, dtype=np.float32)
        self._position = 0

    def widen(
        self, samples: npt.NDArray[np.float32], last: bool = False
    ) -> npt.NDArray[np.float32]:
        delay = (_TAPS - 1) // 2
        padded = [self._history, samples, np.zeros(delay if last else 0, dtype=np.float32)]
        window = np.concatenate(padded)
        low = np.convolve(window, self._filter, mode="valid")
        count = len(low)
        signs = 1 - 2 * ((self._position + np.arange(count)) % 2)
        self._position += count
        self._history = window[len(window) - (_TAPS - 1) :]
        widened: npt.NDArray[np.float32] = (
            window[delay : delay + count] + self._gain * signs * low
        ).astype(np.float32)
        return widened


class Converter:
    """Any rate and channel count in, 16 kHz mono int16 out, streaming."""

    def __init__(self, rate: int, channels: int) -> None:
        import soxr

        self.rate = rate
        self.channels = channels
        self._resampler = (
            None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32")
        )
        self._widener = Widener(rate) if rate < SAMPLE_RATE else None

    def convert(self, samples: npt.NDArray[np.float32], last: bool = False) -> bytes:
        """`samples`: float32 in -1..1, shape (frames,) or (frames, channels)."""
        mono = samples.mean(axis=1) if samples.ndim == 2 else samples
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=last)
        if self._widener is not None:
            mono = self._widener.widen(mono, last=last)
        return to_pcm16(mono)


def to_pcm16(samples: npt.NDArray[np.float32]) -> bytes:
    clipped = np.clip(samples, -1.0, 32767 / 32768)
    return (clipped * 32768).astype("<i2").tobytes()


def rms(audio: bytes) -> float:
    """Loudness of 16-bit PCM, 0..1 of full scale."""
    if not audio:
        return 0.0
    samples = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768
    return float(np.sqrt(np.mean(samples * samples)))


class WavFile:
    """A recording (WAV, FLAC, OGG… any rate, any channel count), read in chunks."""

    def __init__(self, path: Path, chunk_seconds: float = CHUNK_SECONDS) -> None:
        import soundfile

        self.path = path
        self.chunk_seconds = chunk_seconds
        self._closed = False
        try:
            self._file = soundfile.SoundFile(str(path))
        except (soundfile.LibsndfileError, OSError, RuntimeError) as error:
            raise AudioFileError(f"cannot read {path} as a recording: {_reason(error)}.") from None
        self.rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.seconds = self._file.frames / self.rate if self.rate else 0.0

    def chunks(self) -> Iterator[AudioChunk]:
        converter = Converter(self.rate, self.channels)
        frames = max(1, round(self.rate * self.chunk_seconds))
        emitted = 0
        try:
            while not self._closed:
                block = self._file.read(frames, dtype="float32", always_2d=True)
                last = len(block) < frames
                audio = converter.convert(block, last=last)
                if audio:
                    yield AudioChunk(audio, emitted / SAMPLE_RATE)
                    emitted += len(audio) // 2
                if last:
                    break
        finally:
            self._file.close()

    def close(self) -> None:
        self._closed = True


def _reason(error: Exception) -> str:
    text = str(error).strip().rstrip(".")
    return text.split(": ", 1)[-1] if ": " in text else text
