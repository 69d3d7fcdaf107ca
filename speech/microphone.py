"""The microphone as an audio source through sounddevice: the one file that imports sounddevice."""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from typing import Any

import numpy as np

from speech.audio import CHUNK_SECONDS, Converter
from speech.errors import DeviceMissingError, SpeechLibraryMissingError
from speech.events import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)

_BUFFERED_SECONDS = 10.0
"""audio kept while the decoder is busy; older audio is dropped (and counted) past this"""


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError:
        raise SpeechLibraryMissingError(
            "sounddevice is not installed: install the speech extra "
            "(pip install 'scorebot[speech]')."
        ) from None
    except OSError:
        raise SpeechLibraryMissingError(
            "PortAudio is not installed: install it (Debian and Ubuntu: "
            "sudo apt-get install libportaudio2; macOS: brew install portaudio)."
        ) from None
    return sounddevice


def input_devices() -> list[tuple[int, str, int]]:
    """(index, name, default rate) of every device that can record."""
    sd = _sounddevice()
    return [
        (index, str(device["name"]), int(device["default_samplerate"]))
        for index, device in enumerate(sd.query_devices())
        if int(device["max_input_channels"]) > 0
    ]


def _device(device: str | int | None) -> str | int | None:
    if isinstance(device, str) and device.strip().isdigit():
        return int(device)
    return device or None


class Microphone:
    """16 kHz mono 16-bit chunks from an input device, resampled if it cannot do 16 kHz."""

    def __init__(
        self, device: str | int | None = None, chunk_seconds: float = CHUNK_SECONDS
    ) -> None:
        sd = _sounddevice()
        self.device = _device(device)
        try:
            info = sd.query_devices(self.device, "input")
        except (ValueError, sd.PortAudioError):
            where = (
                "no default input device"
                if self.device is None
                else (f"no input device called {self.device!r}")
            )
            raise DeviceMissingError(
                f"there is {where}: plug in a microphone, or choose one from "
                "`scorebot listen --list-devices` with --device."
            ) from None
        self.name = str(info["name"])
        try:
            sd.check_input_settings(self.device, channels=1, dtype="int16", samplerate=SAMPLE_RATE)
            self.rate = SAMPLE_RATE
        except (ValueError, sd.PortAudioError):
            self.rate = int(info["default_samplerate"])
        self._converter = Converter(self.rate, 1)
        self._queue: queue.Queue[bytes | None] = queue.Queue(
            maxsize=max(1, int(_BUFFERED_SECONDS / chunk_seconds))
        )
        self.dropped = 0
        self._stream = sd.RawInputStream(
            samplerate=self.rate,
            blocksize=max(1, round(self.rate * chunk_seconds)),
            device=self.device,
            channels=1,
            dtype="int16",
            callback=self._callback,
        )

    def _callback(self, data: Any, frames: int, time: Any, status: Any) -> None:
        # PortAudio's thread: copy and hand over, nothing else.
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:
            self.dropped += 1

    def chunks(self) -> Iterator[AudioChunk]:
        emitted = 0
        with self._stream:
            log.info("listening on %s at %s Hz", self.name, self.rate)
            while True:
                data = self._queue.get()
                if data is None:
                    return
                if self.rate == SAMPLE_RATE:
                    audio = data
                else:
                    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) * np.float32(
                        1 / 32768
                    )
                    audio = self._converter.convert(samples)
                if audio:
                    yield AudioChunk(audio, emitted / SAMPLE_RATE)
                    emitted += len(audio) // 2

    def close(self) -> None:
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            self._queue.get_nowait()
            self._queue.put_nowait(None)
