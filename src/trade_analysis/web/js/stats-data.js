// The Statistics view's pure helpers: the /stats answer in, chart data and text out
// (node's test runner checks them: tests/web/js/stats-data.test.mjs).

const percentFormat = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });

/** A 0-1 rate as `62.5%`; "" for none (nothing to rate is not 0%). */
export function rate(value) {
  if (value === null || value === undefined) return "";
  return percentFormat.format(Number(value));
}

/** Profit factor: `3.79`, or `∞` when no trade lost, "" when none closed. */
export function profitFactor(figures) {
  if (figures.profit_factor !== null && figures.profit_factor !== undefined) {
    return new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 }).format(Number(figures.profit_factor));
  }
  return figures.wins ? "\u221E" : "";
}

/** A bot's calls against always betting the majority: `66.7% vs 50% (12)`. */
export function skillText(skill) {
  if (!skill || !skill.judged) return "";
  return `${rate(skill.hit_rate)} vs ${rate(skill.baseline_rate)} (${skill.judged})`;
}

/** Seconds since the epoch of a wire time. */
const seconds = (iso) => Date.parse(iso) / 1000;

/**
 * uPlot's data for the equity chart: `[times, realised, marked, drawdown]`, the drawdown
 * drawn below zero. Points at the same instant keep the last (uPlot needs increasing x).
 */
export function equityChart(points) {
  const data = [[], [], [], []];
  for (const point of points || []) {
    const at = seconds(point.at);
    const values = [Number(point.realised), Number(point.marked), -Number(point.drawdown)];
    if (data[0].length && data[0].at(-1) >= at) {
      values.forEach((value, index) => { data[index + 1][data[0].length - 1] = value; });
      continue;
    }
    data[0].push(at);
    values.forEach((value, index) => data[index + 1].push(value));
  }
  return data;
}

/**
 * uPlot's data for a bot's price chart of one ticker (its first if not given): `[times,
 * prices, buys, sells]`, buys and sells at the trades' prices and null elsewhere.
 */
export function priceChart(chart, ticker) {
  const prices = (chart?.prices || []).filter((point) => !ticker || point.ticker === ticker);
  const wanted = ticker || prices[0]?.ticker || chart?.trades?.[0]?.ticker;
  const rows = new Map();
  const row = (at) => {
    if (!rows.has(at)) rows.set(at, [null, null, null]);
    return rows.get(at);
  };
  for (const point of prices) if (point.ticker === wanted) row(seconds(point.at))[0] = Number(point.price);
  for (const trade of chart?.trades || []) {
    if (trade.ticker !== wanted) continue;
    row(seconds(trade.ts))[trade.direction === "buy" ? 1 : 2] = Number(trade.price);
  }
  const times = [...rows.keys()].sort((a, b) => a - b);
  return {
    ticker: wanted || "",
    data: [times, ...[0, 1, 2].map((index) => times.map((at) => rows.get(at)[index]))],
  };
}

/** The tickers a bot's chart can show, in order. */
export function chartTickers(chart) {
  const all = [...(chart?.prices || []).map((p) => p.ticker), ...(chart?.trades || []).map((t) => t.ticker)];
  return [...new Set(all)].sort();
}
