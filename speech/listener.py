"""The async face of the listener: a source's cues as an async iterator, decoded in a thread.

The decoding thread never touches the event loop's objects: it hands every event over with
`loop.call_soon_threadsafe`, and the loop side only reads a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass

from speech.audio import AudioSource
from speech.events import Cue, Level, Transcript
from speech.pipeline import EARLY, CuePipeline, Endpointing, Event
from speech.recognizer import Model
from speech.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


async def listen(
    source: AudioSource,
    model: Model,
    vocabulary: Vocabulary,
    *,
    levels: bool = False,
    transcripts: bool = False,
    endpointing: Endpointing | None = EARLY,
) -> AsyncGenerator[Event, None]:
    """Cues (and, if asked, levels and transcripts) heard from `source`, until it ends.

    Leaving the loop early (break, cancel) closes the source and stops the thread.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | _End] = asyncio.Queue()
    pipeline = await asyncio.to_thread(CuePipeline, model, vocabulary, endpointing, transcripts)

    def post(item: Event | _End) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    wanted: Callable[[Event], bool] = lambda event: (  # noqa: E731
        isinstance(event, Cue)
        or (levels and isinstance(event, Level))
        or (transcripts and isinstance(event, Transcript))
    )

    def decode() -> None:
        try:
            for chunk in source.chunks():
                for event in pipeline.feed(chunk):
                    if wanted(event):
                        post(event)
            for event in pipeline.close():
                if wanted(event):
                    post(event)
        except BaseException as error:  # handed to the loop, which re-raises it
            post(_End(error))
        else:
            post(_End())

    thread = threading.Thread(target=decode, name="speech-decoder", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        source.close()
        await asyncio.to_thread(thread.join)


async def cues(source: AudioSource, model: Model, vocabulary: Vocabulary) -> AsyncIterator[Cue]:
    """Only the cues heard from `source`: what the bot needs."""
    async with contextlib.aclosing(listen(source, model, vocabulary)) as events:
        async for event in events:
            if isinstance(event, Cue):
                yield event
