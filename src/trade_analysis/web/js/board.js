// The bots board: a card per watched window or upload source, the window picker, stop all.

import { $, el, setClass, setText } from "./dom.js";
import {
  botName, money, pnlClass, signedMoney, signedPercent, duration, trendLabel, workerState,
} from "./format.js";
import { boardKeys, frameOf, hwndOf, openPositionsOf, workerOf } from "./store.js";

const FACTS = [
  ["ticker", "Ticker"],
  ["price", "Price"],
  ["trend", "Trend"],
  ["kind", "Chart"],
  ["confidence", "Confidence"],
  ["position", "Position"],
  ["unrealised", "Unrealised"],
  ["realised", "Realised"],
  ["state", "Worker"],
];
const NUMERIC_FACTS = new Set(["price", "confidence", "realised"]);

export class BoardView {
  constructor(app) {
    this.app = app;
    this.cards = new Map(); // bot key -> {root, parts, image}
    $("#open-picker").addEventListener("click", () => this.togglePicker());
    $("#watch-selected").addEventListener("click", () => this.watchSelected());
    $("#stop-all").addEventListener("click", () => this.stopAll());
  }

  renderTotals(state) {
    const { summary } = state;
    const realised = summary.realised_pnl ?? summary.total_pnl_all_tickers ?? 0;
    const unrealised = summary.unrealised_pnl ?? 0;
    for (const [selector, value] of [
      ["#total-pnl", realised], ["#trades-realised", realised],
      ["#total-unrealised", unrealised], ["#trades-unrealised", unrealised],
    ]) {
      const node = $(selector);
      setText(node, signedMoney(value));
      setClass(node, `num ${pnlClass(value)}`);
    }
  }

  render(state) {
    const keys = boardKeys(state);
    const container = $("#cards");
    for (const [key, card] of this.cards) {
      if (!keys.includes(key)) {
        card.root.remove();
        this.cards.delete(key);
      }
    }
    keys.forEach((key, index) => {
      const card = this.cards.get(key) || this.createCard(key);
      if (container.children[index] !== card.root) container.insertBefore(card.root, container.children[index] || null);
      this.fillCard(card, key, state);
    });
    $("#board-empty").hidden = keys.length > 0;
  }

  createCard(key) {
    const parts = {};
    const facts = el("dl", { class: "facts" });
    for (const [name, label] of FACTS) {
      parts[name] = el("dd");
      const numeric = NUMERIC_FACTS.has(name) ? " numeric" : "";
      facts.append(el("div", { class: `fact fact-${name}${numeric}` }, el("dt", {}, label), parts[name]));
    }
    parts.thumb = el("img", { class: "thumb", alt: "" });
    parts.name = el("h3", { class: "name" });
    parts.interval = el("input", {
      type: "number", min: "0.5", step: "0.5", value: "1", class: "interval", inputmode: "decimal",
      "aria-label": "seconds between captures",
      onchange: () => this.changeInterval(key, parts.interval.value),
    });
    parts.toggle = el("button", { type: "button", class: "toggle", onclick: () => this.toggleWorker(key) });
    parts.open = el("button", {
      type: "button", class: "open-panel", onclick: () => this.app.openPanel(key),
    }, "Why · crop · rules");
    parts.error = el("p", { class: "error", role: "alert" });
    const root = el(
      "article", { class: "card", dataset: { bot: key } },
      el("div", { class: "thumb-box" }, parts.thumb),
      parts.name,
      facts,
      el("div", { class: "actions" },
        el("label", { class: "every" }, "Every ", parts.interval, " s"), parts.toggle, parts.open),
      parts.error,
    );
    const card = { root, parts, image: "" };
    this.cards.set(key, card);
    return card;
  }

