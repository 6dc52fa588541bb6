// The dashboard: sign-in, the live connection, and the views (one module each).
//
// One state (store.js) fed by the typed event stream and a few HTTP reads; a change
// marks the views that show it, and each is redrawn at most once per animation frame.

import { Api, ApiError } from "./api.js";
import { $, setText } from "./dom.js";
import { initialState, reduce } from "./store.js";
import { BoardView } from "./board.js";
import { TradesView } from "./trades.js";
import { HistoryView } from "./history.js";
import { SettingsView } from "./settings.js";
import { BotPanel } from "./bot-panel.js";

const KEY_STORAGE = "ta-key";
const VIEWS = ["board", "trades", "history", "settings"];

class Dashboard {
  constructor() {
    this.api = null;
    this.state = initialState();
    this.socket = null;
    this.retry = 0;
    this.dirty = false;
    this.view = "board";
    this.loaded = false; // /bots answered: the board can be drawn
    this.firstRender = false;
    const app = this;
    this.views = {
      board: new BoardView(app),
      trades: new TradesView(app),
      history: new HistoryView(app),
      settings: new SettingsView(app),
    };
    this.panel = new BotPanel(app);
  }

  // -- signing in and out ---------------------------------------------------------

  async signIn(key) {
    // The socket and the reads start at once: one round trip to a drawn board, and a wrong
    // key is told by whichever answers first (403, or the socket's 1008). The board needs
    // `hello` and /bots; the whole trade list (for the trades view) follows.
    this.api = new Api(key);
    this.state = initialState();
    this.loaded = false;
    this.connect();
    const trades = this.api.get("/trades", { limit: 10000 });
    trades.catch(() => {}); // told through /bots below
    let bots;
    try {
      bots = await this.api.get("/bots");
    } catch (error) {
      const wrong = error instanceof ApiError && error.status === 403;
      this.leave();
      setText($("#signin-error"), wrong ? "Wrong API key." : `Cannot sign in: ${error.message}`);
      this.setConnection(wrong ? "wrong API key" : "offline", "error");
      return false;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    setText($("#signin-error"), "");
    $("#connect").hidden = true;
    $("#tabs").hidden = false;
    $("#sign-out").hidden = false;
    this.dispatch({ type: "bots", data: bots });
    this.loaded = true;
    this.showView(location.hash.slice(1));
    try {
      this.dispatch({ type: "trades", data: await trades });
    } catch (error) {
      console.warn("trades:", error.message);
    }
    return true;
  }

  /** Close the socket and forget the key and everything shown. */
  leave() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.api = null;
    this.state = initialState();
    this.loaded = false;
    this.firstRender = false;
  }

  signOut() {
    sessionStorage.removeItem(KEY_STORAGE);
    this.leave();
    for (const view of VIEWS) $(`#view-${view}`).hidden = true;
    $("#tabs").hidden = true;
    $("#sign-out").hidden = true;
    $("#connect").hidden = false;
    $("#key").value = "";
    this.setConnection("signed out", "off");
    $("#key").focus();
  }

  // -- the live connection ------------------------------------------------------------

  setConnection(text, kind) {
    const badge = $("#state");
    setText(badge, text);
    badge.className = `state ${kind}`;
  }

  async connect() {
    if (!this.api) return;
    const api = this.api;
    let url;
    try {
      url = await api.socketUrl();
    } catch (error) {
      if (this.api !== api) return; // signed out meanwhile
      if (error.status === 401 || error.status === 403) {
        this.setConnection("wrong API key", "error");
        return;
      }
      this.setConnection("reconnecting", "off");
      this.retry = Math.min(this.retry + 1, 5);
      setTimeout(() => this.api === api && this.connect(), 250 * 2 ** this.retry);
      return;
    }
    if (this.api !== api) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.setConnection("connecting", "off");
    socket.onopen = () => {
      this.retry = 0;
      this.setConnection("live", "on");
    };
    socket.onmessage = (message) => {
      if (this.socket === socket) this.dispatch(JSON.parse(message.data));
    };
    socket.onclose = (closed) => {
      if (this.socket !== socket) return; // signed out, or replaced
      if (closed.code === 1008) {
        this.setConnection("wrong API key", "error");
        return;
      }
      this.setConnection("reconnecting", "off");
      this.retry = Math.min(this.retry + 1, 5);
      setTimeout(() => {
        if (this.socket === socket) this.connect(); // `hello` resyncs everything
      }, 250 * 2 ** this.retry);
    };
  }

  /** Reads the stream does not carry whole: every bot's settings, the full trade list. */
  async refresh() {
    if (!this.api) return;
    try {
      const [bots, trades] = await Promise.all([
        this.api.get("/bots"),
        this.api.get("/trades", { limit: 10000 }),
      ]);
      this.dispatch({ type: "bots", data: bots });
      this.dispatch({ type: "trades", data: trades });
      this.loaded = true;
    } catch (error) {
      console.warn("refresh failed:", error.message);
    }
  }

  dispatch(event) {
    const before = this.state;
    this.state = reduce(this.state, event);
    if (event.type === "hello" && before.hellos > 0) this.refresh(); // a reconnect: fill any gap
    if (event.type === "bot" || event.type === "trade" || (event.type === "worker" && !before.workers[String(event.data.hwnd)])) {
      this.refreshBotsSoon(); // a new or changed bot: its name and settings come from /bots
    }
    if (event.type === "error") console.warn("server:", event.data.detail);
    if (this.state !== before) this.schedule();
  }

  refreshBotsSoon() {
    clearTimeout(this.botsTimer);
    this.botsTimer = setTimeout(async () => {
      if (!this.api) return;
      try {
        this.dispatch({ type: "bots", data: await this.api.get("/bots") });
      } catch (error) {
        console.warn("bots refresh failed:", error.message);
      }
    }, 300);
  }

  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.render();
    });
  }

  render() {
    const { state } = this;
    this.views.board.renderTotals(state);
    this.views[this.view].render(state);
    this.panel.render(state);
    if (!this.firstRender && this.loaded && state.hellos) {
      this.firstRender = true; // what bench/bench_dashboard.py measures
      performance.mark("ta:first-board");
    }
  }

  showView(name) {
    this.view = VIEWS.includes(name) ? name : "board";
    for (const view of VIEWS) $(`#view-${view}`).hidden = view !== this.view;
    for (const link of document.querySelectorAll("#tabs a")) {
      if (link.dataset.view === this.view) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    this.views[this.view].shown?.();
    this.render();
  }
}

const app = new Dashboard();
window.dashboard = app; // for the benchmark and for poking around in devtools

$("#connect").addEventListener("submit", (event) => {
  event.preventDefault();
  app.signIn($("#key").value);
});
$("#sign-out").addEventListener("click", () => app.signOut());
window.addEventListener("hashchange", () => {
  if (app.api) app.showView(location.hash.slice(1));
});
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-close]")) dialog.close();
  });
}

performance.mark("ta:script-ready");
const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) {
  $("#key").value = saved;
  app.signIn(saved);
}
