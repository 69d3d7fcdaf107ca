"""The TOML configuration file, read into frozen values; secrets may come from the environment.

Reading a config only reads: it creates no folders and sets up no logging. Relative paths
are taken relative to the folder that holds the config file, so a service finds its data
wherever it is started from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from scorebot.core.model import Scope, Settings
from scorebot.program import command

PASSWORD_ENV = "SCOREBOT_PASSWORD"
PICKLE_KEY_ENV = "SCOREBOT_PICKLE_KEY"
RECOVERY_KEY_ENV = "SCOREBOT_RECOVERY_KEY"

_USER_ID = re.compile(r"^@[^:\s]+:[^\s]+$")
_SERVER = re.compile(r"^:[^:\s][^\s]*$")


class ConfigError(ValueError):
    """The configuration is wrong; the message is one plain sentence that names the key."""


@dataclass(frozen=True, slots=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str | None
    """None when neither the file, a password file nor the environment gives one"""
    device_name: str = "scorebot"
    recovery_key: str | None = None
    """the secret-storage recovery key from the environment, if given there"""
    recovery_key_file: Path | None = None
    """a file holding the recovery key (used when the data folder has none)"""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    data_dir: Path
    database: Path
    pickle_key: str | None = None
    """encrypts the crypto store; None: generated once and kept in data_dir"""

    @property
    def credentials(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def crypto_dir(self) -> Path:
        return self.data_dir / "crypto"

    @property
    def pickle_key_file(self) -> Path:
        return self.data_dir / "pickle.key"

    @property
    def cross_signing_keys(self) -> Path:
        """the bot's private cross-signing keys (0600), so restarts need no recovery key"""
        return self.data_dir / "cross-signing-keys.json"

    @property
    def recovery_key_file(self) -> Path:
        """where the bot writes the recovery key when it creates its identity (0600)"""
        return self.data_dir / "recovery-key.txt"


class ShareKeysWith(StrEnum):
    """Which members' devices get the room keys that let them read the bot's messages."""

    ALL = "all"
    """every device in the room, whether or not its owner signed it"""
    CROSS_SIGNED = "cross-signed"
    """only devices their owners cross-signed (Element's "exclude insecure devices" rule)"""


@dataclass(frozen=True, slots=True)
class BotConfig:
    allowed_inviters: tuple[str, ...] = ()
    """user ids ("@alice:example.org") or whole servers (":example.org")"""
    facilitator_power_level: int = 50
    edit_stack_message: bool = True
    share_keys_with: ShareKeysWith = ShareKeysWith.ALL
    trusted_microphones: tuple[str, ...] = ()
    """room microphone accounts whose `org.scorebot.signal` notices count as spoken cues"""

    def may_invite(self, user_id: str) -> bool:
        server = ":" + user_id.partition(":")[2]
        return user_id in self.allowed_inviters or server in self.allowed_inviters


@dataclass(frozen=True, slots=True)
class MeetingConfig:
    lanes: bool = True
    time_check_seconds: float = 0.0
    """seconds of one turn before a wrap-up reminder; 0 = off"""
    spoken_scope: Scope = Scope.TOPIC
    significant_turns: int = 2
    significant_seconds: float = 180.0
    """seconds"""

    def settings(self) -> Settings:
        return Settings(
            lanes=self.lanes,
            spoken_scope=self.spoken_scope,
            significant_turns=self.significant_turns,
            significant_seconds=self.significant_seconds,
            wrap_up_seconds=self.time_check_seconds,
        )


@dataclass(frozen=True, slots=True)
class SpeechConfig:
    """Listening in the room: which room the cues are for, and how to hear them."""

    room: str
    """the meeting room's id ("!abc:example.org") or alias ("#meeting:example.org")"""
    language: str = "en"
    model: Path | None = None
    """a vosk model folder; None: the default for the language from models/"""
    device: str | None = None
    """a microphone by name or index; None: the system's default"""
    names: tuple[str, ...] = ()
    """in-room attendees whose names the listener listens for ("stack Maria")"""
    extra_phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """cue name -> more phrases for it"""
    file: Path | None = None
    """a recording to listen to instead of the microphone (for trying the setup out)"""


