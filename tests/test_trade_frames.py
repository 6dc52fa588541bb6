"""The rings of recent frames per bot and the frames kept per trade: bounded memory, the
right frames on each side of a trade, paths only the service could have made, pruning."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trade_analysis.trade_frames import SeenFrame, TradeFrames

START = datetime(2026, 7, 23, 14, 30, tzinfo=UTC)


def frame(index: int) -> SeenFrame:
    return SeenFrame(
        START + timedelta(seconds=index, milliseconds=index), "jpg", f"f{index}".encode()
    )


def contents(frames: TradeFrames, trade_id: int) -> list[tuple[str, bytes]]:
    return [
        (kept.when, (frames.root / kept.path).read_bytes()) for kept in frames.frames([trade_id])
    ]


def test_a_trade_keeps_the_ring_before_it_and_the_next_frames_after(tmp_path: Path) -> None:
    frames = TradeFrames(tmp_path, around=5)
    for index in range(8):
        frames.seen("b", frame(index))
    frames.traded("b", 1, "buy")
    for index in range(8, 15):
        frames.seen("b", frame(index))
    assert contents(frames, 1) == [("before", f"f{i}".encode()) for i in range(3, 8)] + [
        ("after", f"f{i}".encode()) for i in range(8, 13)
    ]


def test_two_bots_never_mix_and_close_trades_share_frames(tmp_path: Path) -> None:
    frames = TradeFrames(tmp_path, around=2)
    frames.seen("a", frame(0))
    frames.seen("b", frame(50))
    frames.traded("a", 1, "buy")
    frames.seen("a", frame(1))
    frames.traded("a", 2, "sell")  # the sell's frame is also the buy's first after
    frames.seen("b", frame(51))
    frames.seen("a", frame(2))
    assert contents(frames, 1) == [("before", b"f0"), ("after", b"f1"), ("after", b"f2")]
    assert contents(frames, 2) == [("before", b"f0"), ("before", b"f1"), ("after", b"f2")]
    assert {kept.side for kept in frames.frames([2])} == {"sell"}


def test_memory_is_a_few_frames_for_a_bounded_number_of_bots(tmp_path: Path) -> None:
    frames = TradeFrames(tmp_path, around=3, max_bots=4)
    for bot in range(10):
        for index in range(20):
            frames.seen(f"bot{bot}", frame(index))
    assert len(frames._bots) == 4
    assert all(len(kept.ring) == 3 for kept in frames._bots.values())
    # The least recently seen went first: the newest four remain.
    assert list(frames._bots) == ["bot6", "bot7", "bot8", "bot9"]


@pytest.mark.parametrize(
    "path",
    [
        "../x.jpg",
        "1/../../x.jpg",
        "/etc/passwd",
        "1/buy_before_01_20260723_143000_000.jpg/../../x",
        "01/buy_before_01_20260723_143000_000.jpg",
        "1/buy_during_01_20260723_143000_000.jpg",
        "1/buy_before_01_20260723_143000_000.exe",
        "1\\buy_before_01_20260723_143000_000.jpg",
        "1/buy_before_01_20261399_143000_000.jpg",
    ],
)
def test_only_paths_the_service_makes_resolve(tmp_path: Path, path: str) -> None:
    frames = TradeFrames(tmp_path / "kept")
    (tmp_path / "x.jpg").write_bytes(b"secret")
    assert frames.resolve(path) is None


def test_a_link_out_of_the_folder_is_not_served(tmp_path: Path) -> None:
    frames = TradeFrames(tmp_path / "kept")
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    folder = tmp_path / "kept" / "1"
    folder.mkdir(parents=True)
    name = "buy_before_01_20260723_143000_000.jpg"
    (folder / name).symlink_to(tmp_path / "secret.jpg")
    assert frames.resolve(f"1/{name}") is None


def test_retention_and_deletion_remove_frames_and_their_folders(tmp_path: Path) -> None:
    frames = TradeFrames(tmp_path, around=1)
    for trade_id in (1, 2, 3):
        frames.seen("b", frame(trade_id))
        frames.traded("b", trade_id, "buy")
    old = time.time() - 3600
    for kept in frames.frames([1]):
        os.utime(tmp_path / kept.path, (old, old))
    assert frames.remove_older_than(60) >= 1
    assert not (tmp_path / "1").exists() and frames.frames([1]) == []
    assert frames.remove_trades([2]) == 1
    assert [kept.trade_id for kept in frames.frames([1, 2, 3])] == [3]
