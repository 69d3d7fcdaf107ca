"""Audio conversion: low-rate recordings get their empty top band filled, in any chunking."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from speech.audio import Converter, Widener, to_pcm16


def band_energy(samples: npt.NDArray[np.float32], low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / 16_000)
    return float(spectrum[(frequencies >= low) & (frequencies < high)].sum())


def tone_mix(rate: int, seconds: float = 1.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 1200 * t)).astype(
        np.float32
    )


def pcm(audio: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768


def test_an_8_khz_recording_gets_a_quiet_mirror_in_its_empty_top_band() -> None:
    plain = Converter(8_000, 1)
    plain._widener = None
    flat = pcm(plain.convert(tone_mix(8_000), last=True))
    widened = pcm(Converter(8_000, 1).convert(tone_mix(8_000), last=True))
    assert band_energy(flat, 4_500, 8_000) < 1e-3 * band_energy(flat, 0, 4_000)
    # the 300 and 1200 Hz tones mirror to 7700 and 6800 Hz, 14 dB under the originals
    top = band_energy(widened, 4_500, 8_000)
    assert 1e-3 * band_energy(widened, 0, 4_000) < top < 0.1 * band_energy(widened, 0, 4_000)


def test_a_16_khz_recording_passes_through_unchanged() -> None:
    samples = tone_mix(16_000)
    assert Converter(16_000, 1).convert(samples) == to_pcm16(samples)


def test_widening_in_chunks_gives_the_same_samples_as_in_one_go() -> None:
    samples = np.random.default_rng(1).normal(0, 0.1, 16_000).astype(np.float32)
    whole = Widener(11_025).widen(samples, last=True)
    streaming = Widener(11_025)
    pieces = [streaming.widen(samples[:4_000]), streaming.widen(samples[4_000:4_001]),
              streaming.widen(samples[4_001:], last=True)]  # fmt: skip
    assert np.array_equal(np.concatenate(pieces), whole)
    assert len(whole) == len(samples) + 31  # 2 ms of delay, flushed at the end
