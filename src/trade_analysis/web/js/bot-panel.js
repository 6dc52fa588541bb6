// One bot up close: why this reading (the last changed frame, its crop, the traced series,
// the turning point and the reader's reason), the crop editor, and the bot's rules.

import { ApiError, authedUrl } from "./api.js";
import { $, setText, showErrors } from "./dom.js";
import { botName, cropFromDrag, cropRect, dateTime, fieldErrors, trendLabel } from "./format.js";
import { frameOf, hwndOf, workerOf } from "./store.js";
import { tradeLine } from "./trade-frames.js";

const RULE_NUMBERS = [
  "take_profit", "stop_loss", "sell_after_drops", "reversal_minutes", "cooldown_seconds", "min_reentry_seconds",
];
// A bot's costs; an empty field takes the service's default.
const COST_FIELDS = [
  "fee_percent", "fee_fixed", "slippage_bps", "stake_kind", "stake", "starting_balance", "min_trade_amount",
  "max_trade_amount", "quantity_decimals",
];
// The indicator rules' numbers, by rule; left empty, the server's default applies.
const INDICATOR_NUMBERS = {
  rsi_bollinger: ["rsi_period", "rsi_floor", "rsi_ceiling", "bollinger_period", "bollinger_sigma"],
  slope: ["period", "threshold_pct"],
};
const READING_REFRESH_MS = 2000;
const KEY_STEP = 0.01;

export class BotPanel {
  constructor(app) {
    this.app = app;
    this.key = null;
    this.reading = null;
    this.draft = null; // a crop dragged but not saved
    this.drag = null;
    this.frameVersion = 0;
    this.fetchedAt = 0;
    this.dialog = $("#bot-dialog");
    this.canvas = $("#reading-overlay");
    this.image = $("#reading-frame");
    this.image.addEventListener("load", () => this.draw());
    this.image.addEventListener("error", () => { this.image.hidden = true; this.draw(); });
    this.canvas.addEventListener("pointerdown", (event) => this.startDrag(event));
    this.canvas.addEventListener("pointermove", (event) => this.moveDrag(event));
    this.canvas.addEventListener("pointerup", (event) => this.endDrag(event));
    this.canvas.addEventListener("keydown", (event) => this.nudge(event));
    $("#crop-save").addEventListener("click", () => this.saveCrop(this.draft));
    $("#crop-reset").addEventListener("click", () => this.resetCrop());
    $("#rules").addEventListener("submit", (event) => this.saveRules(event));
    $("#delete-bot").addEventListener("click", () => this.deleteBot());
    this.dialog.addEventListener("close", () => { this.key = null; });
    window.addEventListener("resize", () => this.draw());
  }

  get hwnd() {
    return this.key ? hwndOf(this.app.state, this.key) : null;
  }

  open(key) {
    this.key = key;
    this.reading = null;
    this.draft = null;
    this.frameVersion = frameOf(this.app.state, key)?.version || 0;
    const state = this.app.state;
    setText($("#bot-dialog-title"), botName(key, state.bots[key], workerOf(state, key)));
    setText($("#crop-error"), "");
    const button = $("#delete-bot");
    button.dataset.armed = "";
    setText(button, "Delete bot (its trades stay)");
    this.fillRules(state.bots[key]);
    for (const node of [$("#reading-stage"), $("#crop-tools")]) node.hidden = !this.hwnd;
    this.dialog.showModal();
    this.loadReading();
    this.showNewestTrade(key);
  }

  /** Beside "why this reading": the bot's newest trade and the frames kept with it. */
  showNewestTrade(key) {
    const trade = this.app.state.trades.findLast((t) => t.bot === key);
    $("#bot-trade").hidden = !trade;
    if (!trade) return;
    setText($("#bot-trade-line"), `${tradeLine(trade)} · ${trade.win_reason.replace(/_/g, " ")} · ${dateTime(trade.ts)}`);
    this.app.tradeFrames.fill($("#bot-trade-shots"), $("#bot-trade-status"), trade.id);
  }

