"""The `scorebot` command as a user runs it: real files, a real process, one plain sentence."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scorebot.config import load_config
from scorebot.core.model import EndMeeting, StartMeeting
from scorebot.matrix.session import make_data_folder, new_client
from scorebot.store.sqlite import SqliteStore
from tests.test_store_contract import a_meeting_with_everything, apply_all, signal
from tests.test_store_file import make_other_programs_database, snapshot

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD = 120
"""seconds before a stuck command is killed (a guard, not a measure of speed)"""


UMASK_022 = 'umask 022 && exec "$0" -m scorebot "$@"'
"""a shell line that runs `python -m scorebot ARGS` under the usual umask"""


def scorebot(
    *args: str, cwd: Path, program: str | None = None, **environ: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m scorebot ARGS` under umask 022, as a shell user would."""
    return subprocess.run(
        ["sh", "-c", UMASK_022, sys.executable, *args],
        cwd=cwd,
        env=_environment(program, environ),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def _environment(program: str | None, extra: dict[str, str]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCOREBOT_")}
    environ["PYTHONPATH"] = str(ROOT)
    if program is not None:
        environ["SCOREBOT_PROGRAM"] = program
    return environ | extra


async def make_store(path: Path) -> None:
    await (await SqliteStore.open(path)).close()


def one_sentence(stderr: str, program: str = "scorebot") -> str:
    """The one line a refusal prints, without the program name in front."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(f"{program}: ")
    return lines[0].removeprefix(f"{program}: ")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, homeserver: str = "http://127.0.0.1:9") -> Path:
    path = folder / "scorebot.toml"
    path.write_text(f'[matrix]\nhomeserver = "{homeserver}"\nuser_id = "@bot:example.org"\n')
    return path


# ---------------------------------------------------------------- init


def test_init_into_a_folder_that_does_not_exist_says_so_in_one_sentence(tmp_path: Path) -> None:
    done = scorebot("init", "no-such-folder/scorebot.toml", cwd=tmp_path)

    assert done.returncode == 1
    assert one_sentence(done.stderr) == (
        "The folder no-such-folder does not exist. Make it first, or pick another place."
    )
    assert list(tmp_path.iterdir()) == []


def test_init_writes_a_config_only_its_owner_can_read_even_under_umask_022(
    tmp_path: Path,
) -> None:
    done = scorebot("init", "scorebot.toml", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "scorebot.toml").stat().st_mode) == 0o600
    assert "only you can read it" in done.stdout


def test_init_never_overwrites_a_file_that_is_there(tmp_path: Path) -> None:
    (tmp_path / "scorebot.toml").write_text("# my own settings\n")

    done = scorebot("init", "scorebot.toml", cwd=tmp_path)

    assert done.returncode == 1
    assert one_sentence(done.stderr) == "scorebot.toml already exists, so I left it as it is."
    assert (tmp_path / "scorebot.toml").read_text() == "# my own settings\n"


@pytest.mark.parametrize("program", ["scorebot", "scripts/scorebot", "./scripts/scorebot"])
def test_messages_name_the_command_the_way_the_user_started_it(
    tmp_path: Path, program: str
) -> None:
    wrote = scorebot("init", "scorebot.toml", cwd=tmp_path, program=program)
    missing = scorebot("run", "--config", "other.toml", cwd=tmp_path, program=program)

    assert wrote.stdout.rstrip().endswith(f"then run: {program} run --config scorebot.toml")
    assert one_sentence(missing.stderr, program) == (
        f"The config file other.toml does not exist; create one with `{program} init other.toml`."
    )


def test_the_scripts_wrapper_tells_scorebot_how_it_was_started() -> None:
    wrapper = (ROOT / "scripts" / "scorebot").read_text()
    # The line must come before the exec, or the running scorebot never sees it.
    assert wrapper.index('export SCOREBOT_PROGRAM="$0"') < wrapper.index("exec ")


# ---------------------------------------------------------------- run and check


def test_run_without_a_password_or_saved_login_refuses_before_making_anything(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)

    done = scorebot("run", "--config", "scorebot.toml", cwd=tmp_path)

    assert done.returncode == 1
    assert one_sentence(done.stderr) == (
        "There is no saved login yet and no password. For the first start, set "
        "matrix.password or matrix.password_file in the config, or SCOREBOT_PASSWORD."
    )
    assert [each.name for each in tmp_path.iterdir()] == ["scorebot.toml"]


def test_a_data_folder_others_can_enter_is_made_private_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write_config(tmp_path), environ={})
    config.storage.data_dir.mkdir(mode=0o755)
    config.storage.data_dir.chmod(0o755)  # as an older scorebot left it

    with caplog.at_level(logging.WARNING, logger="scorebot"):
        make_data_folder(config)

    assert stat.S_IMODE(config.storage.data_dir.stat().st_mode) == 0o700
    assert caplog.messages == [
        f"{config.storage.data_dir} could be read by other users; now only its owner can"
    ]


def test_run_refuses_a_database_setting_that_names_another_programs_file(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text() + '[storage]\ndatabase = "crypto.db"\n')
    make_other_programs_database(tmp_path / "crypto.db")
    before = snapshot(tmp_path)

    done = scorebot("run", "--config", "scorebot.toml", cwd=tmp_path, SCOREBOT_PASSWORD="pw")

    assert done.returncode == 1
    assert one_sentence(done.stderr) == (
        f"{tmp_path / 'crypto.db'} is not scorebot's. Some other program made it, so I left "
        "it as it is."
    )
    assert snapshot(tmp_path) == before
    assert list((tmp_path / "scorebot-data").iterdir()) == []


def test_run_says_plainly_that_the_homeserver_cannot_be_reached_and_keeps_its_files_private(
    tmp_path: Path,
) -> None:
    port = closed_port()
    write_config(tmp_path, f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        ["sh", "-c", UMASK_022, sys.executable, "run", "--config", "scorebot.toml"],
        cwd=tmp_path,
        env=_environment(None, {"SCOREBOT_PASSWORD": "secret"}),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            # The first slower try: by then nio has retried a few times on its own.
            if "try again in" in line:
                break
    finally:
        process.terminate()
        rest = process.communicate(timeout=HANG_GUARD)[1]
    output = "".join(seen) + rest

    assert (
        f"I cannot reach the homeserver at http://127.0.0.1:{port}: nothing answers there "
        "(connection refused). I will try again now." in output
    )
    assert re.search(r"I will try again in \d+ seconds?\.", output)
    assert "Timed out, sleeping" not in output
    assert "Traceback" not in output
    data = tmp_path / "scorebot-data"
    found = {str(each.relative_to(tmp_path)): stat.S_IMODE(each.stat().st_mode) for each in
             [data, *data.rglob("*")]}  # fmt: skip
    assert found["scorebot-data"] == found["scorebot-data/crypto"] == 0o700
    assert found["scorebot-data/scorebot.db"] == found["scorebot-data/pickle.key"] == 0o600


def test_check_gives_one_plain_line_for_an_unreachable_homeserver(tmp_path: Path) -> None:
    port = closed_port()
    write_config(tmp_path, f"http://127.0.0.1:{port}")

    done = scorebot("check", "--config", "scorebot.toml", cwd=tmp_path)

    assert done.returncode == 1
    assert (
        f"FAIL the homeserver at http://127.0.0.1:{port} answers: no. Nothing answers there "
        "(connection refused)." in done.stdout.splitlines()
    )
    assert done.stderr == ""


def test_check_reports_free_space_and_whether_the_database_can_be_saved(tmp_path: Path) -> None:
    write_config(tmp_path)

    done = scorebot("check", "--config", "scorebot.toml", cwd=tmp_path)

    space, database = done.stdout.splitlines()[:2]
    assert space.startswith(f"ok   enough free space in {tmp_path / 'scorebot-data'}: yes, ")
    assert database == (
        f"ok   the database {tmp_path / 'scorebot-data' / 'scorebot.db'} can be made: yes "
        "(the bot makes it)"
    )
    # check only looks: it made no data folder.
    assert [each.name for each in tmp_path.iterdir()] == ["scorebot.toml"]


# ---------------------------------------------------------------- minutes


def test_minutes_of_a_missing_database_file_is_one_sentence_and_makes_nothing(
    tmp_path: Path,
) -> None:
    done = scorebot("minutes", "--database", "scorebot.db", "--list", cwd=tmp_path)

    assert done.returncode == 1
    assert one_sentence(done.stderr) == "There is no database at scorebot.db."
    assert list(tmp_path.iterdir()) == []


async def test_minutes_list_of_a_database_with_no_meetings_says_so(tmp_path: Path) -> None:
    await (await SqliteStore.open(tmp_path / "scorebot.db")).close()

    done = scorebot("minutes", "--database", "scorebot.db", "--list", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "There are no meetings in scorebot.db yet.\n"


async def test_minutes_list_has_a_header_row_then_one_row_per_meeting(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "scorebot.db")
    try:
        meeting = a_meeting_with_everything()
        later = meeting[-1].at
        facilitator = meeting[0].sender
        await apply_all(store, meeting)
        await apply_all(
            store,
            [
                signal(facilitator, EndMeeting(), later + 1),
                signal(facilitator, StartMeeting("Retro"), later + 2),
            ],
        )
        room = (await store.meetings())[0].room
    finally:
        await store.close()
    before = snapshot(tmp_path)

    done = scorebot("minutes", "--database", "scorebot.db", "--list", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "room\tmeeting\tstate\ttitle",
        f"{room}\t1\tended\tBudget",
        f"{room}\t2\trunning\tRetro",
    ]
    assert snapshot(tmp_path) == before


async def test_minutes_refuses_the_bots_own_crypto_store_and_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    config = load_config(write_config(tmp_path), environ={})
    client = new_client(config)
    # Restoring a login opens nio's crypto store (an SQLite file) without the network.
    client.restore_login("@bot:example.org", "BOTDEVICE", "token")
    await client.close()
    (crypto,) = [p for p in config.storage.crypto_dir.iterdir() if p.suffix == ".db"]
    with sqlite3.connect(crypto) as db:
        assert db.execute("SELECT count(*) FROM accounts").fetchone() == (1,)
    before = snapshot(crypto.parent)

    done = scorebot("minutes", "--database", str(crypto), "--list", cwd=tmp_path)

    assert done.returncode == 1
    assert one_sentence(done.stderr) == (
        f"{crypto} is not scorebot's. Some other program made it, so I left it as it is."
    )
    assert snapshot(crypto.parent) == before


# ---------------------------------------------------------------- plain words


def test_what_these_commands_say_reads_at_grade_six_or_lower(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scorebot.cli import main
    from scorebot.matrix.check_storage import storage_lines
    from scorebot.matrix.reachability import unreachable_text
    from tests.test_plain_language import MAX_GRADE, grade

    config = write_config(tmp_path)
    (tmp_path / "notes.db").write_text("not a database\n" * 10)
    make_other_programs_database(tmp_path / "crypto.db")
    asyncio.run(make_store(tmp_path / "scorebot.db"))
    for argv in (
        ["init", str(tmp_path / "no-such-folder" / "x.toml")],
        ["init", str(config)],
        ["init", str(tmp_path / "new.toml")],
        ["run", "--config", str(config)],
        ["minutes", "--database", str(tmp_path / "missing.db")],
        ["minutes", "--database", str(tmp_path / "notes.db")],
        ["minutes", "--database", str(tmp_path / "crypto.db")],
        ["minutes", "--database", str(tmp_path / "scorebot.db")],
        ["minutes", "--database", str(tmp_path / "scorebot.db"), "--list"],
    ):
        main(argv)
    printed = capsys.readouterr()
    said = [line.removeprefix("scorebot: ") for line in (printed.out + printed.err).splitlines()]
    said += [unreachable_text("x.org", error, 4) for error in (ConnectionRefusedError(), None)]
    said += [line.text for line in storage_lines(tmp_path, tmp_path / "scorebot.db")]
    # An address or a path is one thing to read: a short stand-in grades the words around it.
    plain = [message.replace(str(tmp_path), "notes") for message in said]
    graded = [(grade(message), message) for message in plain]

    assert len(graded) == 13
    assert all(g <= MAX_GRADE for g, _ in graded), "\n".join(f"{g:5.1f} {m}" for g, m in graded)


def test_minutes_of_a_database_the_user_may_not_read_is_one_sentence(tmp_path: Path) -> None:
    asyncio.run(make_store(tmp_path / "scorebot.db"))
    (tmp_path / "scorebot.db").chmod(0o000)
    command = 'umask 022 && exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$0" "$@"'
    if os.geteuid() != 0:
        pytest.skip("needs root to start the command as another user")
    tmp_path.chmod(0o755)

    done = subprocess.run(
        ["sh", "-c", command, sys.executable, "-m", "scorebot", "minutes", "--database",
         str(tmp_path / "scorebot.db"), "--list"],
        env=_environment(None, {}), capture_output=True, text=True, timeout=HANG_GUARD,
        check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert one_sentence(done.stderr) == f"You may not read {tmp_path / 'scorebot.db'}."
