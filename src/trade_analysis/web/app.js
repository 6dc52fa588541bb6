// The live dashboard: the typed event stream (/api/v1/ws) plus a few control calls.
// Everything the server sends is written with textContent, never parsed as HTML.
"use strict";

const state = { key: sessionStorage.getItem("ta-key") || "", socket: null, retry: 0, trades: new Map() };
const $ = (selector) => document.querySelector(selector);

function money(value) {
  return value === null || value === undefined ? "" : Number(value).toFixed(2);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function setState(text, kind) {
  const badge = $("#state");
  badge.textContent = text;
  badge.className = `state ${kind}`;
}

function renderSummary(summary) {
  const total = summary.total_pnl_all_tickers ?? 0;
  $("#total-pnl").textContent = money(total);
  $("#total-pnl").className = `money ${total >= 0 ? "gain" : "loss"}`;
  const body = $("#tickers tbody");
  body.replaceChildren();
  for (const [ticker, t] of Object.entries(summary.tickers || {})) {
    const row = body.insertRow();
    row.dataset.ticker = ticker;
    cell(row, ticker);
    cell(row, t.position);
    cell(row, money(t.entry_price));
    cell(row, money(t.total_pnl), t.total_pnl >= 0 ? "gain" : "loss");
    cell(row, String(t.wins));
    cell(row, String(t.losses));
    cell(row, `${Math.round((t.win_rate || 0) * 100)}%`);
  }
}

function addTrade(trade) {
  if (state.trades.has(trade.id)) return; // hello and the stream may both carry it
  state.trades.set(trade.id, trade);
  const row = $("#trades tbody").insertRow(0);
  row.dataset.tradeId = String(trade.id);
  cell(row, new Date(trade.ts).toLocaleTimeString());
  cell(row, trade.bot);
  cell(row, trade.ticker);
  cell(row, trade.direction);
  cell(row, money(trade.price));
  cell(row, money(trade.profit), trade.profit === null ? "" : trade.profit >= 0 ? "gain" : "loss");
  cell(row, trade.win_reason);
}

function workerCard(hwnd) {
  let card = document.getElementById(`worker-${hwnd}`);
  if (!card) {
    card = document.createElement("div");
    card.id = `worker-${hwnd}`;
    card.className = "worker";
    const img = document.createElement("img");
    img.alt = `window ${hwnd}`;
    const title = document.createElement("div");
    title.className = "title";
    const reading = document.createElement("div");
    reading.className = "reading";
    const meta = document.createElement("div");
    meta.className = "meta";
    const stop = document.createElement("button");
    stop.type = "button";
    stop.textContent = "Stop";
    stop.addEventListener("click", () => control("/stop_multi", { hwnd: Number(hwnd) }));
    card.append(img, title, reading, meta, stop);
    $("#workers").append(card);
  }
  return card;
}

function renderWorker(status) {
  const card = workerCard(status.hwnd);
  if (status.stopped) { card.remove(); return; }
  if (status.target_window) card.querySelector(".title").textContent = status.target_window.title;
  if (status.last_result) renderReading(status.hwnd, status.last_result);
  if (status.state) {
    card.querySelector(".meta").textContent =
      `${status.state} · ${status.capture_method || "-"} · ${status.successful_captures ?? 0} captures`;
  }
}

function renderReading(hwnd, result) {
  const reading = workerCard(hwnd).querySelector(".reading");
  reading.textContent = `${result.ticker || "?"} ${result.price || ""} ${result.trend || ""}`;
  reading.className = `reading trend-${result.trend}`;
}

const handlers = {
  hello(data) {
    $("#workers").replaceChildren();
    $("#trades tbody").replaceChildren();
    state.trades.clear();
    (data.workers || []).forEach(renderWorker);
    for (const [hwnd, jpeg] of Object.entries(data.frames || {})) {
      handlers.frame({ hwnd, jpeg_b64: jpeg });
    }
    renderSummary(data.summary || {});
    (data.summary?.all_trades || []).forEach(addTrade);
  },
  worker: renderWorker,
  observation(data) { renderReading(data.hwnd, data.last_result); },
  frame(data) { workerCard(data.hwnd).querySelector("img").src = `data:image/jpeg;base64,${data.jpeg_b64}`; },
  trade: addTrade,
  summary: renderSummary,
  bot() {},
  error(data) { console.warn("server:", data.detail); },
};

function connect() {
  if (state.socket) state.socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(state.key)}`);
  state.socket = socket;
  setState("connecting", "off");
  socket.onopen = () => { state.retry = 0; setState("live", "on"); };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const handler = handlers[event.type];
    if (handler) handler(event.data);
  };
  socket.onclose = (closed) => {
    if (state.socket !== socket) return;
    if (closed.code === 1008) { setState(closed.reason || "wrong API key", "error"); return; }
    setState("reconnecting", "off");
    state.retry = Math.min(state.retry + 1, 6);
    setTimeout(connect, 500 * 2 ** state.retry);
  };
}

// The typed API: the dashboard is a new client, not one of the original's.
async function control(path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${state.key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(payload.detail || response.statusText);
  return payload;
}

async function listWindows() {
  const list = $("#windows");
  list.replaceChildren();
  try {
    for (const window of await control("/windows")) {
      const item = document.createElement("li");
      const start = document.createElement("button");
      start.type = "button";
      start.textContent = "Watch";
      start.addEventListener("click", () => control("/start_multi", { hwnd: window.hwnd, interval: 1 }));
      item.append(start, ` ${window.title}`);
      list.append(item);
    }
  } catch (error) {
    const item = document.createElement("li");
    item.textContent = String(error.message);
    list.append(item);
  }
}

$("#connect").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("#key").value;
  sessionStorage.setItem("ta-key", state.key);
  connect();
});
$("#refresh-windows").addEventListener("click", listWindows);
if (state.key) { $("#key").value = state.key; connect(); }
