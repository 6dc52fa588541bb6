// Pure formatting and table helpers: values in, text out. No DOM, no clock of their own
// (callers pass `now`), so node's test runner checks them as tables (tests/web/js/).

const MINUS = "\u2212"; // a real minus sign: as wide as "+", and read aloud as "minus"

/** Digits after the point, at least `min` (the currency's 2), at most 8. */
export function decimalsOf(value, min = 2) {
  const text = String(value);
  const point = text.indexOf(".");
  if (point < 0 || /e/i.test(text)) return min;
  return Math.min(8, Math.max(min, text.length - point - 1));
}

// The dashboard writes numbers one way whatever the browser's language (1,234.56, as the
// README and the API show them); Intl does the rounding, grouping and sign.
const numberFormats = new Map();

function numberFormat(decimals, signDisplay) {
  const key = `${decimals}:${signDisplay}`;
  let format = numberFormats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
      signDisplay, // "negative": no "-0.00"; "exceptZero": "+" too, and 0.00 bare
    });
    numberFormats.set(key, format);
  }
  return format;
}

const withMinus = (text) => text.replace("-", MINUS);

function isNothing(value) {
  return value === null || value === undefined || value === "" || Number.isNaN(Number(value));
}

/** A price or amount: `1,234.56`; "" for nothing. Keeps extra decimals a price was read with. */
export function money(value, min = 2) {
  if (isNothing(value)) return "";
  return withMinus(numberFormat(decimalsOf(value, min), "negative").format(Number(value)));
}

/** A gain or loss with its sign always shown, so it reads without colour: `+4.25`, `−3.00`. */
export function signedMoney(value) {
  if (value === null || value === undefined) return "";
  return withMinus(numberFormat(2, "exceptZero").format(Number(value)));
}

/** A percentage with its sign: `+50.00%`. */
export function signedPercent(value) {
  if (value === null || value === undefined) return "";
  return `${signedMoney(value)}%`;
}

/** "gain", "loss" or "even": a class for colour, never the only cue (the sign is in the text). */
export function pnlClass(value) {
  const number = Number(value);
  if (!number) return "even";
  return number > 0 ? "gain" : "loss";
}

const ARROWS = { up: "\u25B2 up", down: "\u25BC down", none: "\u25AC flat" };

/** The trend as an arrow and a word. */
export function trendLabel(trend) {
  return ARROWS[trend] || "\u2013";
}

/** How long: `45s`, `12m 05s`, `3h 07m`, `2d 4h`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "";
  const total = Math.max(0, Math.floor(Number(seconds)));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (days) return `${days}d ${hours}h`;
  if (hours) return `${hours}h ${two(minutes)}m`;
  if (minutes) return `${minutes}m ${two(secs)}s`;
  return `${secs}s`;
}

const dateTimeFormat = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** A wire time (`2026-03-02T15:00:05Z`) as local `2026-03-02 15:00:05`: always with the date. */
export function dateTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  const part = Object.fromEntries(dateTimeFormat.formatToParts(when).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
}

/** Win rate as a percentage, or "" when nothing closed yet (no trade is not 0%). */
export function winRate(wins, losses) {
  const closed = (wins || 0) + (losses || 0);
  if (!closed) return "";
  return `${Math.round(((wins || 0) / closed) * 100)}%`;
}

/** What a bot is called on screen: its name or window title, never a raw window id. */
export function botName(key, bot, worker) {
  const title = worker?.target_window?.title || worker?.title;
  const name = bot?.name || title;
  if (name) return name;
  if (/^\d+$/.test(String(key))) return "untitled window";
  return String(key);
}

/** A worker's state in words: "running", "window gone", "lagging", ... */
export function workerState(status) {
  if (!status) return "not captured";
  if (status.state === "window_gone") return "window gone";
  if (status.state === "running" && status.max_lag_seconds > Math.max(1, status.interval || 1)) {
    return "lagging";
  }
  return (status.state || (status.is_running ? "running" : "stopped")).replace(/_/g, " ");
}

