"""`scorebot demo`: a throwaway Synapse, the bot, a scripted meeting, and what members saw."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from scorebot.config import BotConfig, Config, MatrixConfig, MeetingConfig, StorageConfig
from scorebot.core.minutes import to_markdown
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member
from scorebot.demo.script import SCRIPT, STEP_WAIT, DemoError, Player, Stage
from scorebot.matrix.cross_signing import fingerprint
from scorebot.matrix.run import run_bot
from scorebot.program import command
from scorebot.store.sqlite import SqliteStore

logger = logging.getLogger(__name__)

BOT_START_WAIT = 60.0
"""seconds for the bot to log in and start syncing"""

FOLLOW_INTERVAL = 0.2
"""seconds between looks for new messages in interactive mode"""

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

BOT = ("scorebot", "scorebot")
FACILITATOR = ("fran", "Fran")
MEMBERS = (("ana", "Ana"), ("ben", "Ben"))
OBSERVER = "ana"
"""whose eyes the transcript is seen through"""

ROOM_NAME = "Weekly meeting"

INTERACTIVE_HELP = """\
Type as one of the people, "name: message". For example:
  fran: start meeting Weekly     ana: stack       fran: next      ben: ouch
  ben: ✋          Ben reacts ✋ on the bot's stack message
  ben: /raise     Ben raises his hand in the call (joining it first)
  ben: /lower     Ben lowers his hand in the call
  ana: /reply ben ouch    Ana replies "ouch" to Ben's latest message
Fran is the facilitator (she created the room); Ana and Ben are members.
"quit" (or Ctrl-D) ends the demo and prints the minutes."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    workdir: Path
    """the temporary folder for Synapse, the bot's data and the members' stores"""
    interactive: bool = False
    keep: bool = False
    """keep `workdir` afterwards (it is removed otherwise)"""
    step_wait: float = STEP_WAIT
    """seconds"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options, for `scorebot demo` and `python -m scorebot.demo.run`."""
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="type as the facilitator or a member instead of watching the scripted meeting",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder (homeserver, bot database, logs) afterwards",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the bot's and nio's logs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; `argv` holds only the demo's own options (none: the scripted meeting)."""
    parser = argparse.ArgumentParser(
        prog=command("demo"),
        description="Start a throwaway homeserver on 127.0.0.1 with the bot and some "
        "simulated members, play a short meeting and print what the members saw.",
    )
    add_arguments(parser)
    args = parser.parse_args([] if argv is None else list(argv))
    return run(args.interactive, args.keep, verbose=args.verbose)


