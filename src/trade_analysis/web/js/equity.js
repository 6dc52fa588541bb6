// P&L over time: the realised line from the closed trades, and the marked-to-market line
// (realised plus the open positions at their last price) sampled from `summary` events.
// Pure functions: values and times in, new values out (node's test runner checks them).

/** One marked-to-market sample per this many seconds (the newest in each), at most CAP. */
export const MARK_EVERY = 10;
export const MARK_CAP = 2000;

const round8 = (value) => Math.round(value * 1e8) / 1e8;

/**
 * `marks` (oldest first, `{at, realised, marked, open}`: `open` positions) with the totals of a summary seen at
 * `at` (seconds): the newest sample of its `every`-second slot replaces the one before
 * it in that slot; past `cap` samples the oldest go. A summary without totals is none.
 */
export function addMark(marks, at, summary, { every = MARK_EVERY, cap = MARK_CAP } = {}) {
  const realisedValue = summary?.realised_pnl ?? summary?.total_pnl_all_tickers;
  if (realisedValue === undefined || realisedValue === null || !Number.isFinite(at)) return marks;
  const realised = Number(realisedValue);
  const open = (summary.open_positions || []).length;
  const sample = { at, realised, marked: round8(realised + Number(summary.unrealised_pnl ?? 0)), open };
  const last = marks[marks.length - 1];
  if (last && at < last.at) return marks; // a clock step back: keep time increasing
  if (last && Math.floor(last.at / every) === Math.floor(at / every)) {
    if (last.realised === sample.realised && last.marked === sample.marked && last.open === open) return marks;
    return [...marks.slice(0, -1), sample];
  }
  const next = [...marks, sample];
  return next.length > cap ? next.slice(next.length - cap) : next;
}

/**
 * uPlot's aligned data `[times, realised, marked]`: every time either line has a point
 * at, in order. `realised` is `equitySeries(trades)` (format.js): its total holds between
 * closed trades (a step), from the first trade on; the marked line has a value only where it was sampled (null elsewhere: the
 * chart joins its points across them).
 */
export function equityData([closedAt, closedTotal], marks) {
  if (!closedAt.length && !marks.some((mark) => mark.open)) return [[], [], []]; // nothing yet
  const times = [...new Set([...closedAt, ...marks.map((mark) => Math.floor(mark.at))])].sort((a, b) => a - b);
  const markedAt = new Map(marks.map((mark) => [Math.floor(mark.at), mark.marked]));
  const realised = [];
  const marked = [];
  let next = 0;
  let total = null;
  for (const at of times) {
    while (next < closedAt.length && closedAt[next] <= at) total = closedTotal[next++];
    realised.push(total);
    marked.push(markedAt.has(at) ? markedAt.get(at) : null);
  }
  return [times, realised, marked];
}
