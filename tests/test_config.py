"""The config file: defaults, secrets from the environment, one plain sentence per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebot.cli import main
from scorebot.config import EXAMPLE, ConfigError, ShareKeysWith, load_config, write_example
from scorebot.core.model import Scope

MINIMAL = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@scorebot:example.org"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scorebot.toml"
    path.write_text(text)
    return path


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={})

    assert config.storage.data_dir == tmp_path / "scorebot-data"
    assert config.storage.database == tmp_path / "scorebot-data" / "scorebot.db"
    assert config.storage.credentials.name == "credentials.json"
    assert config.matrix.password is None
    assert config.bot.facilitator_power_level == 50
    assert config.bot.edit_stack_message is True
    assert config.meeting.spoken_scope is Scope.TOPIC
    assert config.meeting.settings().significant_seconds == 180
    assert config.bot.share_keys_with is ShareKeysWith.ALL
    assert config.matrix.recovery_key is None and config.matrix.recovery_key_file is None
    assert config.storage.recovery_key_file == tmp_path / "scorebot-data" / "recovery-key.txt"
    assert config.storage.cross_signing_keys.parent == config.storage.data_dir


def test_the_recovery_key_comes_from_a_file_named_relative_to_the_config_or_the_environment(
    tmp_path: Path,
) -> None:
    text = MINIMAL + 'recovery_key_file = "secrets/recovery.txt"\n'

    from_file = load_config(write(tmp_path, text), environ={}).matrix
    from_env = load_config(
        write(tmp_path, text), environ={"SCOREBOT_RECOVERY_KEY": "  EsT1 bkKr \n"}
    ).matrix

    # Only the path: the file may not exist before the first start writes the key.
    assert from_file.recovery_key_file == tmp_path / "secrets" / "recovery.txt"
    assert from_file.recovery_key is None
    assert from_env.recovery_key == "EsT1 bkKr"


def test_share_keys_with_takes_all_or_cross_signed(tmp_path: Path) -> None:
    text = MINIMAL + '[bot]\nshare_keys_with = "cross-signed"\n'

    assert load_config(write(tmp_path, text), environ={}).bot.share_keys_with is (
        ShareKeysWith.CROSS_SIGNED
    )


def test_password_and_pickle_key_come_from_the_environment(tmp_path: Path) -> None:
    environ = {"SCOREBOT_PASSWORD": "secret", "SCOREBOT_PICKLE_KEY": "pickle"}

    config = load_config(write(tmp_path, MINIMAL + 'password = "in file"\n'), environ=environ)

    assert config.matrix.password == "secret"
    assert config.storage.pickle_key == "pickle"


def test_password_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from file\n")

    config = load_config(write(tmp_path, MINIMAL + 'password_file = "pw"\n'), environ={})

    assert config.matrix.password == "from file"


def test_allowed_inviters_accept_users_and_whole_servers(tmp_path: Path) -> None:
    text = MINIMAL + '[bot]\nallowed_inviters = ["@alice:example.org", ":friends.org"]\n'

    bot = load_config(write(tmp_path, text), environ={}).bot

    assert bot.may_invite("@alice:example.org")
    assert bot.may_invite("@zoe:friends.org")
    assert not bot.may_invite("@mallory:example.org")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[matrix]\nuser_id = "@a:b"\n', "matrix.homeserver"),
        (MINIMAL.replace("@scorebot:example.org", "scorebot"), "matrix.user_id"),
        (MINIMAL + 'pasword = "typo"\n', "matrix.pasword"),
        (MINIMAL + '[meeting]\nlanes = "yes"\n', "meeting.lanes"),
        (MINIMAL + '[meeting]\nspoken_scope = "day"\n', "meeting.spoken_scope"),
        (MINIMAL + '[bot]\nfacilitator_power_level = "50"\n', "bot.facilitator_power_level"),
        (MINIMAL + '[bot]\nallowed_inviters = ["example.org"]\n', "bot.allowed_inviters"),
        (MINIMAL + "[meeting]\ntime_check_seconds = -1\n", "meeting.time_check_seconds"),
        (MINIMAL + "[extra]\n", "[extra]"),
        (MINIMAL + '[bot]\nshare_keys_with = "verified"\n', "bot.share_keys_with"),
        (MINIMAL + "recovery_key_file = 1\n", "matrix.recovery_key_file"),
        (MINIMAL + 'recovery_key = "in the file"\n', "matrix.recovery_key"),
        ("", "[matrix]"),
        (MINIMAL + '[bot]\ntrusted_microphones = ["mic"]\n', "bot.trusted_microphones"),
        (MINIMAL + "[speech]\n", "speech.room"),
        (MINIMAL + '[speech]\nroom = "Budget"\n', "speech.room"),
        (MINIMAL + '[speech]\nroom = "#m:x"\nlanguage = "xx"\n', "speech.language"),
        (MINIMAL + '[speech]\nroom = "#m:x"\ndevice = 1.5\n', "speech.device"),
        (MINIMAL + '[speech]\nroom = "#m:x"\nnames = "Maria"\n', "speech.names"),
        (MINIMAL + '[speech]\nroom = "#m:x"\nmicrophone = 1\n', "speech.microphone"),
        (
            MINIMAL + '[speech]\nroom = "#m:x"\n[speech.extra_phrases]\nhello = ["hi"]\n',
            "speech.extra_phrases",
        ),
        (
            MINIMAL + '[speech]\nroom = "#m:x"\n[speech.extra_phrases]\nstack = "hi"\n',
            "speech.extra_phrases.stack",
        ),
    ],
)
def test_a_bad_or_missing_key_is_one_sentence_naming_it(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), environ={})

    message = str(raised.value)
    assert named in message
    assert "\n" not in message
    assert message.endswith((".", "?"))


def test_missing_file_and_broken_toml_are_plain_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[matrix\n"), environ={})


def test_the_example_config_loads_and_is_never_overwritten(tmp_path: Path) -> None:
    path = write_example(tmp_path / "scorebot.toml")

    assert load_config(path, environ={}).matrix.user_id == "@scorebot:example.org"
    with pytest.raises(ConfigError, match="already exists, so I left it as it is"):
        write_example(path)
    assert path.read_text() == EXAMPLE


def test_cli_prints_a_config_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MINIMAL + "typo = 1\n")

    assert main(["check", "--config", str(path)]) == 2
    assert "matrix.typo" in capsys.readouterr().err


def test_cli_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "scorebot.toml")

    assert main(["init", path]) == 0
    Path(path).write_text("# mine\n")
    assert main(["init", path]) == 1
    assert "already exists, so I left it as it is" in capsys.readouterr().err
    assert Path(path).read_text() == "# mine\n"


def test_without_a_speech_section_nothing_listens_and_no_microphone_is_trusted(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={})

    assert config.speech is None
    assert config.bot.trusted_microphones == ()


def test_the_speech_section_names_the_room_the_language_and_the_names(tmp_path: Path) -> None:
    text = MINIMAL + (
        '[bot]\ntrusted_microphones = ["@room-mic:example.org"]\n'
        '[speech]\nroom = "#meeting:example.org"\nlanguage = "ko"\nmodel = "models/ko"\n'
        'device = 3\nnames = ["Maria", "Ben"]\n[speech.extra_phrases]\nstack = ["hand up"]\n'
    )

    config = load_config(write(tmp_path, text), environ={})

    assert config.bot.trusted_microphones == ("@room-mic:example.org",)
    assert config.speech is not None
    assert config.speech.room == "#meeting:example.org"
    assert config.speech.language == "ko"
    assert config.speech.model == tmp_path / "models" / "ko"
    assert config.speech.device == "3"
    assert config.speech.names == ("Maria", "Ben")
    assert config.speech.extra_phrases == {"stack": ("hand up",)}
    assert config.speech.file is None
