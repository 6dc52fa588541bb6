"""The group-commit writer: observations that queue up share a transaction, fail alone,
and are acknowledged only once stored, with their files."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import Side, Trend
from trade_analysis.storage import FileStore
from trade_analysis.trading.ledger import (
    Ledger,
    ObservationInput,
    RowCache,
    StoredObservation,
    Writes,
)
from trade_analysis.trading.writer import (
    LedgerWriter,
    PendingUpload,
    WriterClosed,
    WriterFull,
)

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class GatedLedger(Ledger):
    """A real ledger whose transactions can be held at the door, and that remembers
    the size of each group and refuses observations of the bot named `poison` (and of
    `late-poison`, inside the transaction)."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.groups: list[int] = []

    def record_observations(
        self, batch: Sequence[tuple[ObservationInput, bool]], *, writes: Writes | None = None
    ) -> list[StoredObservation]:
        self.entered.set()
        self.gate.wait(10)
        self.groups.append(len(batch))
        if any(observation.bot == "poison" for observation, _ in batch):
            raise ValueError("poisoned observation")
        return super().record_observations(batch, writes=writes)

    def _store_fresh(
        self,
        connection: Connection,
        batch: Sequence[tuple[ObservationInput, bool]],
        cache: RowCache | None,
    ) -> list[StoredObservation]:
        """`late-poison` fails once its group has traded, before the commit."""
        stored = super()._store_fresh(connection, batch, cache)
        if any(observation.bot == "late-poison" for observation, _ in batch):
            raise ValueError("poisoned late")
        return stored


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def uploads(tmp_path: Path) -> FileStore:
    store = FileStore(tmp_path / "uploads")
    store.ensure()
    return store


@pytest.fixture
def ledger(database: Database) -> GatedLedger:
    return GatedLedger(database)


@pytest.fixture
def writer(ledger: GatedLedger, uploads: FileStore) -> Iterator[LedgerWriter]:
    writer = LedgerWriter(ledger, uploads)
    writer.start()
    yield writer
    ledger.gate.set()
    writer.close()


def signal(bot: str, trend: str, price: str, minute: int) -> ObservationInput:
    return ObservationInput(
        bot=bot,
        at=T0 + timedelta(minutes=minute),
        ticker="AAPL",
        price=Decimal(price),
        trend=Trend(trend),
    )


def hold_the_writer(ledger: GatedLedger, writer: LedgerWriter) -> None:
    """Submit one observation and keep its transaction waiting, so the next ones queue."""
    ledger.gate.clear()
    writer.submit(signal("holder", "none", "1", 0), as_history=False)
    assert ledger.entered.wait(10)


def test_observations_that_queue_during_a_transaction_share_the_next_one(
    ledger: GatedLedger, writer: LedgerWriter
) -> None:
    hold_the_writer(ledger, writer)
    queued = [signal("w1", "up", str(100 + minute), minute) for minute in range(5)]
    pending = [writer.submit(observation, as_history=True) for observation in queued]
    ledger.gate.set()
    stored = [future.result(10) for future in pending]
    assert ledger.groups == [1, 5]
    assert len({s.observation_id for s in stored}) == 5
    assert all(s.record_id is not None for s in stored)


def test_a_group_trades_exactly_as_the_same_observations_one_by_one(
    ledger: GatedLedger, writer: LedgerWriter, database_url: str, tmp_path: Path
) -> None:
    sequence = [
        signal("w1", "up", "100", 1),  # buy (first cycle ends)
        signal("w1", "up", "100", 2),  # the same signal again: the gate drops it
        signal("w1", "down", "103.5", 3),  # sell
        signal("w2", "down", "50", 4),  # another bot: first-cycle buy
        signal("w1", "up", "101", 5),  # buy again
    ]
    hold_the_writer(ledger, writer)
    pending = [writer.submit(observation, as_history=True) for observation in sequence]
    ledger.gate.set()
    grouped = [future.result(10) for future in pending]
    assert ledger.groups[-1] == len(sequence)

    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"
    upgrade(alone_url)
    alone_database = Database(alone_url)
    alone = [Ledger(alone_database).record_observation(o, as_history=True) for o in sequence]
    alone_database.dispose()

    def trades(results: list[StoredObservation]) -> list[tuple[Side, Decimal, Decimal | None]]:
        return [(s.trade.side, s.trade.price, s.trade.profit) for s in results if s.trade]

    assert trades(grouped) == trades(alone)
    assert trades(grouped) == [
        (Side.BUY, Decimal(100), None),
        (Side.SELL, Decimal("103.5"), Decimal("3.5")),
        (Side.BUY, Decimal(50), None),
        (Side.BUY, Decimal(101), None),
    ]