/** Rows matching a filter `{bot, ticker, side, from, to}` (dates as YYYY-MM-DD, inclusive). */
export function filterTrades(trades, filter) {
  const ticker = (filter.ticker || "").trim().toUpperCase();
  const from = filter.from ? `${filter.from}T00:00:00` : "";
  const to = filter.to ? `${filter.to}T23:59:59.999` : "";
  return trades.filter((trade) => {
    if (filter.bot && trade.bot !== filter.bot) return false;
    if (ticker && trade.ticker !== ticker) return false;
    if (filter.side && trade.direction !== filter.side) return false;
    if (from || to) {
      const local = dateTime(trade.ts).replace(" ", "T");
      if (from && local < from) return false;
      if (to && local > to) return false;
    }
    return true;
  });
}

/** One page of rows (newest first) and the page count. */
export function pageOf(rows, index, size) {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const page = Math.min(Math.max(0, index), pages - 1);
  return { rows: rows.slice(page * size, page * size + size), page, pages };
}

// Text a spreadsheet would run as a formula (OWASP's list of leading characters).
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text starting as a formula, with a single quote before it (OWASP): shown, never run.
 *  Numbers are left as they are, so -3 stays a number a spreadsheet can add up. */
export function neutralised(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  const text = String(value);
  return FORMULA_START.test(text) ? `'${text}` : text;
}

function csvField(value) {
  const text = neutralised(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text (RFC 4180) of `rows` with `columns` as the header. */
export function toCsv(columns, rows) {
  const lines = [columns.map(csvField).join(",")];
  for (const row of rows) lines.push(columns.map((column) => csvField(row[column])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** Cumulative realised P&L after each sell, in time order: `[seconds[], pnl[]]` for uPlot. */
export function equitySeries(trades) {
  if (!trades.length) return [[], []];
  const sells = trades
    .filter((trade) => trade.direction === "sell" && trade.profit !== null && trade.profit !== undefined)
    .map((trade) => [Date.parse(trade.ts) / 1000, Number(trade.profit), trade.id])
    .sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  if (!sells.length) return [[], []];
  // It starts at 0 when trading started, so the first sell already draws a line.
  const start = Math.min(...trades.map((trade) => Date.parse(trade.ts) / 1000), sells[0][0] - 1);
  const xs = [start === sells[0][0] ? start - 1 : start];
  const ys = [0];
  let total = 0;
  for (const [at, profit] of sells) {
    total = Math.round((total + profit) * 1e8) / 1e8;
    if (xs.length && xs[xs.length - 1] === at) {
      ys[ys.length - 1] = total; // uPlot needs strictly increasing x: one point per second
    } else {
      xs.push(at);
      ys.push(total);
    }
  }
  return [xs, ys];
}

const clamp01 = (value) => Math.min(1, Math.max(0, value));
const round4 = (value) => Math.round(value * 10000) / 10000;

/** The crop (fractions cut from each edge) of a rectangle dragged on a `width` x `height` frame. */
export function cropFromDrag(x0, y0, x1, y1, width, height) {
  const left = clamp01(Math.min(x0, x1) / width);
  const right = clamp01(1 - Math.max(x0, x1) / width);
  const top = clamp01(Math.min(y0, y1) / height);
  const bottom = clamp01(1 - Math.max(y0, y1) / height);
  return { left: round4(left), right: round4(right), top: round4(top), bottom: round4(bottom) };
}

/** The rectangle a crop keeps, in pixels of a `width` x `height` frame. */
export function cropRect(crop, width, height) {
  const x = (crop?.left || 0) * width;
  const y = (crop?.top || 0) * height;
  return {
    x,
    y,
    width: Math.max(0, width * (1 - (crop?.right || 0)) - x),
    height: Math.max(0, height * (1 - (crop?.bottom || 0)) - y),
  };
}

/** A 4xx answer's `detail` as messages per field: `{stop_loss: "..."}`, or `{"": text}`. */
export function fieldErrors(detail) {
  if (typeof detail === "string") return { "": detail };
  const errors = {};
  for (const item of Array.isArray(detail) ? detail : []) {
    const location = Array.isArray(item.loc) ? item.loc.filter((part) => part !== "body") : [];
    const field = location.length ? String(location[location.length - 1]) : "";
    const message = String(item.msg || "invalid").replace(/^Value error, /, "");
    errors[field] = errors[field] ? `${errors[field]}; ${message}` : message;
  }
  return Object.keys(errors).length ? errors : { "": "the server refused this" };
}
