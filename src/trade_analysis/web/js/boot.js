// The first script the page runs (a classic script in <head>, before the styles and the
// modules): with a key already in this tab (a reload, a bookmark), the reads the board
// needs and the live socket start now, while the rest of the page loads. main.js takes
// them over (`window.taBoot`); the socket's first messages wait in `messages` until then.
(() => {
  const key = sessionStorage.getItem("ta-key");
  if (!key) return;
  const headers = { Authorization: `Bearer ${key}` };
  const read = (path, method = "GET") =>
    fetch(`/api/v1${path}`, { method, headers }).then(async (response) => {
      const payload = await response.json().catch(() => null);
      if (!response.ok) {
        const detail = payload?.detail ?? response.statusText;
        throw Object.assign(new Error(typeof detail === "string" ? detail : `HTTP ${response.status}`), {
          status: response.status, detail,
        });
      }
      return payload;
    });
  const boot = { key, messages: [], socket: null, tokenTime: Date.now() };
  boot.bots = read("/bots");
  boot.token = read("/ws-token?scope=socket&scope=images", "POST");
  boot.bots.catch(() => {}); // told by main.js when it takes them
  boot.token.then(({ token }) => {
    const url = new URL("/api/v1/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    const socket = new WebSocket(url);
    socket.onmessage = (message) => boot.messages.push(message);
    boot.socket = socket;
  }, () => {});
  window.taBoot = boot;
})();