@dataclass(frozen=True, slots=True)
class Config:
    matrix: MatrixConfig
    storage: StorageConfig
    bot: BotConfig
    meeting: MeetingConfig
    path: Path | None = None
    """the file this was read from"""
    speech: SpeechConfig | None = None
    """None: no [speech] section, so nothing listens"""


# ---------------------------------------------------------------- reading


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check a config file; raises ConfigError with one plain sentence."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"The config file {path} does not exist; create one with `{command(f'init {path}')}`."
        ) from None
    except OSError as error:
        raise ConfigError(f"The config file {path} cannot be read: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"The config file {path} is not valid TOML: {error}.") from None
    config = parse_config(data, path.parent.resolve(), os.environ if environ is None else environ)
    return replace(config, path=path)


def parse_config(data: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str]) -> Config:
    """Check already-parsed TOML; `base_dir` anchors relative paths."""
    _only(data, "", {"matrix", "storage", "bot", "meeting", "speech"})
    matrix = _table(data, "matrix", required=True)
    storage = _table(data, "storage")
    bot = _table(data, "bot")
    meeting = _table(data, "meeting")
    _only(
        matrix,
        "matrix",
        {"homeserver", "user_id", "password", "password_file", "device_name", "recovery_key_file"},
    )
    _only(storage, "storage", {"data_dir", "database", "pickle_key"})
    _only(
        bot,
        "bot",
        {
            "allowed_inviters",
            "facilitator_power_level",
            "edit_stack_message",
            "share_keys_with",
            "trusted_microphones",
        },
    )
    _only(
        meeting,
        "meeting",
        {"lanes", "time_check_seconds", "spoken_scope", "significant_turns", "significant_seconds"},
    )

    homeserver = _string(matrix, "matrix", "homeserver", required=True)
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError(
            "matrix.homeserver must be a URL starting with https:// (or http:// for a local "
            f"test server), not {homeserver!r}."
        )
    user_id = _string(matrix, "matrix", "user_id", required=True)
    if not _USER_ID.match(user_id):
        raise ConfigError(
            f"matrix.user_id must be a full Matrix id like @scorebot:example.org, not {user_id!r}."
        )
    data_dir = base_dir / _string(storage, "storage", "data_dir", default="./scorebot-data")
    database_text = _string(storage, "storage", "database", default="")
    inviters = _strings(bot, "bot", "allowed_inviters")
    for inviter in inviters:
        if not (_USER_ID.match(inviter) or _SERVER.match(inviter)):
            raise ConfigError(
                "bot.allowed_inviters entries must be user ids like @alice:example.org or "
                f"servers like :example.org, not {inviter!r}."
            )
    microphones = _strings(bot, "bot", "trusted_microphones")
    for microphone in microphones:
        if not _USER_ID.match(microphone):
            raise ConfigError(
                "bot.trusted_microphones entries must be user ids like @room-mic:example.org, "
                f"not {microphone!r}."
            )
    scope_text = _string(meeting, "meeting", "spoken_scope", default="topic")
    if scope_text not in {"topic", "meeting"}:
        raise ConfigError(f'meeting.spoken_scope must be "topic" or "meeting", not {scope_text!r}.')
    share_text = _string(bot, "bot", "share_keys_with", default=ShareKeysWith.ALL.value)
    if share_text not in {choice.value for choice in ShareKeysWith}:
        raise ConfigError(
            f'bot.share_keys_with must be "all" or "cross-signed", not {share_text!r}.'
        )
    recovery_key_file = _string(matrix, "matrix", "recovery_key_file", default="")
    pickle_key = environ.get(PICKLE_KEY_ENV) or _string(
        storage, "storage", "pickle_key", default=""
    )
    return Config(
        matrix=MatrixConfig(
            homeserver=homeserver.rstrip("/"),
            user_id=user_id,
            password=_password(matrix, base_dir, environ),
            device_name=_string(matrix, "matrix", "device_name", default="scorebot") or "scorebot",
            recovery_key=environ.get(RECOVERY_KEY_ENV, "").strip() or None,
            recovery_key_file=base_dir / recovery_key_file if recovery_key_file else None,
        ),
        storage=StorageConfig(
            data_dir=data_dir,
            database=(base_dir / database_text) if database_text else data_dir / "scorebot.db",
            pickle_key=pickle_key or None,
        ),
        bot=BotConfig(
            allowed_inviters=inviters,
            facilitator_power_level=_integer(bot, "bot", "facilitator_power_level", 50),
            edit_stack_message=_boolean(bot, "bot", "edit_stack_message", True),
            share_keys_with=ShareKeysWith(share_text),
            trusted_microphones=microphones,
        ),
        meeting=MeetingConfig(
            lanes=_boolean(meeting, "meeting", "lanes", True),
            time_check_seconds=_number(meeting, "meeting", "time_check_seconds", 0),
            spoken_scope=Scope(scope_text),
            significant_turns=_integer(meeting, "meeting", "significant_turns", 2, minimum=0),
            significant_seconds=_number(meeting, "meeting", "significant_seconds", 180),
        ),
        speech=_speech(data, base_dir),
    )


