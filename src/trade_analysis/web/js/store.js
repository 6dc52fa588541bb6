// The dashboard's state and the pure reducer of the live stream's events.
//
// `reduce(state, event)` returns a new state (the old one is never changed) and never
// touches the DOM, so node's test runner checks it event by event. Events are the
// server's `{type, data}` plus a few the page makes itself from HTTP answers
// (`bots`, `trades`), so a reconnect's `hello` and a fetch merge the same way:
// trades by id (never twice), workers and bots by key.

export function initialState() {
  return {
    workers: {}, // hwnd (string) -> worker status, with last_result
    frames: {}, // hwnd -> {jpeg, version}: version counts changes, so a card redraws only then
    trades: [], // ascending id
    tradeIds: new Set(),
    summary: { tickers: {}, open_positions: [], realised_pnl: 0, unrealised_pnl: 0 },
    bots: {}, // bot key -> /bots row
    capture: { available: true },
    hellos: 0,
  };
}

function mergeTrades(state, incoming) {
  const fresh = incoming.filter((trade) => trade && !state.tradeIds.has(trade.id));
  if (!fresh.length) return state;
  const tradeIds = new Set(state.tradeIds);
  for (const trade of fresh) tradeIds.add(trade.id);
  const trades = state.trades.concat(fresh);
  // A live trade is the newest; a resync after a gap may bring older ids.
  const last = state.trades.at(-1);
  if (fresh.length > 1 || (last && fresh[0].id < last.id)) trades.sort((a, b) => a.id - b.id);
  return { ...state, trades, tradeIds };
}

function withWorker(state, hwnd, status) {
  return { ...state, workers: { ...state.workers, [hwnd]: status } };
}

function withFrame(state, hwnd, jpeg) {
  const previous = state.frames[hwnd];
  if (previous && previous.jpeg === jpeg) return state;
  const version = (previous?.version || 0) + 1;
  return { ...state, frames: { ...state.frames, [hwnd]: { jpeg, version } } };
}

function withoutKey(object, key) {
  const { [key]: _gone, ...rest } = object;
  return rest;
}

const reducers = {
  hello(state, data) {
    const workers = {};
    for (const status of data.workers || []) workers[String(status.hwnd)] = status;
    let next = { ...state, workers, capture: data.capture || { available: true }, hellos: state.hellos + 1 };
    const frames = {};
    for (const hwnd of Object.keys(workers)) if (state.frames[hwnd]) frames[hwnd] = state.frames[hwnd];
    next.frames = frames;
    for (const [hwnd, jpeg] of Object.entries(data.frames || {})) next = withFrame(next, hwnd, jpeg);
    const summary = data.summary || {};
    next = { ...next, summary: { ...summary, all_trades: undefined, tickers: summary.tickers || {} } };
    return mergeTrades(next, summary.all_trades || []);
  },
  worker(state, data) {
    const hwnd = String(data.hwnd);
    // `stopped`: the manager let it go; state "stopped": its thread ended on request.
    if (data.stopped || data.state === "stopped") {
      return { ...state, workers: withoutKey(state.workers, hwnd), frames: withoutKey(state.frames, hwnd) };
    }
    return withWorker(state, hwnd, { ...state.workers[hwnd], ...data });
  },
  observation(state, data) {
    const hwnd = String(data.hwnd);
    const status = state.workers[hwnd];
    if (!status) return state;
    return withWorker(state, hwnd, { ...status, last_result: data.last_result });
  },
  frame(state, data) {
    return withFrame(state, String(data.hwnd), data.jpeg_b64);
  },
  trade(state, data) {
    return mergeTrades(state, [data]);
  },
  summary(state, data) {
    return { ...state, summary: { ...state.summary, ...data } };
  },
  bot(state, data) {
    if (data.deleted) return { ...state, bots: withoutKey(state.bots, String(data.bot)) };
    if (!data.bot) return state;
    return { ...state, bots: { ...state.bots, [data.bot]: { ...state.bots[data.bot], ...data } } };
  },
  // Made by the page from HTTP answers:
  bots(state, rows) {
    const bots = {};
    for (const row of rows) bots[row.bot] = row;
    return { ...state, bots };
  },
  trades(state, summary) {
    const next = { ...state, summary: { ...state.summary, ...summary, all_trades: undefined } };
    return mergeTrades(next, summary.all_trades || []);
  },
};

/** The state after one event; unknown types leave it as it was. */
export function reduce(state, event) {
  const reducer = reducers[event?.type];
  return reducer ? reducer(state, event.data ?? {}) : state;
}

/**
 * The board's cards: one per bot (a watched window's, or an upload source's), keyed by
 * bot key. A worker names its bot (`status.bot`); one that names none is keyed by its
 * window id as text.
 */
export function boardKeys(state) {
  const keys = new Set(Object.keys(state.bots));
  for (const [hwnd, status] of Object.entries(state.workers)) keys.add(status.bot || hwnd);
  return [...keys].sort((a, b) => {
    const running = Number(Boolean(workerOf(state, b))) - Number(Boolean(workerOf(state, a)));
    return running || a.localeCompare(b);
  });
}

/** The window id a bot's worker captures (or the bot is bound to), as text; null if none. */
export function hwndOf(state, key) {
  for (const [hwnd, status] of Object.entries(state.workers)) if (status.bot === key) return hwnd;
  if (state.workers[key] && !state.workers[key].bot) return key;
  const bound = state.bots[key]?.hwnd;
  return bound == null ? null : String(bound);
}

/** The status of the worker reading for a bot, if one does. */
export function workerOf(state, key) {
  const hwnd = hwndOf(state, key);
  const status = hwnd == null ? undefined : state.workers[hwnd];
  return status && (status.bot || hwnd) === key ? status : undefined;
}

/** The newest frame of a bot's window, if any. */
export function frameOf(state, key) {
  const hwnd = hwndOf(state, key);
  return hwnd == null ? undefined : state.frames[hwnd];
}

/** A bot's open positions (marked to market) from the latest summary. */
export function openPositionsOf(state, key) {
  return (state.summary.open_positions || []).filter((position) => position.bot === key);
}