  render(state) {
    if (!this.key || !this.dialog.open) return;
    const version = frameOf(state, this.key)?.version || 0;
    if (version !== this.frameVersion && Date.now() - this.fetchedAt > READING_REFRESH_MS) {
      this.frameVersion = version; // the window changed: show the new reading
      this.loadReading();
    } else if (!this.drag) {
      this.draw();
    }
  }

  currentCrop() {
    if (this.draft) return this.draft;
    const worker = workerOf(this.app.state, this.key);
    return worker?.crop || this.app.state.bots[this.key]?.meta?.crop || this.reading?.crop || null;
  }

  async loadReading() {
    const hwnd = this.hwnd;
    this.fetchedAt = Date.now();
    if (!hwnd) {
      setText($("#reading-summary"), "An upload source: its frames come through POST /ingest.");
      setText($("#reading-reason"), "");
      return;
    }
    try {
      this.reading = await this.app.api.get(`/workers/${hwnd}/reading`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) {
        setText($("#reading-status"), `Cannot load the reading: ${error.message}`);
      }
      this.reading = null;
    }
    if (hwnd !== this.hwnd) return; // closed or switched meanwhile
    const reading = this.reading;
    if (!reading) {
      this.image.hidden = true;
      this.image.removeAttribute("src");
      setText($("#reading-summary"), "No frame yet.");
      setText($("#reading-reason"), "");
      setText($("#reading-status"), "The crop can still be drawn on the blank frame below.");
      this.draw();
      return;
    }
    setText($("#reading-summary"), `${trendLabel(reading.trend)} · ${reading.kind || "line"} chart · confidence ${Math.round((reading.confidence || 0) * 100)}%`);
    setText($("#reading-reason"), reading.reason || "");
    setText($("#reading-status"), `Frame of ${reading.width}\u00d7${reading.height} px read ${dateTime(reading.timestamp)}.`);
    this.image.hidden = false;
    this.image.alt = `The last changed frame of ${$("#bot-dialog-title").textContent}`;
    const url = new URL(authedUrl(`/api/v1/workers/${hwnd}/frame`, await this.app.api.urlToken()));
    url.searchParams.set("at", reading.timestamp); // a new frame is a new URL; the same one is cached
    this.image.src = url.href;
  }

  // -- drawing --------------------------------------------------------------------

