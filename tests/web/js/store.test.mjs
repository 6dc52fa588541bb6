// The reducer of the live stream: event by event, and a reconnect never duplicates rows.
import { test } from "node:test";
import assert from "node:assert/strict";

import { boardKeys, frameOf, hwndOf, initialState, openPositionsOf, reduce, workerOf } from "../../../src/trade_analysis/web/js/store.js";

const trade = (id, extra = {}) => ({ id, bot: "w1", ticker: "AAPL", direction: "buy", price: 1, profit: null, ts: "2026-03-02T10:00:00Z", ...extra });
const apply = (events, state = initialState()) => events.reduce(reduce, state);

const HELLO = {
  type: "hello",
  data: {
    workers: [{ hwnd: 42, state: "running", interval: 1, last_result: { trend: "up" } }],
    frames: { 42: "AAAA" },
    summary: {
      tickers: { AAPL: { position: "long" } },
      open_positions: [{ bot: "42", ticker: "AAPL", unrealised_pnl: 5 }],
      realised_pnl: 1, unrealised_pnl: 5,
      all_trades: [trade(1), trade(2)],
    },
  },
};

test("hello sets workers, frames, summary and trades", () => {
  const state = apply([HELLO]);
  assert.deepEqual(Object.keys(state.workers), ["42"]);
  assert.equal(state.frames["42"].version, 1);
  assert.deepEqual(state.trades.map((t) => t.id), [1, 2]);
  assert.equal(state.summary.all_trades, undefined);
  assert.equal(openPositionsOf(state, "42")[0].unrealised_pnl, 5);
});

test("a reconnect's hello and repeated trades never duplicate rows", () => {
  const state = apply([HELLO, { type: "trade", data: trade(3) }, { type: "trade", data: trade(3) }, HELLO]);
  assert.deepEqual(state.trades.map((t) => t.id), [1, 2, 3]);
  assert.equal(state.hellos, 2);
  // The fuller /trades answer merges in order, by id.
  const merged = reduce(state, { type: "trades", data: { all_trades: [trade(0), trade(2), trade(4)], tickers: {} } });
  assert.deepEqual(merged.trades.map((t) => t.id), [0, 1, 2, 3, 4]);
});

test("the reducer never changes the state it was given", () => {
  const before = apply([HELLO]);
  const frozen = JSON.stringify({ ...before, tradeIds: [...before.tradeIds] });
  apply([{ type: "trade", data: trade(9) }, { type: "worker", data: { hwnd: 42, stopped: true } }, { type: "frame", data: { hwnd: 42, jpeg_b64: "BBBB" } }], before);
  assert.equal(JSON.stringify({ ...before, tradeIds: [...before.tradeIds] }), frozen);
});

test("a frame bumps the version only when the image changed", () => {
  let state = apply([HELLO, { type: "frame", data: { hwnd: 42, jpeg_b64: "AAAA" } }]);
  assert.equal(state.frames["42"].version, 1);
  const same = state;
  state = reduce(state, { type: "frame", data: { hwnd: 42, jpeg_b64: "BBBB" } });
  assert.equal(state.frames["42"].version, 2);
  assert.equal(reduce(state, { type: "frame", data: { hwnd: 42, jpeg_b64: "BBBB" } }), state);
  assert.notEqual(same, state);
});

test("worker updates merge, observations update the reading, a stop removes the card", () => {
  let state = apply([HELLO, { type: "worker", data: { hwnd: 42, state: "window_gone" } }]);
  assert.equal(state.workers["42"].state, "window_gone");
  assert.equal(state.workers["42"].interval, 1);
  state = reduce(state, { type: "observation", data: { hwnd: 42, last_result: { trend: "down" } } });
  assert.equal(state.workers["42"].last_result.trend, "down");
  assert.equal(reduce(state, { type: "observation", data: { hwnd: 7, last_result: {} } }), state);
  const ended = reduce(state, { type: "worker", data: { hwnd: 42, state: "stopped", is_running: false } });
  assert.deepEqual(ended.workers, {});
  state = reduce(state, { type: "worker", data: { hwnd: 42, stopped: true } });
  assert.deepEqual(state.workers, {});
  assert.deepEqual(state.frames, {});
});

test("summaries replace totals; bots come and go; unknown events change nothing", () => {
  let state = apply([HELLO, { type: "summary", data: { realised_pnl: 3, unrealised_pnl: -2, open_positions: [] } }]);
  assert.deepEqual([state.summary.realised_pnl, state.summary.unrealised_pnl], [3, -2]);
  assert.deepEqual(state.summary.tickers, { AAPL: { position: "long" } });
  state = reduce(state, { type: "bots", data: [{ bot: "desk-2", name: "Desk" }, { bot: "42", name: "AAPL" }] });
  assert.deepEqual(boardKeys(state), ["42", "desk-2"]); // watched windows first
  state = reduce(state, { type: "bot", data: { bot: "desk-2", deleted: true } });
  assert.deepEqual(Object.keys(state.bots), ["42"]);
  assert.equal(reduce(state, { type: "nonsense", data: {} }), state);
  assert.equal(reduce(state, null), state);
});

test("a card is a bot: its worker, window and frame are found through the worker's bot", () => {
  let state = apply([
    { type: "hello", data: { workers: [{ hwnd: 7, bot: "aapl-feed", state: "running" }], frames: { 7: "AAAA" }, summary: {} } },
    { type: "bots", data: [{ bot: "aapl-feed", hwnd: 7 }, { bot: "tsla-feed", hwnd: null, state: "waiting_for_window" }] },
  ]);
  assert.deepEqual(boardKeys(state), ["aapl-feed", "tsla-feed"]);
  assert.equal(hwndOf(state, "aapl-feed"), "7");
  assert.equal(workerOf(state, "aapl-feed").state, "running");
  assert.equal(frameOf(state, "aapl-feed").jpeg, "AAAA");
  assert.equal(workerOf(state, "tsla-feed"), undefined);
  assert.equal(hwndOf(state, "tsla-feed"), null);
  // The bot moves to another window: its card follows the worker there.
  state = reduce(state, { type: "worker", data: { hwnd: 7, stopped: true } });
  state = reduce(state, { type: "worker", data: { hwnd: 9, bot: "aapl-feed", state: "running" } });
  assert.equal(hwndOf(state, "aapl-feed"), "9");
  assert.deepEqual(boardKeys(state), ["aapl-feed", "tsla-feed"]);
});
