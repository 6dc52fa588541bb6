// Trades and P&L: totals, open positions, per-ticker table, the equity chart, the manual
// order form, and the trades table with its filters, paging and CSV download.

import { $, el, numberCell, setText, showErrors } from "./dom.js";
import {
  botName, dateTime, duration, equitySeries, fieldErrors, filterTrades, money, pageOf, pnlClass,
  signedMoney, signedPercent, toCsv, winRate,
} from "./format.js";
import { loadChartLibrary } from "./chart.js";
import { equityData } from "./equity.js";
import { workerOf } from "./store.js";

const PAGE_SIZE = 50;
const CSV_COLUMNS = ["id", "ts", "bot", "name", "ticker", "direction", "price", "profit", "win_reason"];

export class TradesView {
  constructor(app) {
    this.app = app;
    this.page = 0;
    this.chart = null;
    this.drawn = { trades: null, summary: null, bots: null, marks: null };
    const filter = $("#trade-filter");
    filter.addEventListener("input", () => { this.page = 0; this.renderTrades(this.app.state, true); });
    filter.addEventListener("submit", (event) => event.preventDefault());
    $("#csv").addEventListener("click", () => this.downloadCsv());
    for (const button of document.querySelectorAll("#trades-pager button")) {
      button.addEventListener("click", () => {
        this.page += Number(button.dataset.page);
        this.renderTrades(this.app.state, true);
      });
    }
    $("#manual").addEventListener("submit", (event) => this.placeOrder(event));
    $("#close-all").addEventListener("click", () => this.closeAll());
    window.addEventListener("resize", () => this.resizeChart());
  }

  shown() {
    this.drawn = { trades: null, summary: null, bots: null, marks: null };
  }

  render(state) {
    if (this.drawn.summary !== state.summary || this.drawn.bots !== state.bots) {
      this.renderPositions(state);
      this.renderTickers(state);
      this.fillBotChoices(state);
    }
    if (this.drawn.trades !== state.trades || this.drawn.bots !== state.bots) this.renderTrades(state);
    if (this.drawn.trades !== state.trades || this.drawn.marks !== this.app.marks) this.renderEquity(state);
    this.drawn = { trades: state.trades, summary: state.summary, bots: state.bots, marks: this.app.marks };
  }

  nameOf(state, key) {
    return botName(key, state.bots[key], workerOf(state, key));
  }

