// The dashboard: sign-in, the live connection, and the views (one module each).
//
// One state (store.js) fed by the typed event stream and a few HTTP reads; a change
// marks the views that show it, and each is redrawn at most once per animation frame.
//
// First the board: boot.js has already asked for /bots and opened the socket when the
// tab held a key, the board is drawn once from `hello` and /bots, and only then are the
// other views' modules, the trade list and the chart library loaded.

import { Api } from "./api.js";
import { $, setText } from "./dom.js";
import { initialState, reduce } from "./store.js";
import { BoardView } from "./board.js";
import { addMark } from "./equity.js";

const KEY_STORAGE = "ta-key";
const VIEWS = ["board", "trades", "stats", "history", "settings"];
// The rest of the page loads after the first board, or after this long without `hello`.
const AFTER_BOARD_LATEST_MS = 2000;
// At most this often, a summary (prices moved) asks /bots for the bots' newest readings.
const BOTS_ON_SUMMARY_MS = 2000;

/** The boot script's reads and socket, once, if they were made with this key. */
function takeBoot(key) {
  const boot = window.taBoot;
  delete window.taBoot;
  return boot && boot.key === key ? boot : null;
}

/** After the next paint, when the page is idle (or soon anyway). */
function whenIdle(callback) {
  requestAnimationFrame(() => {
    if (window.requestIdleCallback) requestIdleCallback(callback, { timeout: 500 });
    else setTimeout(callback, 50);
  });
}

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
    this.views = { board: new BoardView(this) };
    this.panel = null;
    this.tradeFrames = null; // trade-frames.js, loaded with the other views
    this.botsAt = 0; // when /bots was last asked for on a summary
    this.rest = null; // the other views' modules, loaded after the first board
    this.later = null; // the sign-in (its Api) that afterFirstBoard ran for
    this.marks = []; // P&L marked to market over time, from the summaries (equity.js)
  }

  /** The trades, statistics, history and settings views and the bot panel (loaded once). */
  loadRest() {
    this.rest ||= Promise.all([
      import("./trades.js"), import("./history.js"), import("./settings.js"), import("./bot-panel.js"),
      import("./statistics.js"), import("./trade-frames.js"),
    ]).then(([trades, history, settings, panel, statistics, frames]) => {
      this.tradeFrames = new frames.TradeFrames(this);
      this.views.trades = new trades.TradesView(this);
      this.views.stats = new statistics.StatsView(this);
      this.views.history = new history.HistoryView(this);
      this.views.settings = new settings.SettingsView(this);
      this.panel = new panel.BotPanel(this);
      if (this.api && this.view !== "board") this.showView(this.view);
      else this.schedule();
    });
    return this.rest;
  }

  async openPanel(key) {
    await this.loadRest();
    this.panel.open(key);
  }

  // -- signing in and out ---------------------------------------------------------

  async signIn(key) {
    // The socket and /bots start at once (or were started by boot.js): one round trip to a
    // drawn board, and a wrong key is told by whichever answers first (403, or the
    // socket's 1008). The whole trade list (for the trades view) follows the first board.
    const boot = takeBoot(key);
    this.api = new Api(key);
    this.state = initialState();
    this.loaded = false;
    if (boot) {
      this.api.adoptToken(boot.token, boot.tokenTime);
      this.adopt(boot);
    } else {
      this.connect();
    }
    let bots;
    try {
      bots = await (boot ? boot.bots : this.api.get("/bots"));
    } catch (error) {
      const wrong = error.status === 403;
      if (wrong) sessionStorage.removeItem(KEY_STORAGE); // a key from before a reload, now wrong
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
    this.loaded = true;
    this.dispatch({ type: "bots", data: bots });
    this.showView(location.hash.slice(1));
    const api = this.api;
    setTimeout(() => this.api === api && this.afterFirstBoard(), AFTER_BOARD_LATEST_MS);
    return true;
  }

  /** What the first board does not need, once: the other views, then the whole trade list. */
  async afterFirstBoard() {
    if (this.later === this.api) return;
    this.later = this.api;
    await this.loadRest();
    if (!this.api) return;
    try {
      this.dispatch({ type: "trades", data: await this.api.get("/trades", { limit: 10000 }) });
    } catch (error) {
      console.warn("trades:", error.message);
    }
  }

  /** Close the socket and forget the key and everything shown. */
  leave() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.api = null;
    this.state = initialState();
    this.marks = [];
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
    this.listen(new WebSocket(url));
  }

  /** The boot script's socket: its buffered messages first, then live ones. */
  adopt(boot) {
    const api = this.api;
    boot.token.then(() => {
      if (this.api !== api) {
        boot.socket.close();
        return;
      }
      if (boot.socket.readyState >= WebSocket.CLOSING) {
        this.connect(); // closed before the page took it: a new one
        return;
      }
      this.listen(boot.socket);
      if (boot.socket.readyState === WebSocket.OPEN) boot.socket.onopen();
      for (const message of boot.messages.splice(0)) boot.socket.onmessage(message);
    }, () => {
      if (this.api === api) this.connect(); // told by /bots, or retried as usual
    });
  }

  listen(socket) {
    this.socket = socket;
    this.setConnection("connecting", "off");
    socket.onopen = () => {
      this.retry = 0;
      this.setConnection("live", "on");
      this.keepRenewing(socket);
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

  /**
   * The server closes a socket when its token expires (4401), unless sent a fresher token
   * first; the page asks for one with the key every so often and passes it on.
   */
  keepRenewing(socket) {
    const api = this.api;
    let sent = api.token;
    const renew = async () => {
      if (this.socket !== socket || this.api !== api || socket.readyState !== WebSocket.OPEN) return;
      try {
        const token = await api.urlToken();
        if (token !== sent && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ type: "renew", data: { token } }));
          sent = token;
        }
      } catch (error) {
        console.warn("token renewal failed:", error.message);
      }
      setTimeout(renew, api.tokenLifeMs / 2);
    };
    setTimeout(renew, api.tokenLifeMs / 2);
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
    if (this.state.summary !== before.summary) this.marks = addMark(this.marks, Date.now() / 1000, this.state.summary);
    if (event.type === "hello" && before.hellos > 0) this.refresh(); // a reconnect: fill any gap
    if (event.type === "bot" || event.type === "trade" || (event.type === "worker" && !before.workers[String(event.data.hwnd)])) {
      this.refreshBotsSoon(); // a new or changed bot: its name and settings come from /bots
    } else if (event.type === "summary" && Date.now() - this.botsAt > BOTS_ON_SUMMARY_MS) {
      this.botsAt = Date.now(); // prices moved: an upload source's newest reading and frame
      this.refreshBotsSoon();
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
    if (!this.firstRender && this.loaded && this.state.hellos) {
      this.render(); // the first board: at once, not a frame later
      return;
    }
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
    this.views[this.view]?.render(state);
    this.panel?.render(state);
    if (!this.firstRender && this.loaded && state.hellos) {
      this.firstRender = true; // what bench/bench_dashboard.py measures
      performance.mark("ta:first-board");
      whenIdle(() => this.afterFirstBoard());
    }
  }

  showView(name) {
    this.view = VIEWS.includes(name) ? name : "board";
    for (const view of VIEWS) $(`#view-${view}`).hidden = view !== this.view;
    for (const link of document.querySelectorAll("#tabs a")) {
      if (link.dataset.view === this.view) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    this.views[this.view]?.shown?.();
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
