// P&L over time: marked-to-market samples from summaries, and the chart's aligned data.
import { test } from "node:test";
import assert from "node:assert/strict";

import { addMark, equityData as chartData, MARK_CAP, MARK_EVERY } from "../../../src/trade_analysis/web/js/equity.js";
import { equitySeries } from "../../../src/trade_analysis/web/js/format.js";

const equityData = (trades, marks) => chartData(equitySeries(trades), marks);

const summary = (realised, unrealised, open = 1) => ({
  realised_pnl: realised, unrealised_pnl: unrealised, open_positions: Array.from({ length: open }, () => ({})),
});
const trade = (id, ts, direction, profit = null) => ({ id, ts, direction, profit, bot: "b", ticker: "T", price: 1 });

test("a summary adds a sample of realised and realised plus unrealised", () => {
  const marks = addMark([], 1000, summary("2.50", "-1.25"));
  assert.deepEqual(marks, [{ at: 1000, realised: 2.5, marked: 1.25, open: 1 }]);
});

test("one sample per slot: the newest replaces the one before it in the same slot", () => {
  let marks = addMark([], 1000, summary(0, 1));
  marks = addMark(marks, 1000 + MARK_EVERY - 1, summary(0, 3));
  assert.deepEqual(marks.map((m) => [m.at, m.marked]), [[1000 + MARK_EVERY - 1, 3]]);
  marks = addMark(marks, 1000 + MARK_EVERY, summary(0, 4));
  assert.deepEqual(marks.map((m) => m.marked), [3, 4]);
});

test("an unchanged summary in the same slot returns the same marks (nothing to redraw)", () => {
  const marks = addMark([], 1000, summary(1, 1));
  assert.equal(addMark(marks, 1001, summary(1, 1)), marks);
});

test("the input is never changed", () => {
  const marks = Object.freeze([Object.freeze({ at: 1000, realised: 0, marked: 1, open: 1 })]);
  const next = addMark(marks, 1001, summary(0, 2));
  assert.equal(marks[0].marked, 1);
  assert.equal(next[0].marked, 2);
});

test("past the cap the oldest samples go", () => {
  let marks = [];
  for (let i = 0; i < MARK_CAP + 5; i++) marks = addMark(marks, i * MARK_EVERY, summary(0, i));
  assert.equal(marks.length, MARK_CAP);
  assert.equal(marks[0].marked, 5);
  assert.equal(marks.at(-1).marked, MARK_CAP + 4);
  assert.equal(addMark([], 0, summary(0, 1), { every: 1, cap: 3 }).length, 1);
});

test("a summary without totals, a bad time or a clock stepping back adds nothing", () => {
  const marks = addMark([], 1000, summary(0, 1));
  assert.equal(addMark(marks, 1100, {}), marks);
  assert.equal(addMark(marks, Number.NaN, summary(0, 2)), marks);
  assert.equal(addMark(marks, 900, summary(0, 2)), marks);
  assert.deepEqual(addMark([], 5, { total_pnl_all_tickers: "3" }), [{ at: 5, realised: 3, marked: 3, open: 0 }]);
});

test("the chart's data: realised steps between closed trades, marks where sampled", () => {
  const trades = [
    trade(1, "2026-03-02T10:00:00Z", "buy"),
    trade(2, "2026-03-02T10:01:00Z", "sell", "5.5"),
  ];
  const t0 = Date.parse("2026-03-02T10:00:00Z") / 1000;
  const marks = [
    { at: t0 + 30.4, realised: 0, marked: 12, open: 1 },
    { at: t0 + 90, realised: 5.5, marked: 5.5, open: 0 },
  ];
  const [xs, realised, marked] = equityData(trades, marks);
  assert.deepEqual(xs, [t0, t0 + 30, t0 + 60, t0 + 90]);
  assert.deepEqual(realised, [0, 0, 5.5, 5.5]);
  assert.deepEqual(marked, [null, 12, null, 5.5]);
});

test("an open position moving shows before any trade closed; nothing at all is an empty chart", () => {
  const t0 = 1_800_000_000;
  const [xs, realised, marked] = equityData([trade(1, "2026-03-02T10:00:00Z", "buy")], [
    { at: t0, realised: 0, marked: 0, open: 1 }, { at: t0 + 10, realised: 0, marked: 4.5, open: 1 },
  ]);
  assert.deepEqual(xs, [t0, t0 + 10]);
  assert.deepEqual(realised, [null, null]);
  assert.deepEqual(marked, [0, 4.5]);
  assert.deepEqual(equityData([], [{ at: t0, realised: 0, marked: 0, open: 0 }]), [[], [], []]);
});
