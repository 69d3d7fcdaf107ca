"""What cross-signing adds to the bot's start-up, against a real Synapse on 127.0.0.1.

For each case, a fresh bot account, `repeats` times, medians in milliseconds:
- open_session: log in (or restore) and upload device keys, as before cross-signing;
- ensure_identity: the cross-signing step that now follows it at every start.
Cases: the first start (create the identity), a plain restart (one key query), a new
device with the keys kept (sign it), and a lost data folder with the recovery key
(recover from secret storage, then sign). `ratio` = ensure_identity / open_session.

    .venv/bin/python -m bench.identity [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from scorebot.config import Config, load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.matrix.identity import ensure_identity
from scorebot.matrix.session import open_session

PASSWORD = "bench bot password"


def _config(homeserver: Homeserver, user_id: str, folder: Path, kept_key: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scorebot.toml"
    path.write_text(
        f'[matrix]\nhomeserver = "{homeserver.base_url}"\nuser_id = "{user_id}"\n'
        f'password = "{PASSWORD}"\nrecovery_key_file = "{kept_key}"\n'
        '[storage]\ndata_dir = "data"\n'
    )
    return load_config(path)


async def _timed(step: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await step()
    return (time.perf_counter() - started) * 1000, result


async def _start(config: Config) -> tuple[float, float]:
    """(open_session ms, ensure_identity ms) of one start."""
    opened, client = await _timed(lambda: open_session(config))
    try:
        signed, _ = await _timed(lambda: ensure_identity(client, config))
    finally:
        await client.close()
    return opened, signed


async def _one_bot(
    homeserver: Homeserver, number: int, work: Path
) -> dict[str, tuple[float, float]]:
    user = await homeserver.register(f"benchbot{number}", PASSWORD)
    folder = work / f"bot{number}"
    kept = folder / "kept-recovery-key.txt"
    config = _config(homeserver, user, folder, kept)
    times = {"first start (create)": await _start(config)}
    shutil.copy(config.storage.recovery_key_file, kept)
    times["restart (keys kept)"] = await _start(config)
    config.storage.credentials.unlink()
    shutil.rmtree(config.storage.crypto_dir)
    times["new device, keys kept (sign)"] = await _start(config)
    shutil.rmtree(config.storage.data_dir)
    times["lost folder + recovery key"] = await _start(config)
    return times


async def main(repeats: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-identity-") as temporary:
        work = Path(temporary)
        async with Homeserver.start(work / "synapse") as homeserver:
            runs = [await _one_bot(homeserver, number, work) for number in range(repeats)]
    print(f"ensure_identity vs open_session, median of {repeats} fresh bots, ms")
    print(f"{'case':32} {'open_session':>12} {'ensure_identity':>15} {'ratio':>6}")
    for case in runs[0]:
        opened = statistics.median(run[case][0] for run in runs)
        signed = statistics.median(run[case][1] for run in runs)
        print(f"{case:32} {opened:12.1f} {signed:15.1f} {signed / opened:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    arguments = parser.parse_args()
    asyncio.run(main(1 if arguments.quick else arguments.repeats))