def run(interactive: bool = False, keep: bool = False, *, verbose: bool = False) -> int:
    """Make the temporary folder, run the demo in a fresh event loop, remove the folder."""
    if verbose:
        # `scorebot demo` has logging set up already; `python -m scorebot.demo.run` not.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    else:
        _quiet_logs()
    workdir = Path(tempfile.mkdtemp(prefix="scorebot-demo-"))
    options = DemoOptions(workdir, interactive=interactive, keep=keep)
    try:
        return asyncio.run(run_demo(options))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            f"\n{command('demo')}: interrupted; stopped the bot and the homeserver.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        # Here, outside the event loop, so that even a second Ctrl-C still removes it.
        if keep:
            print(f"Kept the demo's folder: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _quiet_logs() -> None:
    """Keep the transcript readable: the bot's and nio's routine logs only with -v."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        return
    logging.getLogger("scorebot").setLevel(logging.WARNING)
    # The throwaway bot's recovery key is thrown away with it; no advice to keep a copy.
    logging.getLogger("scorebot.matrix.identity").setLevel(logging.ERROR)
    # nio warns about every Olm session it sets up ("Missing session for device").
    logging.getLogger("nio").setLevel(logging.ERROR)


async def run_demo(options: DemoOptions) -> int:
    """The whole demo in the running loop; returns the exit code. Stops on cancellation."""
    main_task = asyncio.current_task()
    if main_task is not None:
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        await _demo(options, _say)
    except DemoError as error:
        print(f"{command('demo')}: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


async def _demo(options: DemoOptions, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    workdir = options.workdir
    say(f"Starting a throwaway Synapse homeserver on 127.0.0.1 in {workdir} …")
    async with contextlib.AsyncExitStack() as stack:
        homeserver = await stack.enter_async_context(Homeserver.start(workdir / "synapse"))
        passwords = {key: secrets.token_urlsafe(16) for key, _ in (BOT, FACILITATOR, *MEMBERS)}
        users = {
            key: await homeserver.register(key, password) for key, password in passwords.items()
        }
        people = (FACILITATOR, *MEMBERS)
        await asyncio.gather(
            *(
                _set_display_name(homeserver.base_url, users[key], passwords[key], name)
                for key, name in people
            )
        )
        say(
            f"Homeserver ready at {homeserver.base_url}. Registered {BOT[1]} (the bot), "
            f"{FACILITATOR[1]} (facilitator), " + " and ".join(name for _, name in MEMBERS) + "."
        )

        config = _bot_config(homeserver.base_url, users[BOT[0]], passwords[BOT[0]], workdir)
        bot_task = await _start_bot(config)
        stack.push_async_callback(_stop, bot_task)

        base_url = homeserver.base_url
        players = await asyncio.gather(
            *(
                _log_in(base_url, users[key], passwords[key], key=key, name=name, workdir=workdir)
                for key, name in people
            )
        )
        for player in players:
            stack.push_async_callback(player.member.close)
        room = await _meeting_room(players[0], players[1:], users[BOT[0]])
        stage = Stage(
            room,
            users[BOT[0]],
            BOT[1],
            players,
            observer=OBSERVER,
            write=say,
            bot_task=bot_task,
            wait=options.step_wait,
        )
        ready = time.monotonic()
        say(
            f'The end-to-end encrypted room "{ROOM_NAME}" is ready: {FACILITATOR[1]} created it '
            f"and invited the bot and the members ({ready - started:.1f} s)."
        )
        say(await _bot_identity_seen(players, users[BOT[0]], BOT[1]) + "\n")

        if options.interactive:
            say(INTERACTIVE_HELP + "\n")
            session = asyncio.create_task(_interactive(stage, say))
            await asyncio.wait({session, bot_task}, return_when=asyncio.FIRST_COMPLETED)
            if not session.done():
                await _stop(session)
                error = None if bot_task.cancelled() else bot_task.exception()
                raise DemoError(f"The bot stopped: {error!r}")
            session.result()
        else:
            say(f"What {stage.players[OBSERVER].name} sees in the room, decrypted:\n")
            await stage.play(SCRIPT)
        meeting_done = time.monotonic()
        await _stop(bot_task)
        minutes = await _minutes(config.storage.database, room)
        say("")
        say(minutes if minutes is not None else "No meeting was held, so there are no minutes.")
        if not options.interactive:
            say(
                f"Timing: setup {ready - started:.1f} s, scripted meeting "
                f"{meeting_done - ready:.1f} s, total {time.monotonic() - started:.1f} s."
            )


def _bot_config(homeserver: str, user_id: str, password: str, workdir: Path) -> Config:
    data_dir = workdir / "bot"
    facilitator = f"@{FACILITATOR[0]}:{user_id.partition(':')[2]}"
    return Config(
        matrix=MatrixConfig(homeserver, user_id, password, device_name="scorebot demo"),
        storage=StorageConfig(data_dir=data_dir, database=data_dir / "scorebot.db"),
        bot=BotConfig(allowed_inviters=(facilitator,)),
        meeting=MeetingConfig(),
    )


async def _start_bot(config: Config) -> asyncio.Task[None]:
    ready = asyncio.Event()
    task = asyncio.create_task(run_bot(config, ready=ready), name="scorebot")
    waiter = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait(
            {task, waiter}, timeout=BOT_START_WAIT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        waiter.cancel()
    if task.done():
        error = task.exception() if not task.cancelled() else None
        raise DemoError(f"The bot stopped while starting: {error!r}")
    if not ready.is_set():
        await _stop(task)
        raise DemoError(f"The bot did not start within {BOT_START_WAIT:.0f} s.")
    return task


async def _stop(task: asyncio.Task[Any]) -> None:
    if task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _set_display_name(base_url: str, user_id: str, password: str, name: str) -> None:
    """Give a user a display name before they join anything, through a short-lived login."""
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "initial_device_display_name": "scorebot demo setup",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base_url}/_matrix/client/v3/login", json=login) as response:
            body = await response.json()
            if response.status != 200:
                raise DemoError(f"Logging in as {user_id} to set a name failed: {body}")
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        url = f"{base_url}/_matrix/client/v3/profile/{quote(user_id, safe='')}/displayname"
        async with session.put(url, json={"displayname": name}, headers=headers) as response:
            if response.status != 200:
                raise DemoError(f"Setting {user_id}'s name failed: {await response.text()}")
        async with session.post(f"{base_url}/_matrix/client/v3/logout", headers=headers):
            pass


async def _log_in(
    base_url: str, user_id: str, password: str, *, key: str, name: str, workdir: Path
) -> Player:
    store = workdir / "members" / key
    member = await Member.login(base_url, user_id, password, store, device_name=f"{name}'s laptop")
    return Player(key, name, member)


async def _meeting_room(owner: Player, others: Sequence[Player], bot: str) -> str:
    """An encrypted room the facilitator created; everyone, the bot too, has joined."""
    room = await owner.member.create_room(
        ROOM_NAME, invite=[bot, *(other.member.user_id for other in others)]
    )
    await asyncio.gather(*(other.member.join(room) for other in others))
    everyone = [owner, *others]
    try:
        for player in everyone:
            for user in [bot, *(p.member.user_id for p in everyone)]:
                await player.member.wait_member(room, user, timeout=STEP_WAIT)
    except TimeoutError as error:
        raise DemoError(f"Not everyone joined the room in time: {error}") from None
    return room


async def _bot_identity_seen(players: Sequence[Player], bot: str, bot_name: str) -> str:
    """What the members' clients find when they check the bot's cross-signing, as Element does
    before it shows the bot's messages or encrypts to its device."""
    seen = await asyncio.gather(*(player.member.identity_of(bot) for player in players))
    *others, last = [player.name for player in players]
    names = f"{', '.join(others)} and {last}" if others else last
    masters = {identity.master_key for identity in seen}
    devices = sorted({device for identity in seen for device in identity.devices})
    signed = all(bool(identity.devices) and all(identity.devices.values()) for identity in seen)
    if len(masters) != 1 or None in masters or not signed:
        return (
            f"Warning: {names} do not all see {bot_name}'s device as cross-signed by its own "
            "identity; Element users who exclude insecure devices could not read it."
        )
    (master,) = masters
    return (
        f"{bot_name}'s device {', '.join(devices)} is cross-signed by its own identity "
        f"(fingerprint {fingerprint(master or '')}): {names} each checked the signatures, "
        "as Element does before it shows the bot's messages."
    )


async def _minutes(database: Path, room: str) -> str | None:
    """The latest meeting's minutes in the room, as Markdown, from the bot's database."""
    store = await SqliteStore.open(database)
    try:
        meetings = await store.meetings(room)
        if not meetings:
            return None
        latest = max(meetings, key=lambda info: info.number)
        records = await store.minutes(room, latest.number)
        return to_markdown(latest.title, room, latest.number, records)
    finally:
        await store.close()


# ---------------------------------------------------------------- interactive


async def _interactive(stage: Stage, say: Callable[[str], None]) -> None:
    follower = asyncio.create_task(_follow(stage))
    try:
        async with _stdin_lines() as lines:
            while (line := await lines()) is not None:
                text = line.strip()
                if not text:
                    continue
                if text.casefold() in {"quit", "exit", "q"}:
                    break
                try:
                    await _act(stage, text)
                except DemoError as error:
                    say(f"(demo: {error})")
        await asyncio.sleep(1.0)  # the last answers
        stage.transcript.catch_up()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


async def _act(stage: Stage, text: str) -> None:
    who, colon, said = text.partition(":")
    player = stage.player(who) if colon else None
    if player is None:
        names = ", ".join(p.key for p in stage.players.values())
        raise DemoError(f'say who is typing, as "name: message"; the names are {names}')
    said = said.strip()
    command, _, rest = said.partition(" ")
    match command.casefold():
        case "✋" | "\u270b\ufe0f" if not rest:
            await stage.react_hand(player.key)
        case "/raise":
            await stage.raise_call_hand(player.key)
        case "/lower":
            if await stage.lower_call_hand(player.key) is None:
                raise DemoError(f"{player.name} has no hand raised in the call")
        case "/reply":
            target_text, _, message = rest.partition(" ")
            target = stage.player(target_text)
            if target is None or not message.strip():
                raise DemoError('write it as "ana: /reply ben ouch"')
            await stage.say(player.key, message.strip(), replying_to=target.key)
        case _:
            await stage.say(player.key, said)


async def _follow(stage: Stage) -> None:
    while True:
        stage.transcript.catch_up()
        await asyncio.sleep(FOLLOW_INTERVAL)


@contextlib.asynccontextmanager
async def _stdin_lines() -> AsyncIterator[Callable[[], Awaitable[str | None]]]:
    """Lines typed on standard input, without a thread that could outlive Ctrl-C."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    buffer = bytearray()
    descriptor = sys.stdin.fileno()

    def readable() -> None:
        chunk = os.read(descriptor, 4096)
        if not chunk:
            loop.remove_reader(descriptor)
            if buffer:
                queue.put_nowait(buffer.decode(errors="replace"))
            queue.put_nowait(None)
            return
        buffer.extend(chunk)
        while (end := buffer.find(b"\n")) >= 0:
            queue.put_nowait(buffer[:end].decode(errors="replace"))
            del buffer[: end + 1]

    try:
        loop.add_reader(descriptor, readable)
    except PermissionError:
        # A regular file cannot be watched; reading it never blocks, so a thread is fine.
        async def from_file() -> str | None:
            line = await asyncio.to_thread(sys.stdin.readline)
            return line or None

        yield from_file
        return
    try:
        yield queue.get
    finally:
        loop.remove_reader(descriptor)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