_ROOM = re.compile(r"^(![^\s]+|#[^:\s]+:[^\s]+)$")
"""a room id (from room version 12 on it has no server part) or a room address"""


def _speech(data: Mapping[str, Any], base_dir: Path) -> SpeechConfig | None:
    if "speech" not in data:
        return None
    from speech.vocabulary import CUES, languages

    speech = _table(data, "speech")
    _only(
        speech,
        "speech",
        {"room", "language", "model", "device", "names", "extra_phrases", "file"},
    )
    room = _string(speech, "speech", "room", required=True)
    if not _ROOM.match(room):
        raise ConfigError(
            "speech.room must be the meeting room's id like !abc:example.org or its address "
            f"like #meeting:example.org, not {room!r}."
        )
    language = _string(speech, "speech", "language", default="en")
    if language not in languages():
        raise ConfigError(
            f"speech.language must be one of {', '.join(languages())}, not {language!r}."
        )
    device = speech.get("device")
    if device is not None and (isinstance(device, bool) or not isinstance(device, str | int)):
        raise ConfigError(
            f"speech.device must be a microphone name in quotes or its number, not {device!r}."
        )
    extra = _table(speech, "extra_phrases")
    for cue in extra:
        if cue not in CUES:
            raise ConfigError(
                f"speech.extra_phrases has no cue called {cue!r}; the cues are {', '.join(CUES)}."
            )
    model = _string(speech, "speech", "model", default="")
    recording = _string(speech, "speech", "file", default="")
    return SpeechConfig(
        room=room,
        language=language,
        model=base_dir / model if model else None,
        device=str(device) if device is not None and str(device).strip() else None,
        names=tuple(name for name in _strings(speech, "speech", "names") if name),
        extra_phrases={cue: _strings(extra, "speech.extra_phrases", cue) for cue in sorted(extra)},
        file=base_dir / recording if recording else None,
    )


def _password(matrix: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str]) -> str | None:
    from_env = environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    password = _string(matrix, "matrix", "password", default="")
    password_file = _string(matrix, "matrix", "password_file", default="")
    if password and password_file:
        raise ConfigError("Give matrix.password or matrix.password_file, not both.")
    if password_file:
        file = base_dir / password_file
        try:
            text = file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(
                f"matrix.password_file {file} cannot be read: {error.strerror}."
            ) from None
        if not text:
            raise ConfigError(f"matrix.password_file {file} is empty.")
        return text
    return password or None


def _only(table: Mapping[str, Any], where: str, known: set[str]) -> None:
    for key in table:
        if key not in known:
            name = f"{where}.{key}" if where else f"[{key}]"
            choices = ", ".join(sorted(known))
            raise ConfigError(f"Unknown config key {name} (known here: {choices}); is it a typo?")


def _table(data: Mapping[str, Any], name: str, *, required: bool = False) -> Mapping[str, Any]:
    if name not in data:
        if required:
            raise ConfigError(f"The config file needs a [{name}] section.")
        return {}
    value = data[name]
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a section (a table), not a single value.")
    return value


def _string(
    table: Mapping[str, Any], where: str, key: str, *, required: bool = False, default: str = ""
) -> str:
    if key not in table:
        if required:
            raise ConfigError(f"{where}.{key} is missing; it is required.")
        return default
    value = table[key]
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be a string in quotes, not {value!r}.")
    if required and not value.strip():
        raise ConfigError(f"{where}.{key} is empty; it is required.")
    return value.strip()


def _strings(table: Mapping[str, Any], where: str, key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f'{where}.{key} must be a list of strings, like ["@alice:example.org"].')
    return tuple(item.strip() for item in value)