  renderPositions(state) {
    const body = $("#positions tbody");
    const rows = (state.summary.open_positions || []).map((position) => {
      const row = el("tr", { dataset: { bot: position.bot, ticker: position.ticker } },
        el("td", {}, position.name || this.nameOf(state, position.bot)),
        el("td", {}, position.ticker),
        numberCell(money(position.entry_price)),
        numberCell(money(position.last_price)),
        numberCell(signedMoney(position.unrealised_pnl), pnlClass(position.unrealised_pnl)),
        numberCell(signedPercent(position.unrealised_pct), pnlClass(position.unrealised_pct)),
        numberCell(duration(position.open_seconds)));
      return row;
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No open position.")));
    body.replaceChildren(...rows);
    $("#close-all").disabled = !(state.summary.open_positions || []).length;
  }

  renderTickers(state) {
    const body = $("#tickers tbody");
    const rows = Object.entries(state.summary.tickers || {}).map(([ticker, t]) => el(
      "tr", { dataset: { ticker } },
      el("td", {}, ticker),
      el("td", {}, t.position),
      numberCell(money(t.entry_price)),
      numberCell(money(t.last_price)),
      numberCell(t.position === "long" ? signedMoney(t.unrealised_pnl) : "", pnlClass(t.unrealised_pnl)),
      numberCell(signedMoney(t.total_pnl), pnlClass(t.total_pnl)),
      numberCell(String(t.wins)),
      numberCell(String(t.losses)),
      numberCell(winRate(t.wins, t.losses)),
    ));
    body.replaceChildren(...rows);
  }

  fillBotChoices(state) {
    const keys = Object.keys(state.bots).sort();
    for (const select of [$("#manual-bot"), $("#trade-filter select[name=bot]")]) {
      const chosen = select.value;
      const first = select.options[0];
      select.replaceChildren(first, ...keys.map((key) => el("option", { value: key }, this.nameOf(state, key))));
      select.value = keys.includes(chosen) ? chosen : "";
    }
  }

  currentFilter() {
    const form = $("#trade-filter");
    return Object.fromEntries(["bot", "ticker", "side", "from", "to"].map((name) => [name, form.elements[name].value]));
  }

  renderTrades(state, force = false) {
    if (!force && this.drawn.trades === state.trades && this.drawn.bots === state.bots) return;
    const newestFirst = filterTrades(state.trades, this.currentFilter()).reverse();
    const { rows, page, pages } = pageOf(newestFirst, this.page, PAGE_SIZE);
    this.page = page;
    $("#trades tbody").replaceChildren(...rows.map((trade) => el(
      "tr", { dataset: { tradeId: String(trade.id) } },
      el("td", { class: "time" }, dateTime(trade.ts)),
      el("td", {}, this.nameOf(state, trade.bot)),
      el("td", {}, trade.ticker),
      el("td", {}, trade.direction),
      numberCell(money(trade.price)),
      numberCell(String(trade.quantity ?? 1)),
      numberCell(money(trade.fill_price ?? trade.price)),
      numberCell(trade.fee ? money(trade.fee) : ""),
      numberCell(trade.profit === null ? "" : signedMoney(trade.profit), trade.profit === null ? "" : pnlClass(trade.profit)),
      // Every trade's why is its tooltip; an indicator's figures are shown as well.
      el("td", { class: "why", title: trade.why || null }, trade.win_reason.replace(/_/g, " "),
        trade.win_reason === "indicator" && trade.why ? el("span", { class: "muted" }, ` (${trade.why})`) : null),
      el("td", {}, el("button", {
        type: "button", class: "frames", "aria-label": `Screenshots of trade ${trade.id}`,
        onclick: () => this.app.tradeFrames.open(trade, this.nameOf(state, trade.bot)),
      }, "Frames")),
    )));
    const [newer, older] = document.querySelectorAll("#trades-pager button");
    newer.disabled = page === 0;
    older.disabled = page >= pages - 1;
    setText($("#trades-pager span"), `page ${page + 1} of ${pages} · ${newestFirst.length} trade(s)`);
  }

  renderEquity(state) {
    const closed = equitySeries(state.trades);
    const data = equityData(closed, this.app.marks);
    const [xs, , marked] = data;
    $("#equity-empty").hidden = xs.length > 0;
    const box = $("#equity");
    box.hidden = xs.length === 0;
    // What the chart shows, for a reader of the page (and its tests): points per line, last values.
    const drawn = (values) => values.filter((value) => value !== null);
    box.dataset.points = String(closed[0].length);
    box.dataset.last = String(closed[1].at(-1) ?? "");
    box.dataset.marks = String(drawn(marked).length);
    box.dataset.lastMarked = String(drawn(marked).at(-1) ?? "");
    if (!xs.length) return;
    if (!window.uPlot) {
      loadChartLibrary().then(() => this.renderEquity(this.app.state), (error) => console.warn("chart:", error));
      return;
    }
    if (this.chart) {
      this.chart.setData(data);
      return;
    }
    const value = (_u, v) => (v == null ? "" : signedMoney(v));
    this.chart = new window.uPlot({
      width: Math.max(240, box.clientWidth || 600),
      height: 220,
      scales: { x: { time: true } },
      series: [
        {},
        { label: "Realised", stroke: "#2563eb", width: 2, fill: "rgba(37,99,235,0.08)", spanGaps: true, value },
        { label: "Marked to market", stroke: "#7c3aed", width: 2, dash: [6, 4], spanGaps: true, value },
      ],
      axes: [{}, { values: (_u, ticks) => ticks.map((v) => signedMoney(v)), size: 70 }],
      legend: { show: true },
    }, data, box);
  }

  resizeChart() {
    if (this.chart) this.chart.setSize({ width: Math.max(240, $("#equity").clientWidth), height: 220 });
  }

  downloadCsv() {
    const state = this.app.state;
    const rows = filterTrades(state.trades, this.currentFilter()).map((trade) => ({ ...trade, name: this.nameOf(state, trade.bot) }));
    const blob = new Blob([toCsv(CSV_COLUMNS, rows)], { type: "text/csv" });
    const link = el("a", { href: URL.createObjectURL(blob), download: "trades.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  /** Every open position of every bot sold at its last price (reason `close all`). */
  async closeAll() {
    const button = $("#close-all");
    if (!button.dataset.armed) {
      button.dataset.armed = "yes"; // a second press confirms; no blocking confirm() box
      setText(button, "Press again to close all");
      return;
    }
    delete button.dataset.armed;
    setText(button, "Close all positions");
    button.disabled = true;
    try {
      const { closed, trades } = await this.app.api.post("/close_all_positions");
      for (const trade of trades) this.app.dispatch({ type: "trade", data: trade });
      setText($("#close-all-result"), `Closed ${closed} position${closed === 1 ? "" : "s"} (reason: close all).`);
    } catch (error) {
      setText($("#close-all-result"), `Not closed: ${error.message}`);
      button.disabled = false;
    }
  }

  async placeOrder(event) {
    event.preventDefault();
    const form = event.target;
    const direction = event.submitter?.value || "buy";
    const order = {
      ticker: form.elements.ticker.value.trim().toUpperCase(),
      price: form.elements.price.value.trim(),
      direction,
    };
    if (form.elements.bot.value) order.bot = form.elements.bot.value;
    setText($("#manual-ok"), "");
    const local = {};
    if (!order.ticker) local.ticker = "Type a ticker, e.g. AAPL.";
    if (!order.price) local.price = "Type a price, e.g. 189.23.";
    if (Object.keys(local).length) {
      showErrors(form, local);
      return;
    }
    try {
      const { trade } = await this.app.api.post("/manual_trade", order);
      showErrors(form, {});
      setText($("#manual-ok"), `${trade.direction === "buy" ? "Bought" : "Sold"} ${trade.ticker} at ${money(trade.price)}${trade.profit != null ? `, profit ${signedMoney(trade.profit)}` : ""}.`);
      this.app.dispatch({ type: "trade", data: trade });
    } catch (error) {
      const errors = fieldErrors(error.detail);
      if (error.status === 409) errors[""] = `Refused: ${errors[""] || error.message}`;
      showErrors(form, errors);
    }
  }
}