  fillCard(card, key, state) {
    const { parts } = card;
    const worker = workerOf(state, key);
    const bot = state.bots[key];
    const result = worker?.last_result;
    const name = botName(key, bot, worker);
    setText(parts.name, name);
    parts.thumb.alt = `Newest frame of ${name}`;
    parts.toggle.setAttribute("aria-label", `${worker ? "Stop" : "Start"} capturing ${name}`);
    parts.open.setAttribute("aria-label", `Why this reading, crop and rules of ${name}`);
    const frame = frameOf(state, key);
    // A window's newest frame, else an upload source's newest image.
    const reading = bot?.last_reading;
    const image = frame ? `frame:${frame.version}` : reading?.image_url || "";
    if (image && image !== card.image) {
      card.image = image; // a new image only when the window changed or a new upload came
      parts.thumb.src = frame ? `data:image/jpeg;base64,${frame.jpeg}` : this.app.api.imageUrl(reading.image_url);
    }
    const ticker = result?.ticker || reading?.ticker || bot?.ticker || "";
    setText(parts.ticker, ticker || "\u2013");
    const held = openPositionsOf(state, key);
    const lastPrice = result?.price_value ?? reading?.price ?? held[0]?.last_price ?? state.summary.tickers?.[ticker]?.bots?.[key]?.last_price;
    setText(parts.price, lastPrice != null ? money(lastPrice) : "\u2013");
    const trend = result?.trend || reading?.trend;
    setText(parts.trend, trend ? trendLabel(trend) : "\u2013");
    setClass(parts.trend, trend ? `trend-${trend}` : "");
    setText(parts.kind, result?.kind || "line");
    const confidence = result ? result.confidence : reading?.confidence;
    setText(parts.confidence, confidence != null ? `${Math.round(confidence * 100)}%` : "\u2013");
    if (held.length) {
      // Every open position of the bot, one line each.
      const lines = held.map((p) => `long ${p.ticker} @ ${money(p.entry_price)} · ${duration(p.open_seconds)}`);
      if (parts.position.dataset.lines !== lines.join("\n")) {
        parts.position.dataset.lines = lines.join("\n");
        parts.position.replaceChildren(...lines.map((line) => el("span", { class: "held" }, line)));
      }
      const unrealised = held.reduce((sum, p) => sum + Number(p.unrealised_pnl), 0);
      const percent = held.length === 1 ? ` (${signedPercent(held[0].unrealised_pct)})` : "";
      setText(parts.unrealised, `${signedMoney(unrealised)}${percent}`);
      setClass(parts.unrealised, pnlClass(unrealised));
    } else {
      delete parts.position.dataset.lines;
      setText(parts.position, "flat");
      setText(parts.unrealised, "\u2013");
      setClass(parts.unrealised, "");
    }
    const realised = bot?.total_pnl ?? 0;
    setText(parts.realised, signedMoney(realised));
    setClass(parts.realised, pnlClass(realised));
    const waits = bot?.state === "waiting_for_window" || bot?.state === "paused";
    const words = worker ? workerState(worker) : waits ? bot.state.replace(/_/g, " ") : bot?.hwnd != null || bot?.stem ? "stopped" : "upload source";
    setText(parts.state, words);
    setClass(parts.state, `worker-${words.replace(/\s+/g, "-")}`);
    setClass(card.root, `card ${worker ? "watching" : "idle"} worker-${words.replace(/\s+/g, "-")}`);
    const isWindow = hwndOf(state, key) != null;
    parts.toggle.hidden = !isWindow;
    parts.interval.parentElement.hidden = !isWindow;
    parts.thumb.parentElement.hidden = !isWindow && !image;
    setText(parts.toggle, worker ? "Stop" : "Start");
    if (worker?.interval && document.activeElement !== parts.interval) {
      parts.interval.value = String(worker.interval);
    }
  }

  async toggleWorker(key) {
    const card = this.cards.get(key);
    const running = Boolean(workerOf(this.app.state, key));
    const hwnd = Number(hwndOf(this.app.state, key));
    try {
      if (running) await this.app.api.post("/stop_multi", { hwnd });
      else await this.app.api.post("/start_multi", { hwnd, interval: Number(card.parts.interval.value) || 1 });
      setText(card.parts.error, "");
    } catch (error) {
      setText(card.parts.error, error.message);
    }
  }

