// Captions and lines of the trade screenshots view, as tables of inputs and outputs.
// Run with TZ=UTC (tests/web/test_page_units.py does) so local times are predictable.
import { test } from "node:test";
import assert from "node:assert/strict";

import { frameCaption, tradeLine } from "../../../src/trade_analysis/web/js/trade-frames.js";

const MINUS = "\u2212";

test("a frame says which side of the trade it is, its place there and when it was taken", () => {
  const shots = [
    { when: "before", at: "2026-07-23T14:30:01.123Z" },
    { when: "before", at: "2026-07-23T14:30:02.123Z" },
    { when: "after", at: "2026-07-23T14:30:03.123Z" },
  ];
  assert.deepEqual(shots.map((shot, index) => frameCaption(shot, index, shots)), [
    "before 1/2 · 2026-07-23 14:30:01",
    "before 2/2 · 2026-07-23 14:30:02",
    "after 1/1 · 2026-07-23 14:30:03",
  ]);
});

test("a trade's line has its side, ticker, price and, for a sell, its profit", () => {
  for (const [trade, line] of [
    [{ direction: "buy", ticker: "AAPL", price: 189.23, profit: null }, "buy AAPL at 189.23"],
    [{ direction: "sell", ticker: "AAPL", price: 190, profit: 0.77 }, "sell AAPL at 190.00, profit +0.77"],
    [{ direction: "sell", ticker: "TSLA", price: 1, profit: -2 }, `sell TSLA at 1.00, profit ${MINUS}2.00`],
  ]) assert.equal(tradeLine(trade), line);
});
