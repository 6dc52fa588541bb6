// bench_dashboard.py: one second of events for `bots` bots, through the page's own
// WebSocket message handler (parsing, reducing and rendering as for real messages).
([bots, frames, tick]) => {
  const socket = window.dashboard.socket;
  const send = (type, data) => socket.onmessage({ data: JSON.stringify({ type, data }) });
  for (let i = 0; i < bots; i++) {
    const hwnd = 1000 + i;
    const price = 100 + i + (tick % 13) * 0.25;
    send("worker", { hwnd, state: "running", is_running: true, interval: 1, max_lag_seconds: 0.01,
      target_window: { hwnd, title: `Chart ${i}` }, total_captures: tick, successful_captures: tick });
    send("observation", { hwnd, last_result: { ticker: `W${i}`, price_value: price, price: `$${price}`,
      trend: tick % 2 ? "up" : "down", confidence: 0.9, timestamp: new Date().toISOString() } });
    send("frame", { hwnd, jpeg_b64: frames[(tick + i) % frames.length] });
  }
  const open = Array.from({ length: bots }, (_, i) => ({ bot: String(1000 + i), ticker: `W${i}`,
    entry_price: 100 + i, last_price: 100 + i + (tick % 13) * 0.25, unrealised_pnl: (tick % 13) * 0.25,
    unrealised_pct: 0.1, open_seconds: tick, name: `Chart ${i}`, entry_time: new Date().toISOString() }));
  send("summary", { realised_pnl: tick, unrealised_pnl: 5, total_pnl_all_tickers: tick, open_positions: open, tickers: {} });
  if (tick % 5 === 0) {
    send("trade", { id: 1e6 + tick, bot: "1000", ticker: "W0", direction: tick % 10 ? "buy" : "sell",
      price: 100, profit: tick % 10 ? null : 1.5, win_reason: "signal", ts: new Date().toISOString() });
  }
}
