// History: the /history filters, paging by X-Total-Count, each record with its image.

import { $, el, numberCell, setText, showErrors } from "./dom.js";
import { botName, dateTime, fieldErrors, money, trendLabel } from "./format.js";
import { workerOf } from "./store.js";

const PAGE_SIZE = 25;

export class HistoryView {
  constructor(app) {
    this.app = app;
    this.offset = 0;
    this.total = 0;
    this.loaded = false;
    $("#history-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      this.offset = 0;
      this.load();
    });
    for (const button of document.querySelectorAll("#history-pager button")) {
      button.addEventListener("click", () => {
        this.offset = Math.max(0, this.offset + Number(button.dataset.page) * PAGE_SIZE);
        this.load();
      });
    }
  }

  shown() {
    if (!this.loaded) this.load();
  }

  render() {}

  query() {
    const form = $("#history-filter");
    const value = (name) => form.elements[name].value.trim();
    const utc = (local) => (local ? new Date(local).toISOString() : "");
    return {
      ticker: value("ticker").toUpperCase(),
      trend: value("trend"),
      days: value("days"),
      start_ts: utc(value("start_ts")),
      end_ts: utc(value("end_ts")),
      limit: PAGE_SIZE,
      offset: this.offset,
    };
  }

  async load() {
    const form = $("#history-filter");
    this.loaded = true;
    let answer;
    try {
      await this.app.api.urlToken(); // the images below carry it
      answer = await this.app.api.request("/history", { query: this.query() });
    } catch (error) {
      showErrors(form, fieldErrors(error.detail));
      return;
    }
    showErrors(form, {});
    this.total = Number(answer.headers.get("X-Total-Count") || answer.data.length);
    // Past a bound the server counts no further: the total is then "at least".
    const more = answer.headers.get("X-Total-Count-Exact") === "false" ? "+" : "";
    const state = this.app.state;
    $("#history tbody").replaceChildren(...answer.data.map((record) => this.row(record, state)));
    if (!answer.data.length) {
      $("#history tbody").append(el("tr", {}, el("td", { colspan: "9", class: "muted" }, "Nothing matches.")));
    }
    const pages = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
    const page = Math.floor(this.offset / PAGE_SIZE);
    const [newer, older] = document.querySelectorAll("#history-pager button");
    newer.disabled = page === 0;
    older.disabled = page >= pages - 1;
    setText($("#history-pager span"), `page ${page + 1} of ${pages}${more} · ${this.total}${more} record(s)`);
  }

  row(record, state) {
    const name = record.bot ? botName(record.bot, state.bots[record.bot], workerOf(state, record.bot)) : "";
    const image = record.image_url
      ? el("button", { type: "button", class: "thumb-button", "aria-label": `Open the image of ${record.ticker || "this record"} at ${dateTime(record.ts)}`, onclick: () => this.open(record) },
        el("img", { src: this.app.api.imageUrl(record.image_url), alt: "", loading: "lazy" }))
      : el("span", { class: "muted" }, "\u2013");
    return el("tr", { dataset: { recordId: String(record.id) } },
      el("td", {}, image),
      el("td", { class: "time" }, dateTime(record.ts)),
      el("td", {}, record.kind),
      el("td", {}, name),
      el("td", {}, record.ticker || ""),
      numberCell(money(record.price)),
      el("td", {}, record.trend ? trendLabel(record.trend) : ""),
      numberCell(money(record.buy_price)),
      numberCell(money(record.sell_price)));
  }

  open(record) {
    const dialog = $("#image-dialog");
    const image = $("#image-full");
    image.src = this.app.api.imageUrl(record.image_url);
    image.alt = `${record.ticker || "Frame"} at ${dateTime(record.ts)}`;
    setText($("#image-caption"), `${record.name || record.bot || ""} ${record.ticker || ""} ${money(record.price)} · ${dateTime(record.ts)}`);
    dialog.showModal();
  }
}
