// The chart library (uPlot, vendored), loaded the first time a chart is drawn: the board
// does not wait for it.

import { el } from "./dom.js";

const CHART_LIBRARY = "vendor/uplot/uPlot";

let chartLibrary = null;

/** Resolves once `window.uPlot` is there. */
export function loadChartLibrary() {
  chartLibrary ||= new Promise((resolve, reject) => {
    document.head.append(el("link", { rel: "stylesheet", href: `${CHART_LIBRARY}.min.css` }));
    document.head.append(el("script", { src: `${CHART_LIBRARY}.iife.min.js`, onload: resolve, onerror: reject }));
  });
  return chartLibrary;
}