def test_one_bad_observation_fails_alone_and_takes_only_its_own_file(
    ledger: GatedLedger, writer: LedgerWriter, uploads: FileStore, database: Database
) -> None:
    hold_the_writer(ledger, writer)
    names = ["good-1.png", "bad.png", "good-2.png"]
    bots = ["w1", "poison", "w2"]
    pending = [
        writer.submit(
            signal(bot, "up", "10", i), as_history=True, upload=PendingUpload(name, b"\x89PNG")
        )
        for i, (bot, name) in enumerate(zip(bots, names, strict=True))
    ]
    ledger.gate.set()
    pending[0].result(10)
    with pytest.raises(ValueError, match="poisoned"):
        pending[1].result(10)
    pending[2].result(10)
    assert sorted(p.name for p in uploads.root.iterdir()) == ["good-1.png", "good-2.png"]
    with database.reading() as session:
        paths = select(models.Observation.image_path).where(models.Observation.bot != "holder")
        stored = set(session.scalars(paths))
    assert stored == {"uploads/good-1.png", "uploads/good-2.png"}


def test_an_observation_is_acknowledged_with_its_file_on_disk(
    writer: LedgerWriter, uploads: FileStore, database: Database
) -> None:
    stored = writer.submit(
        signal("w1", "none", "1", 0), as_history=True, upload=PendingUpload("a.png", b"img")
    ).result(10)
    assert (uploads.root / "a.png").read_bytes() == b"img"
    with database.reading() as session:
        row = session.get(models.Observation, stored.observation_id)
    assert row is not None and row.image_path == "uploads/a.png"


def test_close_stores_what_was_submitted_and_later_submits_are_refused(
    ledger: GatedLedger, writer: LedgerWriter, database: Database
) -> None:
    hold_the_writer(ledger, writer)
    pending = [writer.submit(signal("w1", "none", str(i), i), as_history=False) for i in range(3)]
    closing = threading.Thread(target=writer.close)
    closing.start()
    ledger.gate.set()
    closing.join(10)
    assert all(future.result(0).observation_id for future in pending)
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(models.Observation)) == 4
    with pytest.raises(WriterClosed):
        writer.submit(signal("w1", "none", "9", 9), as_history=False)


def test_capture_threads_wait_for_their_observation_to_be_stored(writer: LedgerWriter) -> None:
    stored = writer.record_observation(signal("w1", "up", "10", 0), as_history=False)
    assert stored.trade is not None and stored.trade.side is Side.BUY


def test_an_observation_cancelled_before_its_turn_is_dropped_and_the_writer_goes_on(
    ledger: GatedLedger, writer: LedgerWriter, uploads: FileStore, database: Database
) -> None:
    hold_the_writer(ledger, writer)
    upload = PendingUpload("gone.png", b"img")
    abandoned = writer.submit(signal("w1", "up", "10", 1), as_history=True, upload=upload)
    assert abandoned.cancel()  # its request went away while it waited
    kept = writer.submit(signal("w2", "up", "10", 2), as_history=True)
    ledger.gate.set()
    assert kept.result(10).trade is not None
    assert not (uploads.root / "gone.png").exists()
    with database.reading() as session:
        bots = set(session.scalars(select(models.Observation.bot)))
    assert bots == {"holder", "w2"}
    # Still serving.
    assert writer.record_observation(signal("w3", "none", "1", 3), as_history=False)


def bounded_writer(
    ledger: GatedLedger, uploads: FileStore, *, max_jobs: int = 100, max_bytes: int = 10**9
) -> LedgerWriter:
    writer = LedgerWriter(ledger, uploads, max_jobs=max_jobs, max_bytes=max_bytes)
    writer.start()
    return writer


def test_a_full_queue_refuses_at_once_and_takes_again_once_it_drains(
    ledger: GatedLedger, uploads: FileStore, database: Database
) -> None:
    writer = bounded_writer(ledger, uploads, max_jobs=3)
    try:
        hold_the_writer(ledger, writer)  # one in the transaction
        queued = [writer.submit(signal("w1", "none", str(i), i), as_history=False) for i in (1, 2)]
        assert writer.depth == (3, 0)
        with pytest.raises(WriterFull, match="3 observations"):
            writer.submit(
                signal("w1", "up", "9", 9), as_history=True, upload=PendingUpload("x.png", b"i")
            )
        assert not (uploads.root / "x.png").exists()
        ledger.gate.set()
        assert all(future.result(10) for future in queued)
        assert writer.record_observation(signal("w1", "up", "9", 9), as_history=False)
        assert writer.depth == (0, 0)
    finally:
        ledger.gate.set()
        writer.close()
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(models.Observation)) == 4


