"""The `scorebot` command: run, init, check, reset-identity, minutes, demo, listen, models."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from scorebot.config import Config, ConfigError, load_config, write_example
from scorebot.program import command, program

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "scorebot.toml"
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program(),
        description="A Matrix bot that keeps a Modified Progressive Stack and Oops/Ouch "
        "for meetings, in encrypted rooms.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the bot",
        description="Log in (or restore the saved device) and facilitate meetings until stopped.",
    )
    run.add_argument("--config", default=DEFAULT_CONFIG, help="config file (default: %(default)s)")

    init = commands.add_parser(
        "init",
        help="write an example config",
        description="Write a commented example config file. An existing file is never overwritten.",
    )
    init.add_argument("path", nargs="?", default=DEFAULT_CONFIG, help="(default: %(default)s)")

    check = commands.add_parser(
        "check",
        help="check the setup",
        description="Check that the homeserver is reachable, "
        "the login works, the encryption keys are uploaded and which rooms are joined.",
    )
    check.add_argument("--config", default=DEFAULT_CONFIG, help="(default: %(default)s)")

    reset = commands.add_parser(
        "reset-identity",
        help="replace the bot's cross-signing identity",
        description="Replace the bot's cross-signing identity with a new one and a new "
        "recovery key; needs the bot's password. Members' clients will show that the bot's "
        "identity changed. Only for when the recovery key is lost: with it, a new data "
        "folder recovers the same identity. Stop the bot first.",
    )
    reset.add_argument("--config", default=DEFAULT_CONFIG, help="(default: %(default)s)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    minutes = commands.add_parser(
        "minutes",
        help="export a meeting's minutes",
        description="Print the minutes of a "
        "meeting from the database as Markdown or JSON, or list the meetings.",
    )
    source = minutes.add_mutually_exclusive_group()
    source.add_argument("--database", type=Path, help="the scorebot database file")
    source.add_argument("--config", help="read the database location from this config")
    minutes.add_argument("--room", help="room id (needed when the database has several rooms)")
    minutes.add_argument("--meeting", type=int, help="meeting number (default: the latest)")
    minutes.add_argument("--format", choices=["markdown", "json"], default="markdown")
    minutes.add_argument("--list", action="store_true", help="list the meetings instead")

    commands.add_parser(
        "demo",
        help="run the local demo",
        description="Start a throwaway homeserver with the bot and some simulated members, "
        f"to try scorebot out. Options after `demo` go to the demo (see `{command('demo -h')}`).",
        add_help=False,
    )

    # The speech listener's own commands live in speech/cli.py; these only delegate.
    from speech.cli import add_listen_arguments, add_models_arguments

    listen = commands.add_parser(
        "listen",
        help="hear spoken cues",
        description="Listen to the microphone (or a recording) for spoken cues. With "
        "--config, post each cue into the meeting room as the room microphone account.",
    )
    add_listen_arguments(listen)
    listen.add_argument(
        "--config",
        help="a room microphone config ([matrix] account, [speech] room): post cues there",
    )
    add_models_arguments(
        commands.add_parser(
            "models", help="speech models", description="List, fetch and verify speech models."
        )
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Options after `demo` belong to the demo, which parses them itself.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "demo":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _set_up_logging(args.verbose)
    try:
        match args.command:
            case "init":
                return _init(args.path)
            case "run":
                return _run(load_config(args.config))
            case "check":
                return _check(load_config(args.config))
            case "reset-identity":
                return _reset_identity(load_config(args.config), confirmed=args.yes)
            case "minutes":
                return asyncio.run(minutes(args, sys.stdout))
            case "demo":
                return _demo(rest)
            case "listen" if args.config:
                return _listen_in_room(
                    _with_listen_options(load_config(args.config), args), args.file
                )
            case "listen" | "models":
                from speech.cli import run_listen, run_models

                return run_listen(args) if args.command == "listen" else run_models(args)
    except ConfigError as error:
        _say_error(error)
        return EXIT_CONFIG
    return 1


def _say_error(error: object) -> None:
    """One plain sentence on stderr, after the command's name as the user typed it."""
    print(f"{program()}: {error}", file=sys.stderr)


def _set_up_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # --verbose is for scorebot's own details only, which never include message bodies or
    # who has priority. Libraries stay quiet at any verbosity: aiosqlite logs every SQL
    # parameter (the meeting state, priority included) and nio logs requests and events.
    logging.getLogger("scorebot").setLevel(logging.DEBUG if verbose else logging.INFO)
    for library in ("aiosqlite", "nio", "peewee"):
        logging.getLogger(library).setLevel(logging.WARNING)
    # scorebot says it plainly instead: address, reason, next try.
    from scorebot.matrix.reachability import quiet_nio_retry_note

    logging.getLogger("nio.client.async_client").addFilter(quiet_nio_retry_note)


def _init(path: str) -> int:
    try:
        written = write_example(path)
    except ConfigError as error:
        _say_error(error)
        return 1
    print(
        f"Wrote an example config to {written} (only you can read it). "
        f"Edit it, then run: {command(f'run --config {path}')}"
    )
    return 0


def _run(config: Config) -> int:
    from scorebot.app.ports import StorageError
    from scorebot.matrix.run import run_bot
    from scorebot.matrix.session import SessionError
    from scorebot.store.sqlite import SchemaTooNewError
    from scorebot.store.sqlite_file import NotScorebotDatabaseError
    from speech.errors import SpeechError
    from speech.vocabulary import VocabularyError

    async def main() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        await run_bot(config)

    try:
        asyncio.run(main())
    except (
        SessionError,
        NotScorebotDatabaseError,
        SchemaTooNewError,
        SpeechError,
        VocabularyError,
    ) as error:
        _say_error(error)
        return 1
    except PermissionError as error:
        _say_error(f"You may not change {error.filename}. Run scorebot as the user who owns it.")
        return 1
    except StorageError as error:
        _say_error(
            f"I cannot save to {config.storage.database} ({error}). Make room on its disk, "
            "or let scorebot write there, then start it again."
        )
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        log.info("stopped")
    return 0


