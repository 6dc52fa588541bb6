// Statistics: P&L by period, win rate, profit factor, drawdown and signal skill per bot
// (GET /stats), the equity curve with its drawdown, and a bot's prices with its trades.

import { $, el, numberCell, setText, showErrors } from "./dom.js";
import { botName, duration, fieldErrors, money, pnlClass, signedMoney } from "./format.js";
import { loadChartLibrary } from "./chart.js";
import { chartTickers, equityChart, priceChart, profitFactor, rate, skillText } from "./stats-data.js";
import { workerOf } from "./store.js";

const HEIGHT = 240;
// After a trade, the figures are read again once things settle.
const RELOAD_AFTER_MS = 800;

const moneyAxis = { values: (_u, ticks) => ticks.map((v) => signedMoney(v)), size: 70 };

export class StatsView {
  constructor(app) {
    this.app = app;
    this.answer = null;
    this.chart = null; // the chosen bot's /stats answer, with its prices and trades
    this.bot = "";
    this.equityPlot = null;
    this.pricePlot = null;
    this.drawn = { trades: null, bots: null };
    $("#stats-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    $("#stats-price-ticker").addEventListener("change", () => this.renderPrices());
    window.addEventListener("resize", () => this.resize());
  }

  shown() {
    this.load();
  }

  render(state) {
    if (this.drawn.bots !== state.bots) this.fillBotChoices(state);
    if (this.drawn.trades !== null && this.drawn.trades !== state.trades) {
      clearTimeout(this.reloadTimer); // a new trade: the figures changed
      this.reloadTimer = setTimeout(() => this.app.view === "stats" && this.load(), RELOAD_AFTER_MS);
    }
    this.drawn = { trades: state.trades, bots: state.bots };
  }

  nameOf(key) {
    const state = this.app.state;
    return botName(key, state.bots[key], workerOf(state, key));
  }

  fillBotChoices(state) {
    const select = $("#stats-filter select[name=bot]");
    const chosen = select.value;
    const keys = Object.keys(state.bots).sort();
    select.replaceChildren(select.options[0], ...keys.map((key) => el("option", { value: key }, this.nameOf(key))));
    select.value = keys.includes(chosen) ? chosen : "";
  }

  query(bot) {
    const form = $("#stats-filter");
    const value = (name) => form.elements[name].value.trim();
    const day = (text, time) => (text ? new Date(`${text}T${time}`).toISOString() : "");
    return {
      bot,
      ticker: value("ticker").toUpperCase(),
      from: day(value("from"), "00:00:00"),
      to: day(value("to"), "23:59:59.999"),
      period: value("period"),
      horizon: value("horizon"),
    };
  }

  async load() {
    const form = $("#stats-filter");
    const bot = form.elements.bot.value;
    try {
      this.answer = await this.app.api.get("/stats", this.query(bot));
      const charted = bot || this.bot || this.answer.bots[0]?.bot || "";
      this.chart = charted ? await this.app.api.get("/stats", this.query(charted)) : null;
      this.bot = charted;
    } catch (error) {
      showErrors(form, fieldErrors(error.detail));
      return;
    }
    showErrors(form, {});
    this.renderTotals();
    this.renderBots();
    this.renderPeriods();
    this.renderEquity();
    this.renderPrices(true);
  }

  async chartBot(bot) {
    this.bot = bot;
    try {
      this.chart = await this.app.api.get("/stats", this.query(bot));
    } catch (error) {
      showErrors($("#stats-filter"), fieldErrors(error.detail));
      return;
    }
    this.renderPrices(true);
  }

  renderTotals() {
    const overall = this.answer.overall;
    for (const [id, value] of [["#stats-realised", overall.realised_pnl], ["#stats-marked", overall.marked_pnl]]) {
      const node = $(id);
      setText(node, signedMoney(value));
      node.className = `num ${pnlClass(value)}`;
    }
    setText($("#stats-drawdown"), money(overall.max_drawdown));
  }

  renderBots() {
    const skills = new Map(this.answer.skill.map((skill) => [skill.bot, skill]));
    const bots = this.answer.bots.map((figures) => figures.bot);
    for (const bot of skills.keys()) if (!bots.includes(bot)) bots.push(bot); // readings, no trades
    const byBot = new Map(this.answer.bots.map((figures) => [figures.bot, figures]));
    const rows = bots.map((bot) => {
      const f = byBot.get(bot);
      const skill = skills.get(bot);
      const exits = f ? Object.entries(f.exits_by_reason).map(([why, n]) => `${why.replace(/_/g, " ")} ${n}`).join(", ") : "";
      const beats = skill?.judged ? (skill.edge > 0 ? "gain" : "loss") : "";
      return el("tr", { dataset: { bot } },
        el("td", {}, f?.name || this.nameOf(bot)),
        numberCell(f ? String(f.closed_trades) : "0"),
        numberCell(f ? String(f.open_trades) : "0"),
        numberCell(f ? rate(f.win_rate) : ""),
        numberCell(f ? signedMoney(f.realised_pnl) : "", f ? pnlClass(f.realised_pnl) : ""),
        numberCell(f ? signedMoney(f.marked_pnl) : "", f ? pnlClass(f.marked_pnl) : ""),
        numberCell(f ? money(f.average_win) : ""),
        numberCell(f ? money(f.average_loss) : ""),
        numberCell(f ? profitFactor(f) : ""),
        numberCell(f && f.expectancy !== null ? signedMoney(f.expectancy) : ""),
        numberCell(f ? money(f.max_drawdown) : ""),
        numberCell(f ? duration(f.average_holding_seconds) : ""),
        numberCell(f ? money(f.fees) : ""),
        el("td", {}, exits),
        numberCell(skillText(skill), beats),
        el("td", {}, el("button", { type: "button", onclick: () => this.chartBot(bot), "aria-label": `Chart ${this.nameOf(bot)}` }, "Chart")));
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "16", class: "muted" }, "No trade or reading in this window.")));
    $("#stats-bots tbody").replaceChildren(...rows);
  }

  renderPeriods() {
    const rows = this.answer.overall.periods.map((p) => el("tr", { dataset: { start: p.start } },
      el("td", {}, p.start),
      numberCell(String(p.closed_trades)),
      numberCell(String(p.wins)),
      numberCell(String(p.losses)),
      numberCell(signedMoney(p.realised_pnl), pnlClass(p.realised_pnl)),
      numberCell(signedMoney(p.marked_pnl), pnlClass(p.marked_pnl)),
      numberCell(money(p.fees))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "Nothing in this window.")));
    $("#stats-periods tbody").replaceChildren(...rows);
  }

  async plot(name, box, data, series, axes) {
    if (!window.uPlot) await loadChartLibrary();
    if (this[name]) {
      this[name].destroy();
      this[name] = null;
    }
    if (!data[0].length) return;
    this[name] = new window.uPlot({
      width: Math.max(240, box.clientWidth || 600),
      height: HEIGHT,
      scales: { x: { time: true } },
      series: [{}, ...series],
      axes,
      legend: { show: true },
    }, data, box);
  }

  renderEquity() {
    const data = equityChart(this.answer.equity);
    const box = $("#stats-equity");
    box.hidden = data[0].length === 0;
    $("#stats-equity-empty").hidden = data[0].length > 0;
    // What the chart shows, for a reader of the page (and its tests).
    box.dataset.points = String(data[0].length);
    box.dataset.last = String(data[1].at(-1) ?? "");
    box.dataset.maxDrawdown = String(this.answer.overall.max_drawdown);
    const value = (_u, v) => (v == null ? "" : signedMoney(v));
    this.plot("equityPlot", box, data, [
      { label: "Realised", stroke: "#2563eb", width: 2, value },
      { label: "Marked to market", stroke: "#7c3aed", width: 2, dash: [6, 4], value },
      { label: "Drawdown", stroke: "#dc2626", width: 1, fill: "rgba(220,38,38,0.12)", value },
    ], [{}, moneyAxis]).catch((error) => console.warn("chart:", error));
  }

  renderPrices(newBot = false) {
    const select = $("#stats-price-ticker");
    if (newBot) {
      const tickers = chartTickers(this.chart?.chart);
      select.replaceChildren(...tickers.map((ticker) => el("option", { value: ticker }, ticker)));
    }
    const { ticker, data } = priceChart(this.chart?.chart, select.value);
    const box = $("#stats-price");
    const has = data[0].length > 0;
    box.hidden = !has;
    $("#stats-price-empty").hidden = has;
    setText($("#stats-price-title"), this.bot ? `Prices and trades: ${this.nameOf(this.bot)} ${ticker}` : "Prices and trades");
    const drawn = (values) => values.filter((v) => v !== null).length;
    box.dataset.bot = this.bot;
    box.dataset.prices = String(drawn(data[1]));
    box.dataset.buys = String(drawn(data[2]));
    box.dataset.sells = String(drawn(data[3]));
    const value = (_u, v) => (v == null ? "" : money(v));
    const marker = (label, stroke) => ({ label, stroke, fill: stroke, width: 0, paths: () => null, points: { show: true, size: 10, fill: stroke }, value });
    this.plot("pricePlot", box, data, [
      { label: "Price", stroke: "#475569", width: 1.5, spanGaps: true, value },
      marker("Buy", "#16a34a"),
      marker("Sell", "#dc2626"),
    ], [{}, { values: (_u, ticks) => ticks.map((v) => money(v)), size: 70 }]).catch((error) => console.warn("chart:", error));
  }

  resize() {
    for (const [plot, id] of [[this.equityPlot, "#stats-equity"], [this.pricePlot, "#stats-price"]]) {
      if (plot) plot.setSize({ width: Math.max(240, $(id).clientWidth), height: HEIGHT });
    }
  }
}
