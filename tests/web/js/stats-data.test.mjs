// The Statistics view's chart data and text, from /stats answers.
import { test } from "node:test";
import assert from "node:assert/strict";

import { chartTickers, equityChart, priceChart, profitFactor, rate, skillText } from "../../../src/trade_analysis/web/js/stats-data.js";

const at = (second) => new Date(Date.UTC(2026, 2, 2, 15, 0, second)).toISOString().replace(".000Z", "Z");

test("rates read as percentages, and nothing to rate is blank, not 0%", () => {
  assert.equal(rate(0.625), "62.5%");
  assert.equal(rate(1), "100%");
  assert.equal(rate(null), "");
});

test("a profit factor without a loss is infinite, and blank when nothing closed", () => {
  assert.equal(profitFactor({ profit_factor: 3.7875, wins: 3 }), "3.79");
  assert.equal(profitFactor({ profit_factor: null, wins: 2 }), "\u221E");
  assert.equal(profitFactor({ profit_factor: null, wins: 0 }), "");
});

test("skill reads as the bot's rate against the majority's, with how many were judged", () => {
  assert.equal(skillText({ judged: 6, hit_rate: 4 / 6, baseline_rate: 0.5 }), "66.7% vs 50% (6)");
  assert.equal(skillText({ judged: 0, hit_rate: null, baseline_rate: null }), "");
  assert.equal(skillText(undefined), "");
});

test("the equity chart draws drawdown below zero and keeps one point per instant", () => {
  const points = [
    { at: at(0), realised: 0, marked: 0, drawdown: 0 },
    { at: at(1), realised: 3, marked: 3, drawdown: 0 },
    { at: at(1), realised: 2, marked: 2.5, drawdown: 1 },
    { at: at(5), realised: 2, marked: 4, drawdown: 1 },
  ];
  const [times, realised, marked, drawdown] = equityChart(points);
  assert.equal(times.length, 3);
  assert.deepEqual(realised, [0, 2, 2]);
  assert.deepEqual(marked, [0, 2.5, 4]);
  assert.deepEqual(drawdown, [-0, -1, -1]);
  assert.deepEqual(equityChart([]), [[], [], [], []]);
});

test("a price chart puts buys and sells at their prices on one ticker's line", () => {
  const chart = {
    prices: [
      { at: at(0), ticker: "SPY", price: 10 },
      { at: at(1), ticker: "QQQ", price: 99 },
      { at: at(2), ticker: "SPY", price: 11 },
    ],
    trades: [
      { ts: at(0), ticker: "SPY", direction: "buy", price: 10 },
      { ts: at(3), ticker: "SPY", direction: "sell", price: 11.5 },
      { ts: at(4), ticker: "QQQ", direction: "buy", price: 98 },
    ],
  };
  assert.deepEqual(chartTickers(chart), ["QQQ", "SPY"]);
  const spy = priceChart(chart, "SPY");
  assert.equal(spy.ticker, "SPY");
  assert.deepEqual(spy.data.slice(1), [[10, 11, null], [10, null, null], [null, null, 11.5]]);
  assert.deepEqual(priceChart(chart, "QQQ").data.slice(1), [[99, null], [null, 98], [null, null]]);
  assert.equal(priceChart(chart, "").ticker, "SPY"); // the first price's ticker
  assert.deepEqual(priceChart(null, "").data, [[], [], [], []]);
});
