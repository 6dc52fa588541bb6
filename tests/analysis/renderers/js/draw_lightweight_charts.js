// TradingView's lightweight-charts (standalone build): one chart per call, the library's
// own series and defaults; dark is the colours of TradingView's dark theme.
(() => {
  const LWC = window.LightweightCharts;
  let chart = null;

  const DARK = {
    layout: { background: { type: "solid", color: "#131722" }, textColor: "#d1d4dc" },
    grid: { vertLines: { color: "#2b2b43" }, horzLines: { color: "#2b2b43" } },
  };
  const AVERAGE_COLOURS = ["#ff9800", "#2962ff", "#e91e63", "#9c27b0", "#00bcd4"];

  function points(spec, values) {
    const out = [];
    values.forEach((value, i) => {
      if (value !== null) out.push({ time: spec.times[i], value });
    });
    return out;
  }

  function priceSeries(spec) {
    const ohlc = spec.times.map((time, i) => ({
      time, open: spec.open[i], high: spec.high[i], low: spec.low[i], close: spec.close[i],
    }));
    if (spec.kind === "candles") {
      const series = chart.addSeries(LWC.CandlestickSeries, {});
      series.setData(ohlc);
      return;
    }
    if (spec.kind === "bars") {
      const series = chart.addSeries(LWC.BarSeries, {});
      series.setData(ohlc);
      return;
    }
    const type = spec.kind === "area" ? LWC.AreaSeries : LWC.LineSeries;
    const series = chart.addSeries(type, { lineWidth: spec.lineWidth });
    series.setData(points(spec, spec.close));
  }

  function overlays(spec) {
    spec.overlayLines.forEach((line, i) => {
      const colour = line.name.startsWith("BB") ? "#2962ff" : AVERAGE_COLOURS[i % 5];
      const series = chart.addSeries(LWC.LineSeries, {
        color: colour, lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
      });
      series.setData(points(spec, line.values));
    });
  }

  function volume(spec, ownPane) {
    const data = spec.times.map((time, i) => ({
      time,
      value: spec.volume[i],
      color: spec.close[i] >= spec.open[i] ? "rgba(38,166,154,0.5)" : "rgba(239,83,80,0.5)",
    }));
    if (ownPane) {
      chart.addSeries(LWC.HistogramSeries, { priceFormat: { type: "volume" } }, 1).setData(data);
      return;
    }
    // The classic overlay: the volume on a scale of its own in the bottom fifth of the chart.
    const series = chart.addSeries(LWC.HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "",
    });
    series.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    series.setData(data);
  }

  function indicator(spec, pane) {
    if (spec.panes.includes("rsi")) {
      chart.addSeries(LWC.LineSeries, { color: "#7e57c2", lineWidth: 1 }, pane)
        .setData(points(spec, spec.rsi));
    }
    if (spec.panes.includes("macd")) {
      const histogram = spec.times.map((time, i) => ({
        time, value: spec.macd.histogram[i],
        color: spec.macd.histogram[i] >= 0 ? "#26a69a" : "#ef5350",
      }));
      chart.addSeries(LWC.HistogramSeries, {}, pane).setData(histogram);
      chart.addSeries(LWC.LineSeries, { color: "#2962ff", lineWidth: 1 }, pane)
        .setData(points(spec, spec.macd.line));
      chart.addSeries(LWC.LineSeries, { color: "#ff6d00", lineWidth: 1 }, pane)
        .setData(points(spec, spec.macd.signal));
    }
  }

  window.draw = async (spec) => {
    if (chart !== null) chart.remove();
    document.body.innerHTML = "";
    const element = document.createElement("div");
    element.style.width = `${spec.width}px`;
    element.style.height = `${spec.height}px`;
    document.body.appendChild(element);
    document.body.style.background = spec.dark ? "#131722" : "#ffffff";
    chart = LWC.createChart(element, {
      width: spec.width, height: spec.height, ...(spec.dark ? DARK : {}),
    });
    priceSeries(spec);
    overlays(spec);
    const volumePane = spec.style >= 0.5 || spec.panes.length > 1;
    if (spec.panes.includes("volume")) volume(spec, volumePane);
    indicator(spec, volumePane ? 2 : 1);
    chart.timeScale().fitContent();
  };
})();
