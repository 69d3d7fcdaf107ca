"""One contract suite for the memory and SQLite stores, plus SQLite's own promises."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorebot.app import apply_signal
from scorebot.app.items import MemoryWrite, Skipped
from scorebot.app.ports import Outgoing, OutKind, Pending, ToPerson, ToRoom
from scorebot.core.minutes import Record, records
from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Facilitate,
    Join,
    Lane,
    Leave,
    Meeting,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Priority,
    Resolve,
    SetLanes,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
    Tick,
    WhereAmI,
)
from scorebot.core.step import step
from scorebot.store import sqlite as sqlite_store
from scorebot.store.codec import encode_meeting
from scorebot.store.memory import MemoryStore
from scorebot.store.protocol import MeetingInfo, Store
from scorebot.store.sqlite import SchemaTooNewError, SqliteStore

ROOM = "!budget:example.org"
OTHER_ROOM = "!garden:example.org"
T0 = 1_700_000_000.0

ALICE = Person("@alice:example.org", "Alice")
BOB = Person("@bob:example.org", "Bob")
CHEN = Person("@chen:example.org", "Chen")
DARA = Person("@dara:example.org", "Dara")
EVE = Person.guest("Eve")
PEOPLE = (ALICE, BOB, CHEN, DARA, EVE)
FACILITATORS = frozenset({ALICE.id})
"""people the (imagined) Matrix adapter finds may facilitate, e.g. by power level"""

DEFAULTS = Settings(wrap_up_seconds=60.0)
"""a wrap-up reminder, so that some clock ticks change the meeting and some do not"""

_keys = itertools.count()


def signal(sender: Person, cue: Cue, at: float, key: str | None = None) -> Signal:
    return Signal(
        key=key if key is not None else f"$event{next(_keys)}",
        sender=sender,
        cue=cue,
        source=Source.CHAT,
        at=at,
        facilitator=sender.id in FACILITATORS,
    )


@dataclass
class Fold:
    """What a store should hold after some signals, computed with `step` alone."""

    meeting: Meeting | None = None
    minutes: dict[int, list[Record]] = field(default_factory=dict)


def fold(signals: Sequence[Signal], room: str = ROOM) -> Fold:
    """The pure fold of `step`, committing exactly what `apply_signal` commits."""
    result = Fold()
    for each in signals:
        before = result.meeting or Meeting(room, settings=DEFAULTS)
        after, events = step(before, each)
        if isinstance(each.cue, Tick) and after == before:
            continue
        result.meeting = after
        result.minutes.setdefault(after.number, []).extend(records(events, each.at))
    return result


async def apply_all(store: Store, signals: Sequence[Signal], room: str = ROOM) -> None:
    for each in signals:
        await apply_signal(store, each, room, DEFAULTS)


async def assert_holds(store: Store, expected: Fold, room: str = ROOM) -> None:
    assert await store.load(room) == expected.meeting
    numbers = range(1, (expected.meeting.number if expected.meeting else 0) + 1)
    for number in numbers:
        assert await store.minutes(room, number) == expected.minutes.get(number, [])


def a_meeting_with_everything(at: float = T0) -> list[Signal]:
    """Signals that leave turns, open and acknowledged pins, priority and a topic behind."""
    return [
        signal(ALICE, StartMeeting("Budget"), at),
        signal(BOB, Join(), at + 1),
        signal(CHEN, Join(lane=Lane.CLARIFYING), at + 2),
        signal(DARA, Priority(on=True, keep=True), at + 3),
        signal(DARA, Join(), at + 4),
        signal(ALICE, Join(EVE), at + 5),
        signal(ALICE, Next(), at + 6.25),
        signal(BOB, Ouch(), at + 7),
        signal(CHEN, Oops(), at + 8),
        signal(DARA, Ouch(at=BOB, anonymous=True), at + 9),
        signal(ALICE, Next(), at + 70.5),
        signal(ALICE, Tick(), at + 140),
        signal(ALICE, NewTopic("Rota"), at + 200),
        signal(ALICE, Move(EVE, 1), at + 201),
        signal(ALICE, Resolve(), at + 202),
    ]


# ---------------------------------------------------------------- both stores


async def open_store(kind: str, directory: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    return await SqliteStore.open(directory / "scorebot.db")


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(request.param, tmp_path)
    yield opened
    await opened.close()


async def test_an_unknown_room_loads_as_none(store: Store) -> None:
    assert await store.load(ROOM) is None
    assert await store.rooms() == []
    assert await store.meetings() == []
    assert await store.minutes(ROOM, 1) == []


async def test_a_meeting_built_from_real_signals_loads_back_equal(store: Store) -> None:
    signals = a_meeting_with_everything()
    await apply_all(store, signals)
    expected = fold(signals)
    assert expected.meeting is not None
    assert expected.meeting.pins and expected.meeting.meeting_tallies and expected.meeting.priority
    await assert_holds(store, expected)


async def test_a_key_is_seen_only_after_it_was_applied(store: Store) -> None:
    join = signal(BOB, Join(), T0)
    assert not await store.seen(join.key)
    await apply_signal(store, join, ROOM)
    assert await store.seen(join.key)


async def test_replaying_a_key_changes_neither_the_meeting_nor_the_minutes(store: Store) -> None:
    signals = a_meeting_with_everything()
    await apply_all(store, signals)
    meeting = await store.load(ROOM)
    minutes = await store.minutes(ROOM, 1)
    infos = await store.meetings()
    for each in signals:
        assert await apply_signal(store, each, ROOM, DEFAULTS) is None
    assert await store.load(ROOM) == meeting
    assert await store.minutes(ROOM, 1) == minutes
    assert await store.meetings() == infos


async def test_a_replayed_key_is_refused_even_with_a_different_effect(store: Store) -> None:
    start = signal(ALICE, StartMeeting("Budget"), T0)
    await apply_signal(store, start, ROOM)
    before = await store.load(ROOM)
    assert before is not None
    # Whatever the caller computed this time, the key was committed once already.
    after, events = step(before, signal(BOB, Join(), T0 + 1))
    assert not await store.apply(start.key, before, after, records(events, T0 + 1))
    assert await store.load(ROOM) == before
    assert await store.minutes(ROOM, 1) == [Record(T0, "meeting started", text="Budget")]


async def test_minutes_append_in_order_and_apart_for_each_meeting(store: Store) -> None:
    first = [
        signal(ALICE, StartMeeting("Budget"), T0),
        signal(BOB, Join(), T0 + 1),
        signal(ALICE, Next(), T0 + 2),
        signal(ALICE, EndMeeting(), T0 + 30),
    ]
    # A join with no meeting running starts meeting 2 by itself.
    second = [signal(CHEN, Join(lane=Lane.DIRECT), T0 + 100), signal(CHEN, Leave(), T0 + 101)]
    await apply_all(store, first + second)
    assert [r.kind for r in await store.minutes(ROOM, 1)] == [
        "meeting started",
        "joined stack",
        "called",
        "turn ended",
        "meeting ended",
    ]
    assert [(r.kind, r.who) for r in await store.minutes(ROOM, 2)] == [
        ("meeting started", ""),
        ("joined stack", "Chen"),
        ("left stack", "Chen"),
    ]
    await assert_holds(store, fold(first + second))


async def test_meetings_lists_started_and_ended_meetings_with_titles(store: Store) -> None:
    await apply_all(
        store,
        [
            signal(ALICE, StartMeeting("Budget"), T0),
            signal(ALICE, EndMeeting(), T0 + 3600),
            signal(ALICE, StartMeeting("Retro"), T0 + 7200),
        ],
    )
    await apply_all(store, [signal(BOB, Join(), T0 + 10)], OTHER_ROOM)
    budget = MeetingInfo(ROOM, 1, "Budget", T0, T0 + 3600)
    retro = MeetingInfo(ROOM, 2, "Retro", T0 + 7200, None)
    garden = MeetingInfo(OTHER_ROOM, 1, "", T0 + 10, None)
    assert await store.meetings() == [budget, retro, garden]
    assert await store.meetings(ROOM) == [budget, retro]
    assert await store.meetings(OTHER_ROOM) == [garden]


async def test_an_ended_meeting_keeps_its_end_when_signals_follow(store: Store) -> None:
    await apply_all(
        store,
        [
            signal(ALICE, StartMeeting("Budget"), T0),
            signal(ALICE, EndMeeting(), T0 + 60),
            signal(BOB, Priority(on=True), T0 + 120),
            signal(BOB, Status(), T0 + 121),
        ],
    )
    assert await store.meetings() == [MeetingInfo(ROOM, 1, "Budget", T0, T0 + 60)]


async def test_rooms_lists_every_room_with_a_stored_meeting(store: Store) -> None:
    await apply_all(store, [signal(BOB, Join(), T0)], OTHER_ROOM)
    await apply_all(store, [signal(BOB, WhereAmI(), T0)], ROOM)
    assert await store.rooms() == [ROOM, OTHER_ROOM]


async def test_values_are_kept_by_name_and_overwritten(store: Store) -> None:
    assert await store.get_value("sync_token") is None
    await store.set_value("sync_token", "s1_2_3")
    await store.set_value("device_id", "SCOREBOT")
    await store.set_value("sync_token", "s4_5_6")
    assert await store.get_value("sync_token") == "s4_5_6"
    assert await store.get_value("device_id") == "SCOREBOT"


def reply(txn: str, room: str = ROOM, kind: OutKind = OutKind.MESSAGE) -> Outgoing:
    return Outgoing(
        txn, ToRoom(room), kind, f"text {txn}", f"<b>{txn}</b>", ("@a:x",), "$r", "@a:x"
    )


async def test_replies_are_committed_with_their_signal_and_unsent_until_marked(
    store: Store,
) -> None:
    join = signal(BOB, Join(), T0)
    before = Meeting(ROOM)
    after, events = step(before, join)
    private = Outgoing("t2", ToPerson(BOB.id), OutKind.MESSAGE, "just you", "just you")
    outgoing = [reply("t1"), private, reply("t3", kind=OutKind.OVERVIEW)]

    assert await store.apply(join.key, before, after, records(events, T0), outgoing)
    assert not await store.apply(join.key, before, after, records(events, T0), outgoing)

    assert [pending.outgoing for pending in await store.unsent()] == outgoing
    await store.mark_sent(["t1", "t3"], "$ev1")
    assert await store.unsent() == [Pending(private)]


async def test_a_recorded_batch_stays_with_its_replies_until_they_are_sent(store: Store) -> None:
    assert await store.queue([reply("n1"), reply("n2")])
    assert not await store.queue([reply("n1"), reply("n2")])  # a replayed notice
    await store.queue([reply("n3")])

    await store.record_batch("n1+2", ["n1", "n2"])

    assert await store.unsent() == [
        Pending(reply("n1"), "n1+2"),
        Pending(reply("n2"), "n1+2"),
        Pending(reply("n3")),
    ]
    await store.mark_sent(["n1", "n2"], "$batch")
    assert await store.unsent() == [Pending(reply("n3"))]


async def test_a_checkpoint_saves_position_memory_and_skipped_events_together(
    store: Store,
) -> None:
    writes = [MemoryWrite("hand", f"$r{n}", f"v{n}", keep=3) for n in range(5)]
    writes.append(MemoryWrite("hand", "$r3", None, keep=3))
    writes.append(MemoryWrite("sender", "$m", "@a:x", keep=3))
    skipped = Skipped("$odd", ROOM, "TypeError: not a dict", T0)

    await store.checkpoint("sync_token", "s1", writes, [skipped, skipped])

    assert await store.get_value("sync_token") == "s1"
    assert await store.remembered("hand") == [("$r2", "v2"), ("$r4", "v4")]
    assert await store.remembered("sender") == [("$m", "@a:x")]
    assert await store.skipped() == 1
    await store.checkpoint("sync_token", "s2", [MemoryWrite("hand", "$r2", "again", 3)], [])
    assert await store.remembered("hand") == [("$r4", "v4"), ("$r2", "again")]


# ---------------------------------------------------------------- SQLite only


async def read(path: Path, query: str) -> list[tuple[object, ...]]:
    """Look into the file with a connection of our own, as an operator would."""
    async with aiosqlite.connect(path) as db:
        return [tuple(row) for row in await db.execute_fetchall(query)]


async def test_state_survives_closing_and_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scorebot.db"
    signals = a_meeting_with_everything()
    store = await SqliteStore.open(path)
    await apply_all(store, signals)
    await store.set_value("sync_token", "s9")
    infos = await store.meetings()
    await store.close()

    reopened = await SqliteStore.open(path)
    try:
        await assert_holds(reopened, fold(signals))
        assert await reopened.meetings() == infos
        assert await reopened.get_value("sync_token") == "s9"
        assert all([await reopened.seen(each.key) for each in signals])
    finally:
        await reopened.close()


async def test_an_empty_file_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "scorebot.db"
    store = await SqliteStore.open(path)
    await store.close()
    assert await read(path, "SELECT number FROM version") == [(len(sqlite_store.MIGRATIONS),)]
    tables = await read(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
    assert tables == [
        ("adapter_memory",),
        ("kv",),
        ("meetings",),
        ("minutes",),
        ("outbox",),
        ("processed",),
        ("rooms",),
        ("skipped",),
        ("sqlite_sequence",),
        ("version",),
    ]


async def test_reopening_applies_only_the_missing_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scorebot.db"
    store = await SqliteStore.open(path)
    await store.set_value("kept", "yes")
    await store.close()
    # A later scorebot adds a step; without IF NOT EXISTS it fails if it runs twice.
    extra = ("CREATE TABLE extra (note TEXT)", "INSERT INTO extra VALUES ('once')")
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", (*sqlite_store.MIGRATIONS, extra))
    for _ in range(2):
        store = await SqliteStore.open(path)
        assert await store.get_value("kept") == "yes"
        await store.close()
    assert await read(path, "SELECT number FROM version") == [(len(sqlite_store.MIGRATIONS),)]
    assert await read(path, "SELECT note FROM extra") == [("once",)]


async def test_a_failing_migration_step_leaves_the_file_at_the_version_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scorebot.db"
    await (await SqliteStore.open(path)).close()
    broken = ("CREATE TABLE extra (note TEXT)", "INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", (*sqlite_store.MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await SqliteStore.open(path)
    assert await read(path, "SELECT number FROM version") == [(len(sqlite_store.MIGRATIONS) - 1,)]
    assert await read(path, "SELECT name FROM sqlite_master WHERE name = 'extra'") == []


async def test_a_file_from_a_newer_scorebot_is_refused_naming_both_versions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scorebot.db"
    await (await SqliteStore.open(path)).close()
    async with aiosqlite.connect(path) as db:
        await db.execute("UPDATE version SET number = 7")
        await db.commit()
    known = len(sqlite_store.MIGRATIONS)
    with pytest.raises(SchemaTooNewError, match=rf"version 7.*up to {known}") as raised:
        await SqliteStore.open(path)
    assert (raised.value.found, raised.value.known) == (7, known)


async def test_the_pragmas_are_in_effect_on_the_stores_connection(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "scorebot.db")
    try:
        # foreign_keys, synchronous and busy_timeout belong to the connection, not the file,
        # so only the store's own connection can tell.
        db = store._db
        found = {}
        for pragma in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout"):
            rows = list(await db.execute_fetchall(f"PRAGMA {pragma}"))
            found[pragma] = rows[0][0]
        assert found == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": 2,
            "busy_timeout": sqlite_store.BUSY_TIMEOUT_MS,
        }
    finally:
        await store.close()


async def test_minutes_of_a_meeting_that_has_no_row_are_refused_by_the_foreign_key(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / "scorebot.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await store._db.execute(
                "INSERT INTO minutes (room, number, seq, record) VALUES ('!x', 1, 1, '{}')"
            )
    finally:
        await store.close()


# ---------------------------------------------------------------- properties

people = st.sampled_from(PEOPLE)
someone_or_self = st.none() | people
cues: st.SearchStrategy[Cue] = st.one_of(
    st.builds(Join, who=someone_or_self, lane=st.sampled_from(Lane)),
    st.builds(Leave, who=someone_or_self),
    st.just(Next()),
    st.just(Done()),
    st.builds(Move, who=people, position=st.integers(0, 5)),
    st.just(Clear()),
    st.builds(NewTopic, title=st.sampled_from(["", "Rota", "Budget ✓"])),
    st.builds(StartMeeting, title=st.sampled_from(["", "Weekly", "Retro"])),
    st.just(EndMeeting()),
    st.just(CloseStack()),
    st.just(OpenStack()),
    st.builds(SetLanes, enabled=st.booleans()),
    st.builds(Ouch, at=someone_or_self, anonymous=st.booleans()),
    st.just(Oops()),
    st.builds(Resolve, pin=st.none() | st.integers(1, 4)),
    st.builds(Priority, on=st.booleans(), who=someone_or_self, keep=st.booleans()),
    st.builds(Facilitate, who=people, on=st.booleans()),
    st.just(Status()),
    st.just(Tick()),
)


@st.composite
def signal_lists(draw: st.DrawFn, max_size: int = 40) -> list[Signal]:
    moves = draw(
        st.lists(
            st.tuples(
                people,
                cues,
                st.sampled_from(Source),
                st.floats(0.0, 200.0, allow_nan=False, allow_infinity=False),
            ),
            max_size=max_size,
        )
    )
    out: list[Signal] = []
    at = T0
    for index, (sender, cue, source, gap) in enumerate(moves):
        at += gap
        out.append(
            Signal(f"$e{index}", sender, cue, source, at, facilitator=sender.id in FACILITATORS)
        )
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(signals=signal_lists())
async def test_a_reopened_sqlite_store_holds_the_pure_fold_of_step(
    tmp_path: Path, signals: list[Signal]
) -> None:
    path = tmp_path / f"example{next(_keys)}.db"
    store = await SqliteStore.open(path)
    try:
        await apply_all(store, signals)
    finally:
        await store.close()
    reopened = await SqliteStore.open(path)
    try:
        await assert_holds(reopened, fold(signals))
    finally:
        await reopened.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(signals=signal_lists())
async def test_applying_signals_twice_is_the_same_as_applying_them_once(
    kind: str, tmp_path: Path, signals: list[Signal]
) -> None:
    directory = tmp_path / f"example{next(_keys)}"
    directory.mkdir()
    store = await open_store(kind, directory)
    try:
        await apply_all(store, signals)
        once = (await store.load(ROOM), await store.meetings())
        replies = [await apply_signal(store, each, ROOM, DEFAULTS) for each in signals]
        assert replies == [None] * len(signals)
        assert (await store.load(ROOM), await store.meetings()) == once
        await assert_holds(store, fold(signals))
    finally:
        await store.close()


# ---------------------------------------------------------------- cost per signal


def a_long_meeting(count: int, at: float = T0) -> list[Signal]:
    """One meeting that keeps going: hands, turns, ouches, oopses and topics, over and over."""
    signals = [signal(ALICE, StartMeeting("Long"), at)]
    cycle: list[tuple[Person, Cue]] = [
        (BOB, Join()),
        (CHEN, Join(lane=Lane.CLARIFYING)),
        (DARA, Join()),
        (ALICE, Join(EVE)),
        (ALICE, Next()),
        (BOB, Ouch()),
        (CHEN, Oops()),
        (ALICE, Next()),
        (DARA, Leave()),
        (ALICE, Next()),
        (ALICE, Resolve()),
        (ALICE, Next()),
    ]
    while len(signals) < count:
        for sender, cue in cycle:
            signals.append(signal(sender, cue, at + len(signals)))
        signals.append(signal(ALICE, NewTopic(f"Topic {len(signals)}"), at + len(signals)))
    return signals[:count]


async def wal_pages_written(path: Path, store: SqliteStore, signals: Sequence[Signal]) -> int:
    """Pages the store appends to the write-ahead log while it commits `signals`."""
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty log to count from
        await apply_all(store, signals)
        [(_, frames, _)] = list(await db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)"))
    return int(frames)


async def test_bytes_written_per_signal_stay_flat_as_a_meeting_grows(tmp_path: Path) -> None:
    path = tmp_path / "scorebot.db"
    signals = a_long_meeting(2040)
    store = await SqliteStore.open(path)
    try:
        await apply_all(store, signals[:200])
        early = await wal_pages_written(path, store, signals[200:220])
        await apply_all(store, signals[220:2000])
        late = await wal_pages_written(path, store, signals[2000:2020])
    finally:
        await store.close()

    # The state written per signal is bounded; the minutes and keys only append. Only the
    # B-trees' depth may grow (a page or so more per commit at most).
    print(f"WAL pages for 20 signals: at 200 signals {early}, at 2000 signals {late}")
    assert late <= early * 1.25, (early, late)
    meeting = fold(signals[:2000]).meeting
    small = fold(signals[:200]).meeting
    assert meeting is not None and small is not None
    assert len(encode_meeting(meeting)) < 2 * len(encode_meeting(small))
