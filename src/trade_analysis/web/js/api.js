// Talking to the server: the key, JSON requests, and URLs a browser loads by itself.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/**
 * A URL for what the browser fetches without our headers (WebSocket, <img>), carrying
 * `token` in `?token=`. URLs end up in proxies' and servers' logs, so the page puts a
 * short-lived token from `POST /api/v1/ws-token` there, never the key itself.
 */
export function authedUrl(path, token, { websocket = false } = {}) {
  const url = new URL(path, location.href);
  if (websocket) url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", token);
  return url.href;
}

// What the page's token opens: the live socket and the images (never the API docs).
export const TOKEN_PATH = "/ws-token?scope=socket&scope=images";

/** How long to use a token: a third of its life, so a renewal has time to land. */
export function renewAfterMs(issued) {
  return (Math.max(1, issued?.lifetime_seconds ?? 300) * 1000) / 3;
}

export class Api {
  constructor(key) {
    this.key = key;
    this.token = null;
    this.tokenTime = 0;
    this.tokenLifeMs = renewAfterMs(null);
  }

  /** A short-lived token for URLs, renewed (with the key) once a third of its life is gone. */
  async urlToken() {
    if (!this.token || Date.now() - this.tokenTime > this.tokenLifeMs) {
      this.take(await this.post(TOKEN_PATH), Date.now());
    }
    return this.token;
  }

  take(issued, at) {
    this.token = issued.token;
    this.tokenTime = at;
    this.tokenLifeMs = renewAfterMs(issued);
  }

  /** A token the boot script already asked for (`issued`: its promise, `at`: when). */
  adoptToken(issued, at) {
    issued.then((token) => {
      if (!this.token) this.take(token, at);
    }, () => {});
  }

  /** JSON in and out; an `ApiError` with the server's `detail` for anything but 2xx. */
  async request(path, { method = "GET", body, query } = {}) {
    const url = new URL(`/api/v1${path}`, location.href);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    const response = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, payload?.detail ?? response.statusText);
    }
    return { data: payload, headers: response.headers };
  }

  async get(path, query) {
    return (await this.request(path, { query })).data;
  }

  async post(path, body) {
    return (await this.request(path, { method: "POST", body })).data;
  }

  async put(path, body) {
    return (await this.request(path, { method: "PUT", body })).data;
  }

  async remove(path) {
    return (await this.request(path, { method: "DELETE" })).data;
  }

  /** `path` (from the server, e.g. an `image_url`) as a URL an <img> can load. */
  imageUrl(path) {
    return authedUrl(path, this.token);
  }

  async socketUrl() {
    return authedUrl("/api/v1/ws", await this.urlToken(), { websocket: true });
  }
}