  async changeInterval(key, value) {
    const card = this.cards.get(key);
    if (!workerOf(this.app.state, key)) return; // used when it starts
    try {
      await this.app.api.post("/start_multi", { hwnd: Number(hwndOf(this.app.state, key)), interval: Number(value) });
      setText(card.parts.error, "");
    } catch (error) {
      setText(card.parts.error, typeof error.detail === "string" ? error.detail : "interval must be at least 0.5 s");
    }
  }

  async togglePicker() {
    const picker = $("#picker");
    const button = $("#open-picker");
    picker.hidden = !picker.hidden;
    button.setAttribute("aria-expanded", String(!picker.hidden));
    if (!picker.hidden) await this.listWindows();
  }

  async listWindows() {
    const list = $("#windows");
    const status = $("#picker-status");
    // Nothing to watch until windows are listed: no display, or none on it, offers no button.
    const actions = $("#picker-actions");
    actions.hidden = true;
    setText(status, "Looking for windows\u2026");
    list.replaceChildren();
    let windows;
    try {
      windows = await this.app.api.get("/windows");
    } catch (error) {
      setText(status, error.message);
      return;
    }
    setText(status, windows.length ? `${windows.length} window(s)` : "No capturable window on this desktop.");
    actions.hidden = !windows.length;
    for (const window of windows) {
      const watching = Boolean(this.app.state.workers[String(window.hwnd)]);
      const id = `pick-${window.hwnd}`;
      list.append(el("li", { class: watching ? "watching" : "" },
        el("input", { type: "checkbox", id, value: String(window.hwnd), disabled: watching }),
        el("label", { for: id },
          el("span", { class: "preview", "aria-hidden": "true" },
            el("span", { class: "preview-box" })),
          el("span", { class: "window-title" }, window.title),
          el("span", { class: "muted" }, ` ${window.width}\u00d7${window.height}${window.process ? ` \u00b7 ${window.process}` : ""}${watching ? " \u00b7 watching" : ""}`))));
      const box = list.lastElementChild.querySelector(".preview-box");
      // The window's shape at once, its pixels when the preview arrives.
      const scale = 48 / Math.max(window.width, window.height, 1);
      box.style.width = `${Math.max(4, Math.round(window.width * scale))}px`;
      box.style.height = `${Math.max(4, Math.round(window.height * scale))}px`;
      this.showPreview(window.hwnd, list.lastElementChild.querySelector(".preview"));
    }
  }

  async showPreview(hwnd, slot) {
    try {
      const { jpeg_b64: jpeg } = await this.app.api.get(`/windows/${hwnd}/preview`);
      slot.replaceChildren(el("img", { src: `data:image/jpeg;base64,${jpeg}`, alt: "" }));
    } catch (error) {
      slot.title = error.message; // gone meanwhile: the shape stays
    }
  }

  async watchSelected() {
    const interval = Number($("#picker-interval").value) || 1;
    const chosen = [...document.querySelectorAll("#windows input:checked")].map((box) => Number(box.value));
    const status = $("#picker-status");
    if (!chosen.length) {
      setText(status, "Tick one or more windows first.");
      return;
    }
    const failures = [];
    await Promise.all(chosen.map(async (hwnd) => {
      try {
        await this.app.api.post("/start_multi", { hwnd, interval });
      } catch (error) {
        failures.push(error.message);
      }
    }));
    setText(status, failures.length ? failures.join("; ") : `Watching ${chosen.length} window(s).`);
    if (!failures.length) {
      $("#picker").hidden = true;
      $("#open-picker").setAttribute("aria-expanded", "false");
    }
  }

  async stopAll() {
    try {
      await this.app.api.post("/stop_all_workers", {});
    } catch (error) {
      setText($("#picker-status"), error.message);
    }
  }
}