def _with_listen_options(config: Config, args: argparse.Namespace) -> Config:
    """`--device` and `--model` on the command line win over the config's [speech]."""
    if config.speech is None:
        return config
    speech = dataclasses.replace(
        config.speech,
        device=args.device or config.speech.device,
        model=args.model or config.speech.model,
    )
    return dataclasses.replace(config, speech=speech)


def _listen_in_room(config: Config, recording: Path | None) -> int:
    from scorebot.matrix.room_microphone import post_heard_cues
    from scorebot.matrix.session import SessionError
    from speech.errors import SpeechError
    from speech.vocabulary import VocabularyError

    try:
        posted = asyncio.run(post_heard_cues(config, sys.stdout, sys.stderr, recording=recording))
    except (SessionError, SpeechError, VocabularyError) as error:
        _say_error(error)
        return 1
    except KeyboardInterrupt:
        return 0
    log.info("posted %s cues", posted)
    return 0


def _check(config: Config) -> int:
    from scorebot.matrix.check import run_checks
    from scorebot.matrix.check_storage import CheckLine

    def say(line: CheckLine) -> None:
        mark = "    " if line.note else "WARN" if line.warn else "ok  " if line.ok else "FAIL"
        print(f"{mark} {line.text}")

    return 0 if asyncio.run(run_checks(config, say)) else 1


def _reset_identity(config: Config, *, confirmed: bool) -> int:
    from scorebot.matrix.identity import reset_identity
    from scorebot.matrix.session import SessionError, open_session

    if not confirmed:
        if not sys.stdin.isatty():
            _say_error("add --yes to replace the bot's identity.")
            return 1
        print(
            f"This replaces the cross-signing identity of {config.matrix.user_id}. Members' "
            "clients will show that the bot's identity changed, and the old recovery key "
            "stops working. Type 'reset' to go on: ",
            end="",
            flush=True,
        )
        if sys.stdin.readline().strip() != "reset":
            print("Nothing was changed.")
            return 1

    async def replace() -> int:
        client = await open_session(config)
        try:
            report = await reset_identity(client, config)
        finally:
            await client.close()
        print(f"Replaced the bot's identity. New fingerprint: {report.fingerprint}")
        print(
            f"The new recovery key is in {report.recovery_key_file}: keep a copy somewhere "
            "else (a password manager). Members' clients will show that the bot's identity "
            "changed."
        )
        return 0

    try:
        return asyncio.run(replace())
    except SessionError as error:
        _say_error(error)
        return 1


async def minutes(args: argparse.Namespace, out: TextIO) -> int:
    """`scorebot minutes`, as a coroutine (tests and a running loop can await it).

    It opens the database read-only: it creates, migrates and changes nothing."""
    from scorebot.core.minutes import to_json, to_markdown
    from scorebot.store.sqlite import SchemaTooNewError, SqliteStore
    from scorebot.store.sqlite_file import NotScorebotDatabaseError

    if args.database is not None:
        database = Path(args.database)
    else:
        database = load_config(args.config or DEFAULT_CONFIG).storage.database
    try:
        store = await SqliteStore.open(database, read_only=True)
    except FileNotFoundError:
        _say_error(f"There is no database at {database}.")
        return 1
    except (NotScorebotDatabaseError, SchemaTooNewError) as error:
        _say_error(error)
        return 1
    except PermissionError as error:
        _say_error(f"You may not read {error.filename or database}.")
        return 1
    try:
        meetings = await store.meetings(args.room)
        where = f"{database}" + (f" for room {args.room}" if args.room else "")
        if not meetings:
            if args.list:
                print(f"There are no meetings in {where} yet.", file=out)
                return 0
            _say_error(f"There are no meetings in {where} yet.")
            return 1
        if args.list:
            print("room\tmeeting\tstate\ttitle", file=out)
            for info in meetings:
                ended = "ended" if info.ended_at is not None else "running"
                print(f"{info.room}\t{info.number}\t{ended}\t{info.title}", file=out)
            return 0
        rooms = sorted({info.room for info in meetings})
        if len(rooms) > 1:
            _say_error(
                f"The database has {len(rooms)} rooms. Choose one with --room "
                f"(see `{command(f'minutes {_source(args)} --list')}`)."
            )
            return 1
        wanted = [m for m in meetings if args.meeting is None or m.number == args.meeting]
        if not wanted:
            _say_error(f"There is no meeting {args.meeting} in {rooms[0]}.")
            return 1
        info = max(wanted, key=lambda m: m.number)
        records = await store.minutes(info.room, info.number)
        export = to_json if args.format == "json" else to_markdown
        out.write(export(info.title, info.room, info.number, records))
        return 0
    finally:
        await store.close()


def _source(args: argparse.Namespace) -> str:
    """The option that named the database, to repeat it in a suggested command."""
    if args.database is not None:
        return f"--database {args.database}"
    return f"--config {args.config or DEFAULT_CONFIG}"


def _demo(argv: Sequence[str]) -> int:
    try:
        demo = importlib.import_module("scorebot.demo.run")
    except ModuleNotFoundError as error:
        if error.name != "scorebot.demo.run":
            raise
        _say_error("the demo is not part of this version yet.")
        return 1
    result = demo.main(list(argv))
    return int(result or 0)
