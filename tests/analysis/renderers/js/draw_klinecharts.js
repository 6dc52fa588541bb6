// KLineChart (klinecharts, npm): one chart per call, the library's own candle types,
// indicators (MA, EMA, BOLL on the candle pane; VOL, MACD, RSI in panes of their own) and
// styles ('light' by default, its built-in 'dark'), all the bars fitted into the width.
(() => {
  let chart = null;
  const PERIODS = { 60: ["minute", 1], 300: ["minute", 5], 3600: ["hour", 1], 86400: ["day", 1] };

  function candleType(spec) {
    if (spec.kind === "bars") return "ohlc";
    if (spec.kind === "area") return "area";
    return spec.style < 0.5 ? "candle_solid" : "candle_stroke";
  }

  function frames(count) {
    return new Promise((done) => {
      const next = (left) => (left === 0 ? done() : requestAnimationFrame(() => next(left - 1)));
      next(count);
    });
  }

  function overlays(spec) {
    const averages = spec.overlays.filter((o) => o.name === "sma").map((o) => o.period);
    const exponential = spec.overlays.filter((o) => o.name === "ema").map((o) => o.period);
    if (averages.length) {
      chart.createIndicator({ name: "MA", paneId: "candle_pane", calcParams: averages }, true);
    }
    if (exponential.length) {
      chart.createIndicator({ name: "EMA", paneId: "candle_pane", calcParams: exponential }, true);
    }
    if (spec.overlays.some((o) => o.name === "bollinger")) {
      chart.createIndicator({ name: "BOLL", paneId: "candle_pane" }, true);
    }
  }

  window.draw = async (spec) => {
    if (chart !== null) klinecharts.dispose(chart);
    document.body.innerHTML = "";
    document.body.style.background = spec.dark ? "#1b1b1f" : "#ffffff";
    const element = document.createElement("div");
    element.style.width = `${spec.width}px`;
    element.style.height = `${spec.height}px`;
    document.body.appendChild(element);
    chart = klinecharts.init(element, { styles: spec.dark ? "dark" : "light" });
    chart.setStyles({
      candle: { type: candleType(spec), area: { lineSize: spec.lineWidth } },
    });
    const bars = spec.times.map((time, i) => ({
      timestamp: time * 1000, open: spec.open[i], high: spec.high[i], low: spec.low[i],
      close: spec.close[i], volume: spec.volume[i],
    }));
    const step = spec.times.length > 1 ? spec.times[1] - spec.times[0] : 60;
    const [type, span] = PERIODS[step] || ["minute", 1];
    chart.setSymbol({ ticker: "TEST", pricePrecision: 2, volumePrecision: 0 });
    chart.setPeriod({ type, span });
    chart.setDataLoader({ getBars: ({ callback }) => callback(bars, false) });
    overlays(spec);
    for (const pane of spec.panes) chart.createIndicator(pane.toUpperCase().replace("VOLUME", "VOL"));
    // Every bar in view: the plot's width (less the price axis) shared among them.
    await frames(2);
    const plot = chart.getSize("candle_pane", "main");
    const width = plot ? plot.width : spec.width - 60;
    chart.setBarSpace(Math.max(1, (width - chart.getOffsetRightDistance()) / bars.length));
    chart.scrollToRealTime();
    await frames(3);
  };
})();