def _boolean(table: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false, not {value!r}.")
    return value


def _integer(
    table: Mapping[str, Any], where: str, key: str, default: int, *, minimum: int | None = None
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key} must be a whole number, not {value!r}.")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}.{key} must be {minimum} or more, not {value}.")
    return value


def _number(table: Mapping[str, Any], where: str, key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key} must be a number of seconds, not {value!r}.")
    if value < 0:
        raise ConfigError(f"{where}.{key} must be 0 or more, not {value}.")
    return float(value)


# ---------------------------------------------------------------- example

EXAMPLE = """\
# scorebot configuration. Secrets can stay out of this file: set SCOREBOT_PASSWORD
# (and optionally SCOREBOT_PICKLE_KEY, SCOREBOT_RECOVERY_KEY) in the environment instead.
# `scorebot init` made this file readable by you only; keep it so if it holds a password.

[matrix]
homeserver = "https://matrix.example.org"
user_id = "@scorebot:example.org"
# Only needed for the first start; after that the device is restored from data_dir.
password = ""              # or: password_file = "/run/secrets/scorebot-password"
device_name = "scorebot"
# The bot cross-signs its own device so Element users can read it. On the first start it
# writes a recovery key to <data_dir>/recovery-key.txt: keep a copy somewhere else. If the
# data folder is lost, give that copy here (or in SCOREBOT_RECOVERY_KEY) so the bot comes
# back with the same identity.
# recovery_key_file = "/run/secrets/scorebot-recovery-key"

[storage]
# Device credentials, the encryption store and the meeting database live here.
# Relative paths are relative to this file's folder.
data_dir = "./scorebot-data"
database = ""              # default: <data_dir>/scorebot.db

[bot]
# Who may invite the bot into a room: users, or whole servers written as ":server".
allowed_inviters = ["@alice:example.org", ":example.org"]
# Room power level that may facilitate (call next, move people, start and end meetings).
facilitator_power_level = 50
# Edit one stack message in place instead of posting a new one for every change.
edit_stack_message = true
# Whose devices get the keys to read the bot's messages: "all" devices in the room, or only
# "cross-signed" ones (devices their owners verified, Element's own rule).
share_keys_with = "all"
# Room microphone accounts (see [speech] and `scorebot listen --config`): their notices
# of cues heard in the room count as spoken cues. Nobody else's do.
trusted_microphones = []   # e.g. ["@room-mic:example.org"]

[meeting]
lanes = true               # point of process, clarifying question, direct response, regular
time_check_seconds = 0     # wrap-up reminder after this many seconds of one turn; 0 = off
spoken_scope = "topic"     # "has already spoken" counts per "topic" or per "meeting"
significant_turns = 2      # after this many turns, private priority no longer lifts
significant_seconds = 180  # after this many seconds of speaking, likewise

# Listening in the room (optional). With this section, `scorebot run` also listens to this
# computer's microphone for spoken cues; in a separate config for a room microphone
# account, `scorebot listen --config FILE` posts the cues it hears into the room instead.
# Audio stays on this computer and is never stored: only the cues heard are sent.
# [speech]
# room = "#meeting:example.org"   # the meeting room's address or id
# language = "en"                 # "en" or "ko"
# model = ""                      # a vosk model folder; default: from `scorebot models fetch`
# device = ""                     # microphone name or number; default: the system's
# names = ["Maria", "Ben"]        # people in the room: "stack Maria" puts Maria on the stack
# [speech.extra_phrases]
# stack = ["hand up"]             # more words for a cue
"""


def write_example(path: str | Path) -> Path:
    """Write the commented example config, readable by its owner only (it will hold a
    password); raises ConfigError with one plain sentence and writes nothing if it cannot."""
    path = Path(path)
    try:
        # O_EXCL: never overwrite; 0600 from the start, so the file is never readable by others.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists, so I left it as it is.") from None
    except FileNotFoundError:
        raise ConfigError(
            f"The folder {path.parent} does not exist. Make it first, or pick another place."
        ) from None
    except PermissionError:
        raise ConfigError(f"You may not write to the folder {path.parent}.") from None
    except OSError as error:
        raise ConfigError(f"I cannot write {path} ({error.strerror}).") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(EXAMPLE)
    return path