  draw() {
    if (!this.key || !this.hwnd) return;
    const canvas = this.canvas;
    const stage = $("#reading-stage");
    const width = stage.clientWidth || 320;
    const ratio = this.reading ? this.reading.height / this.reading.width : 0.625;
    const height = this.image.hidden || !this.image.complete ? Math.round(width * ratio) : this.image.clientHeight || Math.round(width * ratio);
    stage.style.height = `${height}px`;
    const scale = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * scale) || canvas.height !== Math.round(height * scale)) {
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const context = canvas.getContext("2d");
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.clearRect(0, 0, width, height);
    const crop = this.currentCrop();
    if (crop) this.drawCrop(context, crop, width, height);
    if (this.reading) this.drawSeries(context, width, height);
    const shown = crop ? ["left", "right", "top", "bottom"].map((edge) => `${edge} ${Number(crop[edge] || 0).toFixed(2)}`).join(" · ") : "default crop";
    setText($("#crop-text"), `${this.draft ? "New crop" : "Crop"}: ${shown}`);
    $("#crop-save").disabled = !this.draft;
    $("#crop-reset").hidden = !this.draft;
    canvas.dataset.crop = crop ? JSON.stringify(crop) : "";
  }

  drawCrop(context, crop, width, height) {
    const kept = cropRect(crop, width, height);
    context.fillStyle = "rgba(0, 0, 0, 0.35)"; // what the reader does not see
    context.fillRect(0, 0, width, kept.y);
    context.fillRect(0, kept.y + kept.height, width, height - kept.y - kept.height);
    context.fillRect(0, kept.y, kept.x, kept.height);
    context.fillRect(kept.x + kept.width, kept.y, width - kept.x - kept.width, kept.height);
    context.setLineDash([6, 4]);
    context.lineWidth = 2;
    context.strokeStyle = this.draft ? "#f59e0b" : "#0ea5e9";
    context.strokeRect(kept.x, kept.y, kept.width, kept.height);
    context.setLineDash([]);
  }

  drawSeries(context, width, height) {
    const { points, turning_point: turning } = this.reading;
    const sx = width / this.reading.width;
    const sy = height / this.reading.height;
    if (points?.length) {
      context.lineJoin = "round";
      for (const [stroke, lineWidth] of [["#ffffff", 5], ["#d946ef", 2.5]]) {
        context.beginPath();
        points.forEach(([x, y], i) => (i ? context.lineTo(x * sx, y * sy) : context.moveTo(x * sx, y * sy)));
        context.strokeStyle = stroke;
        context.lineWidth = lineWidth;
        context.stroke();
      }
    }
    if (turning) {
      const [x, y] = [turning[0] * sx, turning[1] * sy];
      context.beginPath();
      context.arc(x, y, 7, 0, Math.PI * 2);
      context.lineWidth = 3;
      context.strokeStyle = "#f59e0b";
      context.stroke();
      context.font = "bold 12px system-ui, sans-serif";
      context.lineWidth = 3;
      context.strokeStyle = "#fff"; // a halo: readable on light and dark charts
      context.strokeText("turning point", x + 10, y - 10);
      context.fillStyle = "#111";
      context.fillText("turning point", x + 10, y - 10);
    }
  }

  // -- the crop editor ------------------------------------------------------------

  pointerAt(event) {
    const box = this.canvas.getBoundingClientRect();
    return [Math.min(Math.max(0, event.clientX - box.left), box.width), Math.min(Math.max(0, event.clientY - box.top), box.height), box];
  }

  startDrag(event) {
    const [x, y] = this.pointerAt(event);
    this.drag = { x, y };
    this.canvas.setPointerCapture(event.pointerId);
  }

  moveDrag(event) {
    if (!this.drag) return;
    const [x, y, box] = this.pointerAt(event);
    if (Math.abs(x - this.drag.x) < 4 && Math.abs(y - this.drag.y) < 4) return;
    this.draft = cropFromDrag(this.drag.x, this.drag.y, x, y, box.width, box.height);
    this.draw();
  }

  endDrag(event) {
    this.moveDrag(event);
    this.drag = null;
  }

  nudge(event) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const move = moves[event.key];
    if (!move) {
      if (event.key === "Enter" && this.draft) this.saveCrop(this.draft);
      return;
    }
    event.preventDefault();
    const crop = { left: 0, right: 0, top: 0, bottom: 0, ...this.currentCrop() };
    const [dx, dy] = move;
    const clamp = (value) => Math.round(Math.min(0.95, Math.max(0, value)) * 10000) / 10000;
    if (event.shiftKey) {
      crop.right = clamp(crop.right - dx * KEY_STEP);
      crop.bottom = clamp(crop.bottom - dy * KEY_STEP);
    } else {
      crop.left = clamp(crop.left + dx * KEY_STEP);
      crop.top = clamp(crop.top + dy * KEY_STEP);
    }
    this.draft = crop;
    this.draw();
  }

  async saveCrop(crop) {
    if (!crop || !this.hwnd) return;
    const hwnd = this.hwnd;
    try {
      const answer = await this.app.api.post(`/workers/${hwnd}/crop`, crop);
      setText($("#crop-error"), "");
      setText($("#reading-status"), `Saved: ${answer.detail}.`);
      this.draft = null;
      // Shown at once; the worker's next status and /bots say the same.
      const meta = { ...this.app.state.bots[this.key]?.meta, crop };
      this.app.dispatch({ type: "bot", data: { bot: this.key, hwnd: Number(hwnd), meta } });
      const worker = workerOf(this.app.state, this.key);
      if (worker) this.app.dispatch({ type: "worker", data: { hwnd, crop } });
      this.app.refreshBotsSoon();
      this.draw();
    } catch (error) {
      const errors = fieldErrors(error.detail);
      setText($("#crop-error"), Object.entries(errors).map(([field, message]) => (field ? `${field}: ${message}` : message)).join("; "));
    }
  }

  resetCrop() {
    this.draft = null; // back to the crop in effect
    this.draw();
  }

  // -- rules ------------------------------------------------------------------------

  fillRules(bot) {
    const form = $("#rules");
    const meta = bot?.meta || {};
    const rules = meta.rules || {};
    for (const name of RULE_NUMBERS) form.elements[name].value = rules[name] ?? "";
    form.elements.market_hours_only.checked = Boolean(rules.market_hours_only);
    form.elements.first_cycle.checked = rules.first_cycle !== false;
    const costs = meta.costs || {};
    for (const name of COST_FIELDS) form.elements[name].value = costs[name] ?? "";
    form.elements.title_pattern.value = meta.title_pattern || "";
    form.elements.ocr.checked = Boolean(meta.ocr);
    const indicators = meta.indicators || {};
    form.elements.signal.value = meta.indicators ? indicators.signal || "indicators" : "trend";
    for (const [rule, names] of Object.entries(INDICATOR_NUMBERS)) {
      form.elements[rule].checked = Boolean(indicators[rule]);
      for (const name of names) form.elements[name].value = indicators[rule]?.[name] ?? "";
    }
    showErrors(form, {});
    setText(form.querySelector("[data-ok]"), "");
  }

  async saveRules(event) {
    event.preventDefault();
    const form = event.target;
    const rules = {
      market_hours_only: form.elements.market_hours_only.checked,
      first_cycle: form.elements.first_cycle.checked,
    };
    const costs = {};
    for (const [fields, into] of [[RULE_NUMBERS, rules], [COST_FIELDS, costs]]) {
      for (const name of fields) {
        const text = form.elements[name].value.trim();
        into[name] = text === "" ? null : text; // the server parses and says what is wrong
      }
    }
    const anyCost = Object.values(costs).some((value) => value !== null);
    const body = {
      rules, costs: anyCost ? costs : null, title_pattern: form.elements.title_pattern.value,
      ocr: form.elements.ocr.checked, indicators: indicatorSettings(form),
    };
    const ok = form.querySelector("[data-ok]");
    setText(ok, "");
    try {
      const saved = await this.app.api.put(`/bots/${encodeURIComponent(this.key)}/settings`, body);
      showErrors(form, {});
      setText(ok, saved.applied_to_running_worker ? "Saved and applied to the running worker." : "Saved.");
      this.app.dispatch({ type: "bot", data: { bot: this.key, meta: saved.meta } }); // what is saved now
    } catch (error) {
      showErrors(form, fieldErrors(error.detail));
    }
  }

  async deleteBot() {
    const button = $("#delete-bot");
    if (!button.dataset.armed) {
      button.dataset.armed = "yes"; // a second press confirms; no blocking confirm() box
      setText(button, "Press again to delete");
      return;
    }
    try {
      await this.app.api.remove(`/bots/${encodeURIComponent(this.key)}`);
      this.app.dispatch({ type: "bot", data: { bot: this.key, deleted: true } });
      this.dialog.close();
    } catch (error) {
      showErrors($("#rules"), { "": error.message });
    }
  }
}

/** The indicator rules as the form gives them: null (none) when the bot trades on the trend
 * and no rule is ticked; empty numbers are left out, so the server's defaults apply. */
function indicatorSettings(form) {
  const signal = form.elements.signal.value;
  const settings = { signal };
  for (const [rule, names] of Object.entries(INDICATOR_NUMBERS)) {
    if (!form.elements[rule].checked) continue;
    settings[rule] = {};
    for (const name of names) {
      const text = form.elements[name].value.trim();
      if (text !== "") settings[rule][name] = text; // the server parses and says what is wrong
    }
  }
  const anyRule = Object.keys(INDICATOR_NUMBERS).some((rule) => rule in settings);
  return signal === "trend" && !anyRule ? null : settings;
}