def test_the_queue_is_bounded_in_upload_bytes_but_one_upload_always_fits(
    ledger: GatedLedger, uploads: FileStore
) -> None:
    writer = bounded_writer(ledger, uploads, max_bytes=100)
    try:
        ledger.gate.clear()
        big = PendingUpload("big.png", b"x" * 500)  # over the limit alone: still taken
        first = writer.submit(signal("w1", "none", "1", 1), as_history=True, upload=big)
        assert ledger.entered.wait(10)
        with pytest.raises(WriterFull):
            writer.submit(
                signal("w1", "none", "2", 2),
                as_history=True,
                upload=PendingUpload("small.png", b"y" * 10),
            )
        without_file = writer.submit(signal("w1", "none", "3", 3), as_history=False)
        assert writer.depth == (2, 500)
        ledger.gate.set()
        assert first.result(10) and without_file.result(10)
        assert sorted(p.name for p in uploads.root.iterdir()) == ["big.png"]
    finally:
        ledger.gate.set()
        writer.close()


def test_close_gives_up_on_what_is_still_queued_at_its_deadline(
    ledger: GatedLedger, uploads: FileStore, database: Database
) -> None:
    writer = bounded_writer(ledger, uploads)
    hold_the_writer(ledger, writer)
    queued = writer.submit(
        signal("w1", "up", "5", 1), as_history=True, upload=PendingUpload("late.png", b"i")
    )
    # The transaction holding the writer outlives the deadline: close returns anyway.
    assert writer.close(timeout=0.2) is False
    ledger.gate.set()
    with pytest.raises(WriterClosed, match="shut down"):
        queued.result(10)
    assert not (uploads.root / "late.png").exists()
    with database.reading() as session:
        assert set(session.scalars(select(models.Observation.bot))) == {"holder"}


def test_a_group_waits_for_an_upload_already_arriving(
    ledger: GatedLedger, uploads: FileStore
) -> None:
    # A long wait, so that the test does not depend on how fast the machine is.
    writer = LedgerWriter(ledger, uploads, gather_seconds=30)
    writer.start()
    try:
        with writer.arrival() as arrival:
            first = writer.submit(signal("w1", "none", "1", 1), as_history=False)
            assert not first.done()  # waiting for the one still arriving
            second = writer.submit(signal("w2", "none", "2", 2), as_history=False, arrival=arrival)
        assert first.result(10) and second.result(10)
        assert ledger.groups == [2]
        # Nothing arriving: no wait at all (the 30 s would time this out).
        assert writer.record_observation(signal("w1", "none", "3", 3), as_history=False)
        # One that fails before it submits is not waited for either.
        with writer.arrival():
            pass
        assert writer.submit(signal("w1", "none", "4", 4), as_history=False).result(10)
        assert ledger.groups == [2, 1, 1]
    finally:
        writer.close()


def test_a_write_by_another_connection_between_groups_is_seen_by_the_next(
    ledger: GatedLedger, writer: LedgerWriter, database: Database
) -> None:
    bought = writer.record_observation(signal("w1", "up", "100", 1), as_history=False)
    assert bought.trade is not None and bought.trade.side is Side.BUY
    # Closed elsewhere (another connection): the writer must not sell it again.
    (closed,) = ledger.close_positions("w1", T0 + timedelta(minutes=2))
    assert closed.trade.side is Side.SELL
    after = writer.record_observation(signal("w1", "down", "103", 3), as_history=False)
    assert after.trade is None
    with database.reading() as session:
        sides = list(session.scalars(select(models.Trade.side).order_by(models.Trade.id)))
    assert sides == ["buy", "sell"]


def test_a_failed_group_leaves_no_trace_in_what_the_writer_remembers(
    ledger: GatedLedger, writer: LedgerWriter
) -> None:
    hold_the_writer(ledger, writer)
    pending = [
        writer.submit(signal("w1", "up", "100", 1), as_history=False),
        writer.submit(signal("late-poison", "up", "1", 2), as_history=False),
    ]
    ledger.gate.set()
    # Stored again alone after the group failed: it buys, as if the group never ran.
    stored = pending[0].result(10)
    assert stored.trade is not None and stored.trade.side is Side.BUY
    assert ledger.groups == [1, 2, 1, 1]
    with pytest.raises(ValueError, match="poisoned late"):
        pending[1].result(10)
    sold = writer.record_observation(signal("w1", "down", "104", 3), as_history=False)
    assert sold.trade is not None and sold.trade.profit == Decimal(4)
