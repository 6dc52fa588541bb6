// Apache ECharts: one chart per call, the library's own series, theme ('dark' is built in)
// and default colours (rising candles red, falling green, as in its home market).
(() => {
  let chart = null;

  function nulls(values) {
    return values.map((value) => (value === null ? "-" : value));
  }

  // The price grid on top, each pane a grid of its own under it, the slider and the legend
  // (ECharts puts it at the bottom) below them all.
  function grids(spec) {
    const panes = spec.panes.length;
    const main = 72 - 15 * panes;
    const out = [{ left: 60, right: 30, top: 30, height: `${main}%` }];
    spec.panes.forEach((_, i) => {
      out.push({ left: 60, right: 30, top: `${main + 10 + i * 15}%`, height: "11%" });
    });
    return out;
  }

  function priceSeries(spec) {
    if (spec.kind === "candles") {
      const data = spec.open.map((open, i) => [open, spec.close[i], spec.low[i], spec.high[i]]);
      return [{ name: "K", type: "candlestick", data }];
    }
    const line = {
      name: "close", type: "line", data: spec.close, showSymbol: false,
      lineStyle: { width: spec.lineWidth },
    };
    if (spec.kind === "area") line.areaStyle = {};
    return [line];
  }

  function paneSeries(spec) {
    const series = [];
    spec.panes.forEach((pane, i) => {
      const axis = { xAxisIndex: i + 1, yAxisIndex: i + 1 };
      if (pane === "volume") series.push({ name: "Volume", type: "bar", data: spec.volume, ...axis });
      if (pane === "rsi") {
        series.push({ name: "RSI", type: "line", data: nulls(spec.rsi), showSymbol: false, ...axis });
      }
      if (pane === "macd") {
        series.push({ name: "MACD", type: "bar", data: spec.macd.histogram, ...axis });
        series.push({ name: "DIF", type: "line", data: spec.macd.line, showSymbol: false, ...axis });
        series.push({ name: "DEA", type: "line", data: spec.macd.signal, showSymbol: false, ...axis });
      }
    });
    return series;
  }

  window.draw = async (spec) => {
    if (chart !== null) chart.dispose();
    document.body.innerHTML = "";
    const element = document.createElement("div");
    element.style.width = `${spec.width}px`;
    element.style.height = `${spec.height}px`;
    document.body.appendChild(element);
    chart = echarts.init(element, spec.dark ? "dark" : null, { renderer: "canvas" });
    const labels = spec.times.map((t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " "));
    const axes = grids(spec).map((_, i) => i);
    const overlays = spec.overlayLines.map((line) => ({
      name: line.name, type: "line", data: nulls(line.values), showSymbol: false, smooth: true,
      lineStyle: { width: 1, opacity: 0.8 },
    }));
    const series = [...priceSeries(spec), ...overlays, ...paneSeries(spec)];
    chart.setOption({
      animation: false,
      legend: { data: series.filter((s) => s.xAxisIndex === undefined).map((s) => s.name) },
      grid: grids(spec),
      xAxis: axes.map((i) => ({
        type: "category", data: labels, gridIndex: i, boundaryGap: spec.kind === "candles",
        axisLabel: { show: i === axes.length - 1 },
      })),
      yAxis: axes.map((i) => ({ scale: true, gridIndex: i, splitNumber: i === 0 ? 5 : 2 })),
      dataZoom: [
        { type: "inside", xAxisIndex: axes, start: 0, end: 100 },
        { type: "slider", xAxisIndex: axes, start: 0, end: 100, bottom: 35 },
      ],
      series,
    });
  };
})();
