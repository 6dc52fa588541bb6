// Trade screenshots: the frames a bot saw just before and just after a trade, shown
// beside the trade (a dialog from the trades table) and beside the bot's "why this
// reading" (its newest trade, in the bot panel).

import { $, el, setText } from "./dom.js";
import { dateTime, money, signedMoney } from "./format.js";

/** A caption for one kept frame: `before 3 · 14:30:01`. */
export function frameCaption(shot, index, shots) {
  const same = shots.filter((other) => other.when === shot.when);
  const order = same.indexOf(shot) + 1;
  return `${shot.when} ${order}/${same.length} · ${dateTime(shot.at)}`;
}

/** One line about a trade: `buy AAPL at 189.23 · signal`. */
export function tradeLine(trade) {
  const profit = trade.profit === null || trade.profit === undefined ? "" : `, profit ${signedMoney(trade.profit)}`;
  return `${trade.direction} ${trade.ticker} at ${money(trade.price)}${profit}`;
}

export class TradeFrames {
  constructor(app) {
    this.app = app;
    this.dialog = $("#trade-dialog");
  }

  /** The kept frames of a trade, drawn into `strip` (a list); how many there were. */
  async fill(strip, status, tradeId) {
    strip.replaceChildren();
    setText(status, "Loading screenshots\u2026");
    let shots;
    try {
      ({ screenshots: shots } = await this.app.api.get("/screenshots", { trade_id: tradeId }));
    } catch (error) {
      setText(status, error.message);
      return 0;
    }
    setText(status, shots.length ? `${shots.length} frame(s) kept with this trade` : "No screenshot was kept with this trade.");
    strip.replaceChildren(...shots.map((shot, index) => el(
      "li", { class: `shot shot-${shot.when}`, dataset: { when: shot.when } },
      el("figure", {},
        el("img", { src: this.app.api.imageUrl(shot.url), alt: `${shot.when} the ${shot.type}`, loading: "lazy" }),
        el("figcaption", {}, frameCaption(shot, index, shots))),
    )));
    return shots.length;
  }

  /** The dialog for one trade of the trades table. */
  async open(trade, botLabel) {
    setText($("#trade-dialog-title"), `${botLabel} · ${tradeLine(trade)}`);
    setText($("#trade-why"), trade.win_reason.replace(/_/g, " "));
    setText($("#trade-when"), dateTime(trade.ts));
    const reading = this.app.state.bots[trade.bot]?.last_reading;
    setText($("#trade-reading"), reading ? `${reading.ticker} ${reading.trend}${reading.confidence != null ? ` (${Math.round(reading.confidence * 100)}%)` : ""} at ${money(reading.price)}` : "\u2013");
    $("#trade-open-bot").onclick = () => {
      this.dialog.close();
      this.app.openPanel(trade.bot);
    };
    this.dialog.showModal();
    await this.fill($("#trade-shots"), $("#trade-shots-status"), trade.id);
  }
}
